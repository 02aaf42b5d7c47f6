"""``gamify loyalty``: a customer's points as the ledger holds them, an admin's adjustment with
its reason, and the batch runs (expire what is due, rebuild the running balances from the
entries) that a store may schedule but never needs to."""

from __future__ import annotations

from collections.abc import Callable

import click

from gamify.core.errors import GamifyError
from gamify.core.loyalty import Loyalty
from gamify.core.points import Entry, Lot
from gamify.core.rules import iso_utc
from gamify.web.state import GamifyState


def loyalty_group(state: Callable[[], GamifyState]) -> click.Group:
    """The group, on how the caller finds the app's state (``flask gamify`` or standalone)."""

    @click.group("loyalty")
    def group() -> None:
        """Points and tiers: show a customer, adjust, expire, rebuild (CONTRACT §10)."""

    def program(current: GamifyState) -> Loyalty:
        found = current.registry.loyalty()
        if found is None:
            raise click.ClickException(
                f"no loyalty programme: {current.registry.folder} has no valid loyalty.yaml"
            )
        return found

    @group.command("show")
    @click.argument("customer")
    def show(customer: str) -> None:
        """A customer's balance, tier, lots and every ledger entry."""
        current = state()
        found = program(current)
        standing, _ = current.service.standing(found, customer)
        account = standing.account
        click.echo(f"customer   {customer}")
        click.echo(f"usable     {account.available:,} points")
        click.echo(f"pending    {account.pending:,} points (waiting out the return window)")
        if found.tiers is not None:
            level = found.tiers.level(account.tier)
            since = iso_utc(account.tier_since) if account.tier_since else "-"
            click.echo(
                f"tier       {level.id} since {since} ({account.qualifying:,} points earned "
                "in the window)"
            )
        for points, on in standing.expiring:
            click.echo(f"expiring   {points:,} points on {on}")
        entries, lots = current.service.loyalty.history(customer)
        click.echo("\nlots:")
        for lot in lots:
            click.echo("  " + _lot(lot))
        click.echo("\nentries:")
        for entry in entries:
            click.echo("  " + _entry(entry))

    @group.command("adjust", context_settings={"ignore_unknown_options": True})
    @click.argument("customer")
    @click.argument("points", type=int)
    @click.option("--reason", required=True, help="Why (kept in the ledger).")
    def adjust(customer: str, points: int, reason: str) -> None:
        """Add (or with a negative number take) points, with the reason; never below zero.

        gamify loyalty adjust ana -50 --reason "order 1234 was a test"
        """
        current = state()
        try:
            change = current.service.adjust(program(current), customer, points, reason)
        except GamifyError as exc:
            raise click.ClickException(str(exc)) from None
        after = change.after
        click.echo(f"{customer}: {after.available:,} usable, {after.pending:,} pending")

    @group.command("expire")
    def expire() -> None:
        """Settle every account that is due: lots that matured or expired, tiers whose window
        let go of points, and anything left in the inbox."""
        current = state()
        changes = current.service.expire_due(program(current))
        expired = sum(-e.points for c in changes for e in c.entries if e.kind == "expired")
        click.echo(f"settled {len(changes)} account(s); {expired:,} points expired")

    @group.command("rebuild")
    def rebuild() -> None:
        """Check every running balance and lot against the ledger's entries; repair and list
        those that differ (exit 1 when any did)."""
        current = state()
        repaired = current.service.rebuild()
        for customer, stored, rebuilt in repaired:
            click.echo(
                f"{customer}: stored {stored.available}/{stored.pending}, entries say "
                f"{rebuilt.available}/{rebuilt.pending} (usable/pending): repaired"
            )
        if repaired:
            raise SystemExit(1)
        click.echo("every balance matches its entries")

    return group


def _lot(lot: Lot) -> str:
    state = "usable" if lot.matured else f"pending until {iso_utc(lot.available_at)}"
    expires = f", expires {iso_utc(lot.expires_at)}" if lot.expires_at else ""
    return f"#{lot.lot} {lot.source}: {lot.remaining:,} of {lot.points:,} left, {state}{expires}"


def _entry(entry: Entry) -> str:
    lot = f" lot #{entry.lot}" if entry.lot is not None else ""
    short = f" ({entry.short:,} could not be taken back)" if entry.short else ""
    note = f" - {entry.note}" if entry.note else ""
    return (
        f"{entry.seq:>5} {iso_utc(entry.at)} {entry.kind:<9} {entry.points:>+8,}{lot} "
        f"{entry.source}{short}{note}"
    )
