"""The challenge card in a real browser (Debian's chromium through Playwright), on the demo store.

The demo mounts the example's seasonal challenge (3 orders of €20 or more, one a day; a review;
a quiz of three questions, two right to pass, three attempts) inline, next to the games. These
tests shop in the demo as a newcomer would: "Buy now", an order dated a few days back (the demo's
way through the one-order-a-day rule), "Write a review", and the quiz, by keyboard only. Each
test is a customer of its own; the fixtures, the servers and the checks (console errors, Content-
Security-Policy violations, axe-core) are those of ``test_browser.py``: every test runs under the
demo's ``default-src 'self'``, and any console error fails it. Screenshots go to
``tests/artifacts/`` (docs/images/challenge-*.png are copies of some).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, expect
from test_browser import (
    POLICIES,
    Server,
    Tab,
    assert_accessible,
    computed,
    make_tab,
)
from test_browser import browser as browser  # the fixture: one chromium for the module

from gamify.demo import create_demo_app
from gamify.demo.views import CSP_CONFIG
from gamify.web.state import state

CHALLENGE_ID = "seasonal-challenge"
CHALLENGE = f'[data-gamify="{CHALLENGE_ID}"]'
CARD = f"{CHALLENGE} .challenge"
STEPS = ("orders", "review", "quiz")
# the quiz of examples/campaigns/seasonal-challenge.yaml: the index of each right answer, and
# how many options each question has (the facts are in the demo's footer)
RIGHT = (1, 2, 1)
WRONG = (0, 0, 0)
COUPON = re.compile(r"^RETO10-[A-Z0-9]{8}$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(create_demo_app(tmp_path_factory.mktemp("challenge") / "instance"))
    yield served
    served.close()


@pytest.fixture(params=["phone", "desktop"])
def tab(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from make_tab(browser, server, request, request.param)


@pytest.fixture
def desktop(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from make_tab(browser, server, request, "desktop")


@pytest.fixture
def phone(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    yield from make_tab(browser, server, request, "phone")


# -- helpers ----------------------------------------------------------------------------------


def shop(tab: Tab, lang: str = "es", reduced: bool = True) -> Page:
    """The demo shop as the tab's customer, once the challenge's card knows their progress."""
    page = tab.shop(lang=lang, reduced=reduced)
    return wait_for_card(page)


def wait_for_card(page: Page) -> Page:
    expect(page.locator(CARD)).to_have_attribute(
        "data-status", re.compile("^(not_started|in_progress|completed|expired)$")
    )
    return page


def step(page: Page, step_id: str) -> Locator:
    return page.locator(f'{CARD} li[data-step="{step_id}"]')


def bar(page: Page, step_id: str) -> Locator:
    return step(page, step_id).get_by_role("progressbar")


def assert_bar(page: Page, step_id: str, now: int, most: int, text: str) -> None:
    """The step's progress bar says ``now`` of ``most``, with the text ``text``."""
    progress = bar(page, step_id)
    expect(progress).to_have_attribute("aria-valuenow", str(now))
    expect(progress).to_have_attribute("aria-valuemin", "0")
    expect(progress).to_have_attribute("aria-valuemax", str(most))
    expect(progress).to_have_attribute("aria-valuetext", text)
    expect(step(page, step_id)).to_have_attribute("data-done", "true" if now >= most else "false")


def progress_of(server: Server, tab: Tab) -> dict[str, Any]:
    """The customer's item of GET /api/me/challenges, as the server has it."""
    app: Flask = server.app
    token = state(app).tokens.sign(tab.customer)
    response = tab.page.request.get(
        f"{tab.base}/gamify/api/me/challenges", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.ok, response.text()
    [item] = [c for c in response.json()["challenges"] if c["id"] == CHALLENGE_ID]
    return dict(item)


def buy(page: Page, product: str) -> None:
    """ "Buy now" on a product: the page comes back with the notice, focused."""
    page.locator(f'[data-product="{product}"] form.buy button').click()
    expect(page.locator("#notice")).to_be_focused()
    wait_for_card(page)


def buy_earlier(page: Page, product: str, days_ago: int) -> None:
    """The demo's order "as if on another day"."""
    page.select_option("#backdate-product", product)
    page.select_option("#backdate-days", str(days_ago))
    page.locator("form.backdate button").click()
    expect(page.locator("#notice")).to_be_focused()
    wait_for_card(page)


def review(page: Page, product: str, rating: int = 5, text: str = "¡Muy bueno!") -> None:
    item = page.locator(f'[data-product="{product}"] details.review')
    item.locator("summary").click()
    item.locator("select").select_option(str(rating))
    item.locator("textarea").fill(text)
    item.locator("button").click()
    expect(page.locator("#notice")).to_be_focused()
    wait_for_card(page)


def open_quiz(page: Page) -> Locator:
    toggle = step(page, "quiz").locator("button.open")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    return step(page, "quiz").locator("form")


def answer_by_mouse(page: Page, answers: tuple[int, ...]) -> None:
    form = step(page, "quiz").locator("form")
    for question, option in enumerate(answers):
        form.locator("fieldset").nth(question).get_by_role("radio").nth(option).check()
    form.locator("button[type=submit]").click()


def said(page: Page) -> Locator:
    """The quiz's live region."""
    return step(page, "quiz").locator(".said")


def no_horizontal_scroll(page: Page) -> None:
    """Nothing wider than the device (a phone's layout viewport would grow with the page, and
    the page be zoomed out)."""
    viewport = page.viewport_size
    assert viewport is not None
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], (width, viewport)
    assert page.evaluate("visualViewport.scale") == 1


# -- the card ---------------------------------------------------------------------------------


def test_the_card_shows_every_step_with_an_accessible_progress_bar(tab: Tab) -> None:
    page = shop(tab)
    card = page.locator(CARD)
    expect(card).to_have_attribute("data-status", "not_started")
    expect(page.locator(f"{CHALLENGE} h2")).to_have_text("Reto de temporada")
    expect(card.locator(".badge")).to_have_text("Sin empezar")
    # the demo's copy ends in 30 days, at midnight in Madrid
    expect(card.locator("time")).to_contain_text(re.compile(r"Quedan (29|30) días · hasta el "))
    expect(card.locator("li.step")).to_have_count(3)
    assert [s.get_attribute("data-step") for s in card.locator("li.step").all()] == list(STEPS)
    labels = {
        "orders": "Haz 3 pedidos de 20 € o más",
        "review": "Escribe una reseña",
        "quiz": "Acierta el test de la tienda",
    }
    for step_id, most in (("orders", 3), ("review", 1), ("quiz", 1)):
        assert_bar(page, step_id, 0, most, f"0 de {most}")
        # the bar is named by its step
        expect(bar(page, step_id)).to_have_accessible_name(labels[step_id])
    expect(step(page, "quiz").locator(".note")).to_have_text(
        "Acierta 2 de 3 para superarlo; te quedan 3 intentos."
    )
    expect(card.locator(".prize p").first).to_have_text("Premio: Cupón de 10 € y una tirada extra")
    expect(card.locator(".prize .coupon")).to_be_hidden()
    expect(card.locator(".signin")).to_be_hidden()
    # the modules of the page: the challenge's card is one more, loaded once
    assert sorted(tab.modules()) == ["challenge", "frame", "loyalty", "scratch", "trigger", "wheel"]
    no_horizontal_scroll(page)
    tab.screenshot(f"challenge-start-{tab.device}", of=CHALLENGE)


def test_buying_in_the_shop_moves_the_orders_bar(desktop: Tab, server: Server) -> None:
    page = shop(desktop)
    buy(page, "headphones")
    expect(page.locator("#notice")).to_have_text(
        "Pedido hecho: Auriculares inalámbricos, 59,90 €. Tu reto ha avanzado."
    )
    assert_bar(page, "orders", 1, 3, "1 de 3")
    expect(page.locator(CARD)).to_have_attribute("data-status", "in_progress")
    expect(page.locator(f"{CARD} .badge")).to_have_text("En curso")
    expect(step(page, "orders").locator(".count")).to_have_text("1 de 3")
    # one order a day counts: a second one today does not move it
    buy(page, "books")
    expect(page.locator("#notice")).to_contain_text("Pedido hecho: Pack de novelas, 24,00 €.")
    expect(page.locator("#notice")).to_contain_text("Esta vez tu reto no ha avanzado")
    assert_bar(page, "orders", 1, 3, "1 de 3")
    # an order dated yesterday (demo only) counts on its own day
    buy_earlier(page, "watch", 1)
    expect(page.locator("#notice")).to_have_text(
        "Pedido hecho: Reloj deportivo, 89,00 €. Tu reto ha avanzado."
    )
    assert_bar(page, "orders", 2, 3, "2 de 3")
    assert [s["progress"] for s in progress_of(server, desktop)["steps"]] == [2, 0, 0]
    desktop.screenshot("challenge-orders-desktop", of=CHALLENGE)


def test_an_order_under_the_minimum_does_not_count(desktop: Tab) -> None:
    page = shop(desktop, lang="en")
    buy(page, "plant")  # €18.90: the step counts orders of €20 or more
    expect(page.locator("#notice")).to_have_text(
        "Order placed: House plant, €18.90. Your challenge did not move this time: see its steps."
    )
    assert_bar(page, "orders", 0, 3, "0 of 3")


def test_a_review_moves_the_review_step(tab: Tab) -> None:
    page = shop(tab, lang="en")
    review(page, "coffee", 4, "Great coffee, quick delivery.")
    expect(page.locator("#notice")).to_have_text(
        "Review published: Drip coffee maker. Your challenge progress moved."
    )
    assert_bar(page, "review", 1, 1, "1 of 1")
    expect(step(page, "review").locator(".mark")).to_have_text("✓")
    # the step's name says it is done, for those who do not see the check mark
    expect(bar(page, "review")).to_have_accessible_name("Write a review (done)")
    expect(page.locator(f"{CARD} .badge")).to_have_text("In progress")
    no_horizontal_scroll(page)
    tab.screenshot(f"challenge-review-{tab.device}", of=CHALLENGE)


# -- the quiz ---------------------------------------------------------------------------------


def focused_radio(page: Page) -> dict[str, Any]:
    """Which radio of the quiz has the focus: its question and option, and whether checked."""
    found: dict[str, Any] = page.locator(CHALLENGE).evaluate(
        """(host) => {
          const el = host.shadowRoot.activeElement;
          if (!el || el.type !== "radio") return { tag: el && el.tagName };
          const sets = [...host.shadowRoot.querySelectorAll("fieldset")];
          const set = el.closest("fieldset");
          return {
            question: sets.indexOf(set),
            option: [...set.querySelectorAll("input")].indexOf(el),
            checked: el.checked,
          };
        }"""
    )
    return found


def test_the_quiz_by_keyboard_only(desktop: Tab, server: Server) -> None:
    """Tab, the arrow keys, Space and Enter: native radios in fieldsets, a submit button."""
    page = shop(desktop, lang="en")
    keys = page.keyboard
    toggle = step(page, "quiz").locator("button.open")
    toggle.focus()  # the page's own Tab order up to the card is the demo's
    expect(toggle).to_have_text("Take the quiz")
    keys.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    form = step(page, "quiz").locator("form")
    expect(form).to_be_visible()
    legends = form.locator("legend")
    expect(legends).to_have_text(
        [
            "From what amount is shipping free?",
            "How many days do you have to return an order?",
            "What is in the shop's logo?",
        ]
    )
    # each question is a group named by its legend
    for name in ("From what amount is shipping free?", "What is in the shop's logo?"):
        expect(form.get_by_role("group", name=name)).to_be_visible()

    # a wrong attempt: the first option of each question, picked with Space
    for question in range(3):
        keys.press("Tab")
        assert focused_radio(page) == {"question": question, "option": 0, "checked": False}
        keys.press("Space")
        assert focused_radio(page)["checked"]
    keys.press("Tab")
    send = form.locator("button[type=submit]")
    expect(send).to_be_focused()
    keys.press("Enter")
    expect(said(page)).to_have_text("0 of 3 right, 2 attempts left.")
    expect(said(page)).to_have_attribute("role", "status")
    desktop.screenshot("challenge-quiz-wrong-desktop", of=CHALLENGE)
    expect(send).to_be_focused()  # the form stays, and so does the focus
    expect(step(page, "quiz").locator(".note")).to_contain_text("2 attempts left")
    assert_bar(page, "quiz", 0, 1, "0 of 1")

    # the right answers, moving back with Shift+Tab and choosing with the arrow keys
    keys.press("Shift+Tab")  # into the last question, on its checked radio
    assert focused_radio(page) == {"question": 2, "option": 0, "checked": True}
    keys.press("ArrowDown")  # "A bag"
    assert focused_radio(page) == {"question": 2, "option": 1, "checked": True}
    keys.press("Shift+Tab")
    keys.press("ArrowDown")
    keys.press("ArrowDown")  # "30 days"
    assert focused_radio(page) == {"question": 1, "option": 2, "checked": True}
    keys.press("Shift+Tab")
    keys.press("ArrowRight")  # "From €49"
    assert focused_radio(page) == {"question": 0, "option": 1, "checked": True}
    for _ in range(3):
        keys.press("Tab")
    expect(send).to_be_focused()
    keys.press("Enter")
    expect(said(page)).to_have_text("3 of 3 right — passed!")
    assert_bar(page, "quiz", 1, 1, "1 of 1")
    # the form is gone; the focus is on the step, not lost on the page
    expect(form).to_be_hidden()
    expect(toggle).to_be_hidden()
    expect(step(page, "quiz").locator("#step-2")).to_be_focused()
    quiz = progress_of(server, desktop)["steps"][2]
    assert quiz["done"] is True and quiz["attempts_left"] == 1
    desktop.screenshot("challenge-quiz-desktop", of=CHALLENGE)


def test_after_the_last_wrong_attempt_the_quiz_says_there_are_none_left(
    phone: Tab, server: Server
) -> None:
    page = shop(phone)
    open_quiz(page)
    answer_by_mouse(page, WRONG)
    expect(said(page)).to_have_text("0 de 3 correctas; te quedan 2 intentos.")
    answer_by_mouse(page, (1, 0, 0))
    expect(said(page)).to_have_text("1 de 3 correctas; te queda 1 intento.")
    expect(step(page, "quiz").locator(".note")).to_contain_text("te queda 1 intento")
    answer_by_mouse(page, WRONG)
    expect(said(page)).to_have_text("0 de 3 correctas; no te quedan intentos.")
    # no attempts left: no form, and the step is not done
    expect(step(page, "quiz").locator("form")).to_be_hidden()
    expect(step(page, "quiz").locator("button.open")).to_be_hidden()
    expect(step(page, "quiz")).to_have_attribute("data-done", "false")
    expect(step(page, "quiz").locator("#step-2")).to_be_focused()
    assert progress_of(server, phone)["steps"][2]["attempts_left"] == 0
    # and a new visit does not offer it again
    shop(phone)
    expect(step(page, "quiz").locator("button.open")).to_be_hidden()
    no_horizontal_scroll(page)
    phone.screenshot("challenge-no-attempts-phone", of=CHALLENGE)


def test_a_question_left_unanswered_is_said_and_focused(desktop: Tab, server: Server) -> None:
    page = shop(desktop, lang="en")
    form = open_quiz(page)
    form.locator("fieldset").nth(0).get_by_role("radio").nth(1).check()
    form.locator("button[type=submit]").click()
    expect(said(page)).to_have_text("Answer every question: question 2 has no answer yet.")
    expect(form.locator("fieldset").nth(1).get_by_role("radio").first).to_be_focused()
    # nothing was sent: every attempt is still there
    assert progress_of(server, desktop)["steps"][2]["attempts_left"] == 3


# -- the whole challenge ----------------------------------------------------------------------


def test_completing_every_step_shows_the_reward_coupon(desktop: Tab, server: Server) -> None:
    desktop.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=desktop.base)
    page = shop(desktop)
    buy(page, "headphones")
    buy_earlier(page, "backpack", 2)
    buy_earlier(page, "coffee", 4)
    assert_bar(page, "orders", 3, 3, "3 de 3")
    review(page, "books")
    assert_bar(page, "review", 1, 1, "1 de 1")
    coupon = page.locator(f"{CARD} .prize input.code")
    expect(coupon).to_be_hidden()  # not before the last step
    open_quiz(page)
    answer_by_mouse(page, RIGHT)
    expect(said(page)).to_have_text(
        "3 de 3 correctas: ¡superado! Reto completado: tu premio está abajo."
    )
    card = page.locator(CARD)
    expect(card).to_have_attribute("data-status", "completed")
    expect(card.locator(".badge")).to_have_text("Completado")
    for step_id in STEPS:
        expect(step(page, step_id)).to_have_attribute("data-done", "true")
    expect(card.locator(".prize p").first).to_have_text(
        "¡Reto completado! Tu premio: Cupón de 10 € y una tirada extra"
    )
    expect(coupon).to_have_value(COUPON)
    code = coupon.input_value()
    assert progress_of(server, desktop)["reward"]["coupon"] == code
    card.get_by_role("button", name="Copiar código").click()
    expect(card.locator(".prize .coupon")).to_contain_text("¡Copiado!")
    assert page.evaluate("navigator.clipboard.readText()") == code
    # the demo's cart heard gamify:challenge and applied the coupon
    expect(page.locator("#cart-coupons")).to_contain_text(code)
    desktop.screenshot("challenge-completed-desktop", of=CHALLENGE)
    # a new visit shows the same coupon
    shop(desktop)
    expect(coupon).to_have_value(code)
    expect(page.locator("#cart-coupons li")).to_have_count(1)


def test_the_card_refreshes_when_the_page_is_shown_again(desktop: Tab, server: Server) -> None:
    """An order placed elsewhere (another tab, the store's server) shows when the shopper comes
    back to the page: the card asks GET /api/me/challenges again."""
    page = shop(desktop, lang="en")
    assert_bar(page, "orders", 0, 3, "0 of 3")
    with server.app.app_context():
        from gamify.demo.views import gamify

        gamify.track(
            {
                "id": f"order-elsewhere-{desktop.customer}",
                "type": "order.paid",
                "customer": desktop.customer,
                "occurred_at": state(server.app).service.clock().isoformat(),
                "order": {"id": "elsewhere-1", "total": "30.00", "currency": "EUR", "items": []},
            }
        )
    with page.expect_response(re.compile(r"/gamify/api/me/challenges\?")):
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    assert_bar(page, "orders", 1, 3, "1 of 3")


def test_without_a_customer_the_card_shows_the_steps_and_asks_to_sign_in(desktop: Tab) -> None:
    """``gamify.mount`` without a token (a visitor who has not signed in)."""
    page = shop(desktop, lang="en")
    page.evaluate(
        """() => {
          const el = document.createElement("div");
          el.id = "visitor";
          document.querySelector("main").prepend(el);
          gamify.mount(el, { campaign: "seasonal-challenge", lang: "en" });
        }"""
    )
    visitor = page.locator("#visitor .challenge")
    expect(visitor).to_be_visible()
    expect(visitor.locator("li.step")).to_have_count(3)
    expect(visitor.locator("li.step .head > span:first-child")).to_have_text(
        ["Place 3 orders of €20 or more", "Write a review", "Pass the shop quiz"]
    )
    expect(visitor.locator(".signin")).to_have_text("Sign in to take part.")
    expect(visitor.get_by_role("progressbar")).to_have_count(0)
    expect(visitor.locator("button.open")).to_be_hidden()
    expect(visitor.locator(".prize p").first).to_have_text("Reward: €10 coupon and an extra spin")
    assert_accessible(page, "the card of a visitor")


# -- accessibility, languages, motion, policies -----------------------------------------------


@pytest.mark.parametrize("lang", ["es", "en"])
def test_axe_finds_no_serious_violations_before_and_after_a_quiz(desktop: Tab, lang: str) -> None:
    page = shop(desktop, lang=lang)
    assert_accessible(page, "the shop with the challenge's card")
    open_quiz(page)
    assert_accessible(page, "the quiz, open")
    answer_by_mouse(page, WRONG)
    expect(said(page)).to_contain_text("2")
    assert_accessible(page, "the quiz after a wrong attempt")
    answer_by_mouse(page, RIGHT)
    expect(step(page, "quiz")).to_have_attribute("data-done", "true")
    assert_accessible(page, "the card after the quiz")
    review(page, "plant")
    expect(page.locator("#notice")).to_be_visible()
    assert_accessible(page, "the shop after a review, with its notice")
    desktop.screenshot(f"challenge-quiz-passed-{lang}", of=CHALLENGE)


def test_english_and_spanish_texts(desktop: Tab) -> None:
    page = shop(desktop, lang="en")
    card = page.locator(CARD)
    expect(page.locator(f"{CHALLENGE} h2")).to_have_text("Seasonal challenge")
    expect(card.locator(".badge")).to_have_text("Not started")
    expect(card.locator("time")).to_contain_text(re.compile(r"(29|30) days left · until "))
    expect(step(page, "quiz").locator("button.open")).to_have_text("Take the quiz")
    expect(step(page, "quiz").locator(".note")).to_have_text(
        "Get 2 of 3 right to pass; 3 attempts left."
    )
    # the facts the quiz asks about are on the page, in the shopper's language
    footer = page.locator("footer")
    for fact in ("Free shipping from €49.", "30 days to return", "shopping bag"):
        expect(footer).to_contain_text(fact)
    page = shop(desktop, lang="es")
    for fact in ("Envío gratis desde 49 €.", "30 días para devolver", "bolsa de la compra"):
        expect(page.locator("footer")).to_contain_text(fact)
    expect(step(page, "quiz").locator("button.open")).to_have_text("Hacer el test")


def test_reduced_motion_fills_the_bars_without_animating(desktop: Tab) -> None:
    page = shop(desktop, reduced=False)
    fill = f'{CARD} li[data-step="orders"] .fill'
    assert computed(page, fill, "transitionDuration") == "0.6s"
    page.emulate_media(reduced_motion="reduce")
    assert computed(page, fill, "transitionDuration") == "0s"


@pytest.fixture(params=list(POLICIES))
def nonce_tab(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Tab]:
    server.app.config[CSP_CONFIG] = POLICIES[request.param]
    try:
        yield from make_tab(browser, server, request, "phone")
    finally:
        server.app.config.pop(CSP_CONFIG, None)


def test_under_nonce_policies_the_card_loads_styled_and_answers(nonce_tab: Tab) -> None:
    page = shop(nonce_tab)
    nonce = page.locator("script[data-campaign]").first.evaluate("(s) => s.nonce")
    assert nonce and "challenge" in nonce_tab.modules()
    scripts = page.evaluate(
        "[...document.querySelectorAll(\"script[src*='/widgets/challenge.']\")].map(s => s.nonce)"
    )
    assert scripts == [nonce]
    # styled by its adopted stylesheet
    assert computed(page, f"{CARD} li[data-step=orders] .mark", "borderTopLeftRadius") == "50%"
    assert computed(page, f"{CARD} .badge", "fontWeight") == "700"
    open_quiz(page)
    answer_by_mouse(page, RIGHT)
    expect(step(page, "quiz")).to_have_attribute("data-done", "true")
    assert page.evaluate("window.__csp") == []


def test_when_the_quiz_form_cannot_load_the_step_says_so_and_retries(desktop: Tab) -> None:
    """The form's module (quiz.js) loads at the first "Take the quiz": a failure is said in the
    step's live region with a retry, and the card stays usable."""
    desktop.allowed.append("net::ERR_FAILED")  # the aborted request, as chromium logs it
    page = desktop.page
    quiz_js = re.compile(r"/gamify/widgets/quiz\.[0-9a-f]{16}\.js$")
    page.route(quiz_js, lambda route: route.abort())
    page = shop(desktop, lang="en")
    assert "quiz" not in desktop.modules()  # not before it is asked for
    toggle = step(page, "quiz").locator("button.open")
    toggle.click()
    expect(said(page)).to_contain_text("We could not connect")
    expect(step(page, "quiz").locator("form")).to_have_count(0)
    page.unroute(quiz_js)
    said(page).get_by_role("button", name="Try again").click()
    form = step(page, "quiz").locator("form")
    expect(form).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    assert desktop.modules().count("quiz") == 1
