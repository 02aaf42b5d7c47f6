"""The loyalty card in a real browser (Debian's chromium through Playwright), on a store of its own.

The store is a small host app (``make_app`` of tests/api_support.py) with a ``loyalty.yaml`` in
its campaigns folder (three tiers: Bronze from 0, Silver from 500, Gold from 1500 points earned;
three rewards: free shipping for 300 points, a €5 coupon for 500, a limited bag for 100 with a
stock of one) and an account page that renders the one tag, ``data-campaign="loyalty"``, with
the customer's token, under ``Content-Security-Policy: default-src 'self'`` (or a nonce-based
policy). A second store has no programme. Each test is a customer of its own, given points by
``order.paid`` events: an order of 20 days ago (its points usable, the return window over) and
one of today (pending). The fixtures and the checks (console errors, CSP violations, axe-core)
are those of ``test_browser.py``. Screenshots go to ``tests/artifacts/`` (docs/images/
loyalty-card-*.png are copies of some).
"""

from __future__ import annotations

import contextlib
import re
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_support import bearer, make_app
from flask import Flask, Response, render_template_string, request
from playwright.sync_api import Browser, Locator, Page, Request, Route, expect
from test_browser import POLICIES, Server, Tab, assert_accessible, computed, make_tab
from test_browser import browser as browser  # the fixture: one chromium for the module

from gamify.core.errors import OutOfStock
from gamify.web.state import state

EVENTS_KEY = "loyalty-browser-events"
CSP_CONFIG = "SHOP_CONTENT_SECURITY_POLICY"
HOST = '[data-gamify="loyalty"]'
CARD = f"{HOST} .loyalty"
LOYALTY = """\
loyalty:
  timezone: Europe/Madrid
  earn:
    - {event: order.paid, points_per_unit: 1}
  pending_days: 14
  expire_after_days: 365
  tiers:
    levels:
      - {id: bronce, label: {es: Bronce, en: Bronze}, min: 0}
      - {id: plata, label: {es: Plata, en: Silver}, min: 500, multiplier: 1.25}
      - {id: oro, label: {es: Oro, en: Gold}, min: 1500, multiplier: 1.5}
  rewards:
    - id: envio-gratis
      label: {es: "Envío gratis", en: "Free shipping"}
      description: {es: "En tu próximo pedido", en: "On your next order"}
      cost: 300
      coupon: {pattern: "ENVIO-{code:8}"}
    - id: cinco-euros
      label: {es: "Cupón de 5 €", en: "€5 coupon"}
      cost: 500
      coupon: {pattern: "CINCO-{code:8}"}
    - id: bolsa
      label: {es: "Bolsa de edición limitada", en: "Limited edition bag"}
      cost: 100
      stock: 1
      coupon: {pattern: "BOLSA-{code:8}"}
"""
# The account page of the store: the tag where the card goes (no data-target: inline, there).
PAGE = """<!doctype html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ "Mi cuenta" if lang == "es" else "My account" }} · Tienda</title>
<link rel="stylesheet" href="/shop.css">
</head>
<body>
<header><a href="/">{{ "Tienda" if lang == "es" else "Shop" }}</a></header>
<main>
<h1>{{ "Mi cuenta" if lang == "es" else "My account" }}</h1>
{{ gamify_widget("loyalty", customer_id=customer, lang=lang, nonce=nonce) }}
<p>{{ "Tus pedidos aparecen aquí." if lang == "es" else "Your orders show here." }}</p>
</main>
</body>
</html>
"""
SHOP_CSS = """
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1f2937; background: #f3f4f6; }
header { padding: .75rem 1rem; background: #fff; }
main { max-width: 40rem; margin: auto; padding: 1rem; }
[data-gamify] { display: block; border: 1px solid #d1d5db; border-radius: 12px; }
"""
# every request of the page, and the standings and redemptions the card announced
RECORD = """
window.__loyalty = [];
document.addEventListener("gamify:loyalty", (event) => window.__loyalty.push(event.detail));
window.__redeemed = [];
document.addEventListener("gamify:redeemed", (event) => window.__redeemed.push(event.detail));
"""
REDEEM = re.compile(r"/gamify/api/me/loyalty/redeem(\?|$)")
STANDING = re.compile(r"/gamify/api/me/loyalty(\?|$)")
MONTHS = {
    "en": "January February March April May June July August September October November December",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre "
    "diciembre",
}


def store(root: Path, loyalty: bool) -> Flask:
    """The host app: gamify under /gamify, and the account page at / (?customer=&lang=)."""
    campaigns = root / "campaigns"
    campaigns.mkdir(parents=True)
    if loyalty:
        (campaigns / "loyalty.yaml").write_text(LOYALTY, encoding="utf-8")
    app = make_app(root, campaigns, GAMIFY_EVENTS_KEY=EVENTS_KEY)

    @app.get("/")
    def account() -> Response:
        nonce = secrets.token_urlsafe(16)
        html = render_template_string(
            PAGE,
            lang=request.args.get("lang", "es"),
            customer=request.args.get("customer") or None,
            nonce=nonce,
        )
        response = Response(html, mimetype="text/html")
        policy = str(app.config.get(CSP_CONFIG, "default-src 'self'"))
        response.headers["Content-Security-Policy"] = policy.replace("{nonce}", nonce)
        return response

    @app.get("/shop.css")
    def shop_css() -> Response:
        return Response(SHOP_CSS, mimetype="text/css")

    @app.get("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)

    return app


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(store(tmp_path_factory.mktemp("loyalty"), loyalty=True))
    yield served
    served.close()


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A store without a loyalty programme."""
    served = Server(store(tmp_path_factory.mktemp("no-loyalty"), loyalty=False))
    yield served
    served.close()


# the API requests of each tab's page ("GET http://…/gamify/api/me/loyalty?lang=es"), by customer
CALLS: dict[str, list[str]] = {}


def tab_on(
    browser: Browser, served: Server, request: pytest.FixtureRequest, device: str
) -> Iterator[Tab]:
    for tab in make_tab(browser, served, request, device):
        tab.context.add_init_script(RECORD)
        calls = CALLS.setdefault(tab.customer, [])

        def record(sent: Request, calls: list[str] = calls) -> None:
            if "/gamify/api/" in sent.url:
                calls.append(f"{sent.method} {sent.url}")

        tab.page.on("request", record)
        yield tab
        CALLS.pop(tab.customer, None)


@pytest.fixture(params=["phone", "desktop"])
def tab(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from tab_on(browser, server, request, request.param)


@pytest.fixture
def desktop(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from tab_on(browser, server, request, "desktop")


@pytest.fixture
def phone(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from tab_on(browser, server, request, "phone")


# -- helpers ----------------------------------------------------------------------------------


def order(server: Server, customer: str, name: str, total: str, days_ago: int = 0) -> None:
    """An ``order.paid`` event of the store's server, ``days_ago`` days back."""
    at = datetime.now(UTC) - timedelta(days=days_ago)
    event = {
        "id": f"paid-{customer}-{name}", "type": "order.paid", "customer": customer,
        "occurred_at": at.isoformat(),
        "order": {"id": f"{customer}-{name}", "total": total, "currency": "EUR"},
    }  # fmt: skip
    client = server.app.test_client()
    answer = client.post("/gamify/api/events", json=event, headers=bearer(EVENTS_KEY))
    assert answer.status_code == 200, answer.get_data(as_text=True)


def give(server: Server, customer: str, usable: int = 320, pending: int = 60) -> None:
    """Points usable now (an order past its return window) and pending ones (today's order)."""
    order(server, customer, "old", f"{usable}.00", days_ago=20)
    if pending:
        order(server, customer, "new", f"{pending}.00")


def standing(server: Server, customer: str, lang: str = "es") -> dict[str, Any]:
    """GET /api/me/loyalty as the customer, as the server has it."""
    client = server.app.test_client()
    token = state(server.app).tokens.sign(customer)
    answer = client.get(f"/gamify/api/me/loyalty?lang={lang}", headers=bearer(token))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body: dict[str, Any] = answer.get_json()
    return body


def visit(tab: Tab, lang: str = "es", customer: str | None = None, ready: bool = True) -> Page:
    """The account page as ``customer`` (the tab's own by default; "" for a visitor)."""
    page = tab.page
    page.emulate_media(reduced_motion="reduce")
    who = tab.customer if customer is None else customer
    tab.response = page.goto(f"{tab.base}/?customer={who}&lang={lang}")
    if ready:
        expect(page.locator(CARD)).to_have_attribute("data-state", "ready")
    return page


def reward(page: Page, reward_id: str) -> Locator:
    return page.locator(f'{CARD} li[data-reward="{reward_id}"]')


def go(page: Page, reward_id: str) -> Locator:
    return reward(page, reward_id).locator("button.go")


def said(page: Page) -> Locator:
    return page.locator(f"{CARD} .said")


def long_date(iso: str, lang: str) -> str:
    """A calendar date as the card writes it (``dateStyle: long``)."""
    day = date.fromisoformat(iso)
    month = MONTHS[lang].split()[day.month - 1]
    if lang == "es":
        return f"{day.day} de {month} de {day.year}"
    return f"{month} {day.day}, {day.year}"


def focused(page: Page) -> dict[str, Any]:
    """What has the focus inside the card: its tag, class, text, and the row it is in."""
    found: dict[str, Any] = page.locator(HOST).evaluate(
        """(host) => {
          const el = host.shadowRoot.activeElement;
          if (!el) return {};
          return {
            tag: el.tagName.toLowerCase(),
            cls: el.className,
            text: el.textContent,
            reward: el.closest("li")?.dataset.reward ?? null,
          };
        }"""
    )
    return found


def no_horizontal_scroll(page: Page) -> None:
    viewport = page.viewport_size
    assert viewport is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], (width, viewport)


def api_calls(tab: Tab) -> list[str]:
    return list(CALLS[tab.customer])


# -- what the card shows ----------------------------------------------------------------------


def test_the_card_shows_balance_pending_expiring_tier_and_rewards(tab: Tab, server: Server) -> None:
    give(server, tab.customer)
    truth = standing(server, tab.customer)
    assert truth["points"]["available"] == 320 and truth["points"]["pending"] == 60
    page = visit(tab)
    card = page.locator(CARD)
    # inline, where the tag is (in <main>, right before it), titled in Spanish
    where = "main > h1 + [data-gamify=loyalty] + script[data-campaign]"
    assert page.locator(where).count() == 1, "the card is not where its tag is"
    expect(page.locator(f"{HOST} h2")).to_have_text("Tus puntos")
    expect(page.locator(f"{HOST} button.launcher")).to_have_count(0)
    expect(card.locator(".big")).to_have_text("320 puntos para gastar")
    pending = card.locator(".balance .small").first
    expect(pending).to_have_text(
        "Pendientes: 60 puntos · disponibles cuando acabe el plazo de devolución"
    )
    soon = truth["points"]["expiring"][0]
    assert soon["points"] == 320
    expect(card.locator(".balance .small").nth(1)).to_have_text(
        f"Próxima caducidad: 320 puntos el {long_date(soon['on'], 'es')}"
    )
    # the tier: its badge, and the bar toward the next one (points earned, not the balance)
    expect(card.locator(".badge")).to_have_text("Bronce")
    bar = card.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "380")
    expect(bar).to_have_attribute("aria-valuemin", "0")
    expect(bar).to_have_attribute("aria-valuemax", "500")
    expect(bar).to_have_accessible_name("380 de 500 puntos para Plata")
    expect(card.locator(".tier > p.small")).to_have_text("120 puntos para Plata")
    width = page.locator(f"{CARD} .fill").evaluate("(el) => el.style.width")
    assert width == "76%"
    # the catalogue: each reward with its cost; the one out of reach says why
    expect(card.get_by_role("list", name="Canjea tus puntos").locator("li")).to_have_count(3)
    expect(reward(page, "envio-gratis").locator(".name")).to_have_text("Envío gratis")
    expect(reward(page, "envio-gratis").locator(".small").first).to_have_text(
        "En tu próximo pedido"
    )
    expect(reward(page, "envio-gratis").locator(".cost")).to_have_text("300 puntos")
    expect(go(page, "envio-gratis")).to_have_text("Canjear")
    expect(go(page, "envio-gratis")).to_have_attribute("aria-disabled", "false")
    expect(go(page, "envio-gratis")).to_have_accessible_description("Envío gratis")
    expect(reward(page, "cinco-euros").locator(".cost")).to_have_text("500 puntos")
    expect(reward(page, "cinco-euros")).to_have_attribute("data-affordable", "false")
    expect(go(page, "cinco-euros")).to_have_attribute("aria-disabled", "true")
    expect(reward(page, "cinco-euros").locator(".why")).to_have_text("Te faltan 180 puntos.")
    expect(go(page, "cinco-euros")).to_have_accessible_description(
        "Cupón de 5 € Te faltan 180 puntos."
    )
    # no campaign request for the reserved id: the standing only, and two modules
    assert api_calls(tab) == [f"GET {tab.base}/gamify/api/me/loyalty?lang=es"]
    assert sorted(tab.modules()) == ["frame", "loyalty"]
    [told] = page.evaluate("window.__loyalty")
    assert told["campaign"] == "loyalty" and told["loyalty"]["points"]["available"] == 320
    no_horizontal_scroll(page)
    assert_accessible(page, "the loyalty card")
    tab.screenshot(f"loyalty-card-{tab.device}", of=HOST)
    assert page.evaluate("window.__csp") == []


def test_an_unaffordable_reward_does_nothing_and_says_why(desktop: Tab, server: Server) -> None:
    give(server, desktop.customer, usable=120, pending=0)
    page = visit(desktop, lang="en")
    button = go(page, "envio-gratis")
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(reward(page, "envio-gratis").locator(".why")).to_have_text("You need 180 points more.")
    button.focus()  # still in the Tab order, so its reason is read
    page.keyboard.press("Enter")
    expect(button).to_have_text("Redeem")  # no confirmation, nothing sent
    expect(reward(page, "envio-gratis").locator("button.alt").first).to_be_hidden()
    assert not [c for c in api_calls(desktop) if c.startswith("POST")]
    expect(page.locator(f"{CARD} .balance .small").first).to_be_hidden()  # nothing pending


# -- redeeming --------------------------------------------------------------------------------


def test_redeeming_by_keyboard_only_shows_the_coupon_and_the_new_balance(
    desktop: Tab, server: Server
) -> None:
    """Tab, Enter, Escape and Space: the confirmation is the same button, then the coupon."""
    desktop.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desktop.base)
    give(server, desktop.customer)
    page = visit(desktop, lang="en")
    keys = page.keyboard
    for _ in range(6):  # the page's link, then the card's first button
        keys.press("Tab")
        if focused(page).get("reward") == "envio-gratis":
            break
    button = go(page, "envio-gratis")
    expect(button).to_be_focused()
    expect(button).to_have_text("Redeem")

    # Enter asks; Escape cancels, nothing spent
    keys.press("Enter")
    expect(button).to_have_text("Confirm: spend 300 points")
    expect(said(page)).to_have_text("Spend 300 points on Free shipping? Confirm or cancel.")
    cancel = reward(page, "envio-gratis").get_by_role("button", name="Cancel")
    expect(cancel).to_be_visible()
    keys.press("Escape")
    expect(button).to_have_text("Redeem")
    expect(button).to_be_focused()
    expect(said(page)).to_have_text("Nothing was spent.")
    expect(cancel).to_be_hidden()

    # Enter asks again; Tab reaches Cancel, Shift+Tab comes back; Space confirms
    keys.press("Enter")
    expect(button).to_have_text("Confirm: spend 300 points")
    keys.press("Tab")
    expect(cancel).to_be_focused()
    keys.press("Shift+Tab")
    expect(button).to_be_focused()
    desktop.screenshot("loyalty-card-confirm-desktop", of=HOST)
    assert not [c for c in api_calls(desktop) if c.startswith("POST")]
    with page.expect_response(REDEEM) as answered:
        keys.press("Space")
    assert answered.value.status == 201
    coupon = reward(page, "envio-gratis").locator("input.code")
    expect(coupon).to_have_value(re.compile(r"^ENVIO-[A-Z0-9]{8}$"))
    code = coupon.input_value()
    expect(said(page)).to_have_text(f"You got Free shipping for 300 points. Your code: {code}")
    expect(said(page)).to_have_attribute("role", "status")
    expect(page.locator(f"{CARD} .big")).to_have_text("20 points to spend")
    # the focus stays on the button, which cannot buy it again
    expect(button).to_be_focused()
    expect(button).to_have_text("Redeem")
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(reward(page, "envio-gratis").locator(".why")).to_have_text("You need 280 points more.")
    expect(go(page, "bolsa")).to_have_attribute("aria-disabled", "true")
    # Tab to the code, then to its copy button: Enter copies
    keys.press("Tab")
    expect(coupon).to_be_focused()
    keys.press("Tab")
    copy = reward(page, "envio-gratis").get_by_role("button", name="Copy code")
    expect(copy).to_be_focused()
    keys.press("Enter")
    expect(reward(page, "envio-gratis").locator(".coupon")).to_contain_text("Copied!")
    assert page.evaluate("navigator.clipboard.readText()") == code
    # the page heard it; the server agrees
    [redeemed] = page.evaluate("window.__redeemed")
    assert redeemed == {
        "campaign": "loyalty",
        "label": "Free shipping",
        "reward": "envio-gratis",
        "coupon": code,
        "points": 300,
        "available": 20,
    }
    assert standing(server, desktop.customer)["points"]["available"] == 20
    # the card asked for the standing again after the redemption
    page.wait_for_function("window.__loyalty.length >= 2")
    assert_accessible(page, "the loyalty card after a redemption")
    desktop.screenshot("loyalty-card-redeemed-desktop", of=HOST)


def test_a_lost_answer_is_retried_with_the_same_key_and_spends_once(
    phone: Tab, server: Server
) -> None:
    """The first answer never reaches the browser (the server did redeem): "Confirm" again
    sends the same Idempotency-Key, and the server answers the first redemption again."""
    phone.allowed.append("net::ERR_FAILED")  # the aborted answer, as chromium logs it
    give(server, phone.customer)
    page = visit(phone, lang="en")
    sent: list[str] = []

    def lose_the_first_answer(route: Route) -> None:
        sent.append(route.request.headers["idempotency-key"])
        if len(sent) == 1:
            route.fetch()  # the server redeems…
            route.abort()  # …and the answer is lost
        else:
            route.continue_()

    page.route(REDEEM, lose_the_first_answer)
    button = go(page, "envio-gratis")
    button.click()
    button.click()
    expect(said(page)).to_have_text("We could not connect. Check your connection and try again.")
    expect(said(page)).to_have_class(re.compile(r"\berror\b"))
    # the confirmation stays: the same button tries again
    expect(button).to_have_text("Confirm: spend 300 points")
    expect(button).to_have_attribute("aria-disabled", "false")
    with page.expect_response(REDEEM) as answered:
        button.click()
    assert answered.value.status == 200  # a replay: nothing spent again
    expect(reward(page, "envio-gratis").locator("input.code")).to_have_value(re.compile(r"^ENVIO-"))
    expect(page.locator(f"{CARD} .big")).to_have_text("20 points to spend")
    assert len(sent) == 2 and sent[0] == sent[1]
    assert re.fullmatch(r"[0-9a-f-]{32,36}", sent[0])
    assert standing(server, phone.customer)["points"]["available"] == 20
    no_horizontal_scroll(page)
    phone.screenshot("loyalty-card-redeemed-phone", of=HOST)


def test_a_sold_out_reward_says_so_in_the_live_region(desktop: Tab, server: Server) -> None:
    desktop.allowed.append("409")  # the browser logs the refusal
    # another customer took the only bag
    app = server.app
    program = state(app).registry.loyalty()
    assert program is not None
    with app.app_context():
        state(app).service.adjust(program, "bag-buyer", 100, "test")
        with contextlib.suppress(OutOfStock):  # taken before (a test run again)
            state(app).service.redeem(program, "bag-buyer", "bolsa", "bag-1")
    give(server, desktop.customer)
    page = visit(desktop)
    button = go(page, "bolsa")
    expect(button).to_have_attribute("aria-disabled", "false")  # the standing knows no stock
    button.click()
    expect(button).to_have_text("Confirmar: gastar 100 puntos")
    with page.expect_response(REDEEM) as answered:
        button.click()
    assert answered.value.status == 409
    expect(said(page)).to_have_text("Bolsa de edición limitada está agotado.")
    expect(said(page)).to_have_class(re.compile(r"\berror\b"))
    expect(button).to_have_text("Canjear")
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(reward(page, "bolsa").locator(".why")).to_have_text("Agotado.")
    expect(reward(page, "bolsa").locator("input.code")).to_be_hidden()
    expect(page.locator(f"{CARD} .big")).to_have_text("320 puntos para gastar")
    assert_accessible(page, "the card after a refused redemption")


def test_not_enough_points_on_the_server_is_said_and_the_card_refreshed(
    desktop: Tab, server: Server
) -> None:
    """The points were spent elsewhere after the card was shown: 409 insufficient_points."""
    desktop.allowed.append("409")
    give(server, desktop.customer)
    page = visit(desktop, lang="en")
    app = server.app
    program = state(app).registry.loyalty()
    assert program is not None
    with app.app_context():
        state(app).service.adjust(program, desktop.customer, -250, "spent in the shop")
    button = go(page, "envio-gratis")
    button.click()
    with page.expect_response(REDEEM) as answered:
        button.click()
    assert answered.value.status == 409
    expect(said(page)).to_have_text("You do not have enough points for Free shipping yet.")
    expect(page.locator(f"{CARD} .big")).to_have_text("70 points to spend")
    expect(button).to_have_attribute("aria-disabled", "true")


# -- tiers, languages, refresh ----------------------------------------------------------------


def test_the_top_tier_in_english_has_no_bar(desktop: Tab, server: Server) -> None:
    give(server, desktop.customer, usable=1600, pending=0)
    truth = standing(server, desktop.customer, "en")
    page = visit(desktop, lang="en")
    card = page.locator(CARD)
    expect(page.locator(f"{HOST} h2")).to_have_text("Your points")
    expect(card.locator(".big")).to_have_text("1,600 points to spend")
    soon = truth["points"]["expiring"][0]
    expect(card.locator(".balance .small").nth(1)).to_have_text(
        f"Next to expire: 1,600 points on {long_date(soon['on'], 'en')}"
    )
    expect(card.locator(".badge")).to_have_text("Gold")
    expect(card.locator(".level")).to_contain_text("You earn points ×1.5")
    expect(card.get_by_role("progressbar")).to_have_count(0)
    expect(card.locator(".tier > p.small")).to_have_text("You are at the top tier.")
    for reward_id in ("envio-gratis", "cinco-euros", "bolsa"):
        expect(go(page, reward_id)).to_have_attribute("aria-disabled", "false")
    expect(reward(page, "cinco-euros").locator(".name")).to_have_text("€5 coupon")
    assert_accessible(page, "the card at the top tier")


def test_the_card_refreshes_when_the_page_is_shown_again(desktop: Tab, server: Server) -> None:
    give(server, desktop.customer)
    page = visit(desktop, lang="en")
    expect(page.locator(f"{CARD} .big")).to_have_text("320 points to spend")
    order(server, desktop.customer, "elsewhere", "200.00", days_ago=15)
    with page.expect_response(STANDING):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.locator(f"{CARD} .big")).to_have_text("520 points to spend")
    expect(page.locator(f"{CARD} .badge")).to_have_text("Silver")
    expect(page.locator(f"{CARD} .tier > p.small")).to_have_text("920 points to Gold")
    expect(page.locator(f"{CARD} .level")).to_contain_text("You earn points ×1.25")
    expect(go(page, "cinco-euros")).to_have_attribute("aria-disabled", "false")


def test_reduced_motion_fills_the_bar_without_animating(desktop: Tab, server: Server) -> None:
    give(server, desktop.customer)
    page = visit(desktop)
    fill = f"{CARD} .fill"
    assert computed(page, fill, "transitionDuration") == "0s"
    page.emulate_media(reduced_motion="no-preference")
    assert computed(page, fill, "transitionDuration") == "0.6s"


# -- no customer, no programme, other policies ------------------------------------------------


@pytest.mark.parametrize("lang", ["es", "en"])
def test_without_a_token_the_card_asks_to_sign_in_and_sends_nothing(
    desktop: Tab, lang: str
) -> None:
    page = visit(desktop, lang=lang, customer="", ready=False)
    card = page.locator(CARD)
    expect(card).to_have_attribute("data-state", "signed-out")
    expect(card.locator(".signin")).to_have_text(
        "Inicia sesión para ver tus puntos." if lang == "es" else "Sign in to see your points."
    )
    expect(card.locator(".big")).to_be_hidden()
    expect(card.get_by_role("button")).to_have_count(0)
    assert page.locator("script[data-campaign]").get_attribute("data-customer") is None
    assert api_calls(desktop) == []
    assert_accessible(page, "the card of a visitor")


@pytest.fixture
def bare(browser: Browser, bare_server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from tab_on(browser, bare_server, request, "phone")


def test_a_store_without_a_programme_removes_the_widget(bare: Tab) -> None:
    bare.allowed.append("404")  # the browser logs the answer that removes the card
    page = bare.page
    with page.expect_response(lambda r: bool(STANDING.search(r.url)) and r.status == 404):
        visit(bare, ready=False)
    expect(page.locator(HOST)).to_have_count(0)
    expect(page.locator("main h1")).to_have_text("Mi cuenta")
    assert api_calls(bare) == [f"GET {bare.base}/gamify/api/me/loyalty?lang=es"]


@pytest.fixture(params=list(POLICIES))
def nonce_tab(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    server.app.config[CSP_CONFIG] = POLICIES[request.param]
    try:
        yield from tab_on(browser, server, request, "phone")
    finally:
        server.app.config.pop(CSP_CONFIG, None)


def test_under_nonce_policies_the_card_loads_styled_and_redeems(
    nonce_tab: Tab, server: Server
) -> None:
    give(server, nonce_tab.customer)
    page = visit(nonce_tab)
    nonce = page.locator("script[data-campaign]").evaluate("(s) => s.nonce")
    scripts = page.evaluate(
        "[...document.querySelectorAll(\"script[src*='/widgets/']\")].map(s => s.nonce)"
    )
    assert nonce and scripts == [nonce, nonce]
    assert computed(page, f"{CARD} .big", "fontWeight") == "800"
    assert computed(page, f"{CARD} .badge", "borderTopLeftRadius") == "999px"
    button = go(page, "envio-gratis")
    button.click()
    button.click()
    expect(reward(page, "envio-gratis").locator("input.code")).to_have_value(re.compile(r"^ENVIO-"))
    assert page.evaluate("window.__csp") == []
