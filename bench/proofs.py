"""Merkle proofs from the stored tree: the cost of an inclusion proof at 1,000,000 plays against
the same at 1,000 (CONTRACT §12's goal: at most 2 ×), and of a consistency proof.

For each database (a throwaway PostgreSQL database on 127.0.0.1:5432, and a SQLite file) the
tree of 1,000,000 synthetic leaves is stored as plays store it: its complete subtree nodes
(about two per leaf) and the frontier in the campaign's row. Then proofs are asked through the
service, as the API asks them, for random plays: at size 1,000 and at size 1,000,000, in
alternating rounds; each proof is checked with the RFC 9162 verifier. Printed: microseconds per
proof at each size, and the ratio.

    .venv/bin/python bench/proofs.py [--leaves 1000000] [--proofs 2000] [--db postgres|sqlite|both]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the test support: throwaway databases

from databases import postgres_database  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from gamify.core import merkle  # noqa: E402
from gamify.storage.database import make_engine, upgrade, writing  # noqa: E402
from gamify.storage.tables import campaign_t, tree_t  # noqa: E402
from gamify.storage.wiring import sql_service  # noqa: E402

CAMPAIGN = "bench-proofs"
SMALL = 1000
CHUNK = 50_000


def store_tree(engine: Engine, leaves: int) -> list[bytes]:
    """The tree of ``leaves`` synthetic leaves, stored as plays store it; the leaf hashes."""
    hashes = [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(leaves)]
    frontier = merkle.Frontier()
    rows: list[dict[str, object]] = []
    with writing(engine) as conn:
        conn.execute(campaign_t.insert().values(id=CAMPAIGN, next_seq=leaves))
        for leaf in hashes:
            rows.extend(
                {"campaign": CAMPAIGN, "level": level, "idx": index, "hash": digest}
                for level, index, digest in frontier.append(leaf)
            )
            if len(rows) >= CHUNK:
                conn.execute(tree_t.insert(), rows)
                rows.clear()
        if rows:
            conn.execute(tree_t.insert(), rows)
        conn.execute(
            campaign_t.update().where(campaign_t.c.id == CAMPAIGN).values(tree=frontier.to_bytes())
        )
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        else:
            conn.execute(text("ANALYZE"))
    return hashes


def measure(engine: Engine, leaves: list[bytes], size: int, proofs: int, seed: int) -> float:
    """Microseconds per inclusion proof at ``size``, each checked."""
    service = sql_service(engine, "bench-proofs")
    rng = random.Random(seed)
    seqs = [rng.randrange(size) for _ in range(proofs)]
    _, root = service.tree_root(CAMPAIGN, size)
    started = time.perf_counter()
    for seq in seqs:
        proof = service.inclusion(CAMPAIGN, seq, size)
        assert merkle.verify_inclusion(leaves[seq], seq, size, proof.hashes, root)
    return (time.perf_counter() - started) / proofs * 1e6


def run(name: str, engine: Engine, args: argparse.Namespace) -> None:
    upgrade(engine)
    started = time.perf_counter()
    leaves = store_tree(engine, args.leaves)
    print(f"{name}: {args.leaves:,} leaves stored in {time.perf_counter() - started:.1f} s")
    small: list[float] = []
    large: list[float] = []
    for n in range(args.rounds):
        small.append(measure(engine, leaves, SMALL, args.proofs, n))
        large.append(measure(engine, leaves, args.leaves, args.proofs, n))
        print(f"  round {n + 1}: {small[-1]:8.1f} us at {SMALL:,}, {large[-1]:8.1f} us at "
              f"{args.leaves:,}")  # fmt: skip
    service = sql_service(engine, "bench-proofs")
    started = time.perf_counter()
    for old in range(1, args.proofs + 1):
        service.consistency(CAMPAIGN, old * (args.leaves // (args.proofs + 1)), args.leaves)
    consistency = (time.perf_counter() - started) / args.proofs * 1e6
    ratio = statistics.median(large) / statistics.median(small)
    verdict = "met" if ratio <= 2 else "NOT met"
    print(f"{name}: inclusion proof {statistics.median(small):.1f} us at {SMALL:,} plays, "
          f"{statistics.median(large):.1f} us at {args.leaves:,}: ratio {ratio:.2f} "
          f"(goal <= 2: {verdict}); consistency proof at {args.leaves:,}: "
          f"{consistency:.1f} us")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--proofs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", choices=("postgres", "sqlite", "both"), default="both")
    args = parser.parse_args()
    if args.db in ("postgres", "both"):
        with postgres_database("gamify_bench_proofs") as url:
            engine = make_engine(url)
            try:
                run("postgres", engine, args)
            finally:
                engine.dispose()
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="gamify-bench-proofs-") as folder:
            engine = make_engine(f"sqlite:///{Path(folder) / 'proofs.sqlite3'}")
            try:
                run("sqlite", engine, args)
            finally:
                engine.dispose()


if __name__ == "__main__":
    main()
