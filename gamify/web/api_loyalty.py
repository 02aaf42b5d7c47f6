"""``/api/me/loyalty``: the customer's points, tier and rewards, and buying a reward
(CONTRACT §10). 404 while the store has no ``loyalty.yaml``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from flask import Response, current_app, request

from gamify.core.errors import InvalidRequest, NotFound
from gamify.core.loyalty import Loyalty
from gamify.core.rules import iso_utc
from gamify.services.loyalty import Change, Standing
from gamify.signals import points_changed, reward_granted, tier_changed
from gamify.web import shapes
from gamify.web.auth import customer_id
from gamify.web.blueprint import blueprint
from gamify.web.http import json_object_body, json_response, negotiate
from gamify.web.state import GamifyState, state

_REDEEM_KEYS = frozenset({"reward"})


def program(current: GamifyState) -> Loyalty:
    found = current.registry.loyalty()
    if found is None:
        raise NotFound("this store has no loyalty programme: add loyalty.yaml to its campaigns")
    return found


@blueprint.get("/api/me/loyalty")
def my_loyalty() -> Response:
    current = state()
    customer = customer_id(required=True)
    assert customer is not None
    found = program(current)
    standing, changes = current.service.standing(found, customer)
    announce(changes)
    return json_response(view(standing, negotiate(("es", "en"))), vary=("Accept-Language",))


@blueprint.post("/api/me/loyalty/redeem")
def redeem() -> Response:
    current = state()
    customer = customer_id(required=True)
    assert customer is not None
    found = program(current)
    body = json_object_body(_REDEEM_KEYS)
    reward = body.get("reward")
    if not isinstance(reward, str):
        raise InvalidRequest("reward must be the id of one of the programme's rewards")
    key = request.headers.get("Idempotency-Key")
    done = current.service.redeem(found, customer, str(reward), key)
    if done.change is not None:
        announce([done.change])
    answer: shapes.Redeemed = {
        "reward": done.redemption.reward,
        "coupon": done.redemption.coupon,
        "points": done.redemption.points,
        "available": done.change.after.available if done.change else 0,  # set in both cases
    }
    return json_response(answer, status=200 if done.replayed else 201)


def view(standing: Standing, lang: str) -> shapes.LoyaltyView:
    account, found = standing.account, standing.program
    tier: shapes.Tier | None = None
    if found.tiers is not None:
        level = found.tiers.level(account.tier)
        following = found.tiers.next_level(level.id)
        tier = {
            "id": level.id,
            "label": level.label.get(lang),
            "since": _iso(account.tier_since),
            "multiplier": float(level.multiplier),
            "qualifying": account.qualifying,
            "next": None
            if following is None
            else {
                "id": following.id,
                "label": following.label.get(lang),
                "min": following.min,
                "points_needed": max(following.min - account.qualifying, 0),
            },
        }
    return {
        "points": {
            "available": account.available,
            "pending": account.pending,
            "expiring": [{"points": n, "on": on.isoformat()} for n, on in standing.expiring],
        },
        "tier": tier,
        "rewards": [
            {
                "id": r.id,
                "label": r.label.get(lang),
                "description": r.description.get(lang) if r.description else None,
                "cost": r.cost,
                "affordable": account.available >= r.cost,
            }
            for r in found.rewards
        ],
    }


def announce(changes: Iterable[Change]) -> None:
    """``points_changed``, ``tier_changed`` and ``reward_granted`` (a level's) for what was just
    committed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for change in changes:
        customer = change.customer
        if change.points_changed:
            points_changed.send(
                app,
                customer=customer,
                available=change.after.available,
                pending=change.after.pending,
                entries=[
                    {"kind": e.kind, "points": e.points, "source": e.source, "note": e.note}
                    for e in change.entries
                    if e.points
                ],
            )
        if change.tier_changed:
            tier_changed.send(app, customer=customer, old=change.before.tier, new=change.after.tier)
        for grant in change.granted:
            reward_granted.send(
                app,
                challenge=None,
                level=grant.level.id,
                customer=customer,
                window=None,
                reward=grant.as_json(),
            )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)
