"""Run every bench script in turn, print their figures and write bench/results.md (`make bench`).

`--quick` runs every script at its small size. Each script records its figures in bench/out/figures-*.json;
results.md is written from those files at the end, also when a script failed (its last figures stay).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = ("bench_import.py", "bench_scale.py", "bench_kernel.py", "bench_simulate.py", "bench_pages.py",
           "bench_dimensions.py", "bench_repeat.py")


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for name in BENCHES:
        print(f"\n=== {name} {' '.join(argv)}", flush=True)
        if subprocess.call([sys.executable, str(here / name), *argv], cwd=here.parent) != 0:
            failed.append(name)
    sys.path.insert(0, str(here))
    from figures import write_results

    print(f"\nwrote {write_results()}")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
