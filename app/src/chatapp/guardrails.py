"""Model Armor screening of user prompts and model replies (streamed replies too).

The app calls the Model Armor REST API itself (the template's own enforcement type only applies to
Google's integrations, so this module decides whether a match blocks):

- `POST {endpoint}/v1/{template}:sanitizeUserPrompt` with `{"userPromptData": {"text": ...}}`
- `POST {endpoint}/v1/{template}:sanitizeModelResponse` with `{"modelResponseData": {"text": ...}}`

both answering `{"sanitizationResult": {"filterMatchState", "invocationResult", "filterResults"}}`
(https://docs.cloud.google.com/model-armor/reference/rest/v1/projects.locations.templates/sanitizeUserPrompt,
https://docs.cloud.google.com/model-armor/reference/rest/v1/SanitizationResult). `filterResults` maps a
filter name ("rai", "sdp", "pi_and_jailbreak", "malicious_uris", "csam") to one result object
(`piAndJailbreakFilterResult`, `sdpFilterResult.inspectResult|deidentifyResult`, ...) with its own
`matchState`. Sanitizing needs a regional endpoint, `https://modelarmor.LOCATION.rep.googleapis.com`
(https://docs.cloud.google.com/model-armor/sanitize-prompts-responses), and an access token with the
cloud-platform scope; the caller holds roles/modelarmor.user
(https://cloud.google.com/security-command-center/docs/get-started-model-armor).

Settings (environment; all off unless CHAT_GUARDRAILS_TEMPLATE is set):

- CHAT_GUARDRAILS_TEMPLATE: projects/P/locations/L/templates/T
- CHAT_GUARDRAILS_ENFORCEMENT: inspect-only (log the decision, answer anyway) | inspect-and-block
- CHAT_GUARDRAILS_PROMPT_FAILURE / CHAT_GUARDRAILS_RESPONSE_FAILURE: open | closed — when Model
  Armor cannot answer, pass the text (open) or refuse it (closed, 503 / an error event)
- CHAT_GUARDRAILS_REDACT_PROMPTS: true — store a prompt with its sensitive data redacted (Model
  Armor's de-identified text when the template has one, else the matched spans replaced)
- CHAT_GUARDRAILS_ENDPOINT: override the regional endpoint (tests)
- CHAT_GUARDRAILS_AUTH: google-access-token (ADC: the metadata server on Cloud Run) | none (tests)
- CHAT_GUARDRAILS_TIMEOUT_S (3), CHAT_GUARDRAILS_STREAM_CHARS (400): a streamed reply is held back
  and screened each time this many new characters have accumulated, and once more at its end

Log lines carry the decision and the names of the filters that matched, never the text.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from .errors import ApiError
from .providers.base import Completion, Delta

if TYPE_CHECKING:
    import aiohttp

    from .providers.google_identity import GoogleTokenSource
    from .store.base import Message

TEMPLATE = re.compile(r"^projects/([a-z][-a-z0-9]{4,28}[a-z0-9]|\d+)/locations/([a-z0-9-]+)/templates/([A-Za-z0-9][A-Za-z0-9-]{0,62})$")
Enforcement = Literal["inspect-only", "inspect-and-block"]
Failure = Literal["open", "closed"]
Stage = Literal["prompt", "response"]
# Model Armor's filter keys (SanitizationResult.filterResults) -> the name an error code carries.
FILTER_NAMES = {
    "pi_and_jailbreak": "prompt_injection",
    "sdp": "sensitive_data",
    "malicious_uris": "malicious_uri",
    "rai": "responsible_ai",
    "csam": "csam",
}
# The one a refusal names when several match: the most specific first.
PRIORITY = ("pi_and_jailbreak", "malicious_uris", "csam", "sdp", "rai")
MATCH = "MATCH_FOUND"


class GuardrailSettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid guardrail settings:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class GuardrailSettings:
    template: str
    location: str
    endpoint: str
    enforcement: Enforcement = "inspect-only"
    prompt_failure: Failure = "open"
    response_failure: Failure = "open"
    redact_prompts: bool = False
    auth: str = "google-access-token"
    timeout_s: float = 3.0
    stream_chars: int = 400

    @property
    def blocks(self) -> bool:
        return self.enforcement == "inspect-and-block"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> GuardrailSettings | None:
        """None when CHAT_GUARDRAILS_TEMPLATE is unset; GuardrailSettingsError naming each bad variable."""
        template = (env.get("CHAT_GUARDRAILS_TEMPLATE") or "").strip()
        others = sorted(k for k in env if k.startswith("CHAT_GUARDRAILS_") and k != "CHAT_GUARDRAILS_TEMPLATE" and env[k])
        if not template:
            if others:
                raise GuardrailSettingsError(
                    [f"{', '.join(others)} set without CHAT_GUARDRAILS_TEMPLATE: set the template "
                     "(projects/P/locations/L/templates/T) or drop them"]
                )
            return None
        problems: list[str] = []
        match = TEMPLATE.match(template)
        if not match:
            problems.append(
                f"CHAT_GUARDRAILS_TEMPLATE={template[:200]!r} is not a template name: write it as "
                "projects/PROJECT/locations/LOCATION/templates/TEMPLATE_ID"
            )
        location = match.group(2) if match else ""

        def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
            value = (env.get(name) or default).strip().lower()
            if value not in allowed:
                problems.append(f"{name}={value!r}: use one of {', '.join(allowed)}")
                return default
            return value

        def number(name: str, default: float, low: float, high: float) -> float:
            raw = env.get(name)
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not a number")
                return default
            if not low <= value <= high:
                problems.append(f"{name}={raw}: use a value between {low:g} and {high:g}")
                return default
            return value

        enforcement = choice("CHAT_GUARDRAILS_ENFORCEMENT", "inspect-only", ("inspect-only", "inspect-and-block"))
        prompt_failure = choice("CHAT_GUARDRAILS_PROMPT_FAILURE", "open", ("open", "closed"))
        response_failure = choice("CHAT_GUARDRAILS_RESPONSE_FAILURE", "open", ("open", "closed"))
        redact = choice("CHAT_GUARDRAILS_REDACT_PROMPTS", "false", ("true", "false")) == "true"
        auth = choice("CHAT_GUARDRAILS_AUTH", "google-access-token", ("google-access-token", "none"))
        timeout = number("CHAT_GUARDRAILS_TIMEOUT_S", 3.0, 0.1, 30.0)
        stream_chars = int(number("CHAT_GUARDRAILS_STREAM_CHARS", 400, 1, 100_000))
        endpoint = (env.get("CHAT_GUARDRAILS_ENDPOINT") or "").strip().rstrip("/")
        if endpoint and not re.match(r"^https?://[^/\s]+$", endpoint):
            problems.append(f"CHAT_GUARDRAILS_ENDPOINT={endpoint[:200]!r}: give a scheme and host only, e.g. "
                            "https://modelarmor.us-central1.rep.googleapis.com")
        if problems:
            raise GuardrailSettingsError(problems)
        return cls(
            template=template,
            location=location,
            endpoint=endpoint or regional_endpoint(location),
            enforcement=enforcement,  # type: ignore[arg-type]
            prompt_failure=prompt_failure,  # type: ignore[arg-type]
            response_failure=response_failure,  # type: ignore[arg-type]
            redact_prompts=redact,
            auth=auth,
            timeout_s=timeout,
            stream_chars=stream_chars,
        )


def regional_endpoint(location: str) -> str:
    """https://docs.cloud.google.com/model-armor/sanitize-prompts-responses: sanitizing needs the
    regional endpoint modelarmor.LOCATION.rep.googleapis.com."""
    return f"https://modelarmor.{location}.rep.googleapis.com"


@dataclass
class Verdict:
    stage: Stage
    decision: Literal["allowed", "flagged", "blocked", "unavailable-passed", "unavailable-blocked"]
    filters: list[str] = field(default_factory=list)  # our names (FILTER_NAMES), in PRIORITY order
    redacted: str | None = None

    @property
    def blocked(self) -> bool:
        return self.decision in ("blocked", "unavailable-blocked")

    def record(self) -> dict[str, Any]:
        return {"decision": self.decision, "filters": self.filters}

    def error(self) -> ApiError:
        if self.decision == "unavailable-blocked":
            return ApiError(503, f"the content guardrails could not screen the {self.stage}; try again",
                            type="api_error", code="guardrail_unavailable", headers={"Retry-After": "2"})
        name = self.filters[0] if self.filters else "policy"
        what = "prompt" if self.stage == "prompt" else "model's answer"
        return ApiError(400, f"the {what} was refused by the content guardrails ({name.replace('_', ' ')})",
                        param="messages" if self.stage == "prompt" else None, code=f"guardrail_{name}")


class GuardrailBlocked(Exception):
    """A streamed reply that the guardrails refused, raised by `guard_stream`."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(verdict.decision)
        self.verdict = verdict


class ScreeningFailed(Exception):
    pass


class Guardrails:
    def __init__(self, settings: GuardrailSettings, session: aiohttp.ClientSession,
                 tokens: GoogleTokenSource | None) -> None:
        self.settings = settings
        self._session = session
        self._tokens = tokens

    @classmethod
    def from_env(cls, env: Mapping[str, str], session: aiohttp.ClientSession) -> Guardrails | None:
        settings = GuardrailSettings.from_env(env)
        if settings is None:
            return None
        tokens = None
        if settings.auth == "google-access-token":
            from .providers.google_identity import GoogleTokenSource

            tokens = GoogleTokenSource("google-access-token")
        return cls(settings, session, tokens)

    async def screen(self, stage: Stage, text: str) -> Verdict:
        """One Model Armor call; the failure policy of the stage applies when it cannot answer."""
        failure = self.settings.prompt_failure if stage == "prompt" else self.settings.response_failure
        try:
            result = await asyncio.wait_for(self._call(stage, text), self.settings.timeout_s)
        except Exception:  # timeout, connection, status, no token (UpstreamAuthError), a malformed body
            # The reason is not logged: an error body may echo the text.
            return Verdict(stage, "unavailable-blocked" if failure == "closed" else "unavailable-passed")
        return self.judge(stage, text, result)

    def judge(self, stage: Stage, text: str, result: Mapping[str, Any]) -> Verdict:
        filters = result.get("filterResults") or {}
        if not isinstance(filters, Mapping):
            filters = {}
        matched = [key for key in PRIORITY if _matched(filters.get(key))]
        matched += sorted(k for k in filters if k not in PRIORITY and _matched(filters.get(k)))
        overall = result.get("filterMatchState") == MATCH or bool(matched)
        if not overall:
            return Verdict(stage, "allowed")
        names = [FILTER_NAMES.get(key, re.sub(r"[^a-z0-9_]", "_", key.lower())[:40]) for key in matched]
        redacted = redact(text, filters.get("sdp")) if stage == "prompt" and "sdp" in matched else None
        return Verdict(stage, "blocked" if self.settings.blocks else "flagged", names, redacted)

    async def _call(self, stage: Stage, text: str) -> Mapping[str, Any]:
        method, key = ("sanitizeUserPrompt", "userPromptData") if stage == "prompt" else (
            "sanitizeModelResponse", "modelResponseData")
        headers = {"Content-Type": "application/json"}
        if self._tokens is not None:
            headers["Authorization"] = await self._tokens.authorization()
        url = f"{self.settings.endpoint}/v1/{self.settings.template}:{method}"
        async with self._session.post(url, data=orjson.dumps({key: {"text": text}}), headers=headers) as resp:
            if resp.status != 200:
                raise ScreeningFailed(f"status {resp.status}")
            body = orjson.loads(await resp.read())
        result = body.get("sanitizationResult") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise ScreeningFailed("no sanitizationResult")
        if result.get("invocationResult") == "FAILURE":  # every filter skipped or failed
            raise ScreeningFailed("invocationResult FAILURE")
        return result


def _matched(node: Any) -> bool:
    """A FilterResult holds one `<kind>FilterResult` object (sdp: inspectResult / deidentifyResult),
    each with its matchState."""
    if not isinstance(node, Mapping):
        return False
    for inner in node.values():
        if not isinstance(inner, Mapping):
            continue
        if inner.get("matchState") == MATCH:
            return True
        if any(isinstance(v, Mapping) and v.get("matchState") == MATCH for v in inner.values()):
            return True
    return False


def redact(text: str, sdp: Any) -> str | None:
    """The de-identified text Model Armor returns (an advanced SDP config with a de-identify
    template), else the inspect findings' codepoint ranges replaced by [INFO_TYPE]
    (SdpFinding.location.codepointRange: "Unicode character offsets ... Provided when the content is
    text", https://docs.cloud.google.com/php/docs/reference/cloud-modelarmor/latest/V1.SdpFinding.SdpFindingLocation.md.txt).
    None when neither is there."""
    result = sdp.get("sdpFilterResult") if isinstance(sdp, Mapping) else None
    if not isinstance(result, Mapping):
        return None
    deidentified = result.get("deidentifyResult")
    if isinstance(deidentified, Mapping):
        data = deidentified.get("data")
        if isinstance(data, Mapping) and isinstance(data.get("text"), str):
            return str(data["text"])
    inspect = result.get("inspectResult")
    findings = inspect.get("findings") if isinstance(inspect, Mapping) else None
    spans: list[tuple[int, int, str]] = []
    for finding in findings if isinstance(findings, list) else []:
        try:
            span = finding["location"]["codepointRange"]
            # int64 fields arrive as JSON strings (proto3 JSON mapping); start defaults to 0
            start, end = int(span.get("start", 0)), int(span["end"])
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if 0 <= start < end <= len(text):
            spans.append((start, end, str(finding.get("infoType") or "SENSITIVE_DATA")))
    if not spans:
        return None
    out, cursor = [], 0
    for start, end, info in sorted(spans):
        if start < cursor:  # overlapping findings: the first one already covers it
            continue
        out += [text[cursor:start], f"[{re.sub(r'[^A-Z0-9_]', '', info.upper()) or 'REDACTED'}]"]
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


def _note(fields: dict[str, Any], verdict: Verdict) -> None:
    fields.setdefault("guardrails", {})[verdict.stage] = verdict.record()
    if verdict.decision == "unavailable-passed":  # answered unscreened: worth a look (a refusal has its status)
        fields.setdefault("_severity", "WARNING")


async def screen_prompts(guard: Guardrails | None, messages: Sequence[Message], fields: dict[str, Any]) -> None:
    """Screens the request's user messages (one call each, concurrently); raises the refusal in
    block mode; redacts what will be stored when CHAT_GUARDRAILS_REDACT_PROMPTS is on."""
    if guard is None:
        return
    users = [m for m in messages if m.role == "user" and m.content]
    if not users:
        return
    verdicts = await asyncio.gather(*(guard.screen("prompt", m.content) for m in users))
    worst = next((v for v in verdicts if v.blocked), None) or next(
        (v for v in verdicts if v.decision != "allowed"), verdicts[0])
    merged = Verdict("prompt", worst.decision, sorted({f for v in verdicts for f in v.filters},
                                                      key=_priority_of))
    _note(fields, merged)
    if merged.blocked:
        raise merged.error()
    if guard.settings.redact_prompts:
        redactions = 0
        for message, verdict in zip(users, verdicts):
            if verdict.redacted is not None:
                message.content = verdict.redacted
                redactions += 1
        if redactions:
            fields["guardrails"]["prompt"]["redacted_messages"] = redactions


def _priority_of(name: str) -> int:
    keys = [FILTER_NAMES.get(k, k) for k in PRIORITY]
    return keys.index(name) if name in keys else len(keys)


async def screen_reply(guard: Guardrails | None, text: str, fields: dict[str, Any]) -> Verdict | None:
    """A whole (non-streamed) reply; the verdict, whose `.blocked` the caller acts on."""
    if guard is None or not text:
        return None
    verdict = await guard.screen("response", text)
    _note(fields, verdict)
    return verdict


def guard_stream(
    guard: Guardrails | None, events: AsyncGenerator[Any, None], fields: dict[str, Any]
) -> AsyncGenerator[Any, None]:
    """The model's stream, screened. In block mode, text is held back and released only once the
    accumulated reply (everything so far, not just the new piece: an attack can straddle pieces)
    passed; it is screened each `stream_chars` new characters and at the end. A refusal raises
    GuardrailBlocked; nothing of the refused text is released. In inspect-only mode text flows at
    once and the whole reply is screened at the end, for the log."""
    if guard is None:
        return events
    return _screened(guard, events, fields)


async def _screened(guard: Guardrails, events: AsyncGenerator[Any, None], fields: dict[str, Any]) -> AsyncGenerator[Any, None]:
    blocks = guard.settings.blocks
    every = guard.settings.stream_chars
    said: list[str] = []
    held: list[str] = []
    held_chars = 0

    async def final_check(text: str) -> None:
        if text:
            verdict = await guard.screen("response", text)
            _note(fields, verdict)
            if verdict.blocked:
                raise GuardrailBlocked(verdict)

    try:
        async for event in events:
            if isinstance(event, Delta):
                said.append(event.text)
                if not blocks:
                    yield event
                    continue
                held.append(event.text)
                held_chars += len(event.text)
                if held_chars >= every:
                    verdict = await guard.screen("response", "".join(said))
                    if verdict.blocked:
                        _note(fields, verdict)
                        raise GuardrailBlocked(verdict)
                    yield Delta("".join(held))
                    held, held_chars = [], 0
                continue
            if isinstance(event, Completion):
                await final_check("".join(said) or event.text)
                if held:
                    yield Delta("".join(held))
                    held = []
                yield event
                return
            yield event
        # the stream ended without a Completion (the caller makes one of what was said)
        await final_check("".join(said))
        if held:
            yield Delta("".join(held))
    finally:
        await events.aclose()
