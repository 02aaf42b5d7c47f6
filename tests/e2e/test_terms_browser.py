"""The campaign terms page in a real browser (Debian's chromium through Playwright), on the demo.

The page is served by gamify under its own policy (no script, its one style sheet allowed by
hash): a violation would be a console error, and any console error fails the test (the checks
and fixtures are those of ``test_browser.py``). axe-core must find nothing serious or critical,
in Spanish and English, on a phone and a desktop.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from test_browser import Server, Tab, assert_accessible, computed
from test_browser import browser as browser  # the fixture: one chromium for the module
from test_browser import tab as tab  # its `server` is this module's

from gamify.demo import create_demo_app

WHEEL = "black-friday-wheel"
TITLES = {"es": "Bases de la promoción", "en": "Terms of the promotion"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(create_demo_app(tmp_path_factory.mktemp("terms") / "instance", history=False))
    yield served
    served.close()


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_terms_page_is_accessible_styled_and_fits_the_screen(tab: Tab, lang: str) -> None:
    page = tab.page
    response = page.goto(f"{tab.base}/gamify/campaigns/{WHEEL}/terms?lang={lang}")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_contain_text(TITLES[lang])
    expect(page.locator("table caption")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == lang
    assert computed(page, "table", "borderCollapse") == "collapse"  # the style was allowed
    assert page.evaluate("document.scripts.length") == 0
    viewport = page.viewport_size
    width = page.evaluate("document.documentElement.scrollWidth")
    assert viewport is not None and width <= viewport["width"]  # only the table scrolls sideways
    assert_accessible(page, f"the terms page ({lang}, {tab.device})")
    tab.screenshot(f"terms-{lang}-{tab.device}", full_page=True)


def test_the_language_link_switches_the_page(tab: Tab) -> None:
    page = tab.page
    page.goto(f"{tab.base}/gamify/campaigns/{WHEEL}/terms?lang=es")
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_contain_text(TITLES["en"])
    page.keyboard.press("Tab")  # the first stop is the skip link, shown on focus
    expect(page.locator("a.skip")).to_be_focused()
