"""Store-side reads behind a simulation, and the runner: the stored results (and, only when the proposed
policy changes calendars or matching, the items and events) behind a filter selection, handed to
sla_core.simulate. The What-if page and `sla simulate` both call `run_simulation`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import polars as pl

from sla_core.clocks import RESULT_SCHEMA
from sla_core.simulate import Simulation, simulate
from sla_store.coverage import dimension_select
from sla_store.db import current_time
from sla_store.queries import EVENT_COLUMNS, ITEM_COLUMNS, FilterLike, quoted, where_clause
from sla_store.reads import dimension_names

RESULT_COLUMNS = ", ".join(RESULT_SCHEMA)


def load_results(cur: duckdb.DuckDBPyConnection, selection: FilterLike | None = None) -> pl.DataFrame:
    """The stored results inside the selection, with the policy dimension columns."""
    where, params = where_clause(selection, alias="r")
    dimensions = "".join(f", r.{quoted(name)}" for name in dimension_names(cur))
    return cur.sql(f"SELECT {RESULT_COLUMNS}{dimensions} FROM results r WHERE {where}", params=params).pl()


def load_raw(
    cur: duckdb.DuckDBPyConnection, selection: FilterLike | None = None, keys: pl.DataFrame | None = None,
    dimensions: Sequence[str] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The items (and their events) inside the selection's dates/channels/teams/priorities/dimensions; only
    those with these (source, item_id) keys when `keys` is given (then whatever their created: an instance of
    a repeating or scheduled clock dates from its own start, not its item's). Items carry the `dimensions`
    columns."""
    where, params = where_clause(selection, alias="i", use_metric=False, dimensions_from_attributes=True,
                                 use_dates=keys is None)
    only = ""
    if keys is not None:
        cur.register("wanted_keys", keys.select("source", "item_id").to_arrow())
        only = "SEMI JOIN wanted_keys w ON w.source = i.source AND w.item_id = i.item_id"
    try:
        fields = ", ".join(f"i.{column}" for column in ITEM_COLUMNS) + dimension_select(dimensions, alias="i")
        items = cur.sql(f"SELECT {fields} FROM items i {only} WHERE {where}", params=params).pl()
        events = cur.sql(
            f"SELECT {', '.join('e.' + c for c in EVENT_COLUMNS)} FROM events e "
            f"JOIN items i ON i.source = e.source AND i.item_id = e.item_id {only} WHERE {where}",
            params=params,
        ).pl()
    finally:
        if keys is not None:
            cur.unregister("wanted_keys")
    return items, events


def computed_at(cur: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """When the stored results were computed (their `now`), so recomputed rows are judged at the same instant."""
    value = cur.sql("SELECT max(computed_at) FROM results").fetchall()[0][0]
    if value is None:
        return None
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def run_simulation(
    cur: duckdb.DuckDBPyConnection,
    committed,
    proposed,
    selection: FilterLike | None = None,
    by: Sequence[str] = (),
    advice_objective: float = 0.95,
    now: dt.datetime | None = None,
    results: pl.DataFrame | None = None,
) -> Simulation:
    """Read what the simulation needs from the database and run it (sla_core.simulate.simulate).

    `results` and `now` may be given when the caller already holds the selection's stored results and
    their computed_at (the What-if page keeps them cached across reruns)."""
    if results is None:
        results = load_results(cur, selection)
    moment = now or computed_at(cur) or current_time()
    return simulate(
        results,
        committed,
        proposed,
        moment,
        by,
        advice_objective=advice_objective,
        load_raw=lambda keys: load_raw(cur, selection, keys,
                                       tuple(dict.fromkeys([*committed.dimensions, *proposed.dimensions]))),
    )
