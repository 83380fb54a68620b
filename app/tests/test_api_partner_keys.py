"""CHAT_API_KEY_<TENANT>: one key per partner, as the staging stack injects them from Secret Manager."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import pytest

from chatapp.auth import KeyRing, partner_tenant
from chatapp.settings import Settings, SettingsError
from conftest import KEY_ACME, KEY_GLOBEX, AppServer

USER = [{"role": "user", "content": "hello"}]
KEY_INITECH = "sk-initech-0123456789abcdef"


def _hashed(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


@pytest.mark.parametrize(
    ("variable", "tenant"),
    [("CHAT_API_KEY_ACME", "acme"), ("CHAT_API_KEY_ACME_CORP", "acme-corp"), ("CHAT_API_KEY_P2", "p2")],
)
def test_variable_suffix_maps_back_to_the_stacks_partner_id(variable: str, tenant: str) -> None:
    assert partner_tenant(variable) == tenant


def test_partner_variables_alone_are_a_way_to_authenticate() -> None:
    settings = Settings.from_env({"CHAT_API_KEY_ACME": KEY_ACME + "\n", "CHAT_API_KEY_GLOBEX": KEY_GLOBEX})
    # sorted, stripped of the newline a secret written with `echo` carries
    assert settings.partner_api_keys == (("CHAT_API_KEY_ACME", KEY_ACME), ("CHAT_API_KEY_GLOBEX", KEY_GLOBEX))
    assert KEY_ACME not in repr(settings)
    # CHAT_API_KEYS and CHAT_API_KEYS_FILE are not partner variables
    assert Settings.from_env({"CHAT_API_KEYS": json.dumps({"a": KEY_ACME})}).partner_api_keys == ()


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"CHAT_API_KEY_ACME": "  "}, "CHAT_API_KEY_ACME is empty"),
        ({"CHAT_API_KEY_": KEY_ACME}, "CHAT_API_KEY_ does not name a tenant"),
        ({"CHAT_API_KEY_ACME-CORP": KEY_ACME}, "CHAT_API_KEY_ACME-CORP does not name a tenant"),
        ({"CHAT_API_KEY_ACME": f"{KEY_ACME} {KEY_GLOBEX}"}, "CHAT_API_KEY_ACME holds more than one word"),
    ],
)
def test_bad_partner_variables_are_settings_errors(env: dict[str, str], needle: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert needle in str(err.value)
    assert "0123456789abcdef" not in str(err.value)


def test_partner_keys_merge_with_chat_api_keys() -> None:
    ring = KeyRing.parse(
        json.dumps({"acme": KEY_ACME}),
        [("CHAT_API_KEY_GLOBEX_CORP", _hashed(KEY_GLOBEX)), ("CHAT_API_KEY_INITECH", KEY_INITECH)],
    )
    assert len(ring) == 3
    found = {key: ring.lookup(key) for key in (KEY_ACME, KEY_GLOBEX, KEY_INITECH)}
    assert {k: p.tenant if p else None for k, p in found.items()} == {
        KEY_ACME: "acme", KEY_GLOBEX: "globex-corp", KEY_INITECH: "initech",
    }
    assert ring.lookup("sk-nobody-0123456789abcdef") is None
    assert KeyRing.parse(None, [("CHAT_API_KEY_ACME", KEY_ACME)]).lookup(KEY_ACME) is not None


@pytest.mark.parametrize(
    ("raw", "partner_keys", "needles"),
    [
        # the same tenant from CHAT_API_KEYS and from its own variable
        (json.dumps({"acme": KEY_GLOBEX}), [("CHAT_API_KEY_ACME", KEY_ACME)],
         ["tenant 'acme' is defined twice", "CHAT_API_KEYS", "CHAT_API_KEY_ACME"]),
        # two variables that map to one tenant
        (None, [("CHAT_API_KEY_ACME", KEY_ACME), ("CHAT_API_KEY_acme", KEY_GLOBEX)],
         ["tenant 'acme' is defined twice", "by CHAT_API_KEY_ACME and by CHAT_API_KEY_acme"]),
        # one key for two partners, once plain and once hashed
        (None, [("CHAT_API_KEY_ACME", KEY_ACME), ("CHAT_API_KEY_GLOBEX", _hashed(KEY_ACME))],
         ["CHAT_API_KEY_GLOBEX is also a key of tenant 'acme' (CHAT_API_KEY_ACME)", "one tenant"]),
        # a partner key that is also in CHAT_API_KEYS for another tenant
        (json.dumps({"globex": [KEY_GLOBEX, KEY_ACME]}), [("CHAT_API_KEY_ACME", KEY_ACME)],
         ["CHAT_API_KEY_ACME is also a key of tenant 'globex' (CHAT_API_KEYS['globex'][1])"]),
        (None, [("CHAT_API_KEY_ACME", "short")], ["CHAT_API_KEY_ACME is shorter than 16"]),
        (None, [("CHAT_API_KEY_ACME", "sha256:abc")], ["CHAT_API_KEY_ACME has a malformed hash"]),
        (None, [("CHAT_API_KEY_ANON_X", KEY_ACME)], ["CHAT_API_KEY_ANON_X (tenant 'anon-x')", "'anon-'"]),
    ],
)
def test_conflicting_or_bad_partner_keys_name_the_variables_without_echoing_keys(
    raw: str | None, partner_keys: list[tuple[str, str]], needles: list[str]
) -> None:
    with pytest.raises(SettingsError) as err:
        KeyRing.parse(raw, partner_keys)
    text = str(err.value)
    for needle in needles:
        assert needle in text
    assert "0123456789abcdef" not in text and hashlib.sha256(KEY_ACME.encode()).hexdigest() not in text


def test_two_partners_each_see_only_their_own_conversations(start_app: Callable[..., AppServer]) -> None:
    server = start_app(
        CHAT_API_KEYS=None, CHAT_API_KEY_ACME=KEY_ACME, CHAT_API_KEY_GLOBEX_CORP=_hashed(KEY_GLOBEX) + "\n"
    )
    ids = {}
    for key in (KEY_ACME, KEY_GLOBEX):
        raw = server.client(key).chat.completions.with_raw_response.create(model="default", messages=USER)
        ids[key] = raw.headers["x-conversation-id"]
    for mine, other in ((KEY_ACME, KEY_GLOBEX), (KEY_GLOBEX, KEY_ACME)):
        listed = server.call("GET", "/v1/conversations", key=mine).json()["data"]
        assert [c["id"] for c in listed] == [ids[mine]]
        assert server.call("GET", f"/v1/conversations/{ids[mine]}", key=mine).status == 200
        assert server.call("GET", f"/v1/conversations/{ids[other]}", key=mine).status == 404
    assert server.call("GET", "/v1/models", key="sk-nobody-0123456789abcdef").status == 401
    chats = server.logs.requests("/v1/chat/completions")
    assert sorted(r["tenant"] for r in chats) == ["acme", "globex-corp"]
    assert "0123456789abcdef" not in server.logs.text()
    started = [r for r in server.logs.records() if r.get("message") == "chatapp started"]
    assert started and started[0]["tenants"] == 2


# uvicorn ends a failed startup with sys.exit in the server thread
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_duplicate_tenant_stops_startup_naming_both_variables(base_env: dict[str, str]) -> None:
    env = dict(base_env, CHAT_API_KEY_ACME="sk-acme-second-0123456789abcdef")
    server = AppServer(env)
    with pytest.raises(RuntimeError, match="did not start") as err:
        server.start()
    critical = [r for r in server.logs.records() if r.get("severity") == "CRITICAL"]
    assert critical, str(err.value)
    problems = " ".join(critical[0]["problems"])
    assert "tenant 'acme' is defined twice, by CHAT_API_KEYS and by CHAT_API_KEY_ACME" in problems
    assert "0123456789abcdef" not in server.logs.text()
