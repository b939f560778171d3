"""Figures the bench scripts measured, kept as JSON in bench/out/ and written to bench/results.md.

Every bench script calls `record(bench, figures)` at its end; `bench/run_all.py` (`make bench`) runs them and
then `write_results()` turns every recorded file into bench/results.md: each aim, the measured figure, whether
it holds, the command that reproduces it, the machine and the date of the run.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "results.md"
ORDER = ("bench_import", "bench_scale", "bench_scale_10m", "bench_kernel", "bench_simulate", "bench_pages",
         "bench_dimensions")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.release()}, Python " \
           f"{platform.python_version()}"


def code_version() -> str:
    """The commit the bench ran (with "-dirty" for uncommitted changes), so a figure can be traced to its code."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def timings(run, repeat: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (user + system, all threads) of `repeat` runs of `run()`."""
    wall, cpu = [], []
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return wall, cpu


def figure(aim: str, measured: str, command: str, ratio: float | None = None, limit: float | None = None,
           held: bool | None = None) -> dict:
    """One row of results.md: `held` is ratio <= limit unless given."""
    if held is None and ratio is not None and limit is not None:
        held = ratio <= limit
    return {"aim": aim, "measured": measured, "command": command, "ratio": ratio, "limit": limit, "held": held}


def record(bench: str, figures: list[dict], note: str = "") -> Path:
    """Store one bench run's figures (with the machine, the date and the load) in bench/out/figures-<bench>.json."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"figures-{bench}.json"
    path.write_text(json.dumps({
        "bench": bench,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "code": code_version(),
        "load": f"{os.getloadavg()[0]:.1f}",
        "args": " ".join(sys.argv[1:]),
        "note": note,
        "figures": figures,
    }, indent=1))
    return path


def _held(value: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "-"}[value]


def write_results(path: Path = RESULTS) -> Path:
    """bench/results.md from every bench/out/figures-*.json, in a fixed order."""
    runs = []
    for file in sorted(OUT.glob("figures-*.json")):
        runs.append(json.loads(file.read_text()))
    runs.sort(key=lambda run: ORDER.index(run["bench"]) if run["bench"] in ORDER else len(ORDER))
    lines = [
        "# Bench results",
        "",
        "Written by `make bench` (bench/run_all.py) from the figures each bench script recorded in bench/out/.",
        "Ratios compare runs made side by side in one script run; the machine is shared with other work, so the",
        "load average at the end of each run is given and wall times vary between runs (ratios less so).",
        "",
    ]
    for run in runs:
        lines += [
            f"## {run['bench']}",
            "",
            f"Run {run['date']} on {run['machine']}; code {run.get('code', 'unknown')}; load average {run['load']}"
            + (f"; arguments `{run['args']}`" if run["args"] else "") + ".",
            "",
        ]
        if run.get("note"):
            lines += [run["note"], ""]
        lines += ["| aim | measured | ratio | holds | reproduce |", "|---|---|---|---|---|"]
        for row in run["figures"]:
            ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x" + (
                f" (aim <= {row['limit']:g}x)" if row["limit"] is not None else "")
            lines.append(f"| {row['aim']} | {row['measured']} | {ratio} | {_held(row['held'])} | "
                         f"`{row['command']}` |")
        lines.append("")
    path.write_text("\n".join(lines))
    return path


if __name__ == "__main__":
    print(write_results())
