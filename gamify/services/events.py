"""The store's events (CONTRACT §8): checked whole by the core, stored once each, answered one
result per event. Challenges, points and reports build on what is stored here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from gamify.core.events import parse_events
from gamify.services.ports import EventLog


class EventCases:
    events: EventLog
    clock: Callable[[], datetime]

    def track(self, body: Any) -> list[dict[str, Any]]:
        """One event object or ``{"events": [...]}``: a result per event, in order, each
        ``accepted`` (stored now) or ``duplicate`` (its id was stored before, nothing changed).
        Raises :class:`~gamify.core.events.InvalidEvents` and stores nothing when any event
        has a mistake."""
        now = self.clock()
        events = parse_events(body, now)
        stored = self.events.append(events, now)
        return [
            {
                "id": e.id,
                "status": "accepted" if e.id in stored else "duplicate",
                "progress": [],
                "rewards": [],
            }
            for e in events
        ]
