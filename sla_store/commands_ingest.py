"""`sla ingest`, `sla sample`, `sla attainment`, `sla recompute` and `sla export` (registered by sla_store.cli)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from sla_store.cli_common import ConfigOption, DbOption, JsonOption, fail
from sla_store.importers import FORMATS, ImportRefused
from sla_store.policy_files import config_dir

LARGE_FILE_BYTES = 5_000_000
COUNT_COLUMNS = ("decided", "met", "breached", "running", "not_measured", "attainment")
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
    """Load an export into the database (one transaction) and re-judge the items it touched."""
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
                  f"; no {config_dir(config) / 'sla.yaml'}, results not computed"))
    for note in summary.notes:
        typer.echo(f"note: {note}")


def sample_command(
    tickets: Annotated[int, typer.Option("--tickets", min=10, help="Number of tickets to generate.")] = 20000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 42,
    now: Annotated[str | None, typer.Option("--now", help="The end of the history (ISO 8601); default now.",
                                            show_default=False)] = None,
    samples_dir: Annotated[Path, typer.Option("--samples-dir", help="Where the exports are written.")] = Path(
        "data/samples"),
    days: Annotated[int, typer.Option("--days", min=28, max=3660,
                                      help="Days of history up to --now the tickets arrive over.")] = 182,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Generate realistic sample exports and build the database from them (replacing its contents)."""
    from sla_store.sample import build_sample_db

    try:
        summary = build_sample_db(db, tickets=tickets, seed=seed, now=_parse_now(now), samples_dir=samples_dir,
                                  config=config, days=days)
    except (ImportRefused, *_policy_error_types()) as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(summary))
        return
    results = (f"{summary['results']} results" if summary["results"] is not None else
               "no results (no sla.yaml in the config folder; run `sla recompute` once it exists)")
    typer.echo(f"sample: {summary['items']} items, {summary['events']} events, {results} "
               f"as of {summary['now']} (exports in {samples_dir})")


def _parse_day(text: str | None, option: str):
    from datetime import date

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{option} {text!r} is not a date (use YYYY-MM-DD, e.g. 2026-10-01)") from None


def _month_days(text: str):
    import calendar
    import re
    from datetime import date

    found = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise fail(f"--month {text!r} is not a month (use YYYY-MM, e.g. 2026-10)")
    year, month = int(found.group(1)), int(found.group(2))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def attainment_command(
    by: Annotated[str, typer.Option("--by", help=f"Comma-separated keys: {', '.join(ATTAINMENT_KEYS)} or a "
                                                 "policy dimension.")] = "team",
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric (e.g. resolution).",
                                               show_default=False)] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="Items created on or after this day (UTC), "
                                                                 "YYYY-MM-DD.", show_default=False)] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Items created on or before this day (UTC).",
                                                show_default=False)] = None,
    month: Annotated[str | None, typer.Option("--month", help="Items created in this month (UTC), YYYY-MM.",
                                              show_default=False)] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Counts per slice from the stored results, over items created in a date range: decided (met + breached),
    met, breached, running (not decided yet), not_measured (its source never records the metric's start or
    stop) and attainment = met / decided. Data notes (not-measured metrics, unmatched sources) follow.
    Long: the command's typer options are declared in its signature."""
    from sla_store import reads
    from sla_store.db import connect_read_only
    from sla_store.selection import Selection

    first, last = _parse_day(date_from, "--from"), _parse_day(date_to, "--to")
    if month is not None:
        if first is not None or last is not None:
            raise fail("--month cannot be combined with --from / --to")
        first, last = _month_days(month)
    if first is not None and last is not None and last < first:
        raise fail(f"--to {last} is before --from {first}")
    keys = [key.strip() for key in by.split(",") if key.strip()]
    try:
        con = connect_read_only(db)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    try:
        dimensions = reads.dimension_names(con)
        unknown = [key for key in keys if key not in ATTAINMENT_KEYS and key not in dimensions]
        if unknown:
            known = ", ".join([*ATTAINMENT_KEYS, *dimensions])
            hint = "" if dimensions else "; other attributes need `dimensions:` in the policy"
            raise fail(f"--by {','.join(unknown)}: not a grouping key (use {known}{hint})")
        if metric is None:
            keys = ["metric", *keys]
        else:
            known_metrics = [row[0] for row in con.sql(
                "SELECT metric FROM results UNION SELECT metric FROM not_measured ORDER BY 1").fetchall()]
            if metric not in known_metrics:
                raise fail(f"--metric {metric}: no results for it (known: {', '.join(known_metrics) or 'none'})")
        table = reads.counts(con, keys, metric=metric, date_from=first, date_to=last)
        # Notes about the items counted: a source's note only when its items are in the days asked for.
        notes = reads.data_notes(con, within=Selection(date_from=first, date_to=last, metric=metric))
        messages = notes["message"].to_list()
    finally:
        con.close()
    columns = [*keys, *COUNT_COLUMNS]
    rows = table.select(columns).to_dicts()
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    span = "" if first is None and last is None else f", created {first or '...'} to {last or '...'}"
    # Data values are Text, never rich markup: a team named "[/]" or "[link=...]" prints as typed.
    view = Table(title=escape(f"attainment{' - ' + metric if metric else ''} by {', '.join(keys)}{span}"))
    for column in columns:
        view.add_column(column, justify="right" if column not in keys else "left")
    for row in rows:
        share = row["attainment"]
        view.add_row(*[Text(str(row[key])) for key in keys], *[str(row[c]) for c in COUNT_COLUMNS[:-1]],
                     "-" if share is None else f"{share:.1%}")
    console = Console()
    console.print(view)
    for message in messages:
        console.print(f"note: {message}", markup=False, highlight=False)


def recompute_command(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Rebuild results from the stored items and events with the current policy files."""
    from sla_store.compute import refresh_results
    from sla_store.coverage import notes
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
        found = notes(con)
    if as_json:
        typer.echo(json.dumps({"results": count, "now": now.isoformat(), "notes": found}))
    else:
        typer.echo(f"recomputed {count} results as of {now.isoformat()}")
        for note in found:
            typer.echo(f"note: {note}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `sla` app."""
    app.command("ingest")(ingest_command)
    app.command("sample")(sample_command)
    app.command("attainment")(attainment_command)
    app.command("recompute")(recompute_command)
    app.command("export")(export_command)
    app.command("backup")(backup_command)


def export_command(
    parquet: Annotated[Path, typer.Option("--parquet", help="Folder for Parquet partitions by month "
                                          "(items/month=YYYY-MM, events/month=YYYY-MM).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write the raw items and events as hive-style Parquet partitions by month (for DuckDB, Spark, Dask...)."""
    from sla_store.partitions import export_parquet

    if parquet.exists() and not parquet.is_dir():
        raise fail(f"--parquet {parquet}: is a file; give a folder")
    try:
        counts = export_parquet(db, parquet)
    except FileNotFoundError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(counts))
    else:
        typer.echo(f"exported {counts['items']} items and {counts['events']} events in {len(counts['months'])} "
                   f"monthly partitions to {counts['folder']}")


def backup_command(
    target: Annotated[Path, typer.Argument(help="The new database file (its sealed history is written beside it).")],
    db: DbOption = None,
) -> None:
    """Copy the database - the live file and the sealed history it names - to a new file, between writes."""
    from sla_store.db import backup_database, db_path

    source = db_path(db)
    if not source.is_file():
        raise fail(f"{source}: no database to back up")
    if target.exists():
        raise fail(f"{target}: already exists; give a new file")
    if target.resolve() == source.resolve():
        raise fail(f"{target}: is the database itself")
    files = backup_database(source, target)
    typer.echo(f"backed up {source} to " + " and ".join(str(path) for path in files))
