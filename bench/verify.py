"""How fast ``gamify verify`` checks a bundle, and whether its memory stays flat.

Generates seeded bundles of 100,000 and 1,000,000 plays (cached under bench/out/), then runs
the verifier in a fresh process per size so each peak RSS is its own. The baseline, measured in
the same run on the same file, is the bare floor of any verifier: read each line, parse its JSON
and hash it once. Only the ratio is comparable between machines.

    .venv/bin/python bench/verify.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from gamify.audit.verify import verify_bundle
from gamify.campaigns.simulate import export_simulation
from gamify.core.campaign import Campaign, Prize, Text
from gamify.core.rules import Budget, Limit

OUT = Path(__file__).resolve().parent / "out"


def bench_campaign() -> Campaign:
    """Five prizes with stock and a daily budget, so the fallback rules are exercised too."""

    def prize(pid: str, weight: int, **kw: object) -> Prize:
        return Prize(id=pid, label=Text((("en", pid),)), weight=weight, **kw)  # type: ignore[arg-type]

    return Campaign(
        id="bench-wheel",
        game="wheel",
        title=Text((("en", "Bench"),)),
        timezone="Europe/Madrid",
        starts=datetime(2026, 1, 1, tzinfo=UTC),
        ends=datetime(2026, 12, 31, tzinfo=UTC),
        prizes=(
            prize("ten-off", 30, value=Decimal(5)),
            prize("free-shipping", 20, value=Decimal(4)),
            prize("gift-card", 5, stock=5000, value=Decimal(50)),
            prize("tablet", 1, stock=10, value=Decimal(329)),
            prize("try-again", 44, win=False),
        ),
        fallback="try-again",
        limits=(Limit(1000, "day"),),
        budget=Budget(max_value_per_day=Decimal(12000)),
    )


def bundle(size: int) -> Path:
    path = OUT / f"bundle-{size}.jsonl"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        started = time.perf_counter()
        export_simulation(bench_campaign(), size, "bench", path, customers=size)
        print(f"generated {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def child(mode: str, path: Path) -> None:
    """Run one measurement in this (fresh) process and print it as JSON."""
    started = time.perf_counter()
    if mode == "verify":
        plays = verify_bundle(path).plays
    else:
        plays = 0
        with path.open("rb") as handle:
            for line in handle:
                record = json.loads(line)
                hashlib.sha256(line).digest()
                plays += record["type"] == "play"
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"plays": plays, "seconds": seconds, "peak_kib": peak_kib}))


def measure(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'plays':>10} {'verify plays/s':>15} {'floor lines/s':>14} {'ratio':>6} "
        f"{'verify peak RSS':>16}"
    )
    peaks = []
    for size in sizes:
        path = bundle(size)
        floor = measure("floor", path)
        result = measure("verify", path)
        verify_rate = result["plays"] / result["seconds"]
        floor_rate = floor["plays"] / floor["seconds"]
        peaks.append(result["peak_kib"])
        print(
            f"{size:>10,} {verify_rate:>15,.0f} {floor_rate:>14,.0f} "
            f"{verify_rate / floor_rate:>6.2f} {result['peak_kib'] / 1024:>13.1f} MiB",
            flush=True,
        )
    if len(peaks) > 1:
        print(
            f"peak memory, largest vs smallest bundle: {peaks[-1] / peaks[0]:.2f}x "
            "(goal: the same, i.e. about 1.0x)"
        )


if __name__ == "__main__":
    main()
