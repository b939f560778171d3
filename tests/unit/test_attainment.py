"""Attainment per slice and warning levels, on tables worked out by hand."""

from datetime import UTC, datetime

import polars as pl
import pytest

from sla_core.attainment import attainment, warning_level

T = datetime(2026, 11, 23, 9, tzinfo=UTC)


def results(rows):
    """rows: (team, state, met, elapsed_s, stop set?, remaining_s, pct_used)."""
    return pl.DataFrame(
        [
            {"item_id": str(i), "team": team, "state": state, "met": met, "elapsed_s": elapsed,
             "stop": T if stopped else None, "due_at": T, "remaining_s": remaining, "pct_used": pct}
            for i, (team, state, met, elapsed, stopped, remaining, pct) in enumerate(rows)
        ],
        schema={"item_id": pl.String, "team": pl.String, "state": pl.String, "met": pl.Boolean,
                "elapsed_s": pl.Float64, "stop": pl.Datetime("us", "UTC"), "due_at": pl.Datetime("us", "UTC"),
                "remaining_s": pl.Float64, "pct_used": pl.Float64},
    )


SAMPLE = results([
    ("Billing", "achieved", True, 10.0, True, 90.0, 10.0),
    ("Billing", "achieved", True, 20.0, True, 80.0, 20.0),
    ("Billing", "breached", False, 150.0, True, -50.0, 150.0),
    ("Billing", "active", None, 60.0, False, 40.0, 60.0),
    ("Billing", "breached", False, 120.0, False, -20.0, 120.0),  # open and already breached
    ("Technical", "paused", None, 80.0, False, 20.0, 80.0),
    ("Technical", "active", None, 5.0, False, 95.0, 5.0),
])


def test_attainment_per_team_counts_met_breached_and_open_items():
    table = attainment(SAMPLE, ["team"]).to_dicts()
    # Billing: decided elapsed 10, 20, 120, 150 -> median 70; p90 by linear interpolation 120 + 0.7 * 30 = 141.
    assert table[0] == {"team": "Billing", "items": 5, "met": 2, "breached": 2, "active": 1, "attainment": 0.5,
                        "median_elapsed_s": 70.0, "p90_elapsed_s": pytest.approx(141.0)}
    # Technical: nothing decided yet, so no attainment and no elapsed statistics.
    assert table[1] == {"team": "Technical", "items": 2, "met": 0, "breached": 0, "active": 2, "attainment": None,
                        "median_elapsed_s": None, "p90_elapsed_s": None}


def test_attainment_without_grouping_is_one_overall_row():
    overall = attainment(SAMPLE).to_dicts()
    assert len(overall) == 1
    assert {k: overall[0][k] for k in ("items", "met", "breached", "active", "attainment")} == {
        "items": 7, "met": 2, "breached": 2, "active": 3, "attainment": 0.5}


@pytest.mark.parametrize(
    ("pct", "level"),
    [(0.0, "on track"), (49.9, "on track"), (50.0, "50%"), (74.9, "50%"), (75.0, "75%"), (100.0, "75%"),
     (100.1, "breached"), (250.0, "breached"), (None, None)],
)
def test_warning_levels_at_50_75_and_past_100_percent(pct, level):
    frame = pl.DataFrame({"pct_used": [pct]}, schema={"pct_used": pl.Float64})
    assert frame.select(warning_level(pl.col("pct_used"))).item() == level
