"""CHAT_ALLOWED_CIDRS_<TENANT>: a partner's key works only from its own ranges (issue 23), over real HTTP.

Run directly (hops 0) the client address is the socket peer, so each test client binds its own
loopback address (127.0.0.2, 127.0.0.3, ...). With CHAT_TRUSTED_PROXY_HOPS=1 (what Cloud Run gets)
the address is the last X-Forwarded-For entry, the one Cloud Run's front end appends; the tests
send the header as the front end would deliver it, with and without the client's own entries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest

from chatapp.settings import Settings, SettingsError
from chatapp.source_ranges import SourceRanges
from conftest import KEY_ACME, KEY_GLOBEX, AppServer

USER = [{"role": "user", "content": "hello"}]
KEY_INITECH = "sk-initech-0123456789abcdef"
ACME_HOST, GLOBEX_HOST, STRANGER = "127.0.0.2", "127.0.0.3", "127.0.0.4"


@pytest.fixture
def partners(start_app: Callable[..., AppServer]) -> Callable[..., AppServer]:
    """acme and globex as the staging stack injects them (key + ranges each); initech has a key only."""

    def start(**overrides: str | None) -> AppServer:
        env: dict[str, str | None] = {
            "CHAT_API_KEYS": json.dumps({"initech": KEY_INITECH}),
            "CHAT_API_KEY_ACME": KEY_ACME,
            "CHAT_API_KEY_GLOBEX": KEY_GLOBEX,
            "CHAT_ALLOWED_CIDRS_ACME": f"{ACME_HOST}/32, 2001:db8:ac::/48",
            "CHAT_ALLOWED_CIDRS_GLOBEX": f"{GLOBEX_HOST}/32",
        }
        env.update(overrides)
        return start_app(**env)

    return start


def chat(server: AppServer, key: str, **kwargs: Any) -> Any:
    return server.call("POST", "/v1/chat/completions", key=key, body={"model": "default", "messages": USER}, **kwargs)


def refusals(server: AppServer) -> list[dict[str, Any]]:
    return [r for r in server.logs.requests() if r.get("source_refused") is True]


def test_a_partner_key_from_its_range_is_served_and_from_elsewhere_refused(partners: Callable[..., AppServer]) -> None:
    server = partners()
    assert chat(server, KEY_ACME, source=ACME_HOST).status == 200
    refused = chat(server, KEY_ACME, source=STRANGER)
    assert refused.status == 403
    assert refused.json() == {"error": {
        "message": f"this API key is not allowed from {STRANGER}: it works only from its partner's registered source "
                   "ranges; ask the service operator to add your egress range",
        "type": "permission_error", "param": None, "code": "source_ip_not_allowed",
    }}
    # every authenticated route, not only chat
    assert server.call("GET", "/v1/models", key=KEY_ACME, source=STRANGER).status == 403
    assert server.call("GET", "/v1/models", key=KEY_ACME, source=ACME_HOST).status == 200
    # the OpenAI SDK sees a permission error, not an authentication one
    sdk = server.client(KEY_ACME)  # connects from 127.0.0.1, outside acme's ranges
    with pytest.raises(openai.PermissionDeniedError):
        sdk.chat.completions.create(model="default", messages=USER)  # type: ignore[arg-type]


def test_another_partners_ranges_do_not_apply(partners: Callable[..., AppServer]) -> None:
    server = partners()
    assert chat(server, KEY_GLOBEX, source=GLOBEX_HOST).status == 200
    assert chat(server, KEY_GLOBEX, source=ACME_HOST).status == 403  # acme's address is not globex's
    assert chat(server, KEY_ACME, source=GLOBEX_HOST).status == 403  # and the other way round
    # a tenant without ranges is key-only, from anywhere
    assert chat(server, KEY_INITECH, source=STRANGER).status == 200
    assert sorted((r["partner"], r["httpRequest"]["remoteIp"]) for r in refusals(server)) == [
        ("acme", GLOBEX_HOST), ("globex", ACME_HOST),
    ]


def test_a_refusal_is_logged_with_partner_and_address_never_the_key(partners: Callable[..., AppServer]) -> None:
    server = partners()
    chat(server, KEY_ACME, source=STRANGER)
    [line] = refusals(server)
    assert line["severity"] == "WARNING" and line["httpRequest"]["status"] == 403
    assert line["partner"] == "acme" and line["tenant"] == "acme"
    assert line["client_ip"] == STRANGER and line["httpRequest"]["remoteIp"] == STRANGER
    assert "0123456789abcdef" not in server.logs.text()
    # served requests carry no refusal field, so the metric counts refusals only
    chat(server, KEY_ACME, source=ACME_HOST)
    assert len(refusals(server)) == 1


def test_a_spoofed_forwarded_for_does_not_get_around_the_check_run_directly(partners: Callable[..., AppServer]) -> None:
    server = partners()  # hops 0: the header is the client's own and is not read
    spoofed = chat(server, KEY_ACME, source=STRANGER, headers={"X-Forwarded-For": ACME_HOST})
    assert spoofed.status == 403
    assert refusals(server)[0]["httpRequest"]["remoteIp"] == STRANGER


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        # what Cloud Run delivers when the partner sent no header: the front end's entry alone
        ([("X-Forwarded-For", "203.0.113.9")], 403),
        ([("X-Forwarded-For", ACME_HOST)], 200),
        ([("X-Forwarded-For", "2001:db8:ac::7")], 200),
        # a stranger writes acme's address first; the front end appends the stranger's real one
        ([("X-Forwarded-For", f"{ACME_HOST}, 203.0.113.9")], 403),
        # ... on a header line of its own, before the front end's line
        ([("X-Forwarded-For", ACME_HOST), ("X-Forwarded-For", "203.0.113.9")], 403),
        # the partner's own proxy chain in front of ours is fine: only the last entry counts
        ([("X-Forwarded-For", f"198.51.100.1, {ACME_HOST}")], 200),
        # no entry from the trusted proxy: the address cannot be told, the key is refused
        ([], 403),
        ([("X-Forwarded-For", "not-an-address")], 403),
    ],
)
def test_behind_the_front_end_only_the_entry_it_appends_counts(
    partners: Callable[..., AppServer], lines: list[tuple[str, str]], status: int
) -> None:
    server = partners(CHAT_TRUSTED_PROXY_HOPS="1")
    # the socket peer (127.0.0.2, acme's own address) must not matter behind a proxy either
    assert chat(server, KEY_ACME, source=ACME_HOST, extra_headers=lines).status == status


def test_settings_read_the_ranges_per_partner() -> None:
    settings = Settings.from_env({
        "CHAT_API_KEY_ACME_CORP": KEY_ACME, "CHAT_ALLOWED_CIDRS_ACME_CORP": "203.0.113.0/24,2001:db8::/32",
    })
    ranges = settings.source_ranges
    assert isinstance(ranges, SourceRanges) and list(ranges.by_tenant) == ["acme-corp"]
    assert ranges.allows("acme-corp", "203.0.113.200") and ranges.allows("acme-corp", "::ffff:203.0.113.1")
    assert not ranges.allows("acme-corp", "203.0.114.1") and not ranges.allows("acme-corp", None)
    assert ranges.allows("globex", "198.51.100.1")  # no ranges: not restricted


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"CHAT_ALLOWED_CIDRS_GLOBEX": "203.0.113.0/24"}, "CHAT_ALLOWED_CIDRS_GLOBEX is set but CHAT_API_KEY_GLOBEX is not"),
        ({"CHAT_API_KEY_GLOBEX": KEY_GLOBEX, "CHAT_ALLOWED_CIDRS_GLOBEX": " , "}, "CHAT_ALLOWED_CIDRS_GLOBEX is empty"),
        ({"CHAT_API_KEY_GLOBEX": KEY_GLOBEX, "CHAT_ALLOWED_CIDRS_GLOBEX": "203.0.113.7/24"},
         "CHAT_ALLOWED_CIDRS_GLOBEX entry '203.0.113.7/24' is not a network"),
        ({"CHAT_API_KEY_GLOBEX": KEY_GLOBEX, "CHAT_ALLOWED_CIDRS_GLOBEX": "acme"},
         "CHAT_ALLOWED_CIDRS_GLOBEX entry 'acme' is not a network"),
        ({"CHAT_ALLOWED_CIDRS_": "203.0.113.0/24"}, "CHAT_ALLOWED_CIDRS_ does not name a tenant"),
    ],
)
def test_bad_range_variables_stop_startup_naming_the_variable(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env({"CHAT_API_KEY_ACME": KEY_ACME, **env})
    assert needle in str(err.value)
    assert "0123456789abcdef" not in str(err.value)


def test_the_openapi_document_lists_the_403_on_every_keyed_route(app_server: AppServer) -> None:
    doc = app_server.call("GET", "/openapi.json", key=None).json()
    keyed = [op for item in doc["paths"].values() for op in item.values() if isinstance(op, dict) and "401" in op["responses"]]
    assert keyed and all("403" in op["responses"] for op in keyed)
    assert doc["components"]["schemas"]["ErrorResponse"]
