"""The chat page as a user meets it (issue #21), in headless Debian Chromium against the real app
with the fake upstream: model output rendered as Markdown and never as HTML (a hostile reply),
a layout that fits a 390 px phone and a 1280 px desktop, errors that stay readable, the open
conversation kept across a reload, and Retry after an upstream error."""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import KEY_ACME, KEY_GLOBEX, AppServer
from fakes import Behaviour, FakeModelServer
from store_fixtures import make_backend
from test_page import EXPECT_TIMEOUT_MS, chromium, start_patient_app, stored

__all__ = ["chromium"]  # the module-scoped browser fixture, shared with test_page.py

# Every way a reply could try to become markup or script, next to the Markdown it may use. The
# fake upstream answers "[primary-model] " + this, word by word, as a stream.
HOSTILE = """
## Setup steps

1. Install with `pip install chat<script>`
2. Run **bold with `code` inside** and *emphasis*
   - nested item with [a safe link](https://example.com/docs?a=1&b=2)
   - second nested item

3. third item

   its second paragraph
4. fourth item

```python
print("<script>window.__pwned = 'fence'</script>")

# after a blank line: still code
```

<script>window.__pwned = 'script'</script>
<img src=x onerror="window.__pwned = 'img'">
<svg onload="window.__pwned = 'svg'"></svg>
<iframe srcdoc="<script>parent.__pwned = 'iframe'</script>"></iframe>
<a href="javascript:window.__pwned = 'raw-anchor'">raw anchor</a>

[click me](javascript:window.__pwned='js-link') [upper](JaVaScRiPt:alert(1)) [tabbed](java\tscript:alert(1))
[encoded](java&#115;cript:alert(1)) [data](data:text/html,<script>alert(1)</script>) [relative](/v1/models)
![pic](https://example.com/x.png" onerror="window.__pwned='attr')

&lt;b&gt;entity&lt;/b&gt; &amp;amp; &#60;i&#62;not italic&#60;/i&#62;

> quoted **strong** with *emphasis `and code`*
"""

NO_EVENT_HANDLERS = """() => [...document.querySelectorAll('*')].flatMap(
    (e) => [...e.attributes].filter((a) => a.name.toLowerCase().startsWith('on')).map((a) => e.tagName + ' ' + a.name))"""


@pytest.fixture
def page_for(chromium: object) -> Iterator[Callable[..., Any]]:
    """A new page (own context) with the acme key in its session (unless key=None), and the
    dialogs and page errors it saw; closed after the test."""
    from playwright.sync_api import Browser

    assert isinstance(chromium, Browser)
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 800, key: str | None = KEY_ACME) -> tuple[Any, list[str], list[str]]:
        context = chromium.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(EXPECT_TIMEOUT_MS)
        if key:
            page.add_init_script(f"sessionStorage.setItem('chat.apiKey', '{key}')")
        dialogs: list[str] = []
        errors: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page, dialogs, errors

    yield make
    for context in contexts:
        context.close()


def settled(page: Any) -> None:
    """Wait until no answer is streaming: the page ignores Send and New while one is in flight, so
    a click that lands between the last painted words and the stream's end would be lost."""
    from playwright.sync_api import expect

    expect(page.locator(".msg.assistant[aria-busy]")).to_have_count(0)


def ask(page: Any, text: str) -> None:
    settled(page)
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("button", name="Send").click()


def new_conversation(page: Any) -> None:
    settled(page)
    page.get_by_role("button", name="New conversation").click()


def wait_for(predicate: Callable[[], bool], page: Any, what: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is no PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def test_a_hostile_reply_renders_as_markdown_and_never_as_html(
    page_for: Callable[..., Any], start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
) -> None:
    from playwright.sync_api import expect

    app = start_app()
    openai_fake.default = Behaviour(text=HOSTILE)
    page, dialogs, errors = page_for()
    page.goto(app.url + "/")
    ask(page, "show me something nasty")
    answer = page.get_by_role("log", name="Chat history").locator(".msg.assistant .text")
    expect(answer.locator("blockquote")).to_have_count(1)  # the last block: the whole answer is in
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    page.wait_for_timeout(300)  # an onerror/onload would fire within a frame or two

    # nothing ran and nothing became markup
    assert dialogs == [] and errors == []
    assert page.evaluate("() => window.__pwned") is None
    assert page.evaluate("() => parent.__pwned") is None
    assert page.evaluate(NO_EVENT_HANDLERS) == []
    assert page.locator("script").count() == 1  # the page's own
    for tag in ("img", "svg", "iframe", "b", "i", "object", "embed", "style"):
        assert answer.locator(tag).count() == 0, f"the reply became a <{tag}>"
    hrefs = answer.locator("a").evaluate_all("(links) => links.map((a) => a.href)")
    assert hrefs and all(h.startswith("https://") for h in hrefs), hrefs
    assert all('"' not in h and " " not in h for h in hrefs), hrefs
    for a in answer.locator("a").all():
        assert a.get_attribute("rel") == "noopener noreferrer nofollow"

    # the markup is shown as the text it is
    text = answer.text_content() or ""
    for shown in ("<script>window.__pwned = 'script'</script>", '<img src=x onerror="window.__pwned = \'img\'">',
                  "<b>entity</b> &amp; <i>not italic</i>", "click me", "upper", "tabbed", "encoded", "data",
                  "relative", '<a href="javascript:window.__pwned = \'raw-anchor\'">raw anchor</a>'):
        assert shown in text, f"{shown!r} is not shown as text in {text!r}"
    assert "javascript:" not in " ".join(hrefs).lower()

    # ... and the Markdown as Markdown
    expect(answer.locator("h4")).to_have_text("Setup steps")  # "##" under the page's own h1/h2
    expect(answer.locator("ol > li")).to_have_count(4)  # blank lines between items: one list
    expect(answer.locator("ol > li").nth(2).locator("p")).to_have_text(["third item", "its second paragraph"])
    expect(answer.locator("ol > li").first.locator("code")).to_have_text("pip install chat<script>")
    expect(answer.locator("ol > li strong > code")).to_have_text("code")
    expect(answer.locator("ol > li em").first).to_have_text("emphasis")
    expect(answer.locator("ol > li > ul > li")).to_have_count(2)
    safe = answer.locator("ol > li > ul > li a")
    expect(safe).to_have_text("a safe link")
    expect(safe).to_have_attribute("href", "https://example.com/docs?a=1&b=2")
    code = answer.locator("pre > code").text_content()
    assert code == "print(\"<script>window.__pwned = 'fence'</script>\")\n\n# after a blank line: still code", code
    expect(answer.locator("pre > code")).to_have_attribute("data-lang", "python")
    expect(answer.locator("blockquote strong")).to_have_text("strong")
    expect(answer.locator("blockquote em code")).to_have_text("and code")

    # the page itself cannot parse HTML from a string: Trusted Types with no policy refuse it
    refused = page.evaluate("""() => { try { document.createElement('div').innerHTML = '<b>x</b>'; return 'parsed'; }
                                       catch (e) { return e.name; } }""")
    assert refused == "TypeError"

    # reopened from the store, the reply rendered in one go is what the stream built piece by piece
    streamed = answer.evaluate("(e) => e.innerHTML")
    page.reload()
    page.get_by_role("navigation", name="Conversations").get_by_role("button").first.click()
    expect(answer.locator("ol > li > ul > li a")).to_have_text("a safe link")
    assert answer.evaluate("(e) => e.innerHTML") == streamed
    assert page.evaluate(NO_EVENT_HANDLERS) == [] and page.evaluate("() => window.__pwned") is None


# a reply that is hard to fit: a long unbroken code line, a long URL and a long word
WIDE = ("Here is a wide one:\n\n```\n" + "x = '" + "0123456789" * 30 + "'\n```\n\n"
        "See https://example.com/" + "a" * 200 + " and " + "Supercalifragilistic" * 10 + ".\n\n"
        "| not | a | table |\n- one\n- two\n")


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)], ids=["phone-390", "desktop-1280"])
def test_the_page_fits_the_screen_and_its_controls_stay_in_view(
    page_for: Callable[..., Any], start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
    tmp_path: Path, width: int, height: int,
) -> None:
    from playwright.sync_api import expect

    app = start_app()
    page, dialogs, errors = page_for(width, height)
    page.goto(app.url + "/")
    for n in range(3):  # a few conversations and a wide answer in the open one
        openai_fake.push(Behaviour(text=WIDE if n == 2 else f"answer {n}"))
        new_conversation(page)
        ask(page, f"question {n} " + "with a rather long title " * 4)
        expect(page.locator(".msg.assistant .meta")).to_have_text("primary-model")
    conversations = page.get_by_role("navigation", name="Conversations").get_by_role("button")
    expect(conversations).to_have_count(3)
    expect(page.locator(".msg.assistant pre")).to_have_count(1)

    shot = tmp_path / f"page-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_size(shot)[0] == width, "the full-page screenshot is wider than the screen"
    metrics = page.evaluate("""() => ({ doc: document.documentElement.scrollWidth, body: document.body.scrollWidth,
        inner: innerWidth, logScroll: document.getElementById('log').scrollWidth,
        logClient: document.getElementById('log').clientWidth })""")
    assert metrics["doc"] <= metrics["inner"] and metrics["body"] <= metrics["inner"], metrics
    assert metrics["logScroll"] <= metrics["logClient"], metrics  # only the code block scrolls sideways
    pre = page.locator(".msg.assistant pre").evaluate("(p) => ({ scroll: p.scrollWidth, client: p.clientWidth })")
    assert pre["scroll"] > pre["client"], "the wide code line should scroll inside its block"

    controls = {
        "message box": page.get_by_role("textbox", name="Message"),
        "Send": page.get_by_role("button", name="Send"),
        "Stop": page.get_by_role("button", name="Stop"),
        "New conversation": page.get_by_role("button", name="New conversation"),
        "Delete conversation": page.get_by_role("button", name="Delete conversation"),
        "API key": page.get_by_label("API key"),
        "Model": page.get_by_label("Model"),
        "conversation list": page.get_by_role("navigation", name="Conversations"),
        "a conversation": conversations.first,
        "the open conversation": conversations.filter(has_text="question 2"),
    }
    for name, control in controls.items():
        expect(control, name).to_be_visible()
        expect(control, name).to_be_in_viewport(ratio=1)
        box = control.bounding_box()
        assert box, name
        assert box["x"] >= 0 and box["y"] >= 0, (name, box)
        assert box["x"] + box["width"] <= width and box["y"] + box["height"] <= height, (name, box)
        if name not in ("conversation list", "message box"):
            assert box["height"] >= 24, (name, box)  # a target a thumb can hit
    expect(page.locator(".msg.assistant").last).to_be_in_viewport()  # the chat itself has room

    # the page still works at this width: the list opens the first conversation
    conversations.filter(has_text="question 0").click()
    expect(page.locator(".msg.assistant .text")).to_have_text("[primary-model] answer 0")
    assert dialogs == [] and errors == []


def test_a_send_error_is_not_overwritten_by_a_list_error(
    page_for: Callable[..., Any], start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    app = start_patient_app(start_app, tmp_path)  # one model, no retries: a 500 reaches the page
    page, _, errors = page_for(390, 844)
    list_calls: list[str] = []

    def failing_list(route: Any) -> None:
        list_calls.append(route.request.url)
        route.fulfill(status=503, content_type="application/json",
                      body=json.dumps({"error": {"message": "the store is resting", "type": "api_error"}}))

    page.route("**/v1/conversations", failing_list)
    page.goto(app.url + "/")
    status = page.get_by_role("status")
    send_error = status.locator('li[data-source="send"]')
    list_error = status.locator('li[data-source="list"]')
    expect(list_error).to_have_text("Conversations: the store is resting")

    openai_fake.push(Behaviour(status=500))
    ask(page, "this one fails")
    expect(send_error).to_contain_text("Error: ")
    send_text = send_error.locator("span").text_content()
    calls_at_error = len(list_calls)
    # the page lists conversations again after every send: that failure comes after the send's
    wait_for(lambda: len(list_calls) > calls_at_error or calls_at_error > 1, page, "the list call after the send")
    page.wait_for_timeout(200)
    expect(send_error.locator("span")).to_have_text(send_text or "")
    expect(list_error).to_have_text("Conversations: the store is resting")
    expect(status.locator("li")).to_have_count(2)
    for e in (send_error, list_error):
        expect(e).to_be_visible()
        expect(e).to_be_in_viewport(ratio=1)
    assert page.locator("#status").get_attribute("aria-live") == "polite"
    shot = tmp_path / "errors-390.png"
    page.screenshot(path=str(shot), full_page=True)
    assert png_size(shot)[0] == 390
    expect(page.get_by_role("button", name="Send")).to_be_in_viewport(ratio=1)

    # the list comes back: its error goes, the send error stays until the message is sent
    page.unroute("**/v1/conversations")
    new_conversation(page)  # keeps errors that still hold
    expect(send_error).to_have_count(0)  # a new conversation drops the failed message...
    ask(page, "this one works")  # ... and a successful send lists again
    expect(page.locator(".msg.assistant .text")).to_have_text("[primary-model] Hello there, this is a streamed answer.")
    expect(list_error).to_have_count(0)
    expect(status).to_have_text("")
    assert errors == []


def test_retry_sends_the_failed_message_again(
    page_for: Callable[..., Any], start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
    request: pytest.FixtureRequest, tmp_path: Path,
) -> None:
    from playwright.sync_api import expect

    backend = make_backend("sqlite", request, tmp_path)
    app = start_patient_app(start_app, tmp_path, **backend.env)
    page, _, errors = page_for()
    page.goto(app.url + "/")
    log = page.get_by_role("log", name="Chat history")

    # refused before any answer: nothing is stored, the message is marked and Retry sends it once
    openai_fake.push(Behaviour(status=500), Behaviour(text="it worked"))
    ask(page, "please answer")
    retry = page.get_by_role("status").get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    expect(log.locator(".msg.user.failed .text")).to_have_text("please answer")
    expect(log.locator(".msg.user.failed .meta")).to_have_text("not sent")
    expect(log.locator(".msg.assistant")).to_have_count(0)
    retry.click()
    expect(log.locator(".msg.assistant .text")).to_have_text("[primary-model] it worked")
    expect(retry).to_have_count(0)
    expect(page.get_by_role("status")).to_have_text("")
    expect(log.locator(".msg.user")).to_have_count(1)
    expect(log.locator(".msg.user.failed")).to_have_count(0)
    sent = [[m["content"] for m in c.body["messages"] if m["role"] == "user"] for c in openai_fake.calls()]
    assert sent == [["please answer"], ["please answer"]]
    conversation_id = page.get_by_role("navigation", name="Conversations").get_by_role("button").first.get_attribute("data-id")
    assert conversation_id
    assert [(m.role, m.content) for m in stored(backend, "acme", conversation_id)] == [
        ("user", "please answer"), ("assistant", "[primary-model] it worked")]

    # cut mid-answer: the partial answer stays (the server stored it) and Retry asks again
    openai_fake.push(Behaviour(text="one two three four", cut_after=3), Behaviour(text="complete this time"))
    ask(page, "and another")
    expect(retry).to_be_visible()
    expect(log.locator(".msg.assistant .text").last).to_have_text("[primary-model] one two")
    retry.click()
    expect(log.locator(".msg.assistant .text").last).to_have_text("[primary-model] complete this time")
    expect(log.locator(".msg.user")).to_have_count(3)
    expect(retry).to_have_count(0)
    assert [m.content for m in stored(backend, "acme", conversation_id) if m.role == "user"] == [
        "please answer", "and another", "and another"]
    assert errors == []


def test_a_reload_reopens_the_conversation_that_was_open(
    page_for: Callable[..., Any], start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
) -> None:
    from playwright.sync_api import expect

    app = start_app()
    page, _, errors = page_for()
    page.goto(app.url + "/")
    log = page.get_by_role("log", name="Chat history")
    conversations = page.get_by_role("navigation", name="Conversations").get_by_role("button")
    openai_fake.push(Behaviour(text="first answer"), Behaviour(text="second answer"))
    ask(page, "first conversation")
    expect(log.locator(".msg.assistant .text")).to_have_text("[primary-model] first answer")
    new_conversation(page)
    expect(log.locator(".msg")).to_have_count(0)  # the new conversation is open before the next question
    ask(page, "second conversation")
    expect(log.locator(".msg.assistant .text")).to_have_text("[primary-model] second answer")
    expect(conversations).to_have_count(2)
    first = conversations.filter(has_text="first conversation")
    first_id = first.get_attribute("data-id")
    first.click()
    expect(log.locator(".msg.assistant .text")).to_have_text("[primary-model] first answer")
    assert page.evaluate("location.hash") == f"#c={first_id}"

    page.reload()
    expect(log.locator(".msg")).to_have_count(2)
    expect(log.locator(".msg.user .text")).to_have_text("first conversation")
    expect(first).to_have_attribute("aria-current", "true")
    expect(page.get_by_role("button", name="Delete conversation")).to_be_enabled()
    # the reopened conversation is the one a new message goes to
    openai_fake.push(Behaviour(text="still the first"))
    ask(page, "follow-up")
    expect(log.locator(".msg.assistant .text").last).to_have_text("[primary-model] still the first")
    expect(log.locator(".msg")).to_have_count(4)
    sent = [m["content"] for m in openai_fake.calls()[-1].body["messages"] if m["role"] != "system"]
    assert sent == ["first conversation", "[primary-model] first answer", "follow-up"]

    # a new conversation forgets it: a reload then starts empty
    new_conversation(page)
    assert page.evaluate("location.hash") == ""
    page.reload()
    expect(conversations).to_have_count(2)
    expect(log.locator(".msg")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete conversation")).to_be_disabled()

    # the address is a bookmark: a new tab (the key is per tab) opens it once the key is entered
    other, _, other_errors = page_for(key=None)
    other.goto(app.url + f"/#c={first_id}")
    expect(other.get_by_role("status")).to_contain_text("Could not open the conversation: missing API key")
    key = other.get_by_label("API key")
    key.fill(KEY_ACME)
    key.press("Tab")
    expect(other.locator(".msg")).to_have_count(4)
    expect(other.get_by_role("status")).to_have_text("")
    # another partner's key closes it: what was shown is not theirs
    key.fill(KEY_GLOBEX)
    key.press("Tab")
    expect(other.locator(".msg")).to_have_count(0)
    expect(other.get_by_role("navigation", name="Conversations").get_by_role("button")).to_have_count(0)
    assert other.evaluate("location.hash") == ""
    expect(other.get_by_role("button", name="Delete conversation")).to_be_disabled()
    assert other_errors == []

    # an address naming a conversation that is gone says so instead of showing nothing
    page.goto(app.url + "/#c=0123456789abcdef0123456789abcdef")
    page.reload()
    expect(page.get_by_role("status")).to_contain_text("Could not open the conversation")
    expect(log.locator(".msg")).to_have_count(0)
    assert errors == []


def pathological_reply() -> str:
    """Input that makes a naive Markdown parser quadratic or recurse without bound."""
    return "\n\n".join([
        "[" * 20000 + " unclosed brackets",
        "*a " * 8000 + "unclosed emphasis",
        "_b " * 3000 + "**c " * 3000,
        " ".join("`" * k for k in range(1, 120)),
        "<http " * 1000 + "[x](" * 1000,
        "> " * 400 + "a very deep quote",
        "\n".join("  " * d + "- level " + str(d) for d in range(60)),
        "**" + "*" * 500 + "done",
    ])


def benign_reply(size: int) -> str:
    """Ordinary Markdown of about `size` characters: the yardstick for the pathological one."""
    block = ("## Part\n\n" + "Some **bold** text with `code`, *emphasis* and a [link](https://example.com/x).\n" * 8
             + "\n- item one\n- item two\n\n```\ncode = 1\n```\n\n")
    return (block * (size // len(block) + 1))[:size] + "\n\ndone"


def test_a_pathological_reply_renders_in_bounded_time(
    page_for: Callable[..., Any], start_app: Callable[..., AppServer], openai_fake: FakeModelServer,
) -> None:
    from playwright.sync_api import expect

    app = start_app()
    reply = pathological_reply()
    page, _, errors = page_for()
    # long tasks (the main thread busy > 50 ms) are what a user feels as a frozen page
    page.add_init_script("""window.__longest = 0; new PerformanceObserver((list) => { for (const e of list.getEntries())
        window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: 'longtask', buffered: true });""")
    page.goto(app.url + "/")
    answer = page.locator(".msg.assistant .text")

    def longest_task(text: str) -> float:
        openai_fake.push(Behaviour(text=text))
        page.evaluate("() => { window.__longest = 0; }")
        new_conversation(page)
        ask(page, "render this")
        expect(answer).to_contain_text("done")
        expect(page.get_by_role("button", name="Send")).to_be_enabled()
        page.wait_for_timeout(300)  # a long task's entry arrives after the task
        return float(page.evaluate("() => window.__longest"))

    # against ordinary Markdown of the same size on the same (possibly busy) machine: a parser
    # that goes quadratic on unmatched delimiters takes seconds here, a linear one ~0.2 s
    ordinary = longest_task(benign_reply(len(reply)))
    longest = longest_task(reply)
    print(f"longest task: ordinary {ordinary:.0f} ms, pathological {longest:.0f} ms, {len(reply)} characters")
    assert longest < max(2000, 8 * ordinary), f"the page froze for {longest:.0f} ms (ordinary: {ordinary:.0f} ms)"

    # the nesting is capped: deep quotes and lists end as text, not as 400 levels of elements
    depth = page.evaluate("""() => { let max = 0; for (const e of document.querySelectorAll('.md *')) {
        let d = 0; for (let p = e; p && !p.classList.contains('md'); p = p.parentElement) d++; max = Math.max(max, d); }
        return max; }""")
    assert depth <= 30, depth
    expect(answer).to_contain_text("a very deep quote")
    expect(answer).to_contain_text("level 59")
    streamed = answer.evaluate("(e) => e.innerHTML")
    page.reload()
    page.get_by_role("navigation", name="Conversations").get_by_role("button").first.click()
    expect(answer).to_contain_text("level 59")
    assert answer.evaluate("(e) => e.innerHTML") == streamed
    assert errors == []
