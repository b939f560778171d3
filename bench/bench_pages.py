"""Page render time (Streamlit AppTest run) on a small and a large sample database, and their ratio.

    python bench/bench_pages.py            # 10,000 vs 1,000,000 tickets
    python bench/bench_pages.py --quick    # 2,000 vs 50,000 tickets
    python bench/bench_pages.py --large 10000000   # bench_scale's 10M database, through a copy (2.6 GB; its
                                                   # kept tables filled once, about 25 s)

Databases come from the project's own sample generator and import pipeline (sla_store.sample) and are
kept in bench/out/ between runs; bench_scale's database of a size is reused through a copy (never written)
when it was written before the store kept its daily rollup and open clocks (sla_store.rollup), which the copy
then gains once. Each figure is the best of the repeats (the machine is shared, so the fastest run is the
one least disturbed by other work). "cold" clears Streamlit's caches before every run (what the first
visitor after an import waits for); "warm" is a rerun with the caches filled (every later interaction).
Aim (#14): cold render at the large size within 3x of the small one - a page reads what it shows.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from sla_store import reads, rollup  # noqa: E402
from sla_store.db import connect_read_only, copy_database, write_transaction  # noqa: E402
from sla_store.sample import build_sample_db  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from figures import figure, record  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PAGES = ("pages/overview.py", "pages/performance.py", "pages/live_queue.py", "pages/trends.py",
         "pages/internal_ops.py", "pages/data.py")
OUT = ROOT / "bench" / "out"


def keeps_tables(db: Path) -> bool:
    con = connect_read_only(db)
    try:
        return rollup.kept(con)
    finally:
        con.close()


def database(tickets: int) -> Path:
    shared = OUT / f"scale-{tickets}.duckdb"  # bench_scale's database of the same size, seed and history
    path = OUT / f"pages-{tickets}.duckdb"
    if shared.exists() and keeps_tables(shared):
        return shared
    if shared.exists() and not path.exists():
        started = time.perf_counter()
        copy_database(shared, path)
        with write_transaction(path) as con:
            rollup.rebuild(con)
        print(f"  copied {shared.name} and filled its daily rollup and open clocks in "
              f"{time.perf_counter() - started:.1f} s", flush=True)
    if path.exists() and not keeps_tables(path):  # built before the store kept them: build it again
        path.unlink()
    if not path.exists():
        started = time.perf_counter()
        build_sample_db(path, tickets=tickets, seed=42, now=NOW, samples_dir=OUT / f"samples-{tickets}",
                        config=ROOT / "config")
        print(f"  built {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def rollup_seconds(db: Path, repeats: int) -> float:
    """Computing the daily rollup from every result: what a database written before the store kept it costs
    its first visitor (once per version); kept databases are read without it."""
    con = connect_read_only(db)
    con.execute("SET TimeZone = 'UTC'")
    try:
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            frame = reads.rollup(con.cursor())
            best = min(best, time.perf_counter() - started)
        print(f"  rollup of {db.name}: {frame.height:,} rows in {best:.3f} s", flush=True)
        return best
    finally:
        con.close()


def render_times(db: Path, repeats: int) -> dict[str, tuple[float, float, float]]:
    """page -> (best cold seconds, best warm seconds, CPU seconds of the best cold run)."""
    os.environ.update(SLA_DB=str(db), SLA_CONFIG=str(ROOT / "config"), SLA_NOW=NOW.isoformat())
    at = AppTest.from_file(ROOT / "dashboard.py", default_timeout=300)
    at.run()
    for page in PAGES:  # warm-up: imports and the first script compile are not page cost
        at.switch_page(page).run()
    times = {}
    for page in PAGES:
        cold, warm = [], []
        for _ in range(repeats):
            st.cache_data.clear()
            at.switch_page(page)
            started, cpu = time.perf_counter(), time.process_time()
            at.run()
            cold.append((time.perf_counter() - started, time.process_time() - cpu))
            started = time.perf_counter()
            at.run()
            warm.append(time.perf_counter() - started)
            if at.exception:
                raise SystemExit(f"{page}: {at.exception[0].message}")
        best = min(cold)
        times[page] = (best[0], min(warm), best[1])
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 vs 50,000 tickets, one repeat")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--small", type=int, default=None)
    parser.add_argument("--large", type=int, default=None, help="e.g. 10000000 (reuses bench_scale's database)")
    args = parser.parse_args()
    small, large = (2_000, 50_000) if args.quick else (10_000, 1_000_000)
    small, large = args.small or small, args.large or large
    repeats = args.repeats or (1 if args.quick else 5)
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"page render (AppTest run, best of {repeats}) at {small:,} and {large:,} tickets", flush=True)
    small_db, large_db = database(small), database(large)
    rollup_small, rollup_large = rollup_seconds(small_db, repeats), rollup_seconds(large_db, repeats)
    print(f"  rollup ratio: {rollup_large / rollup_small:.1f}x (only for a database without the kept rollup)")
    small_times = render_times(small_db, repeats)
    large_times = render_times(large_db, repeats)
    print(f"{'page':<26}{'cold small':>12}{'cold large':>12}{'ratio':>8}{'warm small':>12}{'warm large':>12}"
          f"{'ratio':>8}")
    worst = 0.0
    for page in PAGES:
        (cs, ws, _), (cl, wl, _) = small_times[page], large_times[page]
        worst = max(worst, cl / cs)
        print(f"{page:<26}{cs:>11.3f}s{cl:>11.3f}s{cl / cs:>7.2f}x{ws:>11.3f}s{wl:>11.3f}s{wl / ws:>7.2f}x")
    print(f"worst cold ratio: {worst:.2f}x (aim: within 3x)")
    command = "python bench/bench_pages.py" + (" --quick" if args.quick else "") + (
        f" --small {args.small}" if args.small else "") + (f" --large {args.large}" if args.large else "")
    record("bench_pages", [
        figure(f"cold render of {page} at {large:,} within 3x of {small:,} tickets",
               f"{large_times[page][0]:.2f} s vs {small_times[page][0]:.2f} s (CPU {large_times[page][2]:.2f} s vs "
               f"{small_times[page][2]:.2f} s; warm {large_times[page][1]:.2f} s vs {small_times[page][1]:.2f} s; "
               f"best of {repeats}; shared 2-core machine)", command,
               ratio=large_times[page][0] / small_times[page][0], limit=3)
        for page in PAGES
    ] + [figure("daily rollup computed from every result (pages read the kept one; this is the fallback for a "
                "database written before it was kept)", f"{rollup_large:.2f} s vs {rollup_small:.2f} s",
                command, ratio=rollup_large / rollup_small)])


if __name__ == "__main__":
    main()
