"""The What-if editor tables <-> policy mapping: unchanged rows stay as committed, errors name row and column."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sla_core.policy_edit import (
    EditError,
    calendars_frame,
    hours_text,
    parse_hours,
    proposed_policy,
    targets_frame,
)
from sla_core.policy_yaml import parse_policy
from sla_store.policy_store import targets_diff

CONFIG = Path(__file__).resolve().parents[2] / "config" / "sla.yaml"


@pytest.fixture(scope="module")
def committed():
    return parse_policy(CONFIG.read_text(), "config/sla.yaml")


def _with(frame: pl.DataFrame, row: int, **values) -> pl.DataFrame:
    for column, value in values.items():
        cells = frame[column].to_list()
        cells[row] = value
        frame = frame.with_columns(pl.Series(column, cells, dtype=frame.schema[column]))
    return frame


def test_the_unedited_tables_give_back_the_committed_policy(committed):
    proposed = proposed_policy(committed, targets_frame(committed), calendars_frame(committed))
    assert targets_diff(committed, proposed) == ""
    assert proposed.targets == committed.targets
    assert [t.escalation for t in proposed.targets] == [t.escalation for t in committed.targets]


def test_one_edited_budget_changes_exactly_one_line_of_the_policy(committed):
    proposed = proposed_policy(committed, _with(targets_frame(committed), 4, within="2h"), calendars_frame(committed))
    changed = [line for line in targets_diff(committed, proposed).splitlines()
               if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert len(changed) == 2 and "within: 4h" in changed[0] and "within: 2h" in changed[1]
    assert proposed.targets[4].within_s == 7200
    assert proposed.targets[4].escalation == committed.targets[4].escalation


def test_a_calendar_switched_to_24_7_and_added_saturday_hours_reach_the_policy(committed):
    calendars = calendars_frame(committed)
    phone = calendars["name"].to_list().index("phone_hours")
    support = calendars["name"].to_list().index("support_hours")
    calendars = _with(calendars, phone, always_open=True)
    calendars = _with(calendars, support, hours="mon-fri 08:00-12:00 13:00-17:30; sat 10:00-16:00")
    proposed = proposed_policy(committed, targets_frame(committed), calendars)
    assert proposed.calendars["phone_hours"].always
    assert proposed.raw["calendars"]["support_hours"]["hours"]["sat"] == ["10:00-16:00"]
    assert proposed.raw["calendars"]["support_hours"]["holidays"] == committed.raw["calendars"]["support_hours"][
        "holidays"]


def test_added_and_deleted_rows_change_the_target_list(committed):
    targets = targets_frame(committed)
    added = pl.DataFrame([{"metric": "first_response", "channel": "chat, web", "within": "90s",
                           "calendar": "always", "objective": 0.99}], schema=targets.schema)
    proposed = proposed_policy(committed, pl.concat([added, targets.slice(1)]), calendars_frame(committed))
    assert len(proposed.targets) == len(committed.targets)
    assert proposed.targets[0].match == {"channel": ("chat", "web")} and proposed.targets[0].within_s == 90
    assert proposed.targets[0].objective == 0.99


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"within": "2x"}, "Targets row 3, within:"),
        ({"within": None}, "Targets row 3, within: required"),
        ({"calendar": "night_shift"}, "Targets row 3, calendar:"),
        ({"other_match": "kind ticket"}, "Targets row 3, other_match: 'kind ticket' is not 'key: value"),
        ({"other_match": "colour: red"}, "Targets row 3, match.colour: cannot match on colour"),
    ],
)
def test_a_bad_cell_is_reported_with_its_row_and_column(committed, edit, message):
    with pytest.raises(EditError) as failure:
        proposed_policy(committed, _with(targets_frame(committed), 2, **edit), calendars_frame(committed))
    assert str(failure.value).startswith(message), str(failure.value)
    assert "\n" not in str(failure.value)


def test_opening_hours_text_round_trips_and_bad_hours_name_the_calendar_row():
    hours = {"mon-fri": ["08:00-12:00", "13:00-17:30"], "sat": ["10:00-14:00"]}
    assert parse_hours(hours_text(hours), "here") == hours
    with pytest.raises(EditError, match="Calendars row 2, hours: 'sat' needs days and at least one interval"):
        parse_hours("mon-fri 08:00-17:00; sat", "Calendars row 2, hours")


@pytest.mark.parametrize(
    ("path", "message", "told"),
    [("targets[2].within", '"2x" is not a duration', 'Targets row 3, within: "2x" is not a duration'),
     ("targets[0]", "needs a metric", "Targets row 1, row: needs a metric"),
     ("calendars.support_hours.timezone", "unknown zone: a: b", "Calendar support_hours, timezone: unknown zone: a: b"),
     ("calendars.night", "is not a calendar", "Calendar night, definition: is not a calendar"),
     ("objective", "must be a share", "objective: must be a share"),
     ("", "empty policy", "empty policy")],
)
def test_policy_errors_are_told_in_table_terms_from_their_key_path(path, message, told):
    from sla_core.policy import PolicyError
    from sla_core.policy_edit import friendly_error

    assert friendly_error(PolicyError("proposed", 14, path, message)) == told


def test_advice_from_a_handful_of_items_is_marked_as_a_small_sample_and_listed_last(committed):
    from sla_ui.what_if import MIN_ADVICE_ITEMS, advice_view

    advice = pl.DataFrame({
        "metric": ["resolution"] * 3, "target": [10, 11, 12], "team": ["Group 9", "Group 70", "Group 3"],
        "decided": [2, 175, MIN_ADVICE_ITEMS], "objective": [0.95] * 3,
        "current_within_s": [144_000.0] * 3, "current_targets": [1] * 3, "proposed_within_s": [172_800.0] * 3,
        "advised_within_s": [3600.0, 180_000.0, 90_000.0],
    })
    view = advice_view(advice, committed)
    assert view["team"].to_list() == ["Group 70", "Group 3", "Group 9"]
    assert view["sample"].to_list() == ["", "", "⚠ small sample: 2 items"]
    # Budgets read in hours, never as 24-hour days.
    assert view["committed"].to_list() == ["40h"] * 3 and view["proposed"].to_list() == ["48h"] * 3


def test_budgets_show_in_hours_in_the_editor_and_unedited_rows_stay_as_committed(committed):
    frame = targets_frame(committed)
    delivery = frame.filter(pl.col("metric") == "report_delivery")["within"].to_list()
    assert delivery == ["72h"]  # "3d" in the file: shown as the hours it means
    assert not any(text.endswith("d") for text in frame["within"].to_list())
    assert proposed_policy(committed, frame, calendars_frame(committed), committed.objective).raw == committed.raw
