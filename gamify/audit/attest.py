"""Statistical evidence that a campaign's draws follow its odds, as a statement an auditor can
sign (``gamify attest``).

The bundle is verified first (every rule of CONTRACT §5 and §12, and its tree against a signed
checkpoint when one is given): the statistics then describe draws the log proves. Over the
closed epochs' plays (their seeds revealed, so every draw was re-derived), two tests:

- Pearson's chi-square goodness of fit of the *drawn* prizes (before stock and budget
  substitute the fallback) against the configured odds, config version by config version,
  combined (:func:`gamify.core.goodness_of_fit.combined`);
- the Wald–Wolfowitz runs test of wins and losses in draw order: streaks too long or too
  regular for chance.

Both stream over the file, so a bundle of any size is attested in constant memory.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from gamify.audit.bundle import read_records
from gamify.audit.verify import Report, verify_bundle
from gamify.core.checkpoint import Checkpoint
from gamify.core.errors import BundleError
from gamify.core.goodness_of_fit import FitTest, Runs, RunsTest, chi_square, combined
from gamify.core.rules import Rules
from gamify.core.version import __version__

ALPHA = 0.01


@dataclass(frozen=True)
class Attestation:
    report: Report
    bundle_sha256: str
    epochs: tuple[int, ...]
    draws: int
    fit: FitTest
    runs: RunsTest
    alpha: float
    made_at: datetime

    @property
    def rejected(self) -> list[str]:
        """The tests whose p-value falls below alpha."""
        return [
            name
            for name, p in (("chi-square", self.fit.p_value), ("runs", self.runs.p_value))
            if p is not None and p < self.alpha
        ]

    def statement(self, bundle_name: str) -> str:
        """The plain text an auditor reads, keeps and signs."""
        report, fit, runs = self.report, self.fit, self.runs
        signed = report.checkpoint
        checkpoint = (
            f"{signed.origin}, size {signed.size:,}, root {signed.root.hex()} (signature "
            "checked; the bundle's tree matches it)"
            if signed is not None
            else "none given (the tree's root is stated below)"
        )
        lines = [
            f"gamify attestation of campaign {report.campaign}",
            "",
            f"Bundle: {bundle_name}, SHA-256 {self.bundle_sha256}",
            f"  {report.plays:,} plays verified by gamify verify (CONTRACT §5 and §12): the "
            "chain, every nonce, every draw of a revealed epoch, every substitution.",
            f"  Head hash {report.head}; Merkle tree root {report.root}.",
            f"Checkpoint: {checkpoint}",
            f"Epochs tested: {_epochs(self.epochs)} (closed: seeds revealed), {self.draws:,} "
            "draws.",
            "",
            "1. Pearson's chi-square goodness of fit of the drawn prizes against the configured "
            "odds, each config version tested against its own and combined:",
            f"   X² = {fit.statistic:.4f}, {fit.dof} degrees of freedom, "
            f"p = {_p(fit.p_value)}, n = {fit.sample:,}"
            + (
                f" ({fit.small_expected} categories expected fewer than 5 times: the p-value "
                "is approximate)"
                if fit.approximate
                else ""
            ),
            "2. Wald–Wolfowitz runs test of wins and losses in draw order:",
            f"   {runs.runs:,} runs (expected {runs.expected:,.1f}), {runs.wins:,} wins, "
            f"{runs.losses:,} losses, z = {runs.z:.4f}, p = {_p(runs.p_value)} (two-sided)",
            "",
            f"At α = {self.alpha}: "
            + (
                f"EVIDENCE AGAINST THE CONFIGURED ODDS ({' and '.join(self.rejected)} test)."
                if self.rejected
                else "no evidence against the configured odds."
            ),
            f"Made with gamify {__version__} on {self.made_at:%Y-%m-%d %H:%M} UTC.",
            "",
            "Auditor: ______________________   Date: ____________   Signature: ______________",
        ]
        return "\n".join(lines) + "\n"


def attest(
    path: Path,
    epochs: Collection[int] | None = None,
    checkpoint: Checkpoint | None = None,
    alpha: float = ALPHA,
) -> Attestation:
    """Verify the bundle, then test the drawn prizes of ``epochs`` (default: every closed
    one). Raises :class:`BundleError` when the bundle does not verify, or when an epoch asked
    for is not closed."""
    report = verify_bundle(path, checkpoint=checkpoint)
    rules: dict[str, Rules] = {}
    revealed: set[int] = set()
    for _, _, record in read_records(path):
        if record["type"] == "campaign":
            rules[record["config_hash"]] = Rules.from_config(record["config"])
        elif record["type"] == "epoch" and record.get("server_seed") is not None:
            revealed.add(record["epoch"])
    chosen = revealed if epochs is None else set(epochs)
    if open_ := sorted(chosen - revealed):
        raise BundleError("attest", f"epoch {open_[0]} is not closed: its draws cannot be tested")
    counts: dict[str, Counter[str]] = {}
    runs = Runs()
    for _, _, record in read_records(path):
        if record["type"] != "play" or record["epoch"] not in chosen:
            continue
        config = rules[record["config_hash"]]
        counts.setdefault(record["config_hash"], Counter())[record["drawn"]] += 1
        runs.add(config.prize(record["drawn"]).win)
    fit = combined(
        [
            chi_square(
                [drawn[p.id] for p in rules[digest].prizes],
                [p.weight / rules[digest].total_weight for p in rules[digest].prizes],
            )
            for digest, drawn in counts.items()
        ]
    )
    return Attestation(
        report=report,
        bundle_sha256=_sha256(path),
        epochs=tuple(sorted(chosen)),
        draws=sum(sum(c.values()) for c in counts.values()),
        fit=fit,
        runs=runs.test(),
        alpha=alpha,
        made_at=datetime.now(UTC),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _p(value: float | None) -> str:
    return "n/a (nothing to test)" if value is None else f"{value:.4g}"


def _epochs(numbers: tuple[int, ...]) -> str:
    return ", ".join(map(str, numbers)) if numbers else "none"
