"""Run every bench script in turn and print their figures (`make bench`; `--quick` for small runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = ("bench_kernel.py", "bench_import.py", "bench_simulate.py", "bench_pages.py", "bench_dimensions.py")


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    failed = []
    for name in BENCHES:
        print(f"\n=== {name} {' '.join(argv)}", flush=True)
        if subprocess.call([sys.executable, str(here / name), *argv], cwd=here.parent) != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
