"""What the benchmarks share to load a server with wrk: the Lua that counts statuses and
reports them, running wrk, and reading its report into a :class:`Measure`."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

COUNTING = """
-- statuses counted per thread, summed and reported by done() (read by wrk_load.run)
function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("STATUS %s %d\\n", k, v)) end
  io.write(string.format("DURATION_US %d\\n", summary.duration))
  io.write(string.format("ERRORS %d %d %d %d %d\\n", summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
"""
"""Appended to a benchmark's request script, which keeps its threads in a global ``threads``
table and gives each a ``statuses`` table."""


@dataclass
class Measure:
    ok: int
    seconds: float
    statuses: Counter[str]
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    @property
    def problems(self) -> str:
        bad = {k: v for k, v in self.statuses.items() if not k.startswith("2")}
        parts = [f"{k}x{v}" for k, v in sorted(bad.items())]
        if self.errors:
            parts.append(f"socket errors x{self.errors}")
        return ", ".join(parts)


def run(script: Path, url: str, seconds: float, connections: int) -> Measure:
    """wrk with ``script`` (ending in :data:`COUNTING`) against ``url`` for ``seconds``."""
    done = subprocess.run(
        [
            "wrk",
            *("-t", str(min(2, connections)), "-c", str(connections)),
            *("-d", f"{seconds:g}s", "--timeout", "30s", "-s", str(script), url),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    statuses: Counter[str] = Counter()
    for status, count in re.findall(r"^STATUS (\d+) (\d+)$", done.stdout, re.M):
        statuses[status] += int(count)
    duration = re.search(r"^DURATION_US (\d+)$", done.stdout, re.M)
    errors = re.search(r"^ERRORS (\d+) (\d+) (\d+) (\d+) (\d+)$", done.stdout, re.M)
    if duration is None or errors is None:
        raise SystemExit(f"unexpected wrk output:\n{done.stdout}\n{done.stderr}")
    # The status errors are the non-2xx responses, already in statuses.
    socket_errors = sum(int(errors.group(i)) for i in (1, 2, 3, 5))
    ok = sum(v for k, v in statuses.items() if k.startswith("2"))
    return Measure(ok, int(duration.group(1)) / 1e6, statuses, socket_errors)
