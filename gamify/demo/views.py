"""The demo store's pages: the shop (``/``) and a fairness page per campaign.

The language (``?lang=``, Spanish by default) and the signed-in customer (``?customer=``,
``demo-customer`` by default) travel in the query string, so every link keeps them.

The pages send a strict ``Content-Security-Policy`` (:data:`CSP`, ``default-src 'self'``): the
store and the widget work with nothing inline. A per-request nonce is on every ``<script>`` of
the demo (the widget's through ``gamify_widget(…, nonce=…)``), so the policy may also be a
nonce-based one: set ``DEMO_CONTENT_SECURITY_POLICY`` in the app's config, where ``{nonce}``
stands for the request's nonce (the browser tests run the demo under both).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response

from gamify.core import fairness
from gamify.core.campaign import Campaign
from gamify.core.errors import CampaignNotFound
from gamify.services.ports import EpochInfo
from gamify.web.state import GamifyState, state

from .shop import (
    CUSTOMERS,
    DEFAULT_CUSTOMER,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    MAX_CUSTOMER,
    PRODUCTS,
    SCRATCH,
    TEXTS,
    WHEEL,
)

blueprint = Blueprint("demo", __name__)

#: The policy the demo's pages send unless the app's config has ``DEMO_CONTENT_SECURITY_POLICY``.
CSP = "default-src 'self'"
CSP_CONFIG = "DEMO_CONTENT_SECURITY_POLICY"


def current_lang() -> str:
    asked = request.args.get("lang", "").strip().lower().split("-")[0]
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


def current_customer() -> str:
    return request.args.get("customer", "").strip()[:MAX_CUSTOMER] or DEFAULT_CUSTOMER


def link(endpoint: str, **values: Any) -> str:
    """``url_for`` that keeps the page's language and customer (left out when the defaults)."""
    lang = values.pop("lang", current_lang())
    customer = values.pop("customer", current_customer())
    if lang != DEFAULT_LANGUAGE:
        values["lang"] = lang
    if customer != DEFAULT_CUSTOMER:
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
        "link": link,
        "local": local,
        "endpoint": request.endpoint if here else "demo.index",
        "view_args": (request.view_args or {}) if here else {},
    }


@blueprint.get("/")
def index() -> str:
    current = state()
    now = current.service.clock()
    campaigns = current.registry.all()
    running = [c for c in campaigns if c.is_running(now)]
    customer = current_customer()
    return render_template(
        "index.html",
        products=PRODUCTS,
        wheel=_pick(running, "wheel", WHEEL),
        scratch=_pick(running, "scratch", SCRATCH),
        campaigns=campaigns,
        others=[c for c in CUSTOMERS if c != customer][:2],
    )


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
    plays = current.service.customer_plays([campaign], current_customer())
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
    if play["config_hash"] != campaign.config_hash:
        return Check("bundle")
    rules = campaign.rules
    index = fairness.draw(seed, campaign.id, play["client_seed"], play["nonce"], rules.running)
    prize = rules.prizes[index].id
    return Check("ok" if prize == play["drawn"] else "bad", prize)
