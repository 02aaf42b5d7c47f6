"""Guest play, consent records, leads and erasure (CONTRACT §13).

A guest plays as ``guest:<random>``, a customer id that says nothing about them; the one row
linking it to their email is keyed by a keyed hash of their mailbox, so that aliases of one
address share limits, and deleting that row erases them: their plays stay in the chain under
a pseudonym of that random id, which nothing links to a person any more. Addresses are never
stored either: ``per_ip`` counts a keyed hash of the client's network.

Emails are checked for syntax only (email-validator, no network look-up) and refused when their
domain is on the maintained list of throwaway-mail services (disposable-email-domains).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from disposable_email_domains import blocklist
from email_validator import EmailNotValidError, validate_email

from gamify.core.campaign import Campaign
from gamify.core.errors import (
    AgeNotConfirmed,
    CampaignInactive,
    InvalidEmail,
    InvalidRequest,
    InvalidToken,
)
from gamify.core.guests import (
    GUEST_PREFIX,
    address_cap,
    address_network,
    check_address,
    identity,
)
from gamify.services.plays import PlayResult
from gamify.services.ports import CampaignLog, Consent, GuestStore

if TYPE_CHECKING:
    from gamify.core.guests import AddressCap

LEADS_CHUNK = 5000
"""Consents read per transaction while leads are exported."""
FORGOTTEN_PREFIX = "forgotten:"
"""What a store customer's id becomes when they are erased: a random stand-in, so that their
events and points still add up in reports without naming them."""


@dataclass(frozen=True)
class GuestEntry:
    """What the guest form sends with a play: the email, the consent box, the age box, and the
    language the texts were shown in."""

    email: str | None  # None: the play says the campaign needs a token or an email
    marketing_consent: bool = False
    age_confirmed: bool = False
    lang: str | None = None


GUEST_KEYS = frozenset({"email", "marketing_consent", "age_confirmed"})
"""What a guest's play request adds to a customer's (CONTRACT §13)."""


def guest_entry(body: Mapping[str, Any], lang: str | None) -> GuestEntry:
    """The guest fields of a play request, their types checked; the email is checked by the
    play itself (:func:`checked_email`), so every way in says the same."""
    email = body.get("email")
    if email is not None and not isinstance(email, str):
        raise InvalidRequest("email must be a string")
    flags = {key: body.get(key, False) for key in ("marketing_consent", "age_confirmed")}
    for key, value in flags.items():
        if not isinstance(value, bool):
            raise InvalidRequest(f"{key} must be true or false")
    return GuestEntry(email, flags["marketing_consent"], flags["age_confirmed"], lang)


@dataclass(frozen=True)
class Email:
    """A checked email: as the guest wrote it (domain in its normal form), and the mailbox it
    reaches (:func:`gamify.core.guests.identity`)."""

    address: str
    identity: str


def checked_email(text: str | None) -> Email:
    """The email in ``text``, or :class:`InvalidEmail` saying what is wrong with it."""
    if text is None or not text.strip():
        raise InvalidEmail(
            'email is required to play without signing in: send {"email": "…"}, or the '
            "customer token as Authorization: Bearer <token>"
        )
    try:
        found = validate_email(text.strip(), check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidEmail(f"email is not a valid address: {error}") from None
    domain = (found.ascii_domain or found.domain).lower()
    if domain in blocklist or domain.split(".", 1)[-1] in blocklist:
        raise InvalidEmail(
            f"email uses {domain}, a disposable-mail service: use an address you keep"
        )
    return Email(found.normalized, identity(found.local_part, domain))


@dataclass(frozen=True)
class GuestPlay:
    """A guest's play, the customer id they played as, and their consent if it is new."""

    result: PlayResult
    guest: str
    lead: Consent | None


@dataclass(frozen=True)
class Forgotten:
    """What ``gamify forget`` erased: a guest or a store customer, and the rows changed."""

    kind: str  # "guest", "customer" or "nobody"
    rows: int


class GuestCases:
    guests: GuestStore
    log: CampaignLog
    player_key: bytes
    clock: Callable[[], datetime]

    if TYPE_CHECKING:

        def play(
            self,
            campaign: Campaign,
            customer_id: str,
            client_seed: str | None = None,
            idempotency_key: str | None = None,
            *,
            address: AddressCap | None = None,
        ) -> PlayResult: ...  # PlayCases

    def guest_play(
        self,
        campaign: Campaign,
        entry: GuestEntry,
        client_address: str,
        client_seed: str | None = None,
        idempotency_key: str | None = None,
    ) -> GuestPlay:
        """A play by a guest: their email checked, their consent recorded if they gave it,
        their limits counted per mailbox and the campaign's ``per_ip`` per address."""
        guests = campaign.guests
        if guests is None:
            raise InvalidToken(
                f"campaign {campaign.id!r} takes no guests: sign in to play "
                "(send the customer token as Authorization: Bearer <token>)"
            )
        email = checked_email(entry.email)
        if guests.ask_age and entry.age_confirmed is not True:
            raise AgeNotConfirmed(
                f"age_confirmed must be true: players must be {guests.min_age} or older"
            )
        now = self.clock()
        cap = address_cap(campaign, self._keyed("ip", address_network(client_address)), now)
        mailbox = self._keyed("guest", email.identity)
        known = self.guests.find_guest(mailbox)
        # A game that is not on, or an address over its cap, records no guest and no consent
        # (10,000 emails from one address add nothing once the cap is reached); a known guest's
        # retry with its Idempotency-Key goes on to the play, which replays the stored one.
        if known is None or idempotency_key is None:
            if not campaign.is_running(now):
                raise CampaignInactive(campaign.id, campaign.starts, campaign.ends, now)
            if cap is not None:
                check_address(campaign, cap, self.log.counters(campaign.id, [cap.scope]), now)
        guest = known or self.guests.guest_id(mailbox, _new_guest_id(), email.address, now)
        lead = None
        if entry.marketing_consent:
            lang = guests.consent.language(entry.lang)
            text = guests.consent.get(lang)
            consent = Consent(campaign.id, guest, email.address, _sha256(text), lang, now)
            lead = consent if self.guests.add_consent(consent) else None
        result = self.play(campaign, guest, client_seed, idempotency_key, address=cap)
        return GuestPlay(result, guest, lead)

    def leads(self, campaign_id: str) -> Iterator[Consent]:
        """The campaign's consents with their emails, oldest first, read in short
        transactions: nothing is held while a caller writes them out."""
        after = 0
        while True:
            chunk = self.guests.consents(campaign_id, after, LEADS_CHUNK)
            for _, consent in chunk:
                yield consent
            if len(chunk) < LEADS_CHUNK:
                return
            after = chunk[-1][0]

    def forget(self, who: str) -> Forgotten:
        """Erase a person: a guest by email (any alias of it) or by guest id, else a store
        customer by id. The audit log keeps its pseudonyms and still verifies."""
        who = who.strip()
        if "@" in who:
            guest = self.guests.find_guest(self._keyed("guest", checked_email(who).identity))
            if guest is None:
                return Forgotten("nobody", 0)
            return Forgotten("guest", self.guests.forget_guest(guest))
        if who.startswith(GUEST_PREFIX):
            return Forgotten("guest", self.guests.forget_guest(who))
        stand_in = FORGOTTEN_PREFIX + secrets.token_urlsafe(16)
        return Forgotten("customer", self.guests.forget_customer(who, stand_in))

    def _keyed(self, purpose: str, value: str) -> str:
        """A keyed hash of a personal value (a mailbox, a network), so the database holds
        neither, and nobody without the server's secret can test a guess against it."""
        return hmac.new(self.player_key, f"{purpose}:{value}".encode(), "sha256").hexdigest()


def _new_guest_id() -> str:
    return GUEST_PREFIX + secrets.token_urlsafe(16)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
