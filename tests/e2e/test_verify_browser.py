"""The "Verify this draw" panel's own check, in a real browser (Debian's chromium): the shopper's
plays are checked with Web Crypto against the signed log, and their draws re-derived once the
epoch's seed is revealed (CONTRACT §12, docs/fairness.md §13.6).

The demo store serves the scratch card; each test is a customer of its own and opens the panel
under the card. What a lying or broken server could send is sent by rewriting its answers in the
browser (Playwright routes): an edited receipt, a proof that leads elsewhere, a forged signature,
another log's checkpoint, a swapped seed, a changed prize table. Each must be a failure that
names what failed, never a ✓. The checks alone are also run against gamify's Python (a second
implementation) on known answers. Fixtures and checks (console errors, CSP, axe) are those of
``test_browser.py``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Route, expect
from test_browser import SCRATCH, Server, Tab, assert_accessible
from test_browser import browser as browser  # the fixture: one chromium for the module
from test_browser import desktop as desktop  # its `server` is this module's
from test_browser import phone as phone  # its `server` is this module's

from gamify.core import fairness, merkle
from gamify.core.canonical import canonical_json
from gamify.demo import create_demo_app
from gamify.web.state import state

CAMPAIGN = "welcome-back-scratch"
ME_PLAYS = re.compile(r"/gamify/api/me/plays\?campaign=")
FAIRNESS = re.compile(rf"/gamify/api/campaigns/{CAMPAIGN}/fairness")
CONFIGS = re.compile(rf"/gamify/api/campaigns/{CAMPAIGN}/configs/[0-9a-f]{{64}}$")
LOG_KEY = re.compile(r"/gamify/api/log/key")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    served = Server(create_demo_app(tmp_path_factory.mktemp("verify") / "instance"))
    yield served
    served.close()


def play(tab: Tab, lang: str = "en") -> dict[str, Any]:
    page = tab.shop(lang=lang)
    page.locator(f"{SCRATCH} button.go").click()
    tab.page.wait_for_function("() => window.__results.length >= 1")
    result: dict[str, Any] = tab.page.evaluate("window.__results[0]")
    return result


def open_checks(page: Page) -> Locator:
    """Open the panel (again) and wait for its checks: their list."""
    fair = page.locator(f"{SCRATCH} details.fair")
    mine = fair.locator(".mine")
    runs = int(mine.get_attribute("data-checks") or 0) if mine.count() else 0
    if fair.evaluate("(d) => d.open"):
        fair.locator("summary").click()
    fair.locator("summary").click()
    expect(mine).to_have_attribute("data-checks", str(runs + 1))
    expect(mine).to_have_attribute("aria-busy", "false")
    return mine.locator(":scope > ul > li")


def rotate(server: Server) -> None:
    """Close the open epoch: its seed is revealed (as after rotate_every)."""
    with server.app.app_context():
        state(server.app).service.rotate(CAMPAIGN)


def label(server: Server, prize: str, lang: str = "en") -> str:
    with server.app.app_context():
        text: str = state(server.app).registry.find(CAMPAIGN).prize(prize).label.get(lang)
    return text


def rewrite(page: Page, url: re.Pattern[str], change: Callable[[Any], Any]) -> None:
    """Every answer of ``url`` passes through ``change`` (of its JSON) on its way to the page."""

    def handle(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json=change(response.json()))

    page.route(url, handle)


def checks_of(item: Locator) -> list[str]:
    return [re.sub(r"^[✓✗…?] ", "", t) for t in item.locator("li").all_inner_texts()]


# -- an honest server -------------------------------------------------------------------------


def test_a_play_is_in_the_signed_log_at_once_and_its_draw_checked_once_revealed(
    desktop: Tab, server: Server
) -> None:
    result = play(desktop)
    page = desktop.page
    key = page.evaluate("fetch('/gamify/api/log/key').then((r) => r.json())")
    [item] = open_checks(page).all()
    seq = result["play"]["seq"]
    expect(item.locator("strong")).to_contain_text(f"Play {seq}, ")
    log, draw = checks_of(item)
    size = int(re.search(r"\((\d+) plays\)", log).group(1))  # type: ignore[union-attr]
    assert log == f"Verified: in the public log ({size} plays), signed by {key['name']}"
    assert size > seq
    assert re.fullmatch(
        r"Pending: the seed is revealed when the epoch closes, \w+ \d+, 20\d\d, .+", draw
    )
    status = page.locator(f"{SCRATCH} .mine [role=status]")
    expect(status).to_have_text("Draws checked: 1. Verified: 0. Failed: 0. Pending: 1.")

    rotate(server)
    [item] = open_checks(page).all()
    drawn = label(server, result["play"]["drawn"])  # the shopper reads labels, not ids
    assert checks_of(item)[1] == f"Verified: the revealed seed draws {drawn}"
    expect(status).to_have_text("Draws checked: 1. Verified: 1. Failed: 0. Pending: 0.")
    assert item.locator("li.ok").count() == 2 and item.locator("li.bad").count() == 0
    desktop.screenshot("verify-checked", of=SCRATCH)


def test_the_latest_plays_are_checked_newest_first_in_spanish_and_accessible(
    phone: Tab, server: Server, request: pytest.FixtureRequest
) -> None:
    """One play a week on the demo's card: the shopper played last week (on the server), and
    plays again now, the server's clock a week on."""
    with server.app.app_context():
        service = state(server.app).service
        campaign = state(server.app).registry.find(CAMPAIGN)
        earlier = service.play(campaign, phone.customer, "an-earlier-seed", None)
    now = service.clock
    service.clock = lambda: now() + timedelta(days=8)
    request.addfinalizer(lambda: setattr(service, "clock", now))
    page = phone.shop(lang="es")
    page.locator(f"{SCRATCH} button.go").click()
    page.wait_for_function("() => window.__results.length >= 1")
    seqs = [earlier.row["seq"], page.evaluate("window.__results[0].play.seq")]
    rotate(server)
    items = open_checks(page)
    expect(items).to_have_count(2)
    for item, seq in zip(items.all(), reversed(seqs), strict=True):
        expect(item.locator("strong")).to_contain_text(f"Jugada {seq}, ")
        log, draw = checks_of(item)
        assert log.startswith("Verificado: en el registro público (")
        assert draw.startswith("Verificado: la semilla revelada sortea ")
    status = page.locator(f"{SCRATCH} .mine [role=status]")
    expect(status).to_have_text(
        "Sorteos comprobados: 2. Verificados: 2. Fallidos: 0. Pendientes: 0."
    )
    assert_accessible(page, "the verify panel with its checks")
    phone.screenshot("verify-phone-es", of=SCRATCH)


def test_without_a_customer_token_nothing_is_asked_of_the_shoppers_plays(desktop: Tab) -> None:
    """A storefront whose tag has no data-customer (a visitor not signed in)."""
    page = desktop.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if ME_PLAYS.search(r.url) else None)

    def anonymous(route: Route) -> None:
        response = route.fetch()
        html = re.sub(r' data-customer="[^"]*"', "", response.text())
        route.fulfill(response=response, body=html)

    page.route(re.compile(r"/\?customer="), anonymous)
    page.goto(f"{desktop.base}/?customer={desktop.customer}&lang=en")
    fair = page.locator(f"{SCRATCH} details.fair")
    fair.locator("summary").click()
    expect(fair.locator("dt").first).to_have_text("Commitment")
    expect(fair.locator(".mine")).to_be_hidden()
    assert page.locator("script[data-campaign][data-customer]").count() == 0
    assert asked == []


# -- what a lying or broken server could send -------------------------------------------------


def edit_play(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        change(body["plays"][-1])
        return body

    return edit


def flip_hex(value: str) -> str:
    return ("1" if value[0] == "0" else "0") + value[1:]


def forge_signature(play: dict[str, Any]) -> None:
    note = play["proof"]["checkpoint"]
    body, line = note.rsplit("— ", 1)
    name, blob = line.split()
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1  # one bit of the signature, the key id kept
    play["proof"]["checkpoint"] = f"{body}— {name} {base64.b64encode(bytes(raw)).decode()}\n"


def other_log(play: dict[str, Any]) -> None:
    origin, rest = play["proof"]["checkpoint"].split("\n", 1)
    play["proof"]["checkpoint"] = f"{origin}-copy\n{rest}"


def other_prize(play: dict[str, Any]) -> None:
    play["drawn"] = play["awarded"] = "no-such-prize"


def proof_elsewhere(play: dict[str, Any]) -> None:
    hashes = play["proof"]["hashes"]
    if hashes:
        hashes[0] = flip_hex(hashes[0])
    else:  # a tree of one play: no hashes to change, so claim another position
        play["proof"]["hashes"] = ["00" * 32]


def not_signed_yet(play: dict[str, Any]) -> None:
    play["proof"] = None


@pytest.mark.parametrize(
    ("change", "log"),
    [
        (other_prize, "Failed: the receipt does not hash to its own hash"),
        (proof_elsewhere, "Failed: the inclusion proof does not lead to the signed root"),
        (forge_signature, "Failed: the checkpoint's signature is not valid"),
        (other_log, "Failed: the checkpoint is of another log"),
        (
            not_signed_yet,
            "Pending: not in a signed checkpoint yet; open this panel again in a minute",
        ),
    ],
)
def test_a_forged_receipt_proof_or_checkpoint_fails_and_says_what(
    desktop: Tab, change: Callable[[dict[str, Any]], None], log: str
) -> None:
    play(desktop)
    page = desktop.page
    rewrite(page, ME_PLAYS, edit_play(change))
    [item] = open_checks(page).all()
    assert checks_of(item)[0] == log
    if log.startswith("Failed"):
        assert item.locator("li.bad").count() >= 1 and item.locator("li.ok").count() <= 1
        status = page.locator(f"{SCRATCH} .mine [role=status]")
        expect(status).to_contain_text("Failed: 1.")


def revealed_epoch(server: Server, result: dict[str, Any]) -> tuple[int, str]:
    rotate(server)
    return result["play"]["epoch"], result["play"]["drawn"]


def test_a_seed_that_does_not_match_its_commitment_fails(desktop: Tab, server: Server) -> None:
    result = play(desktop)
    epoch, _ = revealed_epoch(server, result)

    def swap_seed(body: Any) -> Any:
        for e in body["epochs"]:
            if e["epoch"] == epoch:
                e["server_seed"] = flip_hex(e["server_seed"])
        return body

    rewrite(desktop.page, FAIRNESS, swap_seed)
    [item] = open_checks(desktop.page).all()
    assert checks_of(item)[1] == "Failed: the revealed seed does not match its commitment"


def test_a_seed_and_commitment_swapped_together_draw_another_prize(
    desktop: Tab, server: Server
) -> None:
    """A server that replaced an epoch's seed and commitment after the plays: on a page that
    never showed that commitment, the draw itself gives it away."""
    result = play(desktop)
    epoch, drawn = revealed_epoch(server, result)
    with server.app.app_context():
        campaign = state(server.app).registry.find(CAMPAIGN)
        receipt = state(server.app).service.customer_plays([campaign], desktop.customer)[-1]
    running = campaign.rules.running
    names = [p.id for p in campaign.prizes]
    for n in range(1000):  # a seed that draws another prize for this play
        seed = f"{n:064x}"
        index = fairness.draw(
            seed, CAMPAIGN, receipt["client_seed"], receipt["nonce"], running, receipt["player"]
        )
        if names[index] != drawn:
            break
    else:
        raise AssertionError("no seed draws another prize")

    def swap(body: Any) -> Any:
        for e in body["epochs"]:
            if e["epoch"] == epoch:
                e["server_seed"], e["commitment"] = seed, fairness.commitment(seed)
        return body

    rewrite(desktop.page, FAIRNESS, swap)
    desktop.page.goto(f"{desktop.base}/?customer={desktop.customer}&lang=en")  # a later visit
    [item] = open_checks(desktop.page).all()
    said = f"draws {label(server, names[index])}, not {label(server, drawn)}"
    assert checks_of(item)[1] == f"Failed: the revealed seed {said}"


def test_a_prize_table_that_does_not_match_its_hash_fails(desktop: Tab, server: Server) -> None:
    result = play(desktop)
    revealed_epoch(server, result)

    def heavier_first(config: Any) -> Any:
        config["prizes"][0]["weight"] += 1000
        return config

    rewrite(desktop.page, CONFIGS, heavier_first)
    [item] = open_checks(desktop.page).all()
    assert checks_of(item)[1] == "Failed: the prize table does not match its hash"


def test_without_ed25519_in_web_crypto_the_panel_says_it_cannot_check(desktop: Tab) -> None:
    desktop.context.add_init_script(
        """
        const importKey = crypto.subtle.importKey.bind(crypto.subtle);
        crypto.subtle.importKey = (format, data, algorithm, ...rest) =>
          algorithm?.name === "Ed25519"
            ? Promise.reject(new DOMException("unsupported", "NotSupportedError"))
            : importKey(format, data, algorithm, ...rest);
        """
    )
    play(desktop)
    [item] = open_checks(desktop.page).all()
    log = checks_of(item)[0]
    assert log == "Not checked here: this browser cannot check it (no Ed25519 in Web Crypto)"
    bundle = desktop.page.locator(f"{SCRATCH} .mine a")
    expect(bundle).to_have_text("Audit bundle, for gamify verify")
    href = bundle.get_attribute("href") or ""
    assert href.endswith(f"/gamify/api/campaigns/{CAMPAIGN}/audit.jsonl")


def test_when_the_server_cannot_be_reached_the_panel_says_so(desktop: Tab) -> None:
    desktop.allowed.append("net::ERR_FAILED")
    play(desktop)
    desktop.page.route(LOG_KEY, lambda route: route.abort())
    fair = desktop.page.locator(f"{SCRATCH} details.fair")
    fair.locator("summary").click()
    status = fair.locator(".mine [role=status]")
    expect(status).to_have_text("Not checked here: could not reach the server")
    expect(fair.locator(".mine > ul > li")).to_have_count(0)


# -- the checks alone, against gamify's Python ------------------------------------------------


@pytest.fixture
def checks(desktop: Tab) -> Page:
    """A page with the verify module loaded (opening the panel loads it)."""
    page = desktop.shop(lang="en")
    page.locator(f"{SCRATCH} details.fair summary").click()
    page.wait_for_function("() => !!window.gamify.verify")
    return page


DRAW = """async ([seed, row, weights, algorithm]) =>
  gamify.verify.check.draw(seed, row, weights.map(BigInt), algorithm)"""


def test_the_browsers_draw_matches_the_python_one_for_v1_and_v2(checks: Page) -> None:
    seed = bytes(range(32)).hex()
    weights = (30, 20, 5, 1, 44)
    running = tuple(sum(weights[: i + 1]) for i in range(len(weights)))
    player = "5f1c2a7d9e0b4c3a8d6e2f1a0b9c8d7e"
    # the worked example of docs/fairness.md §13.2: tablet, try-again, try-again, ten-off
    expected_v2 = [3, 4, 4, 0]
    for nonce in range(40):
        row = {"campaign": "black-friday-wheel", "client_seed": "my-lucky-seed", "nonce": nonce}
        row["player"] = player
        for algorithm, who in ((fairness.V1, None), (fairness.V2, player)):
            want = fairness.draw(seed, row["campaign"], "my-lucky-seed", nonce, running, who)
            got = checks.evaluate(DRAW, [seed, row, list(weights), algorithm])
            assert got == want, (algorithm, nonce)
        if nonce < len(expected_v2):
            assert got == expected_v2[nonce]
    # a total that rejects often (just over 2**63: almost half the integers are rejected)
    big = [2**63 + 1]
    for nonce in range(10):
        row = {"campaign": "c", "client_seed": "s", "nonce": nonce, "player": "p"}
        assert checks.evaluate(DRAW, [seed, row, [str(w) for w in big], fairness.V2]) == 0


INCLUDED = """async ([leaf, index, size, path, root]) => {
  const bytes = (hex) => Uint8Array.from(hex.match(/../g) || [], (b) => parseInt(b, 16));
  return gamify.verify.check.included(bytes(leaf), index, size, path.map(bytes), bytes(root));
}"""


def test_the_browsers_inclusion_check_agrees_with_rfc_9162_proofs(checks: Page) -> None:
    leaves = [merkle.leaf_hash(canonical_json({"n": n})) for n in range(23)]

    def subtree(level: int, index: int) -> bytes:  # the stored nodes, computed here
        return merkle.root_of(leaves[index << level : (index + 1) << level])

    for size in (1, 2, 3, 7, 8, 13, 23):
        root = merkle.root_of(leaves[:size])
        for index in range(size):
            path = merkle.inclusion_proof(index, size, subtree)
            assert merkle.verify_inclusion(leaves[index], index, size, path, root)
            args = [leaves[index].hex(), index, size, [p.hex() for p in path], root.hex()]
            assert checks.evaluate(INCLUDED, args) is True, (size, index)
            # another root; a position past the tree (a proof does not pin the size: the
            # signed checkpoint's root does)
            for wrong in ([*args[:4], leaves[0].hex()], [args[0], size, *args[2:]]):
                if wrong != args:
                    assert checks.evaluate(INCLUDED, wrong) is False, (size, index)
            if size > 1:
                other = [leaves[(index + 1) % size].hex(), *args[1:]]
                assert checks.evaluate(INCLUDED, other) is False
    root = merkle.root_of(leaves[:3])
    assert checks.evaluate(INCLUDED, [leaves[0].hex(), 3, 3, [], root.hex()]) is False


def test_the_browsers_canonical_json_is_pythons(checks: Page) -> None:
    values: list[Any] = [
        {"b": 1, "a": [True, None, 'ñ€😀\u2028"\\'], "A": {"z": -3, "é": "x"}},
        {"seq": 12, "client_seed": "a-Z_9", "at": "2026-11-27T09:15:02Z"},
        ["\u0000\u001f\u007f", 0, 2**53 - 1],
    ]
    for value in values:
        text = checks.evaluate("(v) => gamify.verify.check.canonical(v)", value)
        assert text.encode() == canonical_json(value), value
    assert json.loads(text) == values[-1]
