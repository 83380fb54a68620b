"""A fake Model Armor API: a real aiohttp server on 127.0.0.1 speaking the v1 REST shape.

`POST /v1/projects/P/locations/L/templates/T:sanitizeUserPrompt` takes `{"userPromptData": {"text"}}`,
`...:sanitizeModelResponse` takes `{"modelResponseData": {"text"}}`; both answer
`{"sanitizationResult": {"filterMatchState", "invocationResult", "filterResults": {...},
"sanitizationMetadata"}}` with one entry per filter, each holding its `<kind>FilterResult` and
`matchState` (https://docs.cloud.google.com/model-armor/reference/rest/v1/SanitizationResult).
A request of another shape gets a 400 INVALID_ARGUMENT, as the real API answers.

What matches is decided by marker strings, so a test chooses the outcome with its text:
- "ignore all previous instructions" -> pi_and_jailbreak (prompt injection / jailbreak)
- a US SSN (123-45-6789) -> sdp, with inspect findings (codepoint ranges), or a
  deidentifyResult when `deidentify` is set (an advanced SDP config with a de-identify template)
- "http://malware.example" -> malicious_uris
- "DANGER-ZONE" -> rai (dangerous)
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

PATH = re.compile(r"^/v1/(projects/[^/]+/locations/([^/]+)/templates/[^/:]+):(sanitizeUserPrompt|sanitizeModelResponse)$")
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")


@dataclass
class ArmorCall:
    method: str
    template: str
    text: str
    headers: dict[str, str]


class FakeModelArmor:
    def __init__(self) -> None:
        self.port = 0
        self.calls: list[ArmorCall] = []
        self.status = 200  # another value: every sanitize call answers it
        self.delay_s = 0.0
        self.deidentify = False
        self.invocation_failure = False
        self.fail_after: int | None = None  # calls answered normally before `status` 500 applies
        self.require_authorization: set[str] | None = None
        self._runner: web.AppRunner | None = None

    def reset(self) -> None:
        self.calls.clear()
        self.status, self.delay_s, self.deidentify, self.invocation_failure = 200, 0.0, False, False
        self.fail_after = None
        self.require_authorization = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def methods(self) -> list[str]:
        return [c.method for c in self.calls]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._sanitize)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @staticmethod
    def _invalid(message: str, status: int = 400, code: str = "INVALID_ARGUMENT") -> web.Response:
        return web.json_response({"error": {"code": status, "message": message, "status": code}}, status=status)

    async def _sanitize(self, request: web.Request) -> web.Response:
        match = PATH.match(request.path)
        if not match:
            return self._invalid(f"unknown path {request.path}", 404, "NOT_FOUND")
        template, _location, method = match.groups()
        if self.require_authorization is not None and request.headers.get("Authorization") not in self.require_authorization:
            return self._invalid("Request had invalid authentication credentials.", 401, "UNAUTHENTICATED")
        try:
            body = await request.json()
        except ValueError:
            return self._invalid("Invalid JSON payload received.")
        key = "userPromptData" if method == "sanitizeUserPrompt" else "modelResponseData"
        data = body.get(key) if isinstance(body, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str) or set(body) - {key}:
            return self._invalid(f"{key}.text is required")
        text = data["text"]
        self.calls.append(ArmorCall(method, template, text, dict(request.headers)))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_after is not None and len(self.calls) > self.fail_after:
            return self._invalid("fake Model Armor went down", 500, "INTERNAL")
        if self.status != 200:
            return self._invalid("fake Model Armor is down", self.status, "UNAVAILABLE")
        return web.json_response({"sanitizationResult": self.result(text)})

    def result(self, text: str) -> dict[str, Any]:
        def state(hit: bool) -> str:
            return "MATCH_FOUND" if hit else "NO_MATCH_FOUND"

        injection = "ignore all previous instructions" in text.lower()
        ssns = list(SSN.finditer(text))
        uri = "http://malware.example" in text
        dangerous = "DANGER-ZONE" in text
        ok = "EXECUTION_SUCCESS"
        sdp: dict[str, Any] = {"inspectResult": {"executionState": ok, "matchState": state(bool(ssns))}}
        if ssns:
            if self.deidentify:
                sdp = {"deidentifyResult": {
                    "executionState": ok, "matchState": "MATCH_FOUND", "infoTypes": ["US_SOCIAL_SECURITY_NUMBER"],
                    "data": {"text": SSN.sub("[SSN removed]", text)},
                }}
            else:
                sdp["inspectResult"]["findings"] = [
                    {"infoType": "US_SOCIAL_SECURITY_NUMBER", "likelihood": "LIKELY",
                     # int64 as JSON strings, the proto3 JSON mapping; codepoint offsets
                     "location": {"byteRange": {"start": str(len(text[:m.start()].encode())),
                                                "end": str(len(text[:m.end()].encode()))},
                                  "codepointRange": {"start": str(m.start()), "end": str(m.end())}}}
                    for m in ssns
                ]
        rai_types = {name: {"confidenceLevel": "HIGH" if name == "dangerous" and dangerous else "LOW_AND_ABOVE",
                            "matchState": state(name == "dangerous" and dangerous)}
                     for name in ("sexually_explicit", "hate_speech", "harassment", "dangerous")}
        filters = {
            "rai": {"raiFilterResult": {"executionState": ok, "matchState": state(dangerous), "raiFilterTypeResults": rai_types}},
            "pi_and_jailbreak": {"piAndJailbreakFilterResult": {"executionState": ok, "matchState": state(injection),
                                                                **({"confidenceLevel": "HIGH"} if injection else {})}},
            "sdp": {"sdpFilterResult": sdp},
            "malicious_uris": {"maliciousUriFilterResult": {"executionState": ok, "matchState": state(uri)}},
            "csam": {"csamFilterFilterResult": {"executionState": ok, "matchState": "NO_MATCH_FOUND"}},
        }
        hit = injection or bool(ssns) or uri or dangerous
        return {
            "filterMatchState": state(hit),
            "invocationResult": "FAILURE" if self.invocation_failure else "SUCCESS",
            "filterResults": filters,
            "sanitizationMetadata": {},
        }
