"""Guests (CONTRACT §13): shoppers who play with an email instead of an account.

Limits count per mailbox, not per spelling: an email becomes one identity (lower case, without
a ``+tag``, and for Gmail without dots), so a second alias of the same address cannot dodge
them. ``guests.per_ip`` caps the plays from one internet address, which a second mailbox cannot
dodge either; an IPv6 subscriber gets a whole /64, so the cap counts the /64. The syntax of an
email is checked before any of this (:mod:`gamify.services.guests`, with email-validator).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from gamify.core.campaign import Campaign
from gamify.core.errors import AddressLimitReached
from gamify.core.periods import period_key
from gamify.core.play import retry_at
from gamify.core.rules import Limit

GMAIL = "gmail.com"
GMAIL_DOMAINS = frozenset({GMAIL, "googlemail.com"})
"""Gmail ignores dots in the local part, and googlemail.com is the same mailbox."""
GUEST_PREFIX = "guest:"
"""Guests play as ``guest:<random>``: a customer id no store token carries, and that says
nothing about the person (the link to their email is one row, which erasure deletes)."""


def identity(local: str, domain: str) -> str:
    """The mailbox an address reaches, as one string: ``Ana.Perez+promo@GoogleMail.com`` and
    ``anaperez@gmail.com`` are the same identity. ``domain`` is the ASCII (IDNA) form."""
    local = unicodedata.normalize("NFC", local).lower().split("+", 1)[0]
    domain = domain.lower().rstrip(".")
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), GMAIL
    return f"{local}@{domain}"


def address_network(address: str) -> str:
    """What a client address counts as for ``per_ip``: an IPv4 address (also written as an
    IPv4-mapped IPv6 one), or an IPv6 address's /64. Anything else is taken as written."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class AddressCap:
    """A guest campaign's ``per_ip`` limit and the counter of one address in its period."""

    limit: Limit
    scope: str


def address_cap(campaign: Campaign, address_key: str, now: datetime) -> AddressCap | None:
    """The cap on plays from the address ``address_key`` (a keyed hash of its network, never
    the address itself) in the current period, if the campaign has one."""
    limit = campaign.guests.per_ip if campaign.guests else None
    if limit is None:
        return None
    period = period_key(now, campaign.timezone, limit.per)
    return AddressCap(limit, f"ip:{limit.per}:{period}:{address_key}")


def check_address(
    campaign: Campaign, cap: AddressCap, counts: Mapping[str, int], now: datetime
) -> None:
    """Raise :class:`AddressLimitReached` (with when the period ends) if the cap is used up."""
    if counts.get(cap.scope, 0) < cap.limit.plays:
        return
    when = retry_at(campaign, cap.limit.per, now)
    raise AddressLimitReached(cap.limit.plays, cap.limit.per, when)
