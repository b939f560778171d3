"""Import throughput: `sla ingest` of a generated 1,000,000-ticket Zendesk CSV vs DuckDB's bare read_csv.

    .venv/bin/python bench/bench_import.py            # 1,000,000 tickets
    .venv/bin/python bench/bench_import.py --quick    # 100,000 tickets

Each measurement runs in its own process (fresh database, cold DuckDB instance) and reports its own wall time,
CPU time (all threads; steadier than wall time on a shared machine) and peak resident memory (getrusage).
Printed: medians over the runs and the ratio of each import variant to the bare read (an in-memory
`CREATE TABLE AS SELECT * FROM read_csv(...)` with DuckDB's own type detection).

- "raw load" is `sla ingest` with a config folder that has no sla.yaml: read the file, trim and parse every cell,
  check it (per-cell reject reasons naming line, column and value), write items and rejected rows into the
  database file (compressed on disk), record the import and the file's SHA-256, commit, checkpoint and swap the
  file in. No results are judged, and the database is new, so there is no copy of an existing file.
- "ingest + results" is the full `sla ingest` with config/sla.yaml: the same plus judging every imported item
  (here a first judging of all 1,000,000 items, as the database had no results).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(mode: str, csv_path: Path, db: Path, config: Path) -> None:
    """Run one measured operation in this process and print its timing as JSON."""
    import duckdb

    from sla_store.ingest import ingest

    # Module loading is not import work: the clock starts after it ("process s" shows the whole run).
    started = time.perf_counter()
    cpu_started = time.process_time()
    if mode == "read_csv":
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv_path}')")
        rows = con.sql("SELECT count(*) FROM t").fetchall()[0][0]
    else:
        rows = ingest(csv_path, db=db, format_name="zendesk", config=config, now=NOW).rows_loaded
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "rows": rows, "peak_mb": _peak_mb()}))


def measure(mode: str, csv_path: Path, config: Path, workdir: Path) -> dict:
    db = workdir / f"{mode}.duckdb"
    if db.exists():
        db.unlink()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--csv", str(csv_path), "--db", str(db), "--config", str(config)],
        capture_output=True, text=True, cwd=REPO, check=False,
        env={**os.environ, "SLA_NOW": NOW.isoformat()},
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="100,000 tickets instead of 1,000,000")
    parser.add_argument("--tickets", type=int, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=["read_csv", "raw", "full"])
    parser.add_argument("--csv", type=Path)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--config", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.csv, args.db, args.config)
        return

    sys.path.insert(0, str(REPO))
    from sla_store.sample import write_ticket_csv
    from sla_store.sample_tickets import generate_tickets

    tickets = args.tickets or (100_000 if args.quick else 1_000_000)
    out = REPO / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"zendesk_tickets_{tickets}.csv"
    if not csv_path.exists():
        started = time.perf_counter()
        frame, _ = generate_tickets(tickets, seed=42, now=NOW)
        write_ticket_csv(frame, csv_path)
        print(f"generated {tickets:,} tickets in {time.perf_counter() - started:.1f}s "
              f"({csv_path.stat().st_size / 1e6:.0f} MB)")

    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        no_policy = workdir / "no-policy"
        (no_policy / "mappings").mkdir(parents=True)
        for mapping in (REPO / "config" / "mappings").glob("*.yaml"):
            (no_policy / "mappings" / mapping.name).write_text(mapping.read_text())
        variants = [("read_csv", "bare DuckDB read_csv", REPO / "config"),
                    ("raw", "raw load", no_policy),
                    ("full", "ingest + results", REPO / "config")]
        runs: dict[str, list[dict]] = {mode: [] for mode, _, _ in variants}
        for _ in range(args.runs):
            for mode, _, config in variants:
                runs[mode].append(measure(mode, csv_path, config, workdir))

    base = statistics.median(r["seconds"] for r in runs["read_csv"])
    cpu_base = statistics.median(r["cpu_seconds"] for r in runs["read_csv"])
    print(f"\n{tickets:,} tickets, {csv_path.stat().st_size / 1e6:.0f} MB CSV, median of {args.runs} runs "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"{'variant':<22}{'wall s':>8}{'rows/s':>11}{'ratio':>8}{'cpu s':>8}{'cpu ratio':>10}"
          f"{'process s':>11}{'peak MB':>9}")
    for mode, label, _ in variants:
        seconds = statistics.median(r["seconds"] for r in runs[mode])
        cpu = statistics.median(r["cpu_seconds"] for r in runs[mode])
        process = statistics.median(r["process_seconds"] for r in runs[mode])
        peak = max(r["peak_mb"] for r in runs[mode])
        rows = runs[mode][0]["rows"]
        print(f"{label:<22}{seconds:>8.2f}{rows / seconds:>11,.0f}{seconds / base:>7.2f}x{cpu:>8.2f}"
              f"{cpu / cpu_base:>9.2f}x{process:>11.2f}{peak:>9.0f}")
    raw = statistics.median(r["seconds"] for r in runs["raw"])
    raw_cpu = statistics.median(r["cpu_seconds"] for r in runs["raw"])
    full = statistics.median(r["seconds"] for r in runs["full"])
    full_cpu = statistics.median(r["cpu_seconds"] for r in runs["full"])
    command = "python bench/bench_import.py" + (" --quick" if args.quick else "") + (
        f" --tickets {args.tickets}" if args.tickets else "")
    sys.path.insert(0, str(REPO / "bench"))
    from figures import figure, record

    record("bench_import", [
        figure(f"raw import of {tickets:,} tickets within 3x of a bare DuckDB `read_csv`",
               f"{raw:.2f} s vs {base:.2f} s wall (CPU {raw_cpu:.2f} s vs {cpu_base:.2f} s, {raw_cpu / cpu_base:.2f}x); "
               f"median of {args.runs}; peak {max(r['peak_mb'] for r in runs['raw']):.0f} MB", command,
               ratio=raw / base, limit=3),
        figure("the same in CPU seconds (user + system, all threads: less stretched by other work on a shared "
               "machine)", f"{raw_cpu:.2f} s vs {cpu_base:.2f} s", command, ratio=raw_cpu / cpu_base, limit=3),
        figure(f"`sla ingest` of the same {tickets:,} tickets with results (every item judged), against the same read",
               f"{full:.2f} s vs {base:.2f} s wall (CPU {full_cpu:.2f} s vs {cpu_base:.2f} s, {full_cpu / cpu_base:.2f}x)",
               command, ratio=full / base),
    ], note=("The raw load is the import alone (no results judged, a new database file: no file copy); the second "
             "row adds judging every imported item. The bare read keeps its table in an in-memory database; the "
             "import writes to the database file."))


if __name__ == "__main__":
    main()
