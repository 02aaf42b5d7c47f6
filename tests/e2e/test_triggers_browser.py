"""Display triggers of the floating button in a real browser (Debian's chromium): the tag's
``data-trigger`` (exit intent, a delay, a scroll depth) opens the campaign's dialog by itself, as
often as ``data-show`` says (always, once, daily), never over another open modal dialog.

The demo store, with one more page, ``/triggers``, rendered by ``gamify_widget(…, trigger=…,
show=…)`` from its query string: a tall page with the floating wheel, a dialog of its own, and,
with ``?second=1``, the scratch card behind a floating button too. It is served under the
demo's strict CSP. Fixtures and checks (console errors, CSP) are those of ``test_browser.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import render_template_string, request
from playwright.sync_api import ConsoleMessage, Page, expect
from test_browser import SCRATCH, WHEEL, Server, Tab
from test_browser import browser as browser  # the fixture: one chromium for the module
from test_browser import desktop as desktop  # its `server` is this module's
from test_browser import phone as phone  # its `server` is this module's
from test_browser import tab as tab  # its `server` is this module's

from gamify.demo import create_demo_app
from gamify.demo.views import csp_nonce

KEY = "gamify.shown.black-friday-wheel"
PAGE = """<!doctype html>
<html lang="{{ lang }}">
<head><meta charset="utf-8"><title>Triggers</title></head>
<body>
<main>
  <h1>Triggers</h1>
  {% for n in range(lines) %}<p>Line {{ n }} of a long page.</p>{% endfor %}
  <dialog id="other" aria-label="Another dialog"><p>The page's own dialog.</p></dialog>
  <div id="inline"></div>
</main>
{{ gamify_widget("black-friday-wheel", customer_id=customer, lang=lang, nonce=nonce,
                 trigger=trigger, show=show, target=target) }}
{% if second %}{{ gamify_widget("welcome-back-scratch", customer_id=customer, lang=lang,
                               nonce=nonce) }}{% endif %}
</body>
</html>
"""
# localStorage throws, as where the shopper blocks site data
NO_STORAGE = """
Object.defineProperty(window, "localStorage", {
  get() { throw new DOMException("blocked", "SecurityError"); },
});
"""


def triggers_page() -> str:
    args = request.args
    return render_template_string(
        PAGE,
        lang=args.get("lang", "es"),
        customer=args["customer"],
        trigger=args.get("trigger"),
        show=args.get("show"),
        target=args.get("target"),
        second=args.get("second"),
        lines=int(args.get("lines", "150")),
        nonce=csp_nonce(),
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    app = create_demo_app(tmp_path_factory.mktemp("triggers") / "instance", history=False)
    app.add_url_rule("/triggers", "triggers", triggers_page)
    served = Server(app)
    yield served
    served.close()


def warnings_of(tab: Tab) -> list[str]:
    """The page's console warnings, as they come."""
    warned: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "warning":
            warned.append(message.text)

    tab.page.on("console", record)
    return warned


def visit(tab: Tab, motion: str = "reduce", **query: str) -> Page:
    """The triggers page with the wheel's tag as ``query`` says, once the widget is ready (the
    launcher says the campaign's title: its trigger is armed from then on)."""
    page = tab.page
    page.emulate_media(reduced_motion="reduce" if motion == "reduce" else "no-preference")
    args = "&".join(f"{k}={v}" for k, v in {"customer": tab.customer, **query}.items())
    page.goto(f"{tab.base}/triggers?{args}")
    if "target" not in query:
        expect(page.locator(f"{WHEEL} button.launcher")).to_have_text(
            "¡Gira la ruleta del Black Friday!"
        )
    settle(page)
    return page


def settle(page: Page) -> None:
    """Lets the page run what is due: timers already set, and the next frames."""
    page.evaluate(
        "() => new Promise((done) => setTimeout(() => requestAnimationFrame(() => "
        "requestAnimationFrame(done)), 50))"
    )


def dialog_open(page: Page, host: str = WHEEL) -> bool:
    opened: bool = page.locator(f"{host} dialog").evaluate("(d) => d.open")
    return opened


def wait_open(page: Page) -> None:
    page.wait_for_function(
        "(sel) => document.querySelector(sel).shadowRoot.querySelector('dialog').open",
        arg=WHEEL,
    )


def scroll_to(page: Page, share: float) -> None:
    page.evaluate(
        "(share) => scrollTo(0, (document.documentElement.scrollHeight - innerHeight) * share)",
        share,
    )
    settle(page)


# -- the triggers -----------------------------------------------------------------------------


def test_a_delay_opens_the_dialog_after_its_seconds(tab: Tab) -> None:
    page = visit(tab, trigger="delay:2", show="always")
    assert not dialog_open(page)
    wait_open(page)
    assert page.evaluate("performance.now()") >= 2000
    # focus is in the dialog, the launcher stays as it is; closing it gives the focus back
    expect(page.locator(f"{WHEEL} dialog button.close")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(f"{WHEEL} dialog")).to_be_hidden()
    expect(page.locator(f"{WHEEL} button.launcher")).to_be_visible()
    expect(page.locator(f"{WHEEL} button.launcher")).to_be_focused()
    tab.screenshot(f"trigger-delay-{tab.device}")


def test_a_scroll_depth_opens_the_dialog_there(tab: Tab) -> None:
    page = visit(tab, trigger="scroll:50", show="always")
    scroll_to(page, 0.3)
    assert not dialog_open(page)
    scroll_to(page, 0.55)
    wait_open(page)
    page.keyboard.press("Escape")
    # once a page view: scrolling on does not open it again
    scroll_to(page, 0.9)
    assert not dialog_open(page)


def test_exit_intent_opens_the_dialog_on_a_desktop(desktop: Tab) -> None:
    page = visit(desktop, trigger="exit", show="always")
    # moving about the page, and leaving it by a side, is no exit intent
    page.mouse.move(600, 400)
    page.mouse.move(600, 10, steps=5)
    page.mouse.move(1279, 300, steps=3)
    page.evaluate(
        "document.documentElement.dispatchEvent(new MouseEvent('mouseout', "
        "{bubbles: true, clientX: 1300, clientY: 300}))"
    )
    settle(page)
    assert not dialog_open(page)
    # the pointer leaves through the top edge, towards the tabs
    page.mouse.move(600, 200)
    page.mouse.move(600, -5, steps=5)
    settle(page)
    if not dialog_open(page):  # where the browser reports no move outside the page
        page.evaluate(
            "document.documentElement.dispatchEvent(new MouseEvent('mouseout', "
            "{bubbles: true, clientX: 600, clientY: -1}))"
        )
    wait_open(page)


def test_exit_intent_is_not_for_touch_screens(phone: Tab) -> None:
    page = visit(phone, trigger="exit", show="always")
    page.evaluate(
        "document.documentElement.dispatchEvent(new MouseEvent('mouseout', "
        "{bubbles: true, clientX: 100, clientY: -1}))"
    )
    settle(page)
    assert not dialog_open(page)
    expect(page.locator(f"{WHEEL} button.launcher")).to_be_visible()


# -- how often --------------------------------------------------------------------------------


def test_show_once_opens_it_on_the_first_visit_only(desktop: Tab) -> None:
    page = visit(desktop, trigger="delay:0", show="once")
    wait_open(page)
    assert page.evaluate(f"localStorage.getItem('{KEY}')") == page.evaluate(
        "new Date().toDateString()"
    )
    page.keyboard.press("Escape")
    for _ in range(2):
        page = visit(desktop, trigger="delay:0", show="once")
        assert not dialog_open(page)
    # a day later, still not
    page.evaluate(f"localStorage.setItem('{KEY}', new Date(Date.now() - 864e5).toDateString())")
    page = visit(desktop, trigger="delay:0", show="once")
    assert not dialog_open(page)


def test_show_once_is_the_default(desktop: Tab) -> None:
    page = visit(desktop, trigger="delay:0")
    wait_open(page)
    page = visit(desktop, trigger="delay:0")
    assert not dialog_open(page)


def test_show_daily_opens_it_once_a_calendar_day(desktop: Tab) -> None:
    page = visit(desktop, trigger="delay:0", show="daily")
    wait_open(page)
    page = visit(desktop, trigger="delay:0", show="daily")
    assert not dialog_open(page)
    # the shopper's last time was yesterday: today it opens again, once
    page.evaluate(f"localStorage.setItem('{KEY}', new Date(Date.now() - 864e5).toDateString())")
    page = visit(desktop, trigger="delay:0", show="daily")
    wait_open(page)
    page = visit(desktop, trigger="delay:0", show="daily")
    assert not dialog_open(page)


def test_show_always_opens_it_on_every_page_view(desktop: Tab) -> None:
    for _ in range(3):
        page = visit(desktop, trigger="delay:0", show="always")
        wait_open(page)


def test_with_storage_blocked_it_opens_once_a_page(desktop: Tab) -> None:
    desktop.context.add_init_script(NO_STORAGE)
    for _ in range(2):  # nothing is remembered: each page view opens it, once
        page = visit(desktop, trigger="scroll:20", show="once")
        scroll_to(page, 0.5)
        wait_open(page)
        page.keyboard.press("Escape")
        scroll_to(page, 0.1)
        scroll_to(page, 0.6)
        assert not dialog_open(page)


def test_opening_it_by_hand_first_disarms_the_trigger(desktop: Tab) -> None:
    page = visit(desktop, trigger="scroll:50", show="always")
    desktop.open_wheel()
    page.keyboard.press("Escape")
    scroll_to(page, 0.8)
    assert not dialog_open(page)


# -- never over another dialog ----------------------------------------------------------------


def test_it_never_opens_over_another_open_dialog(desktop: Tab) -> None:
    page = visit(desktop, trigger="scroll:30", show="always", second="1")
    # the page's own modal dialog is open: no
    page.evaluate("document.getElementById('other').showModal()")
    scroll_to(page, 0.5)
    assert not dialog_open(page)
    page.evaluate("document.getElementById('other').close()")
    # another gamify dialog (the scratch card's) is open: no
    page.locator(f"{SCRATCH} button.launcher").click()
    expect(page.locator(f"{SCRATCH} dialog")).to_be_visible()
    scroll_to(page, 0.6)
    assert not dialog_open(page)
    page.keyboard.press("Escape")
    expect(page.locator(f"{SCRATCH} dialog")).to_be_hidden()
    # both closed: the next scroll past the depth opens it
    scroll_to(page, 0.7)
    wait_open(page)
    assert not dialog_open(page, SCRATCH)


def test_with_reduced_motion_it_opens_without_animation(desktop: Tab) -> None:
    for motion in ("reduce", "no-preference"):
        page = visit(desktop, motion, trigger="delay:0", show="always")
        wait_open(page)
        style = page.locator(f"{WHEEL} dialog").evaluate(
            "(d) => { const s = getComputedStyle(d); "
            "return [s.animationName, s.transitionDuration, d.getAnimations().length]; }"
        )
        assert style == ["none", "0s", 0], (motion, style)


# -- bad values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "warning"),
    [
        ({"trigger": "sometimes"}, 'gamify: ignored data-trigger="sometimes"'),
        ({"trigger": "delay:-1"}, 'gamify: ignored data-trigger="delay:-1"'),
        ({"trigger": "delay:"}, 'gamify: ignored data-trigger="delay:"'),
        ({"trigger": "scroll:150"}, 'gamify: ignored data-trigger="scroll:150"'),
        ({"trigger": "exit:3"}, 'gamify: ignored data-trigger="exit:3"'),
        ({"trigger": "%22%3E%3Cb%3E"}, 'gamify: ignored data-trigger=""><b>"'),
        ({"trigger": "delay:0", "target": "%23inline"}, 'gamify: ignored data-trigger="delay:0"'),
    ],
)
def test_a_bad_trigger_is_ignored_with_a_warning(
    desktop: Tab, query: dict[str, str], warning: str
) -> None:
    warned = warnings_of(desktop)
    page = visit(desktop, show="always", **query)
    if "target" in query:
        expect(page.locator(f"{WHEEL} button.go")).to_be_visible()
        settle(page)
    else:
        scroll_to(page, 1)
        assert not dialog_open(page)
        desktop.open_wheel()  # the widget works all the same
    assert warned == [warning]
    assert page.locator("b").count() == 0


def test_a_bad_show_is_ignored_with_a_warning_and_means_once(desktop: Tab) -> None:
    warned = warnings_of(desktop)
    page = visit(desktop, trigger="delay:0", show="weekly")
    wait_open(page)
    assert warned == ['gamify: ignored data-show="weekly"']
    page = visit(desktop, trigger="delay:0", show="weekly")
    assert not dialog_open(page)


def test_the_tag_carries_the_trigger_escaped(server: Server) -> None:
    with server.app.test_request_context("/"):
        tag = render_template_string("{{ gamify_widget('w', trigger='exit\"><b>', show='daily') }}")
    assert 'data-trigger="exit&#34;&gt;&lt;b&gt;" data-show="daily"' in tag
