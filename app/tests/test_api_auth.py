"""API keys, tenant isolation, anonymous access and per-key rate limits."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import openai
import pytest

from chatapp.auth import KeyRing
from chatapp.limits import RateLimiter
from chatapp.settings import SettingsError
from conftest import KEY_ACME, KEY_GLOBEX, AppServer

USER = [{"role": "user", "content": "hello"}]


def test_other_tenants_conversation_is_404_everywhere(app_server: AppServer) -> None:
    raw = app_server.client(KEY_ACME).chat.completions.with_raw_response.create(model="default", messages=USER)
    conv_id = raw.headers["x-conversation-id"]
    assert app_server.call("GET", f"/v1/conversations/{conv_id}", key=KEY_ACME).status == 200

    for method in ("GET", "DELETE"):
        r = app_server.call(method, f"/v1/conversations/{conv_id}", key=KEY_GLOBEX)
        assert r.status == 404, method
        assert r.json()["error"]["code"] == "not_found"
    with pytest.raises(openai.NotFoundError):
        app_server.client(KEY_GLOBEX).chat.completions.create(
            model="default", messages=USER, extra_headers={"X-Conversation-Id": conv_id}
        )
    assert app_server.call("GET", "/v1/conversations", key=KEY_GLOBEX).json()["data"] == []
    # a missing id looks exactly like another tenant's
    missing = app_server.call("GET", "/v1/conversations/doesnotexist", key=KEY_GLOBEX)
    assert missing.status == 404
    # the owner still has it, unchanged, and can delete it
    assert app_server.call("GET", f"/v1/conversations/{conv_id}", key=KEY_ACME).json()["message_count"] == 2
    assert app_server.call("DELETE", f"/v1/conversations/{conv_id}", key=KEY_ACME).json()["deleted"] is True
    assert app_server.call("GET", f"/v1/conversations/{conv_id}", key=KEY_ACME).status == 404


def test_missing_and_wrong_keys_are_401(app_server: AppServer) -> None:
    r = app_server.call("POST", "/v1/chat/completions", key=None, body={"model": "default", "messages": USER})
    assert r.status == 401 and r.json()["error"]["code"] == "missing_api_key"
    with pytest.raises(openai.AuthenticationError):
        app_server.client("sk-wrong-key-0123456789").chat.completions.create(model="default", messages=USER)
    r = app_server.call("GET", "/v1/models", key=None, headers={"Authorization": "Basic abc"})
    assert r.status == 401 and r.json()["error"]["param"] == "Authorization"
    # x-api-key works as well as Bearer
    assert app_server.call("GET", "/v1/models", key=None, headers={"x-api-key": KEY_ACME}).status == 200


def test_auth_comes_before_body_validation(app_server: AppServer) -> None:
    r = app_server.call("POST", "/v1/chat/completions", key=None, raw=b"[1,2]")
    assert r.status == 401


def test_hashed_keys_are_accepted(start_app: Callable[..., AppServer]) -> None:
    hashed = "sha256:" + hashlib.sha256(KEY_GLOBEX.encode()).hexdigest()
    server = start_app(CHAT_API_KEYS=json.dumps({"globex": [hashed, "sk-second-key-for-rotation"]}))
    assert server.client(KEY_GLOBEX).chat.completions.create(model="default", messages=USER).model
    assert server.call("GET", "/v1/models", key="sk-second-key-for-rotation").status == 200
    assert server.call("GET", "/v1/models", key=KEY_ACME).status == 401


def test_anonymous_only_when_enabled_and_each_client_is_its_own_tenant(start_app: Callable[..., AppServer]) -> None:
    # as behind Cloud Run: the rightmost X-Forwarded-For entry is the one its front end added
    server = start_app(CHAT_ALLOW_ANONYMOUS="true", CHAT_ANON_RPM="3", CHAT_TRUSTED_PROXY_HOPS="1")
    first = server.call("POST", "/v1/chat/completions", key=None, headers={"X-Forwarded-For": "203.0.113.7"},
                        body={"model": "default", "messages": USER})
    assert first.status == 200
    conv_id = first.headers["x-conversation-id"]
    same = server.call("GET", f"/v1/conversations/{conv_id}", key=None, headers={"X-Forwarded-For": "203.0.113.7"})
    assert same.status == 200
    other = server.call("GET", f"/v1/conversations/{conv_id}", key=None, headers={"X-Forwarded-For": "198.51.100.9"})
    assert other.status == 404
    # the per-client limit: 3 requests/min for 203.0.113.7, the other client is unaffected
    third = server.call("GET", "/v1/models", key=None, headers={"X-Forwarded-For": "203.0.113.7"})
    assert third.status == 200
    limited = server.call("GET", "/v1/models", key=None, headers={"X-Forwarded-For": "203.0.113.7"})
    assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
    assert server.call("GET", "/v1/models", key=None, headers={"X-Forwarded-For": "198.51.100.9"}).status == 200
    # a key still works and is not anonymous
    assert server.call("GET", "/v1/conversations", key=KEY_ACME).json()["data"] == []


def test_requests_per_minute_limit_per_key(start_app: Callable[..., AppServer]) -> None:
    server = start_app(CHAT_RATE_RPM="2")
    client = server.client(KEY_ACME)
    first = client.chat.completions.with_raw_response.create(model="default", messages=USER)
    assert first.headers["x-ratelimit-limit-requests"] == "2"
    assert first.headers["x-ratelimit-remaining-requests"] == "1"
    client.chat.completions.create(model="default", messages=USER)
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="default", messages=USER)
    retry_after = int(err.value.response.headers["retry-after"])
    assert 1 <= retry_after <= 30
    assert err.value.body["code"] == "rate_limit_exceeded"  # type: ignore[index]
    # another key has its own budget
    assert server.client(KEY_GLOBEX).chat.completions.create(model="default", messages=USER).model


def test_tokens_per_minute_limit_per_key(start_app: Callable[..., AppServer]) -> None:
    server = start_app(CHAT_RATE_TPM="10")
    client = server.client(KEY_ACME)
    client.chat.completions.create(model="default", messages=USER)  # uses more than 10 tokens
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model="default", messages=USER)
    assert "tokens per minute" in err.value.message
    assert int(err.value.response.headers["retry-after"]) >= 1


def test_token_bucket_refills_over_time() -> None:
    limiter = RateLimiter(rpm=60, tpm=600)
    assert all(limiter.acquire("k", now=0.0).allowed for _ in range(60))
    denied = limiter.acquire("k", now=0.0)
    assert not denied.allowed and denied.retry_after_s == 1
    assert limiter.acquire("k", now=1.0).allowed  # one request per second comes back
    limiter.charge("k", 1200, now=1.0)  # 600 in debt
    verdict = limiter.acquire("k", now=31.0)  # 300 refilled, still 300 in debt
    assert not verdict.allowed and verdict.reason == "tokens per minute" and verdict.retry_after_s == 31
    assert limiter.acquire("k", now=62.0).allowed


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ("not json", "not valid JSON"),
        ("[]", "non-empty JSON object"),
        ('{"acme": "short"}', "shorter than 16"),
        ('{"acme": "sha256:xyz"}', "malformed hash"),
        ('{"bad tenant": "sk-0123456789abcdef"}', "tenant"),
        ('{"a": "sk-0123456789abcdef", "b": "sk-0123456789abcdef"}', "one tenant"),
        ('{"acme": 5}', "must be a string"),
    ],
)
def test_bad_key_config_is_rejected_naming_the_variable_without_echoing_keys(raw: str, needle: str) -> None:
    with pytest.raises(SettingsError) as err:
        KeyRing.parse(raw)
    text = str(err.value)
    assert "CHAT_API_KEYS" in text and needle in text
    assert "0123456789abcdef" not in text


def test_keys_from_a_mounted_secret_file(start_app: Callable[..., AppServer], tmp_path: object) -> None:
    from pathlib import Path

    secret = Path(str(tmp_path)) / "keys.json"
    secret.write_text(json.dumps({"initech": "sk-initech-0123456789"}))
    server = start_app(CHAT_API_KEYS=None, CHAT_API_KEYS_FILE=str(secret))
    assert server.call("GET", "/v1/models", key="sk-initech-0123456789").status == 200
    assert server.call("GET", "/v1/models", key=KEY_ACME).status == 401


def test_unreadable_key_file_is_a_settings_error(tmp_path: object) -> None:
    from chatapp.settings import Settings

    with pytest.raises(SettingsError) as err:
        Settings.from_env({"CHAT_API_KEYS_FILE": f"{tmp_path}/missing.json"})
    assert "CHAT_API_KEYS_FILE" in str(err.value)
