"""The commands of ``gamify`` that a host app's ``flask gamify`` has too (CONTRACT §7): exit 0 on
success, 1 on a finding, 2 on bad usage.

Commands print for people; errors in campaign files are printed one per line in the
``FILE:LINE:COL: field: message`` form editors and CI logs can jump to.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeVar
from zoneinfo import ZoneInfo

import click
from flask import has_app_context
from flask.cli import ScriptInfo
from sqlalchemy.exc import SQLAlchemyError

from gamify.audit import signed_note
from gamify.audit.attest import attest as attest_bundle
from gamify.audit.verify import Report, verify_bundle
from gamify.campaigns.loader import load_campaign, load_campaigns
from gamify.campaigns.loyalty_loader import load_loyalty
from gamify.campaigns.odds import SHIPPED_LANGUAGES, OddsReport, odds_report, plays
from gamify.campaigns.schema import campaign_schema
from gamify.campaigns.schema_loyalty import loyalty_schema
from gamify.campaigns.simulate import Simulation, export_simulation, simulate
from gamify.campaigns.yaml_nodes import parse_yaml
from gamify.cli.guests import guest_commands
from gamify.cli.loyalty import loyalty_group
from gamify.cli.report import render as render_report
from gamify.core.campaign import Campaign
from gamify.core.challenge import AnyCampaign, Challenge
from gamify.core.checkpoint import Checkpoint
from gamify.core.errors import BundleError, CampaignError, ConfigIssue, GamifyError
from gamify.core.loyalty import LOYALTY_FILE, LOYALTY_ID, Loyalty
from gamify.services.audience import holdout_issue
from gamify.services.disclosure import read_organiser
from gamify.storage.database import (
    SchemaBehind,
    current_revision,
    database_unavailable,
)
from gamify.storage.database import upgrade as upgrade_schema
from gamify.web.log_key import log_signer
from gamify.web.state import GamifyState, build_state, state

FINDING = 1
F = TypeVar("F", bound=Callable[..., Any])


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Validate campaign files or folders and print their odds; a folder's loyalty.yaml, or
    one named on its own, is checked as the store's loyalty programme.

    With a database (``flask gamify check``, or ``--database-url``), also refuse a holdout
    that differs from the one a running campaign records. Warns (exit 0) about what a game's
    terms page would lack: a winning prize without a value, or no GAMIFY_ORGANISER."""
    failed = False
    recorded = _recorded_holdouts()
    no_organiser = _organiser_missing()
    for path in paths:
        programme = _loyalty_file(path)
        if path.is_dir() or programme is None:
            failed |= _check_campaigns(path, recorded, no_organiser)
        if programme is not None:
            failed |= _check_loyalty(programme)
    if failed:
        raise SystemExit(FINDING)


def _check_campaigns(path: Path, recorded: dict[str, int], no_organiser: bool = False) -> bool:
    """Print the campaigns of ``path`` or their mistakes; whether there were mistakes."""
    try:
        campaigns = load_campaigns(path)
    except CampaignError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        return True
    changed = [
        holdout_issue(c, recorded[c.id], _top_level_line(c, "holdout"))
        for c in campaigns
        if c.id in recorded and recorded[c.id] != c.holdout
    ]
    for issue in changed:
        click.echo(str(issue), err=True)
    for campaign in campaigns:
        if isinstance(campaign, Challenge):
            click.echo(format_challenge(campaign))
        else:
            click.echo(format_odds(odds_report(campaign)))
            for warning in terms_warnings(campaign, no_organiser):
                click.echo(warning, err=True)
    return bool(changed)


def terms_warnings(campaign: Campaign, no_organiser: bool) -> list[str]:
    """What the campaign's terms page would lack, as ``FILE:LINE:COL: field: warning: …``:
    the law asks promotions to state each prize's value and who runs them."""
    file = str(campaign.source) if campaign.source is not None else campaign.id
    root = None
    if campaign.source is not None:
        root, _ = parse_yaml(campaign.source.read_bytes(), file)

    def at(key: str, index: int | None = None) -> tuple[int, int]:
        """Where the top-level ``key`` is written, or its ``index``-th item."""
        if root is None:
            return 1, 1
        node = root.keys.get(key) if index is None else root.entries.get(key)
        if node is not None and index is not None:
            node = node.items[index] if index < len(node.items) else None
        return (node.line, node.column) if node is not None else (1, 1)

    found = [
        ConfigIssue(
            file,
            *at("prizes", i),
            f"prizes[{i}]",
            f"warning: the winning prize `{p.id}` has no value: the terms page cannot state "
            "what it is worth (add `value:`)",
        )
        for i, p in enumerate(campaign.prizes)
        if p.win and p.value is None
    ]
    if no_organiser:
        key = "guests" if campaign.guests is not None else "id"
        found.append(
            ConfigIssue(
                file,
                *at(key),
                key,
                "warning: no organiser is configured (GAMIFY_ORGANISER): the terms page "
                "cannot say who runs this game"
                + (" or whom guests ask to erase their data" if campaign.guests else ""),
            )
        )
    return [str(issue) for issue in found]


def _organiser_missing() -> bool:
    """Whether the terms pages have no organiser to name: the app's GAMIFY_ORGANISER under
    ``flask gamify``; for the standalone command, the environment's (JSON text)."""
    if has_app_context():
        return state().settings.organiser is None
    info = click.get_current_context().find_object(ScriptInfo)
    if info is not None:
        return state(info.load_app()).settings.organiser is None
    try:
        return read_organiser(os.environ.get("GAMIFY_ORGANISER")) is None
    except ValueError as exc:
        raise click.UsageError(f"GAMIFY_ORGANISER: {exc}") from None


def _loyalty_file(path: Path) -> Path | None:
    """The loyalty programme ``path`` names, or holds when it is a folder."""
    if path.is_dir():
        inside = path / LOYALTY_FILE
        return inside if inside.is_file() else None
    return path if path.name == LOYALTY_FILE else None


def _check_loyalty(path: Path) -> bool:
    """Print the programme of ``path`` or its mistakes; whether there were mistakes."""
    try:
        loyalty = load_loyalty(path)
    except CampaignError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        return True
    click.echo(format_loyalty(loyalty))
    return False


@click.command("simulate")
@click.argument("campaign_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--plays", "count", type=click.IntRange(1, 100_000_000), required=True)
@click.option("--seed", required=True, help="Any text; the same seed gives the same rehearsal.")
@click.option("--customers", type=click.IntRange(1), help="Size of the shopper pool [plays].")
@click.option("--export", "export", type=click.Path(dir_okay=False, path_type=Path))
def simulate_command(
    campaign_file: Path, count: int, seed: str, customers: int | None, export: Path | None
) -> None:
    """Rehearse CAMPAIGN_FILE with seeded plays: awards, cost, when stock runs out."""
    campaign = _load_or_exit(campaign_file)
    if export is None:
        result = simulate(campaign, count, seed, customers)
    else:
        result = export_simulation(campaign, count, seed, export, customers)
    click.echo(format_simulation(result))
    if export is not None:
        click.echo(f"bundle written to {export} (verify it with: gamify verify {export})")


def _checkpoint_options(command: F) -> F:
    """``--checkpoint NOTE --key KEYFILE``: a signed checkpoint the log's tree must match."""
    command = click.option(
        "--key",
        "key_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="The log's key: its verifier key line (GET /api/log/key) or an Ed25519 PEM "
        "public key.",
    )(command)
    return click.option(
        "--checkpoint",
        "checkpoint_file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A signed checkpoint the log's Merkle tree must match (needs --key).",
    )(command)


def _signed_checkpoint(checkpoint_file: Path | None, key_file: Path | None) -> Checkpoint | None:
    """The checkpoint of ``--checkpoint``, its signature checked with ``--key``; a forged or
    broken one is a finding (exit 1), named without a traceback."""
    if (checkpoint_file is None) != (key_file is None):
        raise click.UsageError("--checkpoint and --key go together")
    if checkpoint_file is None or key_file is None:
        return None
    try:
        return signed_note.verify_with(
            _read_text(checkpoint_file, "checkpoint"), _read_text(key_file, "key")
        )
    except signed_note.CheckpointError as exc:
        click.echo(f"FAILED: checkpoint {checkpoint_file}: {exc}", err=True)
        raise SystemExit(FINDING) from None


@click.command()
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_checkpoint_options
def verify(bundle: Path, checkpoint_file: Path | None, key_file: Path | None) -> None:
    """Re-derive every play of an audit bundle; name the first faulty seq. With a signed
    checkpoint, a log cut short, rewritten or forked is a finding too."""
    checkpoint = _signed_checkpoint(checkpoint_file, key_file)
    bar = ProgressBar(bundle.stat().st_size, sys.stderr)
    try:
        report = verify_bundle(
            bundle, progress=bar.update if bar.enabled else None, checkpoint=checkpoint
        )
    except BundleError as exc:
        bar.finish()
        click.echo(f"FAILED: {exc}", err=True)
        raise SystemExit(FINDING) from None
    bar.finish()
    click.echo(format_verify(report))


@click.command()
@click.option(
    "--loyalty",
    "of_loyalty",
    is_flag=True,
    help="The schema of loyalty.yaml instead of campaign files.",
)
def schema(of_loyalty: bool) -> None:
    """Print the JSON Schema (draft 2020-12) of campaign files, or of loyalty.yaml, for
    editors."""
    found = loyalty_schema() if of_loyalty else campaign_schema()
    click.echo(json.dumps(found, indent=2, ensure_ascii=False))


@click.command()
@click.argument("campaign_id")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export(campaign_id: str, output: Path) -> None:
    """Write the audit bundle of CAMPAIGN_ID to a file."""
    current = _state()
    if not current.service.epochs(campaign_id):
        raise click.UsageError(f"there is no campaign {campaign_id!r} in the database")
    with output.open("w", encoding="utf-8", newline="\n") as out:
        current.service.write_bundle(campaign_id, out)
    click.echo(f"bundle of {campaign_id} written to {output}")


@click.command()
@click.argument("campaign_id")
def rotate(campaign_id: str) -> None:
    """Close the open epoch of CAMPAIGN_ID, reveal its seed and open the next epoch."""
    current = _state()
    try:
        epoch = current.service.rotate(campaign_id)
    except GamifyError as exc:
        raise click.UsageError(str(exc)) from None
    revealed = current.service.epochs(campaign_id)[-2]
    click.echo(f"epoch {revealed.epoch} closed, seed revealed: {revealed.server_seed}")
    click.echo(f"epoch {epoch.epoch} open, commitment {epoch.commitment}")


@click.command()
@click.argument("campaign_id")
def checkpoint(campaign_id: str) -> None:
    """Print the latest signed checkpoint of CAMPAIGN_ID's log (keep them: a later bundle
    must match each one). Where gamify has its signing key (in the app, or
    GAMIFY_SIGNING_KEY), one that covers every play is signed first if needed."""
    current = _state()
    if not current.service.epochs(campaign_id):
        raise click.UsageError(f"there is no campaign {campaign_id!r} in the database")
    made = current.service.checkpoint(campaign_id)
    if made is None:
        click.echo(
            f"{campaign_id} has no signed checkpoint yet, and no signing key is configured "
            "here (GAMIFY_SIGNING_KEY) to make one",
            err=True,
        )
        raise SystemExit(FINDING)
    click.echo(made.note, nl=False)


@click.command()
@click.argument("campaign_id")
@click.option("--epoch", "epochs", type=int, multiple=True, help="A closed epoch to test "
              "(repeat for more); default: every closed epoch.")  # fmt: skip
@_checkpoint_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the statement to this file (and the bundle it covers beside it).",
)
def attest(
    campaign_id: str,
    epochs: tuple[int, ...],
    checkpoint_file: Path | None,
    key_file: Path | None,
    output: Path | None,
) -> None:
    """Test CAMPAIGN_ID's closed epochs: chi-square of the drawn prizes against the odds and
    a runs test, over its verified audit bundle; print a statement an auditor can sign. Exits
    1 when the bundle does not verify or a test finds evidence against the odds (α = 0.01)."""
    checkpoint = _signed_checkpoint(checkpoint_file, key_file)
    current = _state()
    if not current.service.epochs(campaign_id):
        raise click.UsageError(f"there is no campaign {campaign_id!r} in the database")
    with tempfile.TemporaryDirectory(prefix="gamify-attest-") as folder:
        bundle = (
            output.with_suffix(".audit.jsonl") if output else Path(folder) / f"{campaign_id}.jsonl"
        )
        with bundle.open("w", encoding="utf-8", newline="\n") as out:
            current.service.write_bundle(campaign_id, out)
        try:
            found = attest_bundle(bundle, epochs or None, checkpoint)
        except BundleError as exc:
            click.echo(f"FAILED: {exc}", err=True)
            raise SystemExit(FINDING) from None
        statement = found.statement(bundle.name)
    if output is not None:
        output.write_text(statement, encoding="utf-8")
        click.echo(f"statement written to {output}, the bundle it covers to {bundle}")
    else:
        click.echo(statement, nl=False)
    if found.rejected:
        raise SystemExit(FINDING)


@click.command()
def reload() -> None:
    """Load the campaign files again and record new config versions in the database.

    Running workers notice changed files by themselves within a few seconds; a file with
    mistakes is refused (exit 1) and the last good version keeps running.
    """
    current = _state()
    report = current.registry.reload()
    for campaign in current.registry.all():
        click.echo(f"{campaign.id}: config {campaign.config_hash[:12]}")
    for issue in report.refused:
        click.echo(str(issue), err=True)
    if report.refused:
        raise SystemExit(FINDING)


@click.group()
def db() -> None:
    """Database schema commands."""


@db.command()
def upgrade() -> None:
    """Apply the migrations this version of gamify needs (safe to run on every deploy)."""
    current = _state(start=False)
    try:
        upgrade_schema(current.engine)  # one process at a time, under a database lock
    except Exception as exc:
        if not database_unavailable(exc):
            raise
        raise click.ClickException(f"the gamify database is not available: {exc}") from None
    click.echo(f"gamify database at revision {current_revision(current.engine)}")


@click.command("report")
@click.argument("campaign_id")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="First day (local).")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Last day (local).")
@click.option(
    "--format",
    "shape",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
)
def report_command(
    campaign_id: str, first: datetime | None, last: datetime | None, shape: str
) -> None:
    """Did the campaign make customers come back? KPIs per group and the uplift over the
    holdout, with 95 % intervals (CONTRACT §11)."""
    current = _state()
    try:
        campaign = current.registry.find(campaign_id)
        made = current.service.report(
            campaign, first.date() if first else None, last.date() if last else None
        )
    except GamifyError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(render_report(made, shape), nl=shape != "csv")


def _recorded_holdouts() -> dict[str, int]:
    """The holdouts the database records, when there is one to ask; else nothing to compare."""
    try:
        current = _found_state()
    except click.UsageError:
        return {}
    try:
        return current.service.audience.holdouts()
    except SQLAlchemyError as exc:  # down, or a schema not upgraded yet: check the files alone
        reason = str(exc).splitlines()[0]
        click.echo(f"gamify: holdouts not compared with the database: {reason}", err=True)
        return {}


def _top_level_line(campaign: AnyCampaign, key: str) -> int:
    """The line of a top-level key in the campaign's file (1 when absent: the default)."""
    if campaign.source is None:
        return 1
    lines = campaign.source.read_text(encoding="utf-8").splitlines()
    return next((n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:")), 1)


class Standalone:
    def __init__(self, database_url: str | None, campaigns: Path | None) -> None:
        self.database_url = database_url
        self.campaigns = campaigns


def _state(*, start: bool = True) -> GamifyState:
    """The running app's state under ``flask gamify``, else one built from the options;
    with ``start``, its schema checked (or upgraded) and campaigns loaded."""
    current = _found_state()
    if start:
        try:
            current.start()
        except SchemaBehind as exc:
            raise click.ClickException(str(exc)) from None
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            raise click.ClickException(f"the gamify database is not available: {exc}") from None
    return current


def _found_state() -> GamifyState:
    if has_app_context():
        return state()
    ctx = click.get_current_context()
    info = ctx.find_object(ScriptInfo)
    if info is not None:
        with info.load_app().app_context():
            return state()
    options = ctx.find_object(Standalone) or Standalone(None, None)
    if not options.database_url:
        raise click.UsageError("set GAMIFY_DATABASE_URL or pass --database-url")
    campaigns = options.campaigns or Path("campaigns")
    pem = os.environ.get("GAMIFY_SIGNING_KEY")
    return build_state(
        database_url=options.database_url,
        campaigns=campaigns,
        secret=os.environ.get("GAMIFY_SECRET_KEY") or "gamify-cli",
        start=False,
        signer=log_signer(pem, Path("."), os.environ.get("GAMIFY_LOG_HOST")) if pem else None,
    )


FLASK_COMMANDS = (
    check,
    simulate_command,
    verify,
    schema,
    export,
    rotate,
    checkpoint,
    attest,
    reload,
    db,
    report_command,
    loyalty_group(lambda: _state()),
    *guest_commands(lambda: _state()),
)


def _load_or_exit(path: Path) -> Campaign:
    try:
        campaign = load_campaign(path)
    except CampaignError as exc:
        for issue in exc.issues:
            click.echo(str(issue), err=True)
        raise SystemExit(FINDING) from None
    if isinstance(campaign, Challenge):
        raise click.UsageError(f"{path} is a challenge: only wheel and scratch games are drawn")
    return campaign


def _local(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """Columns padded to fit; the first ``left`` columns aligned left, numbers right."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(r) for r in rows)]


def format_odds(report: OddsReport) -> str:
    c = report.campaign
    lines = [
        f"{c.id} ({c.source}): {c.game}, {_local(c.starts, c.timezone)} to "
        f"{_local(c.ends, c.timezone)} {c.timezone}, config {c.config_hash[:12]}",
    ]
    rows = [
        [
            row.prize.id + ("" if row.prize.win else " (no win)"),
            str(row.prize.weight),
            f"{row.percent:.2f} %",
            f"1 in {row.one_in:,.1f}",
            "unlimited" if row.prize.stock is None else f"{row.prize.stock:,}",
            "-" if row.prize.value is None else str(row.prize.value),
        ]
        for row in report.prizes
    ]
    header = ["prize", "weight", "probability", "odds", "stock", "value"]
    lines += ["  " + line for line in _table(header, rows)]
    lines.append(f"  expected cost per play: {report.expected_cost.normalize():f}")
    lines.append(f"  chance to win something: {float(report.win_probability) * 100:.2f} %")
    lines.append(f"  fallback: {c.fallback}")
    limits = ", ".join(f"{lim.plays} per {lim.per}" for lim in c.limits) or "none"
    lines.append(f"  per-customer limits: {limits}")
    for warning in report.warnings:
        lines.append(f"  warning: {warning}")
    return "\n".join(lines) + "\n"


def format_challenge(c: Challenge) -> str:
    """What a challenge asks and gives, as a marketer checks it before it goes live."""
    windows = {"never": "one window", "week": "again every week", "month": "again every month"}
    lines = [
        f"{c.id} ({c.source}): challenge, {_local(c.starts, c.timezone)} to "
        f"{_local(c.ends, c.timezone)} {c.timezone}, {windows[c.repeat]}, complete {c.complete}",
    ]
    for step in c.steps:
        if step.quiz is not None:
            quiz = step.quiz
            what = (
                f"quiz of {len(quiz.questions)} questions, {quiz.pass_mark} right to pass, "
                f"{quiz.attempts} attempt(s) per window"
            )
        else:
            goal = f"sum of {step.sum} to {step.target}" if step.sum else f"{step.count} x"
            what = f"{goal} {step.event}"
            if step.at_most is not None:
                what += f", at most {step.at_most.times} per {step.at_most.per}"
        lines.append(f"  step {step.id}: {what}")
    reward = c.reward
    given = [reward.label.get("en")]
    if reward.coupon is not None:
        given.append(f"coupon {reward.coupon.pattern or reward.coupon.pool}")
    if reward.plays is not None:
        given.append(f"{reward.plays.count} extra play(s) of {reward.plays.campaign}")
    if reward.points is not None:
        given.append(f"{reward.points} points")
    lines.append(f"  reward: {'; '.join(given)}")
    lines.append(f"  winners: {'unlimited' if c.winners_max is None else f'{c.winners_max:,}'}")
    return "\n".join(lines) + "\n"


def format_loyalty(loyalty: Loyalty) -> str:
    """What the programme earns, gives and sells, as a marketer checks it before it goes live."""
    expiry = (
        "points never expire"
        if loyalty.expire_after_days is None
        else f"points expire {loyalty.expire_after_days} days after they become usable"
    )
    lines = [
        f"{LOYALTY_ID} ({loyalty.source}): {loyalty.timezone}, order points usable after "
        f"{loyalty.pending_days} days, {expiry}",
    ]
    for rule in loyalty.earn:
        if rule.points_per_unit is not None:
            what = f"{rule.points_per_unit.normalize():f} point(s) per unit of the order total"
        else:
            what = f"{rule.points} points"
        if rule.at_most is not None:
            what += f", at most {rule.at_most.times} per {rule.at_most.per}"
        lines.append(f"  earn {rule.event}: {what}")
    if loyalty.tiers is not None:
        lines.append(f"  tiers on points earned, {loyalty.tiers.window}:")
        rows = []
        for level in loyalty.tiers.levels:
            given = []
            if level.reward is not None and level.reward.coupon is not None:
                coupon = level.reward.coupon
                given.append(f"coupon {coupon.pattern or coupon.pool}")
            if level.reward is not None and level.reward.plays is not None:
                plays = level.reward.plays
                given.append(f"{plays.count} extra play(s) of {plays.campaign}")
            rows.append(
                [
                    level.id,
                    f"{level.min:,}",
                    f"x{level.multiplier.normalize():f}",
                    "; ".join(given) or "-",
                ]
            )
        lines += _with_text(["level", "min", "multiplier", "reward (once)"], rows)
    if loyalty.rewards:
        lines.append("  rewards:")
        rows = [
            [
                reward.id,
                f"{reward.cost:,}",
                "unlimited" if reward.stock is None else f"{reward.stock:,}",
                f"coupon {reward.coupon.pattern or reward.coupon.pool}",
            ]
            for reward in loyalty.rewards
        ]
        lines += _with_text(["reward", "cost", "stock", "gives"], rows)
    for warning in _loyalty_warnings(loyalty):
        lines.append(f"  warning: {warning}")
    return "\n".join(lines) + "\n"


def _loyalty_warnings(loyalty: Loyalty) -> list[str]:
    """Texts the shipped languages lack (the card would fall back to another language)."""
    levels = loyalty.tiers.levels if loyalty.tiers is not None else ()
    texts = [(f"label of level `{lv.id}`", lv.label) for lv in levels]
    texts += [
        (f"reward label of level `{lv.id}`", lv.reward.label)
        for lv in levels
        if lv.reward is not None and lv.reward.label is not None
    ]
    texts += [(f"label of reward `{r.id}`", r.label) for r in loyalty.rewards]
    texts += [
        (f"description of reward `{r.id}`", r.description) for r in loyalty.rewards if r.description
    ]
    found = []
    for name, text in texts:
        missing = [lang for lang in SHIPPED_LANGUAGES if lang not in text.languages]
        if missing:
            found.append(f"{name} has no text in {', '.join(missing)}")
    return found


def _with_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A table whose last column is text, aligned left after the numbers."""
    table = _table(header[:-1], [row[:-1] for row in rows])
    width = max(len(line) for line in table)
    texts = [header[-1], *(row[-1] for row in rows)]
    return [f"    {line.ljust(width)}  {text}" for line, text in zip(table, texts, strict=True)]


def format_simulation(result: Simulation) -> str:
    c = result.campaign
    lines = [
        f"{c.id}: {result.plays:,} plays by a pool of {result.customers:,} customers, "
        f"server seed {result.server_seed}",
    ]
    if result.refused:
        lines.append(f"  {result.refused:,} attempts refused by per-customer limits")
    if result.skipped:
        lines.append(
            f"  {result.skipped:,} time slots without a play (every shopper tried was over a limit)"
        )
    expected = result.expected
    rows = []
    for prize in c.prizes:
        out = result.ran_out.get(prize.id)
        rows.append(
            [
                prize.id,
                plays(expected[prize.id]),
                f"{result.drawn[prize.id]:,}",
                f"{result.awarded[prize.id]:,}",
                f"play {out[0]:,}, {_local(out[1], c.timezone)}" if out else "-",
            ]
        )
    header = ["prize", "expected", "drawn", "awarded", "stock ran out at"]
    lines += ["  " + line for line in _table(header, rows)]
    lines.append(f"  total cost: {result.cost.normalize():f}")
    if result.capped_days:
        days = sorted(result.capped_days)
        lines.append(f"  daily budget reached on {len(days)} day(s), from {days[0]} to {days[-1]}")
    if result.total_cap_at is not None:
        play, at = result.total_cap_at
        lines.append(f"  total budget reached at play {play:,}, {_local(at, c.timezone)}")
    return "\n".join(lines) + "\n"


def format_verify(report: Report) -> str:
    revealed = f"{report.revealed_epochs} revealed"
    lines = [
        f"OK: {report.campaign}: {report.plays:,} plays verified, {report.configs} config "
        f"version(s), {report.epochs} epoch(s) ({revealed})",
    ]
    if report.unrevealed_plays:
        lines.append(
            f"  {report.unrevealed_plays:,} plays belong to epochs whose seed is not revealed "
            "yet: everything but their drawn prize was checked"
        )
    if report.plays:
        lines.append(f"  from {report.first_at} to {report.last_at}")
        awarded = ", ".join(f"{pid} {n:,}" for pid, n in report.awarded.most_common())
        lines.append(f"  awarded: {awarded}")
    lines.append(f"  head hash: {report.head}")
    lines.append(f"  tree root: {report.root} ({report.plays:,} leaves)")
    if report.checkpoint is not None:
        signed = report.checkpoint
        lines.append(f"  matches the signed checkpoint of {signed.origin} at size {signed.size:,}")
    return "\n".join(lines)


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read the {what} file {path}: {exc}") from None


class ProgressBar:
    """A one-line bar on a terminal, redrawn at most ten times a second; silent otherwise."""

    def __init__(self, total: int, stream: IO[str], clock: Callable[[], float] = time.monotonic):
        self.total = max(total, 1)
        self.stream = stream
        self.clock = clock
        self.enabled = stream.isatty()
        self.started = clock()
        self.drawn_at = 0.0

    def update(self, done: int) -> None:
        now = self.clock()
        if now - self.drawn_at < 0.1 and done < self.total:
            return
        self.drawn_at = now
        share = min(done / self.total, 1.0)
        filled = int(share * 30)
        rate = done / max(now - self.started, 1e-9) / 1e6
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:6.1%} {rate:6.1f} MB/s")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()
