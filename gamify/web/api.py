"""The HTTP API of CONTRACT §6: thin views over :class:`gamify.services.service.Service`.

Views read the request, call the service and shape JSON; every refusal is an exception that
:mod:`gamify.web.problems` turns into a problem. Request-wide rules (body size, CORS,
``Cache-Control``, problems for unknown paths under the prefix) live in the hooks at the end.
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.routing import RequestRedirect
from werkzeug.wsgi import wrap_file

from gamify.campaigns.schema import campaign_schema
from gamify.core.campaign import Campaign
from gamify.core.errors import CampaignNotFound, InvalidRequest, InvalidToken, NotFound
from gamify.core.play import Allowance
from gamify.core.rules import ALGORITHM, iso_utc
from gamify.services.plays import PlayResult
from gamify.web import cors, problems, shapes, widget_assets
from gamify.web.openapi import openapi_document
from gamify.web.state import GamifyState, state

blueprint = Blueprint("gamify", __name__)
problems.install(blueprint)

LANGUAGES = ("es", "en")
JSON_TYPES = ("application/json",)
_CAMPAIGN_ID = re.compile(r"[a-z0-9-]{1,64}")
_PLAY_KEYS = frozenset({"client_seed"})
# Views whose answers are about one customer: never stored by a cache, even on errors.
_CUSTOMER_VIEWS = frozenset({"gamify.play", "gamify.my_plays", "gamify.events"})


# -- campaigns --------------------------------------------------------------------------------


@blueprint.get("/api/campaigns")
def list_campaigns() -> Response:
    current = state()
    now = current.service.clock()
    lang = negotiate(LANGUAGES)
    running = [c for c in current.registry.all() if c.is_running(now)]
    body: shapes.CampaignList = {
        "lang": lang,
        "campaigns": [
            {
                "id": c.id,
                "game": c.game,
                "title": c.title.get(lang),
                "starts": iso_utc(c.starts),
                "ends": iso_utc(c.ends),
                "active": True,
            }
            for c in running
        ],
    }
    return json_response(body, vary=("Accept-Language",))


@blueprint.get("/api/campaigns/<campaign_id>")
def campaign_detail(campaign_id: str) -> Response:
    current = state()
    customer = customer_id(required=False)
    campaign = find_campaign(current, campaign_id)
    now = current.service.clock()
    lang = negotiate(campaign.title.languages)
    epochs = current.service.epochs(campaign.id)
    total = campaign.rules.total_weight
    body: shapes.CampaignView = {
        "id": campaign.id,
        "game": campaign.game,
        "lang": lang,
        "title": campaign.title.get(lang),
        "description": campaign.description.get(lang) if campaign.description else None,
        "timezone": campaign.timezone,
        "starts": iso_utc(campaign.starts),
        "ends": iso_utc(campaign.ends),
        "active": campaign.is_running(now),
        "prizes": [
            {
                "id": p.id,
                "label": p.label.get(lang),
                "color": p.color,
                "probability": p.weight / total,
                "win": p.win,
                "segment": i,
            }
            for i, p in enumerate(campaign.prizes)
        ],
        "epoch": epochs[-1].epoch if epochs else None,
        "commitment": epochs[-1].commitment if epochs else None,
        "fallback": campaign.fallback,
        "limits": [{"plays": lim.plays, "per": lim.per} for lim in campaign.limits],
    }
    if customer is not None:
        left = allowance_json(current.service.allowance(campaign, customer))
        body["plays_left"], body["next_play_at"] = left["plays_left"], left["next_play_at"]
    return json_response(body, vary=("Accept-Language", "Authorization"))


@blueprint.post("/api/campaigns/<campaign_id>/plays")
def play(campaign_id: str) -> Response:
    current = state()
    customer = customer_id(required=True)
    assert customer is not None
    campaign = find_campaign(current, campaign_id)
    body = json_object_body(_PLAY_KEYS)
    client_seed = body.get("client_seed")
    if "client_seed" in body and not isinstance(client_seed, str):
        raise InvalidRequest("client_seed must be a string")
    result = current.service.play(
        campaign, customer, client_seed, request.headers.get("Idempotency-Key")
    )
    lang = negotiate(campaign.title.languages)
    return json_response(
        play_json(current, campaign, result, lang), 200 if result.replayed else 201
    )


@blueprint.get("/api/campaigns/<campaign_id>/fairness")
def fairness(campaign_id: str) -> Response:
    current = state()
    epochs = current.service.epochs(known_campaign_id(current, campaign_id))
    body: shapes.Fairness = {
        "campaign": campaign_id,
        "algorithm": ALGORITHM,
        "epochs": [
            {
                "epoch": e.epoch,
                "commitment": e.commitment,
                "server_seed": e.server_seed,
                "opened_at": iso_utc(e.opened_at),
                "revealed_at": iso_utc(e.revealed_at) if e.revealed_at else None,
            }
            for e in epochs
        ],
        "audit_url": url_for("gamify.audit_bundle", campaign_id=campaign_id),
    }
    return json_response(body)


@blueprint.get("/api/campaigns/<campaign_id>/audit.jsonl")
def audit_bundle(campaign_id: str) -> Response:
    """The bundle is written to a file first, from short transactions, and the client reads
    the file: however slowly it reads, it holds no database connection or transaction. The
    file is kept in the instance folder under its digest (the ``ETag``), so an unchanged log is
    not read again, and ``If-None-Match`` and ``Range`` requests are answered from it."""
    current = state()
    known = known_campaign_id(current, campaign_id)
    cache = Path(current_app.instance_path) / "gamify-bundles"
    bundle = current.service.open_bundle(known, cache)
    try:
        response = Response(
            wrap_file(request.environ, bundle.file),  # the server's sendfile when it has one
            mimetype="application/x-ndjson",
            direct_passthrough=True,
        )
        response.content_length = bundle.size
        response.headers["Content-Disposition"] = f'attachment; filename="{known}.audit.jsonl"'
        response.set_etag(bundle.etag)
        response.cache_control.no_cache = True
        response.make_conditional(request, accept_ranges=True, complete_length=bundle.size)
    except BaseException:
        bundle.file.close()
        raise
    if response.status_code in (304, 412):
        bundle.file.close()
    return response


def known_campaign_id(current: GamifyState, campaign_id: str) -> str:
    """A campaign in the registry (its seed revealed if it has ended), or one that is gone from
    the registry but left epochs (and maybe plays) in the database: its log stays auditable."""
    try:
        campaign = find_campaign(current, campaign_id)
    except CampaignNotFound:
        if not _CAMPAIGN_ID.fullmatch(campaign_id) or not current.service.epochs(campaign_id):
            raise
        return campaign_id
    current.service.reveal_if_ended(campaign)
    return campaign.id


# -- the customer -----------------------------------------------------------------------------


@blueprint.get("/api/me/plays")
def my_plays() -> Response:
    current = state()
    customer = customer_id(required=True)
    assert customer is not None
    rows = current.service.customer_plays(current.registry.all(), customer)
    body: shapes.PlayList = {
        "plays": [
            {
                "seq": row["seq"],
                "campaign": row["campaign"],
                "epoch": row["epoch"],
                "nonce": row["nonce"],
                "client_seed": row["client_seed"],
                "drawn": row["drawn"],
                "awarded": row["awarded"],
                "at": row["at"],
                "hash": row["hash"],
                "coupon": row["coupon"],
            }
            for row in rows
        ]
    }
    return json_response(body)


# -- server to server -------------------------------------------------------------------------


@blueprint.post("/api/events")
def events() -> Response:
    key = state().settings.events_key
    if not key:
        raise NotFound("events are closed: set GAMIFY_EVENTS_KEY to open them")
    sent = bearer_token()
    if sent is None or not hmac.compare_digest(sent.encode(), key.encode()):
        raise InvalidToken("send the events key as `Authorization: Bearer <GAMIFY_EVENTS_KEY>`")
    raise InvalidRequest("no challenges are configured")


# -- the widget and documents -----------------------------------------------------------------


@blueprint.get("/widget.js")
def widget_script() -> Response:
    return widget_assets.serve()


@blueprint.get("/widget.<digest>.js")
def widget_script_pinned(digest: str) -> Response:
    return widget_assets.serve(digest)


def widget_module(name: str, digest: str) -> Response:
    return widget_assets.serve_module(name, digest)


# One route per module (``/widgets/wheel.<digest>.js``, …), each documented in /openapi.json.
for _module in widget_assets.MODULES:
    blueprint.add_url_rule(
        f"/widgets/{_module}.<digest>.js",
        "widget_module",
        widget_module,
        defaults={"name": _module},
        methods=["GET"],
    )


@blueprint.get("/schema/campaign.json")
def campaign_json_schema() -> Response:
    return json_response(campaign_schema())


@blueprint.get("/openapi.json")
def openapi() -> Response:
    server = request.script_root + state().settings.url_prefix
    return Response(openapi_document(server or "/"), mimetype="application/json")


# -- helpers ----------------------------------------------------------------------------------


def json_response(body: Any, status: int = 200, vary: Iterable[str] = ()) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False), status=status)
    response.mimetype = "application/json"
    for header in vary:
        response.vary.add(header)
    return response


def find_campaign(current: GamifyState, campaign_id: str) -> Campaign:
    if not _CAMPAIGN_ID.fullmatch(campaign_id):
        raise CampaignNotFound(campaign_id)
    return current.registry.get(campaign_id)


def bearer_token() -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without the header.

    A header with another scheme or no token is an :class:`InvalidToken`, not an anonymous
    request: a storefront that sends a broken header should hear about it.
    """
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be `Bearer <token>`")
    return token.strip()


def customer_id(*, required: bool) -> str | None:
    token = bearer_token()
    if token is None and not required:
        return None
    return state().tokens.customer(token)


def negotiate(available: Sequence[str]) -> str:
    """``?lang=`` (``es-ES`` counts as ``es``) if the texts have it, else Accept-Language."""
    asked = request.args.get("lang", "").strip().lower()
    for candidate in (asked, asked.split("-")[0]):
        if candidate and candidate in available:
            return candidate
    best = request.accept_languages.best_match(available)
    if best:
        return best
    return "en" if "en" in available else available[0]


def json_object_body(allowed: frozenset[str]) -> dict[str, Any]:
    """The body as a JSON object with only ``allowed`` keys; an empty body is ``{}``."""
    raw = request.get_data(cache=True)
    if len(raw) > state().settings.max_body:  # a body sent without Content-Length
        raise RequestEntityTooLarge()
    if not raw.strip():
        return {}
    mimetype = request.mimetype
    if mimetype not in JSON_TYPES and not (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    ):
        shown = mimetype or "no Content-Type"
        raise UnsupportedMediaType(f"send the body as application/json (got {shown})")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidRequest("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise InvalidRequest(
            f"unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return data


def allowance_json(allowance: Allowance) -> shapes.Allowance:
    return {
        "plays_left": allowance.plays_left,
        "next_play_at": _iso_or_none(allowance.next_play_at),
    }


def play_json(
    current: GamifyState, campaign: Campaign, result: PlayResult, lang: str
) -> shapes.PlayResponse:
    row, prize = result.row, result.prize
    left = allowance_json(result.allowance)
    return {
        "play": {
            "seq": row["seq"],
            "epoch": row["epoch"],
            "nonce": row["nonce"],
            "client_seed": row["client_seed"],
            "commitment": result.commitment,
            "prize": {
                "id": prize.id,
                "label": prize.label.get(lang),
                "win": prize.win,
                "color": prize.color,
            },
            "drawn": row["drawn"],
            "segment": result.segment,
            "coupon": result.coupon,
            "at": row["at"],
            "hash": row["hash"],
            "config_hash": row["config_hash"],
        },
        "plays_left": left["plays_left"],
        "next_play_at": left["next_play_at"],
    }


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso_utc(moment) if moment is not None else None


# -- request-wide hooks -----------------------------------------------------------------------


def under_prefix(path: str) -> bool:
    prefix = state().settings.url_prefix
    return not prefix or path == prefix or path.startswith(prefix + "/")


@blueprint.before_app_request
def _before() -> Response | None:
    """Runs for every request of the app, but acts only under the prefix."""
    if not under_prefix(request.path):
        return None
    current = state()
    routing = request.routing_exception
    if isinstance(routing, RequestRedirect):
        return problems.misspelt_path(routing)
    if routing is not None and routing.code in (404, 405):
        return problems.from_http_error(routing)
    if request.method == "OPTIONS":
        return (cors.is_preflight() and cors.preflight(current.settings)) or _allowed_methods()
    if request.path.startswith(f"{current.settings.url_prefix}/api/") and not current.ready():
        return problems.unavailable(None)  # the database is away since the app started
    if request.method == "POST":
        limit = current.settings.max_body
        # Werkzeug stops reading a body without Content-Length at this size (without an
        # error), so one byte more than the limit tells a too-large body from a full one.
        request.max_content_length = limit + 1
        if request.content_length is not None and request.content_length > limit:
            return problems.problem(
                413, "payload_too_large", f"the request body is larger than {limit} bytes"
            )
    return None


def _allowed_methods() -> Response:
    """A plain ``OPTIONS`` (or a preflight from an origin not allowed): the methods, no body."""
    response = Response(status=204)
    del response.headers["Content-Type"]  # no body, nothing to type
    rule = request.url_rule
    response.headers["Allow"] = ", ".join(sorted(rule.methods or ())) if rule else "OPTIONS"
    return response


@blueprint.after_app_request
def _after(response: Response) -> Response:
    if not under_prefix(request.path):
        return response
    response.headers["X-Content-Type-Options"] = "nosniff"
    if "Authorization" in request.headers or request.endpoint in _CUSTOMER_VIEWS:
        response.headers["Cache-Control"] = "no-store"
    cors.add_headers(response, state().settings)
    return response
