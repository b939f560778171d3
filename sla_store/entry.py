"""The `sla` console entry point: Ctrl-C at any moment, even while the command's modules load, ends with one
line on stderr (exit 130), never a traceback. Kept free of heavy imports so the window before it is tiny."""

from __future__ import annotations

import sys

INTERRUPTED = "interrupted: the database is unchanged (a write in progress was discarded)"


def main() -> None:
    try:
        from sla_store.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.stderr.write(f"error: {INTERRUPTED}\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
