"""The widgets in a real browser (Debian's chromium through Playwright), on the demo store.

The demo app runs in a background thread on a free port; one browser per module, a fresh
context per test, as a phone (390×844, touch) or a desktop (1280×800). Every test plays as a
customer of its own (``?customer=``), so the per-customer limits never collide. Waits are on
events and page state, never on sleeps. Screenshots are kept in ``tests/artifacts/``.

The demo's pages send ``Content-Security-Policy: default-src 'self'``, so every test runs under
a strict policy: a violation (a ``securitypolicyviolation`` event) is a console error, and any
console error fails the test. Some tests switch the demo to nonce-based policies.

Without chromium the tests are skipped, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    Route,
    expect,
    sync_playwright,
)
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, make_server

from gamify.core.holdout import holdout_group
from gamify.demo import EXAMPLES, create_demo_app
from gamify.demo.views import CSP_CONFIG
from gamify.web.state import state

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WHEEL = '[data-gamify="black-friday-wheel"]'
SCRATCH = '[data-gamify="welcome-back-scratch"]'
HOSTILE = '<img src=x onerror="window.__xss=1">'
CAMPAIGN = "/gamify/api/campaigns/black-friday-wheel"
PLAYS = re.compile(r"/gamify/api/campaigns/[^/?]+/plays(\?|$)")
DEVICES: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 3,
    },
    "desktop": {"viewport": {"width": 1280, "height": 800}},
}
# every gamify:result of the page, in order, on window.__results; every Content-Security-Policy
# violation on window.__csp, and as a console error (which fails the test)
RECORD = """
window.__results = [];
document.addEventListener("gamify:result", (event) => window.__results.push(event.detail));
window.__csp = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const what = `${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`;
  window.__csp.push(`${what} at ${event.sourceFile}:${event.lineNumber}`);
  console.error(`CSP violation: ${what}`);
}, true);
"""
# Policies the widget must work under, besides the demo's own `default-src 'self'`; {nonce} is
# the page's nonce. With a nonce alone, a script the loader adds runs only if it has the nonce.
POLICIES = {
    "nonce-strict-dynamic": (
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic'; "
        "object-src 'none'; base-uri 'none'"
    ),
    "nonce-only": "default-src 'self'; script-src 'nonce-{nonce}'",
}
MODULE_SCRIPTS = """
[...document.querySelectorAll("script[src*='/widgets/']")].map((s) => [s.src, s.nonce])
"""


class Server:
    """A WSGI app served by werkzeug on 127.0.0.1 and a free port, in a daemon thread; under
    ``mount`` (a sub-path, as behind a proxy that serves the store at /shop) when given."""

    def __init__(self, app: Flask, mount: str = "") -> None:
        self.app = app
        wsgi: Any = DispatcherMiddleware(NotFound(), {mount: app}) if mount else app
        self.httpd: BaseWSGIServer = make_server("127.0.0.1", 0, wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}{mount}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.thread.join(5)
        state(self.app).engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        reason = f"no chromium at {CHROMIUM} (make test installs Debian's chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(create_demo_app(tmp_path_factory.mktemp("browser") / "instance"))
    yield served
    served.close()


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo with the example campaigns, but prize labels that are HTML."""
    folder = tmp_path_factory.mktemp("hostile")
    campaigns = folder / "campaigns"
    shutil.copytree(EXAMPLES, campaigns)
    label = "label: '" + HOSTILE + "'"
    for path in campaigns.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        path.write_text(re.sub(r"label: \{[^}]*\}", lambda _: label, text), encoding="utf-8")
    served = Server(create_demo_app(folder / "instance", campaigns))
    yield served
    served.close()


class Tab:
    """A page in a fresh context, with its console errors and uncaught exceptions."""

    def __init__(self, context: BrowserContext, base: str, device: str, name: str) -> None:
        self.context = context
        self.base = base
        self.device = device
        # short: a long unbreakable name makes the demo page wider than a phone
        self.customer = "t" + hashlib.sha1(name.encode()).hexdigest()[:10]
        self.page = context.new_page()
        self.response: Response | None = None  # the last page shop() opened
        self.errors: list[str] = []
        self.allowed: list[str] = ["favicon.ico"]
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} at {message.location.get('url')}")

    def unexpected_errors(self) -> list[str]:
        return [e for e in self.errors if not any(a in e for a in self.allowed)]

    def shop(self, lang: str = "es", reduced: bool = True) -> Page:
        self.page.emulate_media(reduced_motion="reduce" if reduced else "no-preference")
        self.response = self.page.goto(f"{self.base}/?customer={self.customer}&lang={lang}")
        expect(self.page.locator(f"{SCRATCH} button.go")).to_be_visible()
        return self.page

    def modules(self) -> list[str]:
        """The names of the widget modules the page has loaded, in order."""
        sources: list[list[str]] = self.page.evaluate(MODULE_SCRIPTS)
        return [re.sub(r".*/widgets/(\w+)\.[0-9a-f]{16}\.js$", r"\1", src) for src, _ in sources]

    def open_wheel(self) -> Page:
        self.page.locator(f"{WHEEL} button.launcher").click()
        expect(self.page.locator(f"{WHEEL} dialog")).to_be_visible()
        expect(self.page.locator(f"{WHEEL} button.go")).to_be_visible()
        return self.page

    def results(self, count: int = 1) -> list[dict[str, Any]]:
        """The gamify:result events once there are ``count`` of them."""
        self.page.wait_for_function("(n) => window.__results.length >= n", arg=count)
        results: list[dict[str, Any]] = self.page.evaluate("window.__results")
        return results

    def screenshot(self, name: str, of: str | None = None, full_page: bool = False) -> None:
        """The page (or the element ``of``) in tests/artifacts/<name>.png."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = str(ARTIFACTS / f"{name}.png")
        if of:
            self.page.locator(of).screenshot(path=path)
        else:
            self.page.screenshot(path=path, full_page=full_page)


def make_tab(
    browser: Browser, served: Server, request: pytest.FixtureRequest, device: str
) -> Iterator[Tab]:
    context = browser.new_context(**DEVICES[device], locale="es-ES", timezone_id="Europe/Madrid")
    context.add_init_script(RECORD)
    tab = Tab(context, served.url, device, request.node.name)
    tab.customer = treated(served.app, tab.customer)
    yield tab
    context.close()
    assert not tab.unexpected_errors(), tab.errors


def treated(app: Flask, customer: str) -> str:
    """``customer``, else the first of ``customer-2``, ``customer-3`` … whom every campaign with
    a holdout shows its game to (the demo's wheel holds 10 % of its customers out)."""
    current = state(app)
    key, held = current.service.holdout_key, current.registry.with_holdout()
    for n in itertools.count(1):
        name = customer if n == 1 else f"{customer}-{n}"
        if all(holdout_group(key, c.id, name, c.holdout) == "treatment" for c in held):
            return name
    raise AssertionError("unreachable")


@pytest.fixture(params=["phone", "desktop"])
def tab(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from make_tab(browser, server, request, request.param)


@pytest.fixture
def desktop(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from make_tab(browser, server, request, "desktop")


@pytest.fixture
def phone(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from make_tab(browser, server, request, "phone")


def segment_under_pointer(angle: float, segments: int) -> tuple[int, float]:
    """The segment at the pointer (the top) of a wheel turned ``angle`` degrees clockwise, and
    where in it, as a share of its width: the wheel's point under the pointer is at -angle."""
    at = (-angle % 360) / (360 / segments)
    return int(at), at - int(at)


def assert_landed(page: Page, result: dict[str, Any]) -> None:
    canvas = page.locator(f"{WHEEL} canvas")
    expect(canvas).to_have_attribute("data-state", "done")
    play = result["play"]
    angle = float(canvas.get_attribute("data-angle") or "nan")
    campaign = page.request.get(re.sub(r"(//[^/]+).*", r"\1", page.url) + CAMPAIGN).json()
    segments = len(campaign["prizes"])
    segment, inside = segment_under_pointer(angle, segments)
    assert segment == play["segment"], (angle, play)
    assert 0.19 <= inside <= 0.81, (angle, inside)  # the middle 60%, never on a border
    assert canvas.get_attribute("data-segment") == str(play["segment"])
    expect(page.locator(f"{WHEEL} .status[role=status]")).to_contain_text(play["prize"]["label"])


# -- the wheel --------------------------------------------------------------------------------


def test_the_wheel_comes_to_rest_inside_the_awarded_segment(tab: Tab) -> None:
    tab.shop()
    page = tab.open_wheel()
    page.locator(f"{WHEEL} button.go").click()
    [result] = tab.results()
    assert result["campaign"] == "black-friday-wheel"
    assert_landed(page, result)
    # the six prizes of the example campaign, in order, name the canvas
    label = page.locator(f"{WHEEL} canvas").get_attribute("aria-label") or ""
    assert label.startswith("Ruleta de premios: 10 % de descuento, Envío gratis")
    tab.screenshot(f"wheel-{tab.device}")


def test_the_wheel_turns_for_seconds_with_full_motion(desktop: Tab) -> None:
    desktop.shop(lang="en", reduced=False)
    page = desktop.open_wheel()
    canvas = page.locator(f"{WHEEL} canvas")
    began = time.monotonic()
    page.locator(f"{WHEEL} button.go").click()
    expect(canvas).to_have_attribute("data-state", "spinning")
    [result] = desktop.results()
    elapsed = time.monotonic() - began
    assert elapsed > 3, elapsed
    assert_landed(page, result)
    status = page.locator(f"{WHEEL} .status[role=status]")
    expect(status).to_contain_text("You won:" if result["play"]["prize"]["win"] else "No prize")


def test_past_the_limit_the_wheel_says_when_to_come_back(desktop: Tab) -> None:
    page = desktop.shop()
    desktop.open_wheel()
    spin = page.locator(f"{WHEEL} button.go")
    spin.click()
    desktop.results()
    status = page.locator(f"{WHEEL} .status[role=status]")
    # one spin a day: the answer says when the next one frees up, as a date and a time
    come_back = re.compile(r"Vuelve el .*\d{4}.*\d{1,2}:\d{2}")
    expect(status).to_contain_text(come_back)
    expect(spin).to_have_attribute("aria-disabled", "true")
    # a second spin does nothing: the button is disabled (spin() returns synchronously)
    spin.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"{WHEEL} canvas")).to_have_attribute("data-state", "done")
    assert page.evaluate("window.__results.length") == 1
    # and a customer who comes back to the page is told at once, without playing
    desktop.shop()
    desktop.open_wheel()
    expect(page.locator(f"{WHEEL} .status[role=status]")).to_contain_text(come_back)
    expect(page.locator(f"{WHEEL} button.go")).to_have_attribute("aria-disabled", "true")
    expect(page.locator(f"{WHEEL} canvas")).to_have_attribute("data-state", "idle")
    # the fairness page lists the play
    page.goto(f"{desktop.base}/fairness/black-friday-wheel?customer={desktop.customer}")
    desktop.screenshot("fairness", full_page=True)


def test_with_the_api_down_the_wheel_says_so_and_retries(tab: Tab) -> None:
    tab.allowed.append("net::ERR_FAILED")  # the aborted request, as chromium logs it
    page = tab.shop(lang="en")
    tab.open_wheel()
    page.route(PLAYS, lambda route: route.abort())
    page.locator(f"{WHEEL} button.go").click()
    status = page.locator(f"{WHEEL} .status[role=status]")
    expect(status).to_contain_text("We could not connect. Check your connection and try again.")
    expect(page.locator(f"{WHEEL} canvas")).to_have_attribute("data-state", "error")
    retry = status.get_by_role("button", name="Try again")
    expect(retry).to_be_visible()
    page.unroute(PLAYS)
    retry.click()
    [result] = tab.results()
    assert_landed(page, result)


# -- the scratch card -------------------------------------------------------------------------


def assert_revealed(tab: Tab) -> dict[str, Any]:
    page = tab.page
    [result] = tab.results()
    label = result["play"]["prize"]["label"]
    expect(page.locator(f"{SCRATCH} canvas")).to_have_attribute("data-state", "revealed")
    expect(page.locator(f"{SCRATCH} .under")).to_have_text(label)
    expect(page.locator(f"{SCRATCH} .status[role=status]")).to_contain_text(label)
    expect(page.locator(f"{SCRATCH} button.go")).to_have_text("Jugar otra vez")
    return result


def rows(box: dict[str, float]) -> list[tuple[float, float, float]]:
    """A zig-zag over the card: one stroke along each of its 8 rows of cells, (y, x0, x1)."""
    left, right = box["x"] + box["width"] * 0.03, box["x"] + box["width"] * 0.97
    strokes = []
    for row in range(8):
        y = box["y"] + box["height"] * (row + 0.5) / 8
        strokes.append((y, left, right) if row % 2 == 0 else (y, right, left))
    return strokes


def test_the_scratch_card_reveals_by_mouse_drag(desktop: Tab) -> None:
    page = desktop.shop()
    canvas = page.locator(f"{SCRATCH} canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    strokes = rows(box)
    page.mouse.move(strokes[0][1], strokes[0][0])
    page.mouse.down()
    for y, x0, x1 in strokes:
        page.mouse.move(x0, y, steps=2)
        page.mouse.move(x1, y, steps=10)
    page.mouse.up()
    assert_revealed(desktop)
    desktop.screenshot("scratch-desktop", of=SCRATCH)


def test_the_scratch_card_reveals_by_touch(phone: Tab) -> None:
    page = phone.shop()
    canvas = page.locator(f"{SCRATCH} canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    cdp = phone.context.new_cdp_session(page)

    def touch(kind: str, x: float | None = None, y: float | None = None) -> None:
        points = [] if x is None else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    strokes = rows(box)
    touch("touchStart", strokes[0][1], strokes[0][0])
    for y, x0, x1 in strokes:
        for k in range(11):
            touch("touchMove", x0 + (x1 - x0) * k / 10, y)
    touch("touchEnd")
    assert_revealed(phone)
    phone.screenshot("scratch-phone", of=SCRATCH)


def test_the_scratch_card_reveals_by_keyboard(tab: Tab) -> None:
    page = tab.shop()
    button = page.locator(f"{SCRATCH} button.go")
    button.focus()
    page.keyboard.press("Enter")
    assert_revealed(tab)
    expect(button).to_be_focused()


def test_the_coupon_copies_to_the_clipboard(desktop: Tab) -> None:
    desktop.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desktop.base)
    page = desktop.shop()
    page.locator(f"{SCRATCH} button.go").click()
    result = assert_revealed(desktop)
    coupon = result["play"]["coupon"]
    assert coupon  # every prize of the example scratch card has a coupon
    expect(page.locator(f"{SCRATCH} input.code")).to_have_value(coupon)
    page.locator(f"{SCRATCH} .coupon button").click()
    expect(page.locator(f"{SCRATCH} .coupon")).to_contain_text("¡Copiado!")
    assert page.evaluate("navigator.clipboard.readText()") == coupon
    # the demo's cart heard the gamify:result event
    expect(page.locator("#cart-coupons")).to_contain_text(coupon)


# -- safety and accessibility -----------------------------------------------------------------


@pytest.fixture
def hostile(
    browser: Browser, hostile_server: Server, request: pytest.FixtureRequest
) -> Iterator[Tab]:
    yield from make_tab(browser, hostile_server, request, "desktop")


def test_a_hostile_label_stays_text(hostile: Tab) -> None:
    tab = hostile
    page = tab.shop(lang="en")
    tab.open_wheel()
    wheel = page.locator(f"{WHEEL} canvas").get_attribute("aria-label") or ""
    assert wheel == "Prize wheel: " + ", ".join([HOSTILE] * 6)
    page.keyboard.press("Escape")
    page.locator(f"{SCRATCH} button.go").click()
    [result] = tab.results()
    assert result["play"]["prize"]["label"] == HOSTILE
    expect(page.locator(f"{SCRATCH} .under")).to_have_text(HOSTILE)
    expect(page.locator(f"{SCRATCH} .status[role=status]")).to_contain_text(HOSTILE)
    assert page.locator(f"{SCRATCH} img, {WHEEL} img").count() == 0
    assert page.evaluate("window.__xss") is None


def assert_accessible(page: Page, what: str) -> None:
    """No serious or critical violation of axe-core on the page (ids and targets if any)."""
    violations = Axe().run(page).response["violations"]
    found = [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
    assert not found, f"{what}: {found}"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_axe_finds_no_serious_violations(desktop: Tab, lang: str) -> None:
    page = desktop.shop(lang=lang)
    expect(page.locator(f"{WHEEL} button.launcher")).not_to_have_text(re.compile("Juega|Play"))
    assert_accessible(page, "the demo page")
    desktop.open_wheel()
    assert_accessible(page, "the wheel's dialog")
    page.keyboard.press("Escape")
    expect(page.locator(f"{WHEEL} dialog")).to_be_hidden()
    page.locator(f"{SCRATCH} button.go").click()
    desktop.results()
    assert_accessible(page, "the revealed scratch card")
    page.locator(f"{SCRATCH} details.fair summary").click()
    expect(page.locator(f"{SCRATCH} details.fair dd").first).to_be_visible()
    assert_accessible(page, "the scratch card's verify panel")


# -- Content-Security-Policy, modules on demand -----------------------------------------------


@pytest.fixture(params=["demo-default", *POLICIES])
def csp_tab(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    """A desktop on the demo under its own policy (`default-src 'self'`) or a nonce-based one."""
    if request.param in POLICIES:
        server.app.config[CSP_CONFIG] = POLICIES[request.param]
    try:
        yield from make_tab(browser, server, request, "desktop")
    finally:
        server.app.config.pop(CSP_CONFIG, None)


def computed(page: Page, selector: str, prop: str) -> str:
    value: str = page.locator(selector).evaluate(f"(el) => getComputedStyle(el).{prop}")
    return value


def test_under_a_strict_csp_both_games_play_styled(csp_tab: Tab, server: Server) -> None:
    tab = csp_tab
    page = tab.shop()
    # the policy the page came with: no 'unsafe-inline' anywhere
    assert tab.response is not None
    sent = tab.response.headers["content-security-policy"]
    nonce = page.locator("script[data-campaign]").first.evaluate("(s) => s.nonce")
    policy = str(server.app.config.get(CSP_CONFIG, "default-src 'self'"))
    assert sent == policy.replace("{nonce}", nonce) and "unsafe" not in sent
    # the widget is styled by its adopted stylesheets
    assert computed(page, f"{SCRATCH} button.go", "backgroundColor") == "rgb(91, 33, 182)"
    assert computed(page, f"{SCRATCH} .card", "borderTopStyle") == "dashed"
    assert computed(page, f"{SCRATCH} .panel", "maxWidth") == "448px"  # 28rem
    assert computed(page, f"{WHEEL} button.launcher", "position") == "fixed"
    # the modules this page needs, each once, next to the loader, with the page's nonce
    scripts = page.evaluate(MODULE_SCRIPTS)
    assert sorted(tab.modules()) == ["challenge", "frame", "loyalty", "scratch", "trigger", "wheel"]
    assert all(src.startswith(f"{tab.base}/gamify/widgets/") for src, _ in scripts)
    assert {n for _, n in scripts} == {nonce}

    # the scratch card, by keyboard
    page.locator(f"{SCRATCH} button.go").focus()
    page.keyboard.press("Enter")
    assert_revealed(tab)
    # the wheel, in its dialog
    tab.open_wheel()
    assert computed(page, f"{WHEEL} dialog", "backgroundColor") == "rgba(0, 0, 0, 0)"
    page.locator(f"{WHEEL} button.go").click()
    assert_landed(page, tab.results(2)[1])
    page.keyboard.press("Escape")
    # and the verify panel, one more module
    page.locator(f"{SCRATCH} details.fair summary").click()
    expect(page.locator(f"{SCRATCH} details.fair dt").first).to_have_text("Compromiso")
    assert computed(page, f"{SCRATCH} .verify dl", "display") == "grid"
    assert tab.modules().count("verify") == 1
    assert page.evaluate("window.__csp") == []
    name = next((k for k, v in POLICIES.items() if v == policy), "default-src-self")
    tab.screenshot(f"csp-{name}", of=SCRATCH)


def test_a_csp_violation_would_be_seen(desktop: Tab) -> None:
    """The check of the test above can fail: an inline style on the demo is a violation."""
    desktop.allowed.append("CSP violation: style-src-elem blocked inline")
    desktop.allowed.append("Applying inline style violates the following Content Security")
    page = desktop.shop()
    page.evaluate(
        "document.body.append(Object.assign(document.createElement('style'), "
        "{textContent: 'body { color: red }'}))"
    )
    page.wait_for_function("window.__csp.length === 1")
    assert computed(page, "body", "color") != "rgb(255, 0, 0)"


def test_the_verify_panel_loads_when_opened_and_shows_the_draw(desktop: Tab) -> None:
    page = desktop.shop()
    # not the verify panel (the challenge's card and the wheel's display trigger are the demo's)
    assert "verify" not in desktop.modules()
    fair = page.locator(f"{SCRATCH} details.fair")
    fair.locator("summary").click()
    # before a play: the campaign's commitment and epoch, and this browser's seed
    expect(fair.locator("dt")).to_have_text(["Compromiso", "Época", "Tu semilla"])
    seed = page.evaluate("localStorage.getItem('gamify.client_seed')")
    assert re.fullmatch(r"[\w-]{22}", seed)
    expect(fair.locator("dd").nth(2)).to_have_text(seed)
    assert desktop.modules().count("verify") == 1
    # after: the play's receipt
    page.locator(f"{SCRATCH} button.go").click()
    play = assert_revealed(desktop)["play"]
    expect(fair.locator("dt")).to_have_text(["Compromiso", "Época", "Nonce", "Tu semilla"])
    values = [play["commitment"], str(play["epoch"]), str(play["nonce"]), play["client_seed"]]
    expect(fair.locator("dd")).to_have_text(values)
    assert play["client_seed"] == seed
    link = fair.get_by_role("link", name="Registro público de equidad")
    href = link.get_attribute("href") or ""
    assert href == f"{desktop.base}/gamify/api/campaigns/welcome-back-scratch/fairness"
    assert desktop.modules().count("verify") == 1


def test_when_a_game_module_cannot_load_the_widget_says_so_and_retries(desktop: Tab) -> None:
    desktop.allowed.append("net::ERR_FAILED")  # the aborted request, as chromium logs it
    page = desktop.page
    scratch_js = re.compile(r"/gamify/widgets/scratch\.[0-9a-f]{16}\.js$")
    page.route(scratch_js, lambda route: route.abort())
    page.goto(f"{desktop.base}/?customer={desktop.customer}&lang=en")
    status = page.locator(f"{SCRATCH} .status[role=status]")
    expect(status).to_contain_text("We could not connect. Check your connection and try again.")
    expect(page.locator(f"{WHEEL} button.launcher")).to_have_text(re.compile("Black Friday"))
    page.unroute(scratch_js)
    status.get_by_role("button", name="Try again").click()
    page.locator(f"{SCRATCH} button.go").click()
    [result] = desktop.results()
    expect(page.locator(f"{SCRATCH} .under")).to_have_text(result["play"]["prize"]["label"])


def test_when_the_frame_cannot_load_the_loader_tries_again(desktop: Tab) -> None:
    desktop.allowed.append("net::ERR_FAILED")
    page = desktop.page
    aborted: list[str] = []

    def once(route: Route) -> None:
        if aborted:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    page.route(re.compile(r"/gamify/widgets/frame\.[0-9a-f]{16}\.js$"), once)
    page.goto(f"{desktop.base}/?customer={desktop.customer}")
    # 2 seconds later, the second try; both widgets come up
    expect(page.locator(f"{SCRATCH} button.go")).to_be_visible(timeout=15_000)
    expect(page.locator(f"{WHEEL} button.launcher")).to_be_visible()
    assert len(aborted) == 1
    assert desktop.modules().count("frame") == 1


@pytest.fixture(scope="module")
def subpath_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo behind a proxy that serves it under /shop (SCRIPT_NAME)."""
    served = Server(create_demo_app(tmp_path_factory.mktemp("subpath") / "instance"), "/shop")
    yield served
    served.close()


@pytest.fixture
def subpath(
    browser: Browser, subpath_server: Server, request: pytest.FixtureRequest
) -> Iterator[Tab]:
    yield from make_tab(browser, subpath_server, request, "phone")


def test_under_a_sub_path_the_loader_finds_its_modules_and_the_api(subpath: Tab) -> None:
    page = subpath.shop()
    assert subpath.base.endswith("/shop")
    srcs = {s.get_attribute("src") for s in page.locator("script[data-campaign]").all()}
    assert srcs == {"/shop/gamify/widget.js"}
    assert {src.rsplit("/", 1)[0] for src, _ in page.evaluate(MODULE_SCRIPTS)} == {
        f"{subpath.base}/gamify/widgets"
    }
    page.locator(f"{SCRATCH} button.go").click()
    assert_revealed(subpath)


# -- long labels ------------------------------------------------------------------------------

# 120 characters: on the wheel's first segment, and on every prize of the scratch card (with a
# word longer than a line of the card)
LONG_WHEEL = (
    "Una tarjeta regalo de cincuenta euros para gastar en cualquier producto de la tienda, "
    "con envío gratis y sin fecha final"
)
LONG_CARD = (
    "Caja sorpresa de nuestro socio: Superextraordinariamentemaravillosísima y "
    "grande, con regalos para ti y para tu familia."
)


@pytest.fixture(scope="module")
def long_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The demo where the wheel's first prize (a light segment with black text; the others
    dark, with white text) and every prize of the scratch card have a 120-character label."""
    assert len(LONG_WHEEL) == len(LONG_CARD) == 120
    folder = tmp_path_factory.mktemp("long")
    campaigns = folder / "campaigns"
    shutil.copytree(EXAMPLES, campaigns)
    wheel = campaigns / "black-friday-wheel.yaml"
    text = re.sub(r'color: "#\w+"', 'color: "#1e3a8a"', wheel.read_text(encoding="utf-8"))
    text = text.replace(
        'label: {es: "10 % de descuento", en: "10% off"}',
        f'label: {{es: "{LONG_WHEEL}", en: "{LONG_WHEEL}"}}',
    ).replace('color: "#1e3a8a"', 'color: "#fde047"', 1)
    assert LONG_WHEEL in text and text.index("#fde047") < text.index("free-shipping")
    wheel.write_text(text, encoding="utf-8")
    card = campaigns / "welcome-back-scratch.yaml"
    text = re.sub(r"label: \{[^}]*\}", f'label: "{LONG_CARD}"', card.read_text(encoding="utf-8"))
    card.write_text(text, encoding="utf-8")
    served = Server(create_demo_app(folder / "instance", campaigns))
    yield served
    served.close()


@pytest.fixture(params=["phone", "desktop"])
def long_tab(
    browser: Browser, long_server: Server, request: pytest.FixtureRequest
) -> Iterator[Tab]:
    yield from make_tab(browser, long_server, request, request.param)


# The wheel's pixels: how many dark ones (its black text) lie inside the first segment (the
# top right sixth, from -90° to -30°, between the hub and the rim) and which lie elsewhere,
# leaving out the pointer at the top.
DARK_PIXELS = """
(canvas) => {
  const { width: w, height: h } = canvas;
  const data = canvas.getContext("2d").getImageData(0, 0, w, h).data;
  const r = w / 2;
  let inside = 0;
  const outside = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      if (data[i + 3] < 250 || data[i] > 60 || data[i + 1] > 60 || data[i + 2] > 60) continue;
      const dx = x + 0.5 - r;
      const dy = y + 0.5 - r;
      if (dy < -0.85 * r && Math.abs(dx) < 0.1 * r) continue;
      const degrees = (Math.atan2(dy, dx) * 180) / Math.PI;
      const distance = Math.hypot(dx, dy);
      if (degrees > -90 && degrees < -30 && distance > 0.1 * r && distance < r) inside++;
      else outside.push([x, y, Math.round(degrees), Math.round(distance)]);
    }
  }
  return { inside, outside: outside.length, some: outside.slice(0, 10) };
}
"""


def test_a_long_label_stays_in_its_wheel_segment(long_tab: Tab) -> None:
    page = long_tab.shop(lang="en")
    long_tab.open_wheel()
    canvas = page.locator(f"{WHEEL} canvas")
    # the full label is in the accessible name, though the segment shows it shortened
    label = canvas.get_attribute("aria-label") or ""
    assert label.startswith(f"Prize wheel: {LONG_WHEEL}, Free shipping")
    page.wait_for_function("(c) => c.width > 0", arg=canvas.element_handle())
    pixels = canvas.evaluate(DARK_PIXELS)
    assert pixels["inside"] > 200, pixels  # the text is drawn
    assert pixels["outside"] == 0, pixels  # and all of it inside its segment
    long_tab.screenshot(f"wheel-long-{long_tab.device}", of=f"{WHEEL} .wheel")


# Where the card's label is, against the card, and whether it overflows its box.
LABEL_BOX = """
(host) => {
  const root = host.shadowRoot;
  const card = root.querySelector(".card").getBoundingClientRect();
  const under = root.querySelector(".under");
  const range = document.createRange();
  range.selectNodeContents(under);
  const text = range.getBoundingClientRect();
  return {
    card: [card.left, card.top, card.right, card.bottom],
    text: [text.left, text.top, text.right, text.bottom],
    overflow: [under.scrollWidth - under.clientWidth, under.scrollHeight - under.clientHeight],
    font: parseFloat(getComputedStyle(under.firstElementChild).fontSize),
  };
}
"""


def test_a_long_label_wraps_on_the_scratch_card(long_tab: Tab) -> None:
    page = long_tab.shop()
    page.locator(f"{SCRATCH} button.go").focus()
    page.keyboard.press("Enter")
    result = assert_revealed(long_tab)
    assert result["play"]["prize"]["label"] == LONG_CARD
    expect(page.locator(f"{SCRATCH} .status[role=status]")).to_contain_text(LONG_CARD)
    box = page.locator(SCRATCH).evaluate(LABEL_BOX)
    (left, top, right, bottom), (x0, y0, x1, y1) = box["card"], box["text"]
    assert left <= x0 and x1 <= right and top <= y0 and y1 <= bottom, box
    assert box["overflow"] == [0, 0], box
    assert 12 <= box["font"] <= 24, box  # 1.5rem, or smaller where it must, still readable
    long_tab.screenshot(f"scratch-long-{long_tab.device}", of=SCRATCH)
