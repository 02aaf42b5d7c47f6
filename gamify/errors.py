"""One base error for everything gamify raises on purpose.

Callers catch :class:`GamifyError` to tell a finding (a broken file, a forged bundle) from a
bug. Subclasses carry the data a caller needs to act, so nobody parses messages.
"""

from __future__ import annotations

from dataclasses import dataclass


class GamifyError(Exception):
    """Base of every error gamify raises deliberately."""


@dataclass(frozen=True)
class ConfigIssue:
    """One mistake in a campaign file, located so a marketer can jump to it."""

    file: str
    line: int
    column: int
    path: str
    message: str
    got: str | None = None

    def __str__(self) -> str:
        got = f" (got {self.got})" if self.got is not None else ""
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}{got}"


class CampaignError(GamifyError):
    """A campaign file (or folder) has mistakes; all of them are in :attr:`issues`."""

    def __init__(self, issues: list[ConfigIssue] | tuple[ConfigIssue, ...]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class BundleError(GamifyError):
    """An audit bundle breaks a rule; :attr:`seq` is the first faulty play, if any."""

    def __init__(self, rule: str, detail: str, *, seq: int | None = None, line: int | None = None):
        self.rule = rule
        self.detail = detail
        self.seq = seq
        self.line = line
        where = (
            f"seq {seq}" if seq is not None else f"line {line}" if line is not None else "bundle"
        )
        super().__init__(f"{where}: {rule}: {detail}")
