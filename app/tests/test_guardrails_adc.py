"""Model Armor calls carry an access token from Application Default Credentials: on Cloud Run the
metadata server's, here a fake one on loopback (the app runs as its own process, see
test_api_google_identity.py). The token is cached, has the cloud-platform scope and is never logged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from fake_metadata import FakeMetadataServer
from fake_model_armor import FakeModelArmor
from fakes import LoopThread
from test_api_google_identity import metadata, run_app  # noqa: F401  (fixtures)
from test_guardrails import INJECTION, TEMPLATE


@pytest.fixture
def armor() -> Iterator[FakeModelArmor]:
    loop = LoopThread()
    server = FakeModelArmor()
    loop.run(server.start())
    try:
        yield server
    finally:
        loop.run(server.stop())
        loop.close()


def test_screening_uses_the_metadata_servers_access_token(run_app: Any, metadata: FakeMetadataServer, armor: FakeModelArmor) -> None:  # noqa: F811
    armor.require_authorization = metadata.valid
    app = run_app(CHAT_GUARDRAILS_TEMPLATE=TEMPLATE, CHAT_GUARDRAILS_ENDPOINT=armor.base,
                  CHAT_GUARDRAILS_ENFORCEMENT="inspect-and-block")
    text, _ = app.ask()
    assert text.startswith("[primary-model]")
    with pytest.raises(openai.BadRequestError) as caught:
        app.client.chat.completions.create(model="default", messages=[{"role": "user", "content": INJECTION}])
    assert caught.value.code == "guardrail_prompt_injection"
    app.stop()
    assert metadata.token_calls() == 1 and metadata.scopes == ["https://www.googleapis.com/auth/cloud-platform"]
    assert {c.headers["Authorization"] for c in armor.calls} == {f"Bearer {metadata.issued[0]}"}
    assert len(armor.calls) == 3  # prompt + reply, then the refused prompt
    for token in metadata.issued:
        assert token not in app.stdout and token not in app.stderr
    assert INJECTION not in app.stdout
