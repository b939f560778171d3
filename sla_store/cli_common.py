"""Options shared by every `sla` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DbOption = Annotated[
    Path | None,
    typer.Option("--db", envvar="SLA_DB", help="DuckDB file (default data/sla.duckdb).", show_default=False),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", envvar="SLA_CONFIG", help="Config folder with sla.yaml (default config/).",
                 show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error to stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
