"""Scale: what a write costs against the size of the history, and the read commands at several sizes.

    .venv/bin/python bench/bench_scale.py                          # 100,000 / 1,000,000 / 10,000,000 tickets
    .venv/bin/python bench/bench_scale.py --sizes 10000,100000     # quick (also: --quick)

Every measurement runs `sla ...` (or one Python call) in its own process and reads that process's own wall time,
CPU time and peak resident memory (os.wait4). Databases are built once with `sla sample --tickets N` into
bench/out/scale-N.duckdb (the build's own figures are kept next to it) and copied before every write, so each
write starts from the same file. Measured at each size:
- `sla sample --tickets N --days D` (build): time and peak memory (aim at 10M: under 8 GiB); D keeps the
  1M sample's daily rate (`history_days`), so 10M tickets is five years of history;
- `sla ingest` of a 1,000-ticket export of new tickets (aim: under 5 s and 1 GiB at 10M, within 3x of the
  smallest size);
- committing a policy version effective 7 days before `now`: how many results it re-judged and the time;
- `sla recompute` on the cached database (first, once; `--fresh` measures it again): time, peak memory (aim:
  under 8 GiB at 10M) and CPU time / wall time (both cores: > 1);
- `sla attainment`, `sla check`, `sla report`: best of 3 (aim: the largest size within 3x of the one before).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from figures import figure, record  # noqa: E402

from sla_store import segments  # noqa: E402
from sla_store.db import copy_database  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
MONTH = "2026-10"
OUT = ROOT / "bench" / "out"
SLA = str(Path(sys.executable).with_name("sla"))
GIB = 1024 ** 3


def measured(args: list[str], env: dict | None = None, ok=(0,)) -> dict:
    """Run one process; its wall seconds, CPU seconds (user + system, all threads) and peak RSS in bytes."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=err, text=True,
                                 env={**os.environ, "SLA_NOW": NOW.isoformat(), **(env or {})})
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code not in ok:
        raise SystemExit(f"{' '.join(args)} failed ({code}):\n{stderr[-2000:]}")
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak": usage.ru_maxrss * 1024,
            "stdout": stdout}


def history_days(tickets: int) -> int:
    """Days of history for a sample of `tickets`: the 1,000,000-ticket sample's daily rate (about 5,500 a day,
    182 days), so a larger database is a longer history - 10,000,000 tickets is five years - not a busier one.
    Time-windowed reads (a month's report, the live queue's open clocks, burn windows) then read the same
    number of rows at every size, as in a real helpdesk whose history grows."""
    return max(182, round(182 * tickets / 1_000_000))


def build(tickets: int) -> tuple[Path, dict]:
    db = OUT / f"scale-{tickets}.duckdb"
    facts = db.with_suffix(".json")
    days = history_days(tickets)
    if db.exists() and facts.exists() and json.loads(facts.read_text()).get("days") == days:
        return db, json.loads(facts.read_text())
    samples = OUT / f"scale-{tickets}-samples"
    print(f"  building {db.name} ...", flush=True)
    result = measured([SLA, "sample", "--tickets", str(tickets), "--db", str(db), "--samples-dir", str(samples),
                       "--now", NOW.isoformat(), "--days", str(days), "--json"])
    shutil.rmtree(samples, ignore_errors=True)
    result["size"] = database_bytes(db)
    result["days"] = days
    facts.write_text(json.dumps({k: v for k, v in result.items() if k != "stdout"}))
    return db, result


def database_bytes(db: Path) -> int:
    """The live file and its sealed history together."""
    return sum(path.stat().st_size for path in [db, *segments.sealed_files(db)])


def export_1000(path: Path) -> Path:
    if not path.exists():
        from sla_store.sample import write_ticket_csv
        from sla_store.sample_tickets import generate_tickets

        frame, _ = generate_tickets(1000, seed=7, now=NOW, first_id=90_000_001)
        write_ticket_csv(frame, path)
    return path


COMMIT = """
import json, sys, time
from datetime import date, datetime
from sla_core.policy_yaml import parse_policy_mapping
from sla_store.db import connect_read_only
from sla_store.policy_store import commit_policy, load_committed
config, db, now, effective = sys.argv[1], sys.argv[2], datetime.fromisoformat(sys.argv[3]), date.fromisoformat(sys.argv[4])
committed = load_committed(config)
raw = dict(committed.raw)
raw["targets"] = [dict(t) for t in raw["targets"]]
raw["targets"][4]["within"] = "3h"
started = time.perf_counter()
commit_policy(parse_policy_mapping(raw, "bench"), committed.version, "bench", "bench", effective_from=effective,
              config=config, db=db, now=now, allow_backdate=True)
seconds = time.perf_counter() - started
con = connect_read_only(db)
judged, total = con.sql("SELECT count(*) FILTER (WHERE computed_at = ?), count(*) FROM results", params=[now]).fetchall()[0]
print(json.dumps({"rejudged": judged, "results": total, "seconds": seconds}))
"""


def scratch_copy(db: Path, scratch: Path) -> Path:
    """A private copy of the database (its live file, and a link to the sealed history it names)."""
    copy = scratch / "copy.duckdb"
    for old in [copy, *segments.sealed_files(copy)]:
        old.unlink(missing_ok=True)
    return copy_database(db, copy)


def best(args: list[str], repeats: int, ok=(0,)) -> dict:
    runs = [measured(args, ok=ok) for _ in range(repeats)]
    return min(runs, key=lambda r: r["seconds"])


def recompute(db: Path, fresh: bool) -> dict:
    """`sla recompute` on the cached database itself (once: results are the same every time), kept in its facts."""
    facts_path = db.with_suffix(".json")
    facts = json.loads(facts_path.read_text())
    if "recompute" in facts and not fresh:
        return facts["recompute"]
    result = measured([SLA, "recompute", "--db", str(db), "--json"])
    facts["recompute"] = {k: v for k, v in result.items() if k != "stdout"}
    facts["recompute"]["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts_path.write_text(json.dumps(facts))
    return facts["recompute"]


def measure_size(tickets: int, repeats: int, scratch: Path, fresh: bool = False) -> dict:
    db, built = build(tickets)
    print(f"{tickets:,} tickets: {database_bytes(db) / 1e6:.0f} MB (live {db.stat().st_size / 1e6:.0f} MB), "
          f"built in {built['seconds']:.0f} s, "
          f"peak {built['peak'] / GIB:.2f} GiB", flush=True)
    figures = {"tickets": tickets, "days": built.get("days", history_days(tickets)), "build": built,
               "size": database_bytes(db), "live_size": db.stat().st_size}
    # First, so the database is judged by this code and policy before the writes below copy it.
    figures["recompute"] = recompute(db, fresh)
    r = figures["recompute"]
    print(f"  recompute: {r['seconds']:.1f} s, cpu {r['cpu']:.1f} s ({r['cpu'] / r['seconds']:.2f} cores), "
          f"peak {r['peak'] / GIB:.2f} GiB" + (f" (measured {r['date']})" if r.get("date") else ""), flush=True)
    export = export_1000(OUT / "scale-new-1000.csv")
    imports = []
    for _ in range(repeats):
        copy = scratch_copy(db, scratch)
        imports.append(measured([SLA, "ingest", str(export), "--format", "zendesk", "--db", str(copy), "--json"]))
    figures["import"] = min(imports, key=lambda r: r["seconds"])
    figures["import"]["results"] = json.loads(figures["import"]["stdout"])["results"]
    print(f"  import 1,000 tickets: {figures['import']['seconds']:.2f} s, "
          f"peak {figures['import']['peak'] / GIB:.2f} GiB, {figures['import']['results']} results written", flush=True)

    copy = scratch_copy(db, scratch)
    config = scratch / "config"
    shutil.rmtree(config, ignore_errors=True)
    shutil.copytree(ROOT / "config", config)
    moment = NOW + timedelta(hours=1)  # results re-judged by the commit carry this computed_at
    commit = measured([sys.executable, "-c", COMMIT, str(config), str(copy), moment.isoformat(),
                       (NOW - timedelta(days=7)).date().isoformat()])
    figures["commit"] = {**commit, **json.loads(commit["stdout"].strip().splitlines()[-1])}
    print(f"  policy commit effective 7 days back: re-judged {figures['commit']['rejudged']:,} of "
          f"{figures['commit']['results']:,} results in {figures['commit']['seconds']:.2f} s", flush=True)

    figures["attainment"] = best([SLA, "attainment", "--db", str(db), "--by", "team", "--json"], repeats)
    figures["check"] = best([SLA, "check", "--db", str(db), "--now", NOW.isoformat(), "--format", "json"], repeats,
                            ok=(0, 1))
    figures["report"] = best([SLA, "report", "--month", MONTH, "--db", str(db), "--out", str(scratch / "r.html")],
                             repeats)
    for name in ("attainment", "check", "report"):
        print(f"  sla {name}: {figures[name]['seconds']:.2f} s, peak {figures[name]['peak'] / GIB:.2f} GiB",
              flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000,10000000")
    parser.add_argument("--quick", action="store_true", help="10,000 and 100,000 tickets")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fresh", action="store_true", help="measure recompute again on cached databases")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [int(size) for size in args.sizes.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT) as scratch:
        runs = [measure_size(tickets, args.repeats, Path(scratch), args.fresh) for tickets in sizes]
    small, large = runs[0], runs[-1]
    before = runs[-2] if len(runs) > 1 else runs[0]
    cmd = f"python bench/bench_scale.py --sizes {','.join(str(s) for s in sizes)}"
    n = f"{large['tickets']:,}"
    rows = [
        figure(f"`sla sample --tickets {n}` peak RSS under 8 GiB",
               f"{large['build']['seconds']:.0f} s, peak {large['build']['peak'] / GIB:.2f} GiB, "
               f"files {large['size'] / 1e9:.2f} GB (live {large['live_size'] / 1e9:.2f} GB)", cmd, held=large["build"]["peak"] < 8 * GIB),
        figure(f"`sla recompute` at {n}: under 8 GiB, both cores (CPU/wall above 1 needs an idle machine)",
               f"{large['recompute']['seconds']:.0f} s, peak {large['recompute']['peak'] / GIB:.2f} GiB, "
               f"CPU/wall {large['recompute']['cpu'] / large['recompute']['seconds']:.2f}",
               cmd, held=large["recompute"]["peak"] < 8 * GIB),
        figure(f"1,000-ticket import into {n}: under 5 s (CPU) and 1 GiB",
               f"{large['import']['seconds']:.2f} s (CPU {large['import']['cpu']:.2f} s), peak "
               f"{large['import']['peak'] / GIB:.2f} GiB, {large['import']['results']:,} results written", cmd,
               held=large["import"]["cpu"] < 5 and large["import"]["peak"] < GIB),
        figure(f"1,000-ticket import: {n} vs {small['tickets']:,} tickets within 3x",
               f"{large['import']['seconds']:.2f} s vs {small['import']['seconds']:.2f} s (CPU "
               f"{large['import']['cpu']:.2f} s vs {small['import']['cpu']:.2f} s)", cmd,
               ratio=large["import"]["cpu"] / small["import"]["cpu"], limit=3),
        figure(f"policy commit at {n}: re-judges only the items it governs",
               f"{large['commit']['rejudged']:,} of {large['commit']['results']:,} results re-judged (created in the "
               f"last 7 days) in {large['commit']['seconds']:.1f} s", cmd, held=large["commit"]["rejudged"] <
               large["commit"]["results"]),
    ]
    for name in ("attainment", "check", "report"):
        rows.append(figure(
            f"`sla {name}` at {n} vs {before['tickets']:,} within 3x",
            f"{large[name]['seconds']:.2f} s vs {before[name]['seconds']:.2f} s (CPU {large[name]['cpu']:.2f} s vs "
            f"{before[name]['cpu']:.2f} s; peak {large[name]['peak'] / GIB:.2f} GiB)", cmd,
            ratio=large[name]["cpu"] / before[name]["cpu"], limit=3))
    trend = "; ".join(
        f"{r['tickets']:,} ({r['days']:,} days): import {r['import']['seconds']:.2f} s, recompute {r['recompute']['seconds']:.0f} s / "
        f"{r['recompute']['peak'] / GIB:.2f} GiB, build {r['build']['seconds']:.0f} s / {r['build']['peak'] / GIB:.2f} GiB"
        for r in runs)
    record("bench_scale", rows, note=(
        "Ratios and the 5 s test use CPU seconds (user + system of the process, all threads): on this shared "
        "machine other work left each process a fraction of a core, so wall times are shown but stretched by "
        f"waiting. Trend by size - {trend}."))
    for row in rows:
        print(f"{row['aim']}: {row['measured']}" + (f" ({row['ratio']:.2f}x)" if row["ratio"] else "")
              + f" holds: {row['held']}")


if __name__ == "__main__":
    main()
