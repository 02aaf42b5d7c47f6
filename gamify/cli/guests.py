"""``gamify leads`` and ``gamify forget`` (CONTRACT §13): the marketing consents a campaign
collected, and erasing a person."""

from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

import click

from gamify.core.errors import GamifyError
from gamify.core.rules import iso_utc
from gamify.web.state import GamifyState

LEADS_HEADER = ("email", "campaign", "consented_at", "lang", "consent_text_sha256")


def guest_commands(state: Callable[[], GamifyState]) -> tuple[click.Command, ...]:
    """The commands, on how the caller finds the app's state (``flask gamify`` or standalone)."""

    @click.command()
    @click.argument("campaign_id")
    @click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="Write the CSV to this file (default: standard output).",
    )
    def leads(campaign_id: str, output: Path | None) -> None:
        """Export CAMPAIGN_ID's guests who consented to marketing, as CSV: their email, when,
        and the language and SHA-256 of the exact consent text they were shown. Erased
        people are not in it."""
        current = state()
        if not current.service.epochs(campaign_id):
            raise click.UsageError(f"there is no campaign {campaign_id!r} in the database")
        out = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            writer = csv.writer(out)
            writer.writerow(LEADS_HEADER)
            count = 0
            for consent in current.service.leads(campaign_id):
                writer.writerow(
                    (
                        _cell(consent.email or ""),
                        consent.campaign,
                        iso_utc(consent.at),
                        consent.lang,
                        consent.text_hash,
                    )
                )
                count += 1
        finally:
            if output:
                out.close()
        if output:
            click.echo(f"{count} lead(s) of {campaign_id} written to {output}", err=True)

    @click.command()
    @click.argument("who")
    def forget(who: str) -> None:
        """Erase a person: WHO is a guest's email (any alias of it) or guest id
        (guest:…), or a store customer's id. A guest's email, consent records' personal
        fields and the link to their plays, counters and coupons are deleted; a store
        customer's id is replaced everywhere by a random stand-in. The audit log keeps only
        pseudonyms, so bundles still verify."""
        current = state()
        try:
            done = current.service.forget(who)
        except GamifyError as exc:
            raise click.UsageError(str(exc)) from None
        if done.kind == "nobody":
            click.echo("no guest with this email: nothing to erase")
        elif done.kind == "guest":
            click.echo(f"guest erased ({done.rows} row(s) deleted or cleared)")
        else:
            click.echo(f"customer {who!r} erased: their id replaced in {done.rows} row(s)")

    return leads, forget


def _cell(text: str) -> str:
    """A spreadsheet opens a cell starting with = + - @ as a formula: an email a guest typed
    must stay text (CSV injection)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
