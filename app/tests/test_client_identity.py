"""Who a request comes from: anonymous clients by an address a client cannot choose (#18.7), and
the API key in x-api-key next to a Google identity token in Authorization (#18.8)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest

from chatapp.settings import Settings
from conftest import KEY_ACME, KEY_GLOBEX, AppServer

USER = [{"role": "user", "content": "my secret question"}]
VICTIM, ATTACKER = "127.0.0.2", "127.0.0.3"  # loopback addresses of their own: two clients


def anon_chat(server: AppServer, source: str, headers: list[tuple[str, str]] | None = None) -> str:
    r = server.call("POST", "/v1/chat/completions", key=None, body={"model": "default", "messages": USER},
                    source=source, extra_headers=headers)
    assert r.status == 200, r.text
    return r.headers["x-conversation-id"]


def history_seen_by(server: AppServer, source: str, conv_id: str, headers: list[tuple[str, str]]) -> tuple[int, list[str]]:
    one = server.call("GET", f"/v1/conversations/{conv_id}", key=None, source=source, extra_headers=headers)
    listed = server.call("GET", "/v1/conversations", key=None, source=source, extra_headers=headers)
    assert listed.status == 200, listed.text
    return one.status, [c["id"] for c in listed.json()["data"]]


def test_run_directly_a_spoofed_x_forwarded_for_reads_nothing(start_app: Callable[..., AppServer]) -> None:
    server = start_app(CHAT_ALLOW_ANONYMOUS="true", CHAT_ANON_RPM="100")
    assert server.settings.trusted_proxy_hops == 0  # not on Cloud Run: the header is not trusted
    conv_id = anon_chat(server, VICTIM)
    assert history_seen_by(server, VICTIM, conv_id, []) == (200, [conv_id])
    for forged in (VICTIM, f"10.0.0.1, {VICTIM}", f"{VICTIM}, {VICTIM}"):
        assert history_seen_by(server, ATTACKER, conv_id, [("X-Forwarded-For", forged)]) == (404, []), forged


def test_on_cloud_run_only_the_entry_its_front_end_appended_counts(start_app: Callable[..., AppServer]) -> None:
    # K_SERVICE marks Cloud Run: the rightmost X-Forwarded-For entry is the front end's
    server = start_app(CHAT_ALLOW_ANONYMOUS="true", CHAT_ANON_RPM="100", K_SERVICE="chat")
    assert server.settings.trusted_proxy_hops == 1
    victim_ip, attacker_ip = "203.0.113.7", "198.51.100.9"
    conv_id = anon_chat(server, VICTIM, [("X-Forwarded-For", victim_ip)])
    assert history_seen_by(server, VICTIM, conv_id, [("X-Forwarded-For", victim_ip)])[0] == 200
    forgeries = [
        [("X-Forwarded-For", f"{victim_ip}, {attacker_ip}")],  # the client's value, then the front end's
        [("X-Forwarded-For", victim_ip), ("X-Forwarded-For", attacker_ip)],  # the same as two header lines
    ]
    for headers in forgeries:
        assert history_seen_by(server, ATTACKER, conv_id, headers) == (404, []), headers
    # no usable entry where one must be: refused, not lumped together under one address
    for headers in ([], [("X-Forwarded-For", "not-an-address")]):
        r = server.call("GET", "/v1/conversations", key=None, source=ATTACKER, extra_headers=headers)
        assert r.status == 401 and r.json()["error"]["code"] == "missing_api_key", headers


@pytest.mark.parametrize(("env", "hops"), [({}, 0), ({"K_SERVICE": "chat"}, 1),
                                            ({"K_SERVICE": "chat", "CHAT_TRUSTED_PROXY_HOPS": "2"}, 2)])
def test_trusted_hops_default_follows_where_the_app_runs(env: dict[str, str], hops: int) -> None:
    settings = Settings.from_env({"CHAT_ALLOW_ANONYMOUS": "true", **env})
    assert settings.trusted_proxy_hops == hops


def google_id_token() -> str:
    """A Google ID token as Cloud Run hands it to the container: its signature removed."""
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return part({"alg": "RS256", "typ": "JWT"}) + "." + part({"email": "partner@example.com"}) + \
        ".SIGNATURE_REMOVED_BY_GOOGLE"


def test_the_key_in_x_api_key_wins_over_a_google_token_in_authorization(app_server: AppServer) -> None:
    token = google_id_token()
    r = app_server.call("GET", "/v1/conversations", key=None,
                        headers={"Authorization": f"Bearer {token}", "x-api-key": KEY_GLOBEX})
    assert r.status == 200, r.text
    # the openai SDK of a partner behind Cloud Run IAM: the ID token as its api_key, the key as a header
    client = app_server.client(token, default_headers={"x-api-key": KEY_ACME})
    raw = client.chat.completions.with_raw_response.create(model="default", messages=USER)
    assert raw.status_code == 200
    conv_id = raw.headers["x-conversation-id"]
    assert app_server.call("GET", f"/v1/conversations/{conv_id}", key=KEY_ACME).status == 200  # acme's
    # the token alone is no key, and the answer says where the key goes
    alone = app_server.call("GET", "/v1/conversations", key=token)
    assert alone.status == 401 and alone.json()["error"]["param"] == "x-api-key"
    assert "x-api-key" in alone.json()["error"]["message"]
