"""``/api/campaigns``: the running campaigns, one campaign with its odds, a play, the fairness
epochs and the audit bundle (CONTRACT §4–6): thin views over
:class:`gamify.services.service.Service`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import cast

from flask import Response, current_app, request, url_for
from werkzeug.wsgi import wrap_file

from gamify.core.campaign import Campaign
from gamify.core.challenge import AnyCampaign, Challenge
from gamify.core.errors import CampaignNotFound, InvalidRequest
from gamify.core.fairness import V2
from gamify.core.play import Allowance
from gamify.core.rules import iso_utc
from gamify.services.guests import GUEST_KEYS, guest_entry
from gamify.services.plays import PlayResult
from gamify.signals import lead_captured, play_made
from gamify.web import shapes
from gamify.web.api_challenges import challenge_view
from gamify.web.auth import customer_id
from gamify.web.blueprint import blueprint
from gamify.web.http import (
    CAMPAIGN_ID,
    LANGUAGES,
    find_any,
    find_campaign,
    json_object_body,
    json_response,
    negotiate,
)
from gamify.web.state import GamifyState, state

_PLAY_KEYS = frozenset({"client_seed", *GUEST_KEYS})


@blueprint.get("/api/campaigns")
def list_campaigns() -> Response:
    current = state()
    now = current.service.clock()
    lang = negotiate(LANGUAGES)
    every: list[AnyCampaign] = [*current.registry.all(), *current.registry.challenges()]
    running = [c for c in every if c.is_running(now)]
    running.sort(key=lambda c: c.id)
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
    campaign = find_any(current, campaign_id)
    if customer is not None:  # the campaign sees the customer: assigned, shown unless holdout
        current.service.show(campaign, customer)
    if isinstance(campaign, Challenge):
        return challenge_view(current, campaign, customer)
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
        "terms_url": url_for("gamify.terms", campaign_id=campaign.id),
        "guests": _guests_view(campaign, lang),
    }
    if customer is not None:
        left = allowance_json(current.service.allowance(campaign, customer))
        body["plays_left"], body["next_play_at"] = left["plays_left"], left["next_play_at"]
    return json_response(body, vary=("Accept-Language", "Authorization"))


@blueprint.post("/api/campaigns/<campaign_id>/plays")
def play(campaign_id: str) -> Response:
    """A customer's play (bearer token), or a guest's (no token, an email in the body: a
    campaign with ``guests``, CONTRACT §13). A customer's request ignores the guest fields."""
    current = state()
    customer = customer_id(required=False)
    campaign = find_campaign(current, campaign_id)
    body = json_object_body(_PLAY_KEYS)
    client_seed = body.get("client_seed")
    if "client_seed" in body and not isinstance(client_seed, str):
        raise InvalidRequest("client_seed must be a string")
    lang = negotiate(campaign.title.languages)
    key = request.headers.get("Idempotency-Key")
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    lead = None
    if customer is not None:
        result = current.service.play(campaign, customer, client_seed, key)
    else:
        address = request.remote_addr or "unknown"
        played = current.service.guest_play(
            campaign, guest_entry(body, lang), address, client_seed, key
        )
        result, customer, lead = played.result, played.guest, played.lead
    answer = play_json(current, campaign, result, lang)
    if lead is not None:
        lead_captured.send(
            app,
            campaign=campaign.id,
            email=lead.email,
            lang=lead.lang,
            text_hash=lead.text_hash,
            at=lead.at,
        )
    if not result.replayed:
        play_made.send(app, campaign=campaign.id, customer=customer, play=answer["play"])
    return json_response(answer, 200 if result.replayed else 201)


@blueprint.get("/api/campaigns/<campaign_id>/fairness")
def fairness(campaign_id: str) -> Response:
    current = state()
    known = known_campaign_id(current, campaign_id)
    epochs = current.service.epochs(known)
    campaign = current.registry.campaigns.get(known)
    body: shapes.Fairness = {
        "campaign": campaign_id,
        "algorithm": cast(shapes.Algorithm, epochs[-1].algorithm if epochs else V2),
        "epochs": [
            {
                "epoch": e.epoch,
                "commitment": e.commitment,
                "server_seed": e.server_seed,
                "opened_at": iso_utc(e.opened_at),
                "revealed_at": iso_utc(e.revealed_at) if e.revealed_at else None,
                "algorithm": cast(shapes.Algorithm, e.algorithm),
                "closes_at": _closes_at(campaign, e.opened_at) if e.server_seed is None else None,
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
        if not CAMPAIGN_ID.fullmatch(campaign_id) or not current.service.epochs(campaign_id):
            raise
        return campaign_id
    current.service.reveal_if_ended(campaign)
    current.service.rotate_if_due(campaign)
    return campaign.id


def _guests_view(campaign: Campaign, lang: str) -> shapes.GuestsView | None:
    guests = campaign.guests
    if guests is None:
        return None
    return {
        "consent": guests.consent.get(lang),
        "min_age": guests.min_age,
        "ask_age": guests.ask_age,
    }


def _closes_at(campaign: AnyCampaign | None, opened_at: datetime) -> str | None:
    """Unknown for a campaign gone from the files."""
    if not isinstance(campaign, Campaign):
        return None
    return iso_utc(campaign.epoch_closes_at(opened_at))


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
