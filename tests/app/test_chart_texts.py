"""Chart and caption texts read as sentences: one pair of brackets, singular for one."""

from __future__ import annotations

import polars as pl

from sla_ui import charts


def _cells(objectives: tuple[float, float]) -> pl.DataFrame:
    return pl.DataFrame({"team": ["a", "b"], "channel": ["chat", "chat"], "met": [9, 8], "breached": [1, 2],
                         "attainment": [0.9, 0.8], "objective": list(objectives),
                         "objective_min": list(objectives), "objective_max": list(objectives)})


def test_a_heatmap_title_with_mixed_objectives_has_one_pair_of_brackets():
    title = charts.heatmap(_cells((0.9, 0.95)), "team", "channel", "Resolution by team", 0.925).layout.title.text
    assert title == "Resolution by team (objectives 90%–95%, per target)"
    assert title.count("(") == title.count(")") == 1


def test_a_heatmap_title_with_one_objective_names_it():
    title = charts.heatmap(_cells((0.95, 0.95)), "team", "channel", "Resolution by team", 0.95).layout.title.text
    assert title == "Resolution by team (objective 95%)"
