"""`sla ingest`, `sla sample`, `sla attainment` and `sla recompute` (registered by sla_store.cli)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from sla_store.cli_common import ConfigOption, DbOption, JsonOption, fail
from sla_store.importers import FORMATS, ImportRefused

LARGE_FILE_BYTES = 5_000_000
ATTAINMENT_KEYS = ("channel", "team", "priority", "agent", "process", "kind", "source", "calendar", "status",
                   "policy_version")


def _parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise fail(f"--now {text!r} is not an ISO 8601 time (e.g. 2026-11-24T20:00:00+00:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _policy_error_types() -> tuple[type[BaseException], ...]:
    try:
        from sla_core.policy import PolicyError
    except ImportError:  # the core is optional for loading raw data
        return ()
    return (PolicyError,)


def ingest_command(
    path: Annotated[Path, typer.Argument(help="The export file (CSV, JSON or Parquet).", show_default=False)],
    format_name: Annotated[
        str | None,
        typer.Option("--format", help=f"Export format ({'|'.join(FORMATS)}); sniffed from the columns if omitted."),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="Column map (config/mappings/NAME.yaml).", show_default=False)
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load an export into the database (one transaction) and rebuild results."""
    from sla_store.ingest import ingest

    show_bar = not as_json and path.is_file() and path.stat().st_size >= LARGE_FILE_BYTES
    try:
        if show_bar:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                          transient=True) as bar:
                task = bar.add_task(f"importing {path.name}", total=1.0)

                def report(step: str, fraction: float) -> None:
                    bar.update(task, completed=fraction, description=f"{path.name}: {step}")

                summary = ingest(path, db=db, format_name=format_name, mapping=mapping, config=config,
                                 progress=report)
        else:
            summary = ingest(path, db=db, format_name=format_name, mapping=mapping, config=config)
    except (ImportRefused, *_policy_error_types()) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(summary.as_dict()))
        return
    typer.echo(f"{summary.file}: {summary.format} ({summary.mapping}) - rows read {summary.rows_read}, "
               f"loaded {summary.rows_loaded}, rejected {summary.rows_rejected}; "
               f"{summary.items} items, {summary.events} new events"
               + (f"; {summary.results} results" if summary.results is not None else
                  "; no config/sla.yaml, results not computed"))


def sample_command(
    tickets: Annotated[int, typer.Option("--tickets", min=10, help="Number of tickets to generate.")] = 20000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 42,
    now: Annotated[str | None, typer.Option("--now", help="The end of the history (ISO 8601); default now.",
                                            show_default=False)] = None,
    samples_dir: Annotated[Path, typer.Option("--samples-dir", help="Where the exports are written.")] = Path(
        "data/samples"),
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate realistic sample exports and build the database from them (replacing its contents)."""
    from sla_store.sample import build_sample_db

    try:
        summary = build_sample_db(db, tickets=tickets, seed=seed, now=_parse_now(now), samples_dir=samples_dir,
                                  config=config)
    except (ImportRefused, *_policy_error_types()) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(summary))
        return
    results = (f"{summary['results']} results" if summary["results"] is not None else
               "no results (no sla.yaml in the config folder; run `sla recompute` once it exists)")
    typer.echo(f"sample: {summary['items']} items, {summary['events']} events, {results} "
               f"as of {summary['now']} (exports in {samples_dir})")


def attainment_command(
    by: Annotated[str, typer.Option("--by", help=f"Comma-separated keys: {', '.join(ATTAINMENT_KEYS)}.")] = "team",
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric (e.g. resolution).",
                                               show_default=False)] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Attainment per slice from the stored results: items, met, breached, active, attainment."""
    from sla_core.attainment import attainment
    from sla_store.db import connect_read_only

    keys = [key.strip() for key in by.split(",") if key.strip()]
    unknown = [key for key in keys if key not in ATTAINMENT_KEYS]
    if unknown:
        raise fail(f"--by {','.join(unknown)}: not a grouping key (use {', '.join(ATTAINMENT_KEYS)})")
    if metric is None:
        keys = ["metric", *keys]
    try:
        con = connect_read_only(db)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    try:
        if metric is None:
            results = con.sql("SELECT * FROM results").pl()
        else:
            results = con.sql("SELECT * FROM results WHERE metric = ?", params=[metric]).pl()
            if results.is_empty():
                known = [row[0] for row in con.sql("SELECT DISTINCT metric FROM results ORDER BY 1").fetchall()]
                raise fail(f"--metric {metric}: no results for it (known: {', '.join(known) or 'none'})")
    finally:
        con.close()
    table = attainment(results, keys).sort(keys, nulls_last=True)
    columns = [*keys, "items", "met", "breached", "active", "attainment"]
    rows = table.select(columns).to_dicts()
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    view = Table(title=f"attainment{' - ' + metric if metric else ''} by {', '.join(keys)}")
    for column in columns:
        view.add_column(column, justify="right" if column not in keys else "left")
    for row in rows:
        share = row["attainment"]
        view.add_row(*[str(row[key]) for key in keys], str(row["items"]), str(row["met"]), str(row["breached"]),
                     str(row["active"]), "-" if share is None else f"{share:.1%}")
    Console().print(view)


def recompute_command(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Rebuild results from the stored items and events with the current policy files."""
    from sla_store.compute import refresh_results
    from sla_store.db import current_time, db_path, write_transaction
    from sla_store.policy_files import load_policy_history

    if not db_path(db).exists():
        raise fail(f"{db_path(db)}: no database yet - run `sla sample` or `sla ingest FILE`")
    try:
        history = load_policy_history(config)
    except FileNotFoundError as exc:
        raise fail(f"{exc.filename}: no policy file") from None
    except _policy_error_types() as exc:
        raise fail(str(exc)) from None
    now = current_time()
    with write_transaction(db) as con:
        count = refresh_results(con, history, now)
    if as_json:
        typer.echo(json.dumps({"results": count, "now": now.isoformat()}))
    else:
        typer.echo(f"recomputed {count} results as of {now.isoformat()}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `sla` app."""
    app.command("ingest")(ingest_command)
    app.command("sample")(sample_command)
    app.command("attainment")(attainment_command)
    app.command("recompute")(recompute_command)
