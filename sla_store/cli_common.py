"""Options shared by every `sla` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    Path | None,
    typer.Option("--db", envvar="SLA_DB", help="DuckDB file (default data/sla.duckdb).", show_default=False),
]
def check_config_folder(value: Path | None) -> Path | None:
    """--config names a folder that exists (a file or a missing folder is an error naming the path given)."""
    if value is None:
        return value
    if value.is_file():
        raise fail(f"--config {value}: is a file; give the folder that holds sla.yaml (e.g. {value.parent or '.'})")
    if not value.is_dir():
        raise fail(f"--config {value}: no such folder")
    return value


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", envvar="SLA_CONFIG", help="Config folder with sla.yaml (default config/).",
                 show_default=False, callback=check_config_folder),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
