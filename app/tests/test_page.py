"""The web chat page at `/`, driven in headless Debian Chromium through Playwright against the real
app (uvicorn on loopback) with a fake OpenAI-compatible upstream, on SQLite and on Firestore."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from chatapp.store.base import Message
from conftest import KEY_ACME, KEY_GLOBEX, AppServer
from fakes import Behaviour, FakeModelServer
from store_fixtures import StoreBackend, make_backend

PAGE = Path(__file__).resolve().parents[1] / "src" / "chatapp" / "static" / "index.html"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ANSWER = "[primary-model] Hello there, this is a streamed answer."
EXPECT_TIMEOUT_MS = 30_000
# the upstream is held mid-answer while the test looks at the page: the app must wait for it
# longer than the shared test config's 1 s per chunk
PATIENT_CONFIG = """\
system_prompt: You are a test assistant.
chain:
  - provider: openai
    model: ${CHAT_OPENAI_MODEL}
    timeout_s: 60
    max_retries: 0
"""


def inline_hash(html: str, tag: str) -> str:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", html, re.S)
    assert match, f"the page has no <{tag}> block"
    return "sha256-" + base64.b64encode(hashlib.sha256(match.group(1).encode()).digest()).decode()


def test_page_is_self_contained_and_its_csp_allows_only_its_own_script_and_style() -> None:
    html = PAGE.read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp, "the page declares no Content-Security-Policy"
    for tag in ("script", "style"):
        expected = f"{tag}-src '{inline_hash(html, tag)}'"
        assert expected in csp.group(1), f"the <{tag}> changed: set {expected} in the page's CSP meta tag"
    assert "connect-src 'self'" in csp.group(1)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html), "the page loads something from elsewhere"
    assert html.count("<script") == 1 and "eval(" not in html
    # model text reaches the page as text nodes only: no HTML-parsing sink in the script, and
    # Trusted Types without a policy make the browser refuse any that slipped in
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser",
                 "createContextualFragment", "srcdoc", "setHTML", "new Function"):
        assert sink not in html, f"the page uses {sink}"
    assert "require-trusted-types-for 'script'" in csp.group(1) and "trusted-types 'none'" in csp.group(1)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); "
                    "app/scripts/test.sh does it")
    from playwright.sync_api import sync_playwright

    from playwright.sync_api import expect

    # Assertions wait for the page instead of sleeping; under a loaded machine (2 cores shared with
    # the Firestore emulator and other suites) 5 s, Playwright's default, is not always enough.
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def stored(backend: StoreBackend, tenant: str, conversation_id: str) -> list[Message]:
    """What the store holds, read underneath the app through a store of the test's own."""

    async def read() -> list[Message]:
        store = backend.open()
        await store.start()
        try:
            return await store.get_messages(tenant, conversation_id)
        finally:
            await store.close()

    # Playwright's sync API keeps an event loop running in this thread: read from another one
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, read()).result(timeout=30)


def start_patient_app(start_app: Callable[..., AppServer], tmp_path: Path, **env: str) -> AppServer:
    """The app with one OpenAI-compatible model that it waits up to 60 s on per chunk."""
    configs = tmp_path / "page-configs"
    configs.mkdir()
    (configs / "patient.yaml").write_text(PATIENT_CONFIG)
    return start_app(**env, CHAT_CONFIG_DIR=str(configs), CHAT_PROMPT_VERSION="patient",
                     CHAT_ALLOWED_PROMPT_VERSIONS="patient")


def test_a_partner_chats_in_the_browser_and_the_conversation_is_stored(
    chromium: object, start_app: Callable[..., AppServer], store_backend: StoreBackend,
    openai_fake: FakeModelServer, tmp_path: Path,
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    app = start_patient_app(start_app, tmp_path, **store_backend.env)
    # the upstream sends two words, then waits for the test: the page must show them before the
    # rest exists (a buffered page never would), with no race against chunk delays
    held = Behaviour(hold_before=2)
    openai_fake.default = held
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(app.url + "/")
        key = page.get_by_label("API key")
        key.fill(KEY_ACME)
        key.press("Tab")
        page.wait_for_function(f"sessionStorage.getItem('chat.apiKey') === {KEY_ACME!r}")

        page.get_by_role("textbox", name="Message").fill("Hello from the page")
        page.get_by_role("textbox", name="Message").press("Enter")
        log = page.get_by_role("log", name="Chat history")
        answer = log.locator(".msg.assistant .text").last
        expect(answer).to_have_text("[primary-model] Hello")
        expect(page.get_by_role("button", name="Stop")).to_be_enabled()  # still answering
        held.release.set()
        expect(answer).to_have_text(ANSWER)
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
        expect(page.get_by_role("status")).to_have_text("")

        conversations = page.get_by_role("navigation", name="Conversations").get_by_role("button")
        expect(conversations).to_have_count(1)
        expect(conversations.first).to_have_text("Hello from the page")
        expect(conversations.first).to_have_attribute("aria-current", "true")
        conversation_id = conversations.first.get_attribute("data-id")
        assert conversation_id

        # the second message continues the same conversation: the upstream sees the history
        openai_fake.default = Behaviour(text="Second answer.")
        page.get_by_role("textbox", name="Message").fill("And a follow-up")
        page.get_by_role("button", name="Send").click()
        expect(log.locator(".msg.assistant .text").last).to_have_text("[primary-model] Second answer.")
        sent = [m["content"] for m in openai_fake.calls()[-1].body["messages"] if m["role"] != "system"]
        assert sent == ["Hello from the page", ANSWER, "And a follow-up"]
        expect(conversations).to_have_count(1)

        # a fresh tab of the same session reopens the conversation from the server
        page.reload()
        expect(page.get_by_label("API key")).to_have_value(KEY_ACME)
        expect(conversations).to_have_count(1)
        conversations.first.click()
        expect(log.locator(".msg")).to_have_count(4)
        expect(log.locator(".msg.assistant .meta").first).to_have_text("primary-model")

        # another partner's key sees nothing of it
        key = page.get_by_label("API key")
        key.fill(KEY_GLOBEX)
        key.press("Tab")
        expect(conversations).to_have_count(0)
        key.fill("sk-wrong-key-000000000000")
        key.press("Tab")
        expect(page.get_by_role("status")).to_contain_text("invalid API key")
    finally:
        held.release.set()  # never leave the shared fake upstream waiting
        context.close()
        app.stop()
    assert not [e for e in errors if "401" not in e], errors

    messages = stored(store_backend, "acme", conversation_id)
    assert [(m.role, m.content) for m in messages] == [
        ("user", "Hello from the page"),
        ("assistant", ANSWER),
        ("user", "And a follow-up"),
        ("assistant", "[primary-model] Second answer."),
    ]
    assert messages[1].model == "primary-model" and messages[1].finish_reason == "stop"
    assert stored(store_backend, "globex", conversation_id) == []


def test_the_page_shows_the_servers_reason_when_a_request_is_refused(
    chromium: object, start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
    gemini_fake: FakeModelServer,
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    app = start_app()
    openai_fake.default = gemini_fake.default = Behaviour(status=500)  # the whole chain is down
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(app.url + "/")
        page.get_by_role("textbox", name="Message").fill("no key yet")
        page.get_by_role("textbox", name="Message").press("Enter")
        expect(page.get_by_role("status")).to_contain_text("missing API key")
        expect(page.locator(".msg.assistant")).to_have_count(0)

        key = page.get_by_label("API key")
        key.fill(KEY_ACME)
        key.press("Tab")
        started = time.monotonic()
        page.get_by_role("textbox", name="Message").fill("the model is down")
        page.get_by_role("textbox", name="Message").press("Enter")
        expect(page.get_by_role("status")).to_contain_text("Error: the model", timeout=20_000)
        assert time.monotonic() - started < 20
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
    finally:
        context.close()
        app.stop()




def test_keep_alive_comments_between_slow_tokens_never_reach_the_screen(
    chromium: object, start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    app = start_app()  # CHAT_KEEPALIVE_S=0.3 in the test environment
    openai_fake.default = Behaviour(text="slow answer", chunk_delay_s=0.8)
    context = chromium.new_context()
    page = context.new_page()
    page.add_init_script(f"sessionStorage.setItem('chat.apiKey', '{KEY_ACME}')")
    try:
        page.goto(app.url + "/")
        page.get_by_role("textbox", name="Message").fill("take your time")
        page.get_by_role("textbox", name="Message").press("Enter")
        answer = page.get_by_role("log", name="Chat history").locator(".msg.assistant .text")
        expect(answer).to_have_text("[primary-model] slow answer", timeout=15_000)
        expect(page.get_by_role("status")).to_have_text("")
    finally:
        context.close()
        app.stop()



def test_stop_keeps_the_partial_answer_and_delete_removes_the_conversation(
    chromium: object, start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
    request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    from playwright.sync_api import Browser, expect

    assert isinstance(chromium, Browser)
    store_backend = make_backend("sqlite", request, tmp_path)  # the page part is the same on both stores
    app = start_patient_app(start_app, tmp_path, **store_backend.env)
    # the upstream stops after "one two" until the test is done: Stop always cuts the answer there
    held = Behaviour(text="one two three four five six seven eight", hold_before=3)
    openai_fake.default = held
    context = chromium.new_context()
    page = context.new_page()
    page.set_default_timeout(EXPECT_TIMEOUT_MS)
    page.add_init_script(f"sessionStorage.setItem('chat.apiKey', '{KEY_ACME}')")
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        page.goto(app.url + "/")
        page.get_by_role("textbox", name="Message").fill("a long one please")
        page.get_by_role("button", name="Send").click()
        answer = page.get_by_role("log", name="Chat history").locator(".msg.assistant .text")
        expect(answer).to_have_text("[primary-model] one two")
        page.get_by_role("button", name="Stop").click()
        expect(page.get_by_role("status")).to_have_text("Stopped.")
        expect(answer).to_have_text("[primary-model] one two")
        conversations = page.get_by_role("navigation", name="Conversations").get_by_role("button")
        expect(conversations).to_have_count(1)
        conversation_id = conversations.first.get_attribute("data-id")
        assert conversation_id

        # the list only shows it once the server has stored it, so the store has it by now
        messages = stored(store_backend, "acme", conversation_id)
        assert [m.role for m in messages] == ["user", "assistant"]
        assert messages[1].finish_reason == "cancelled"
        assert messages[1].content == "[primary-model] one two"

        page.get_by_role("button", name="Delete conversation").click()
        expect(page.get_by_role("status")).to_have_text("Conversation deleted.")
        expect(conversations).to_have_count(0)
        expect(page.locator(".msg")).to_have_count(0)
        assert stored(store_backend, "acme", conversation_id) == []
    finally:
        held.release.set()
        context.close()
        app.stop()


if __name__ == "__main__":  # print the CSP hashes after editing the page
    text = PAGE.read_text()
    print(f"script-src '{inline_hash(text, 'script')}'\nstyle-src '{inline_hash(text, 'style')}'")
