"""What a campaign's terms must tell a shopper before they play (CONTRACT §13): who runs the
game (``GAMIFY_ORGANISER``), and each prize's odds with its units configured and still left.

Promotional games in Spain and under the UK's CAP Code must state the odds and the number of
prizes before the play, so the figures come from the same file and counters the draws use,
never from a text a marketer keeps by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email

from gamify.core.campaign import Campaign, Prize
from gamify.services.ports import CampaignLog

ORGANISER_KEYS = ("name", "address", "email")
MAX_ORGANISER_TEXT = 500


@dataclass(frozen=True)
class Organiser:
    """Who runs the promotion: the name and contact the law asks the terms to give."""

    name: str
    address: str | None = None
    email: str | None = None


def read_organiser(value: object) -> Organiser | None:
    """``GAMIFY_ORGANISER`` as the app config or the environment gives it: a mapping, or its
    JSON text; None (or empty) when the store names no organiser. Raises ValueError saying
    what is wrong, so the caller can name the key."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(
                'must be a mapping {"name", "address", "email"} or its JSON text '
                f"(got the text {str(value)[:60]!r})"
            ) from None
    if not isinstance(value, Mapping):
        raise ValueError(
            f'must be a mapping {{"name", "address", "email"}} (got {type(value).__name__})'
        )
    unknown = sorted(str(key) for key in value if key not in ORGANISER_KEYS)
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(ORGANISER_KEYS)}"
        )
    found = {key: _text(value, key) for key in ORGANISER_KEYS}
    name, address, email = found["name"], found["address"], found["email"]
    if name is None:
        raise ValueError('needs a "name": who runs the promotion, as the terms page names them')
    if email is not None:
        try:
            validate_email(email, check_deliverability=False)  # as guests' emails are checked
        except EmailNotValidError as error:
            raise ValueError(f'"email" must be an email address (got {email!r}): {error}') from None
    return Organiser(name, address, email)


def _text(value: Mapping[object, object], key: str) -> str | None:
    raw = value.get(key)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(f'"{key}" must be text (got {type(raw).__name__})')
    text = raw.strip()
    if len(text) > MAX_ORGANISER_TEXT:
        raise ValueError(f'"{key}" is longer than {MAX_ORGANISER_TEXT} characters')
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise ValueError(f'"{key}" has control characters')
    return text or None


@dataclass(frozen=True)
class PrizeUnits:
    """One prize as the terms state it: odds from the weights, units from the stock and the
    awards counted so far (every award counts, as the verifier counts them)."""

    prize: Prize
    probability: float
    awarded: int
    left: int | None  # None: no stock limit


@dataclass(frozen=True)
class Disclosure:
    campaign: Campaign
    prizes: tuple[PrizeUnits, ...]
    at: datetime  # when the units left were counted


class DisclosureCases:
    log: CampaignLog
    clock: Callable[[], datetime]

    def disclosure(self, campaign: Campaign) -> Disclosure:
        """The campaign's prizes with their odds and units left now."""
        stocked = [f"prize:{p.id}" for p in campaign.prizes if p.stock is not None]
        counts = self.log.counters(campaign.id, stocked) if stocked else {}
        total = campaign.rules.total_weight
        prizes = tuple(
            PrizeUnits(
                prize=p,
                probability=p.weight / total,
                awarded=(won := counts.get(f"prize:{p.id}", 0)),
                left=None if p.stock is None else max(p.stock - won, 0),
            )
            for p in campaign.prizes
        )
        return Disclosure(campaign, prizes, self.clock())
