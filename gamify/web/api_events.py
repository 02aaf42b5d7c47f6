"""``/api/events``: the store's server tells gamify what its customers do (CONTRACT §8)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, current_app

from gamify.core.errors import NotFound
from gamify.core.events import MAX_REQUEST
from gamify.services.challenges import Granted
from gamify.signals import challenge_completed, reward_granted
from gamify.web import shapes
from gamify.web.api_loyalty import announce as announce_points
from gamify.web.auth import require_key
from gamify.web.blueprint import blueprint
from gamify.web.http import json_body, json_response
from gamify.web.state import GamifyState, state


@blueprint.post("/api/events")
def events() -> Response:
    current = state()
    key = current.settings.events_key
    if not key:
        raise NotFound("events are closed: set GAMIFY_EVENTS_KEY to open them")
    require_key(key, "GAMIFY_EVENTS_KEY")
    results = track(current, json_body(max(current.settings.max_body, MAX_REQUEST)))
    body: shapes.EventResults = {"results": results}  # type: ignore[typeddict-item]
    return json_response(body)


def track(current: GamifyState, body: Any) -> list[dict[str, Any]]:
    """The events of ``body`` stored and applied (in-process ``gamify.track`` too), then the
    host app told what they completed."""
    registry = current.registry
    tracked = current.service.track_events(
        body, registry.index(), registry.with_holdout(), registry.loyalty()
    )
    announce(tracked.granted)
    announce_points(tracked.loyalty)
    return tracked.results


def announce(granted: Iterable[Granted]) -> None:
    """``challenge_completed`` and ``reward_granted`` for what was just committed."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for done in granted:
        challenge, customer, window = done.challenge.id, done.customer, done.window.key
        challenge_completed.send(
            app, challenge=challenge, customer=customer, window=window, rewarded=done.rewarded
        )
        if done.rewarded:
            reward_granted.send(
                app, challenge=challenge, customer=customer, window=window, reward=done.as_json()
            )
