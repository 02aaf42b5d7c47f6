"""The demo store's pages: the shop (``/``) and a fairness page per campaign.

The language (``?lang=``, Spanish by default) and the signed-in customer (``?customer=``,
``demo-customer`` by default) travel in the query string, so every link keeps them. ``?guest=1``
is a visit without an account: the widgets get no customer token, and the wheel, which takes
guests, asks for an email at the first spin.

The pages send a strict ``Content-Security-Policy`` (:data:`CSP`, ``default-src 'self'``): the
store and the widget work with nothing inline. A per-request nonce is on every ``<script>`` of
the demo (the widget's through ``gamify_widget(…, nonce=…)``), so the policy may also be a
nonce-based one: set ``DEMO_CONTENT_SECURITY_POLICY`` in the app's config, where ``{nonce}``
stands for the request's nonce (the browser tests run the demo under both).

The shop sells, as a store would tell gamify: "Buy now" (``POST /orders``) and "Write a review"
(``POST /reviews``) call :meth:`gamify.Gamify.track` in-process with an ``order.paid`` or
``review.published`` event of the signed-in customer, then redirect back to the shop with a
notice (Flask's ``flash``), where the challenge's card shows the progress. A demo order may be
dated a few days back (a challenge counts one order a day). Every form is a plain POST, and a
POST that a browser says came from another site (``Sec-Fetch-Site``, else ``Origin``) is
refused with a 403, so no other page can make a demo customer order or review.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import Forbidden, NotFound
from werkzeug.wrappers import Response

from gamify.core import fairness
from gamify.core.campaign import Campaign
from gamify.core.errors import CampaignNotFound, InvalidRequest
from gamify.extension import Gamify
from gamify.services.ports import EpochInfo
from gamify.web.state import GamifyState, state

from .shop import (
    BACKDATE_DAYS,
    CHALLENGE,
    CURRENCY,
    CUSTOMERS,
    DEFAULT_CUSTOMER,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    MAX_CUSTOMER,
    MAX_REVIEW,
    PRODUCT_BY_ID,
    PRODUCTS,
    RATINGS,
    SCRATCH,
    TEXTS,
    WHEEL,
    Product,
)

blueprint = Blueprint("demo", __name__)
#: The extension, as a store holds it: ``create_demo_app`` calls ``gamify.init_app(app)``, and
#: the views tell it what customers do with ``gamify.track(event)``. It keeps no state of its
#: own (that is in each app), so one serves every demo app of a process.
gamify = Gamify()

#: The policy the demo's pages send unless the app's config has ``DEMO_CONTENT_SECURITY_POLICY``.
CSP = "default-src 'self'"
CSP_CONFIG = "DEMO_CONTENT_SECURITY_POLICY"


def current_lang() -> str:
    asked = request.args.get("lang", "").strip().lower().split("-")[0]
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


def current_customer() -> str:
    return request.args.get("customer", "").strip()[:MAX_CUSTOMER] or DEFAULT_CUSTOMER


def current_guest() -> bool:
    """Whether this is a visit without an account (``?guest=1``)."""
    return request.args.get("guest") == "1"


def link(endpoint: str, **values: Any) -> str:
    """``url_for`` that keeps the page's language and customer (left out when the defaults),
    or the guest's visit; naming a customer signs in, ``guest=True`` visits as a guest."""
    lang = values.pop("lang", current_lang())
    guest = values.pop("guest", current_guest() and "customer" not in values)
    customer = values.pop("customer", current_customer())
    if lang != DEFAULT_LANGUAGE:
        values["lang"] = lang
    if guest:
        values["guest"] = "1"
    elif customer != DEFAULT_CUSTOMER:
        values["customer"] = customer
    return url_for(endpoint, **values)


def local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def csp_nonce() -> str:
    """This request's nonce for ``<script nonce>``: fresh for every page."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    nonce: str = g.csp_nonce
    return nonce


@blueprint.after_app_request
def _content_security_policy(response: Response) -> Response:
    """The policy on the demo's HTML pages (its own, and its 404 page); gamify's API and the
    static files are left as they are."""
    if response.mimetype == "text/html" and request.blueprint != "gamify":
        policy = str(current_app.config.get(CSP_CONFIG, CSP))
        response.headers["Content-Security-Policy"] = policy.replace("{nonce}", csp_nonce())
    return response


@blueprint.before_request
def _same_site_posts_only() -> None:
    """CSRF: a form is taken only from the shop's own pages. Browsers say where a request
    comes from (``Sec-Fetch-Site``; older ones send ``Origin`` with every POST); a client that
    sends neither is not a browser another site could drive."""
    if request.method != "POST":
        return
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if site is not None:
        allowed = site in ("same-origin", "none")
    else:
        allowed = origin is None or origin == f"{request.scheme}://{request.host}"
    if not allowed:
        raise Forbidden("this form can only be sent from the shop's own pages")


@dataclass(frozen=True)
class AdminDoor:
    """What the pages need to open gamify's admin pages: the token (the demo's, from its
    instance folder) and the sign-in form's address. The "Report" button posts the token with
    ``next``, the campaign's admin page, so one click lands on its report."""

    token: str
    prefix: str  # gamify's URL prefix ("/gamify" by default)
    root: str = ""  # where the app is mounted (a proxy's sub-path), before the prefix

    @property
    def home(self) -> str:
        return f"{self.root}{self.prefix}/admin/"

    @property
    def sign_in(self) -> str:
        return f"{self.root}{self.prefix}/admin/sign-in"

    def report(self, campaign_id: str) -> str:
        """The sign-in's ``next``: a path under the prefix's admin pages, as it takes them."""
        return f"{self.prefix}/admin/campaigns/{campaign_id}"


def admin_door() -> AdminDoor | None:
    """None when the app has no admin token (the admin pages are closed then)."""
    settings = state().settings
    if not settings.admin_token:
        return None
    return AdminDoor(settings.admin_token, settings.url_prefix, request.script_root)


@blueprint.app_context_processor
def _page_globals() -> dict[str, Any]:
    lang = current_lang()
    # the language links point at this page; a 404 or a POST's page links to the shop
    here = request.method == "GET" and request.endpoint in ("demo.index", "demo.fairness_page")
    return {
        "lang": lang,
        "csp_nonce": csp_nonce,
        "t": TEXTS[lang],
        "customer": current_customer(),
        "guest": current_guest(),
        "link": link,
        "local": local,
        "endpoint": request.endpoint if here else "demo.index",
        "view_args": (request.view_args or {}) if here else {},
        "demo_admin": admin_door(),
    }


@blueprint.get("/")
def index() -> str:
    current = state()
    now = current.service.clock()
    campaigns = current.registry.all()
    challenges = current.registry.challenges()
    running = [c for c in campaigns if c.is_running(now)]
    running_challenges = [c for c in challenges if c.is_running(now)]
    customer = current_customer()
    return render_template(
        "index.html",
        products=PRODUCTS,
        wheel=_pick(running, "wheel", WHEEL),
        scratch=_pick(running, "scratch", SCRATCH),
        # the example's challenge, else the first running one
        challenge=next(
            (c for c in running_challenges if c.id == CHALLENGE),
            running_challenges[0] if running_challenges else None,
        ),
        loyalty=current.registry.loyalty() is not None,
        campaigns=campaigns,  # the games: each has a fairness page
        dated=[*campaigns, *challenges],
        others=[c for c in CUSTOMERS if c != customer][:2],
        customers=CUSTOMERS,  # a guest may sign in as any of them
        ratings=RATINGS,
        backdate_days=BACKDATE_DAYS,
        max_review=MAX_REVIEW,
    )


@blueprint.post("/orders")
def order() -> Response:
    """The "Buy now" button: the order is paid at once (or, demo only, ``days_ago`` days
    back), and the shop tells gamify, as a store's checkout would."""
    texts = TEXTS[current_lang()]
    if current_guest():
        flash(texts["guest_cannot"], "error")
        return redirect(link("demo.index"), 303)
    product = _product()
    days = request.form.get("days_ago", "0")
    if product is None or days not in {"0", *map(str, BACKDATE_DAYS)}:
        flash(texts["bad_form"], "error")
        return redirect(link("demo.index"), 303)
    paid = state().service.clock() - timedelta(days=int(days))
    price = f"{product.price:.2f}"
    result = _track(
        {
            "id": f"order-{uuid.uuid4()}",
            "type": "order.paid",
            "customer": current_customer(),
            "occurred_at": paid.isoformat(),
            "order": {
                "id": f"demo-{uuid.uuid4().hex[:12]}",
                "total": price,
                "currency": CURRENCY,
                "items": [
                    {
                        "sku": product.id,
                        "category": product.category,
                        "quantity": 1,
                        "price": price,
                    }
                ],
            },
        }
    )
    if result is None:
        flash(texts["bad_form"], "error")
        return redirect(link("demo.index"), 303)
    lang = current_lang()
    said = texts["ordered"].format(product=product.name[lang], price=product.price_text(lang))
    flash(f"{said} {_moved(result, texts)}", "ok")
    return redirect(link("demo.index"), 303)


@blueprint.post("/reviews")
def review() -> Response:
    """The "Write a review" form: the review is published at once, and the shop tells gamify."""
    texts = TEXTS[current_lang()]
    if current_guest():
        flash(texts["guest_cannot"], "error")
        return redirect(link("demo.index"), 303)
    product = _product()
    rating = request.form.get("rating", "")
    text = request.form.get("text", "").strip()
    if product is None or rating not in {str(r) for r in RATINGS} or len(text) > MAX_REVIEW:
        flash(texts["bad_form"], "error")
        return redirect(link("demo.index"), 303)
    result = _track(
        {
            "id": f"review-{uuid.uuid4()}",
            "type": "review.published",
            "customer": current_customer(),
            "occurred_at": state().service.clock().isoformat(),
            "attributes": {"product": product.id, "rating": int(rating), "text": text},
        }
    )
    if result is None:
        flash(texts["bad_form"], "error")
        return redirect(link("demo.index"), 303)
    said = texts["reviewed"].format(product=product.name[current_lang()])
    flash(f"{said} {_moved(result, texts)}", "ok")
    return redirect(link("demo.index"), 303)


@dataclass(frozen=True)
class Check:
    """A play recomputed on the page: ``state`` is ok, bad, pending (seed secret) or bundle."""

    state: str
    prize: str | None = None


@blueprint.get("/fairness/<campaign_id>")
def fairness_page(campaign_id: str) -> str:
    current = state()
    campaign = _campaign(current, campaign_id)
    epochs = current.service.epochs(campaign.id)
    guest = current_guest()  # a guest's plays are not the demo customer's
    plays = [] if guest else current.service.customer_plays([campaign], current_customer())
    seeds = {e.epoch: e.server_seed for e in epochs if e.server_seed is not None}
    return render_template(
        "fairness.html",
        campaign=campaign,
        epochs=[(e, _matches(e)) for e in epochs],
        plays=[(p, _recompute(campaign, p, seeds.get(p["epoch"]))) for p in plays],
    )


@blueprint.post("/fairness/<campaign_id>/rotate")
def rotate(campaign_id: str) -> Response:
    """Demo only: close the open epoch now so that a newcomer can check their plays."""
    current = state()
    campaign = _campaign(current, campaign_id)
    current.service.rotate(campaign.id)
    return redirect(link("demo.fairness_page", campaign_id=campaign.id), 303)


@blueprint.app_errorhandler(404)
def not_found(_exc: NotFound) -> tuple[str, int]:
    return render_template("not_found.html"), 404


@blueprint.errorhandler(403)
def forbidden(_exc: Forbidden) -> tuple[str, int]:
    return render_template("forbidden.html"), 403


def _track(event: dict[str, Any]) -> dict[str, Any] | None:
    """gamify's result for the event; None when gamify refused it (a customer id that is no
    store's, say), which the page says as a form it did not understand."""
    try:
        return gamify.track(event)
    except InvalidRequest:
        return None


def _product() -> Product | None:
    return PRODUCT_BY_ID.get(request.form.get("product", ""))


def _moved(result: dict[str, Any], texts: dict[str, str]) -> str:
    """Whether the event moved a challenge of the customer (its result's ``progress`` says);
    nothing to say when no challenge is running."""
    current = state()
    now = current.service.clock()
    if not any(c.is_running(now) for c in current.registry.challenges()):
        return ""
    return texts["moved"] if result.get("progress") else texts["not_moved"]


def _campaign(current: GamifyState, campaign_id: str) -> Campaign:
    try:
        return current.registry.get(campaign_id)
    except CampaignNotFound:
        abort(404)


def _pick(running: list[Campaign], game: str, preferred: str) -> Campaign | None:
    """The example campaign for this game, else the first running one of that game."""
    of_game = [c for c in running if c.game == game]
    return next((c for c in of_game if c.id == preferred), of_game[0] if of_game else None)


def _matches(epoch: EpochInfo) -> bool | None:
    if epoch.server_seed is None:
        return None
    return fairness.commitment(epoch.server_seed) == epoch.commitment


def _recompute(campaign: Campaign, play: dict[str, Any], seed: str | None) -> Check:
    if seed is None:
        return Check("pending")
    rules = next(
        (r for r in map(campaign.rules_for, fairness.ALGORITHMS)
         if r.config_hash == play["config_hash"]),
        None,
    )  # fmt: skip
    if rules is None:
        return Check("bundle")
    player = play["player"] if rules.algorithm == fairness.V2 else None
    index = fairness.draw(
        seed, campaign.id, play["client_seed"], play["nonce"], rules.running, player
    )
    prize = rules.prizes[index].id
    return Check("ok" if prize == play["drawn"] else "bad", prize)
