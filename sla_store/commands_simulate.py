"""`sla simulate`: judge the stored history by a proposed policy, side by side with the committed one.

The reads and the runner live in sla_store.simulation (shared with the What-if page)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Annotated, Any

import duckdb
import polars as pl
import typer

from sla_core.safe_csv import frame_csv
from sla_core.simulate import COMPARISON_FIGURES
from sla_store.cli_common import ConfigOption, DbOption, JsonOption, fail
from sla_store.queries import Selection
from sla_store.simulation import run_simulation


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{key: _jsonable(value) for key, value in row.items()} for row in frame.to_dicts()]


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _day(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{option} {text!r} is not a day (use YYYY-MM-DD, e.g. 2026-10-01)") from None


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _signed_points(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.1f} pts"


def simulate_command(
    proposed: Annotated[
        Path, typer.Option("--proposed", help="The proposed policy (YAML, same format as config/sla.yaml).")
    ],
    by: Annotated[str, typer.Option("--by", help="Slice by these columns, comma-separated (e.g. team,channel).")] = "",
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric.")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="Only items created on or after this day (YYYY-MM-DD, UTC).")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="Only items created on or before this day (YYYY-MM-DD, UTC).")
    ] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only these channels (comma-separated).")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only these teams (comma-separated).")] = None,
    priority: Annotated[
        str | None, typer.Option("--priority", help="Only these priorities (comma-separated).")
    ] = None,
    objective: Annotated[
        float, typer.Option("--objective", help="Objective for the target advice (share, e.g. 0.95).")
    ] = 0.95,
    flips_csv: Annotated[
        Path | None, typer.Option("--flips-csv", help="Write the items that flip to this CSV file.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Judge the stored history by a proposed policy and compare it with the committed one per slice.

    Long: the command's typer options are declared in its signature."""
    from sla_core.policy import PolicyError
    from sla_core.target_mapping import SLICE_COLUMNS, SimulationInputError
    from sla_store.db import connect_read_only
    from sla_store.policy_files import load_policy_file, load_policy_history
    from sla_store.queries import is_policy_dimension

    slices = _split(by)
    unknown = [column for column in slices
               if column not in (*SLICE_COLUMNS, "metric") and not is_policy_dimension(column)]
    if unknown:
        raise fail(f"--by {unknown[0]!r} is not a column to slice by (use {', '.join(SLICE_COLUMNS)} or a policy "
                   "dimension)")
    if not 0 < objective <= 1:
        raise fail(f"--objective {objective} must be a share between 0 and 1 (e.g. 0.95)")
    selection = Selection(
        date_from=_day(date_from, "--from"),
        date_to=_day(date_to, "--to"),
        channels=_split(channel),
        teams=_split(team),
        priorities=_split(priority),
        metric=metric,
    )
    if not proposed.is_file():
        raise fail(f"{proposed}: no such file")
    try:
        proposed_policy = load_policy_file(proposed)
        history = load_policy_history(config)
    except PolicyError as error:
        raise fail(str(error)) from None
    try:
        con = connect_read_only(db)
    except FileNotFoundError as error:
        raise fail(str(error)) from None
    except duckdb.Error as error:
        raise fail(f"cannot open the database: {error}".splitlines()[0]) from None
    try:
        cur = con.cursor()
        try:
            simulation = run_simulation(cur, history, proposed_policy, selection, slices, objective)
        except SimulationInputError as error:
            raise fail(str(error)) from None
    finally:
        con.close()

    flips = simulation.flips
    if flips_csv is not None:
        flips_csv.write_text(frame_csv(flips), encoding="utf-8")
    rejudged = simulation.rejudged
    comparison = simulation.comparison
    if as_json:
        payload = {
            "proposed": str(proposed),
            "committed_version": history.current.version,
            "by": ["metric", *[s for s in slices if s != "metric"]],
            "rows": {
                "reused": rejudged.reused_rows,
                "recomputed": rejudged.recomputed_rows,
                "new": rejudged.new_rows,
                "dropped": rejudged.dropped_rows,
            },
            "flips": {
                "met_to_breached": int(comparison["met_to_breached"].sum()),
                "breached_to_met": int(comparison["breached_to_met"].sum()),
            },
            "slices": _rows(comparison),
            "advice": _rows(simulation.advice),
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    _print_table(comparison, simulation, history.current.version, proposed)


def _print_table(comparison: pl.DataFrame, simulation, version: int, proposed: Path) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    keys = [c for c in comparison.columns if c not in _NUMERIC]
    table = Table(title=escape(f"What-if: committed version {version} vs {proposed}"))
    for key in keys:
        table.add_column(key, no_wrap=True)
    for label in ("items", "before", "after", "delta", "met→breached", "breached→met"):
        table.add_column(label, justify="right")
    for row in comparison.iter_rows(named=True):
        table.add_row(
            *[Text(str(row[key])) for key in keys],  # data values print as typed, never as rich markup
            str(row["items_before"]),
            _percent(row["attainment_before"]),
            _percent(row["attainment_after"]),
            _signed_points(row["delta"]),
            str(row["met_to_breached"]),
            str(row["breached_to_met"]),
        )
    probe = Console()
    console = Console(width=max(probe.width, 140)) if not probe.is_terminal else probe
    console.print(table)
    rejudged = simulation.rejudged
    console.print(
        f"{rejudged.reused_rows} rows re-judged from stored elapsed time, "
        f"{rejudged.recomputed_rows + rejudged.new_rows} recomputed, {rejudged.dropped_rows} no longer judged."
    )


_NUMERIC = set(COMPARISON_FIGURES)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `sla` app."""
    app.command("simulate")(simulate_command)
