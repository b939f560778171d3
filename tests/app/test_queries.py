"""Read-query builders: bound values, whitelisted identifiers, and the fast UTC-day expression."""

from __future__ import annotations

import datetime as dt

import pytest

from sla_app.filters import Filters
from sla_store import queries, reads
from sla_store.db import connect_read_only


def test_group_by_dimensions_outside_the_whitelist_are_refused():
    with pytest.raises(ValueError, match="unknown dimension 'subject; DROP TABLE items'"):
        queries.attainment_sql(None, ["subject; DROP TABLE items"])


def test_filter_values_are_bound_parameters_never_spliced_into_the_sql():
    hostile = "chat') OR TRUE --"
    sql, params = queries.attainment_sql(Filters(channels=(hostile,), date_from=dt.date(2026, 1, 1)),
                                         ["team"])
    assert hostile not in sql
    assert hostile in params
    assert dt.datetime(2026, 1, 1, tzinfo=dt.UTC) in params


def test_utc_day_equals_the_date_of_the_instant_in_utc(sql):
    mismatches = sql(f"""SELECT count(*) FROM results
                         WHERE {queries.utc_day('created')} <> CAST(timezone('UTC', created) AS DATE)""")
    assert mismatches == [(0,)]


def test_months_run_from_the_first_to_the_last_item_newest_first(sql, fixture_db):

    con = connect_read_only(fixture_db)
    months = reads.months(con.cursor())["month"].to_list()
    con.close()
    first, last = sql("""SELECT min(timezone('UTC', created)), max(timezone('UTC', created)) FROM results
                         WHERE kind = 'ticket'""")[0]
    assert months[0] == last.date().replace(day=1)
    assert months[-1] == first.date().replace(day=1)
    assert months == sorted(months, reverse=True)


@pytest.mark.parametrize("by", [(), ("channel",), ("team", "channel"), ("month", "metric"), ("week", "team"),
                                ("day",), ("process", "metric")])
@pytest.mark.parametrize("kind", ["ticket", "ops", None])
def test_the_daily_rollup_gives_the_same_figures_as_the_results_table(fixture_db, by, kind):
    import duckdb
    import polars as pl
    from polars.testing import assert_frame_equal

    con = connect_read_only(fixture_db)
    rollup = duckdb.connect()
    rollup.register("frame", reads.rollup(con.cursor()))
    rollup.execute("CREATE TABLE daily_rollup AS SELECT * FROM frame")
    filters = Filters(date_from=dt.date(2026, 9, 3), date_to=dt.date(2026, 10, 17), channels=("chat", "email"),
                      metric="resolution" if kind == "ticket" else None)
    for chosen in (filters, Filters(), None):
        if kind != "ticket" and chosen is filters:
            chosen = Filters(date_from=filters.date_from, date_to=filters.date_to)
        exact = reads.attainment(con.cursor(), chosen, by, kind)
        summed = reads.rollup_attainment(rollup.cursor(), chosen, by, kind)
        assert summed.height == exact.height
        assert_frame_equal(summed, exact, check_exact=False, rel_tol=1e-12, check_dtypes=False)
        assert summed.select(pl.col("met").sum()).item() == exact.select(pl.col("met").sum()).item()
    con.close()


@pytest.mark.parametrize("kind", ["ticket", "ops"])
def test_filter_options_and_months_from_the_rollup_equal_those_from_the_results(fixture_db, kind):
    import duckdb
    from polars.testing import assert_frame_equal

    con = connect_read_only(fixture_db)
    rollup = duckdb.connect()
    rollup.register("frame", reads.rollup(con.cursor()))
    rollup.execute("CREATE TABLE daily_rollup AS SELECT * FROM frame")
    assert_frame_equal(reads.filter_options(rollup.cursor(), kind, table="daily_rollup"),
                       reads.filter_options(con.cursor(), kind))
    assert_frame_equal(reads.months(rollup.cursor(), kind, table="daily_rollup"), reads.months(con.cursor(), kind))
    with pytest.raises(ValueError, match="unknown table"):
        queries.months_sql(kind, table="items; DROP TABLE results")
    con.close()


def test_the_total_row_equals_the_whole_selection_in_one_group(fixture_db):
    import polars as pl
    from polars.testing import assert_frame_equal

    con = connect_read_only(fixture_db)
    filters = Filters(date_from=dt.date(2026, 8, 1), date_to=dt.date(2026, 10, 31), metric="first_response")
    split = reads.attainment(con.cursor(), filters, ("team",), percentiles=True, with_total=True)
    whole = reads.attainment(con.cursor(), filters, (), percentiles=True)
    slices = reads.attainment(con.cursor(), filters, ("team",), percentiles=True)
    con.close()
    assert_frame_equal(split.filter(pl.col("total")).drop("team", "total"), whole)
    assert_frame_equal(split.filter(~pl.col("total")).drop("total"), slices)


def test_percentiles_equal_the_median_and_the_90th_percentile_of_each_slices_decided_items(fixture_db):
    import polars as pl

    con = connect_read_only(fixture_db)
    filters = Filters(date_from=dt.date(2026, 8, 1), date_to=dt.date(2026, 10, 31), metric="resolution")
    shown = reads.attainment(con.cursor(), filters, ("team",), percentiles=True).sort("team")
    decided = con.sql("""SELECT team, elapsed_s FROM results WHERE kind = 'ticket' AND metric = 'resolution'
                         AND met IS NOT NULL AND created >= '2026-08-01' AND created < '2026-11-01'""").pl()
    con.close()
    expected = decided.group_by("team").agg(pl.col("elapsed_s").median().alias("median"),
                                            pl.col("elapsed_s").quantile(0.9, "linear").alias("p90")).sort("team")
    assert shown["team"].to_list() == expected["team"].to_list()
    assert shown["median_elapsed_s"].to_list() == pytest.approx(expected["median"].to_list())
    assert shown["p90_elapsed_s"].to_list() == pytest.approx(expected["p90"].to_list())
