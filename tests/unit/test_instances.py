"""Repeating clocks, gaps between events, scheduled deadlines and next-business-day targets, against
answers worked out by hand."""

from datetime import UTC, datetime

import polars as pl
import pytest

from sla_core.clocks import evaluate
from sla_core.policy import PolicyError
from sla_core.policy_yaml import parse_policy
from tests.unit.clock_fixtures import at, event, events_frame, item, items_frame

HOUR, DAY = 3600.0, 86400.0

POLICY = parse_policy("""\
version: 1
effective_from: 2026-01-01
calendars:
  office:
    timezone: Europe/Amsterdam
    hours: {mon-fri: ["09:00-17:00"]}
    holidays: {country: NL}
  always: 24/7
metrics:
  next_reply: {start: "event:customer_reply", stop: "event:agent_reply", repeat: true,
               pause_when_status: [pending]}
  campaign_freshness: {between: "event:updated"}
  weekly_report: {schedule: {every: week, due: "wed 17:00"}, stop: "event:delivered"}
  monthly_close: {schedule: {every: month, due: "31 17:00"}, stop: "event:closed_books"}
  daily_export: {schedule: {every: day, due: "10:00"}, stop: "event:exported"}
  resolution: {start: created, stop: resolved}
targets:
  - {metric: next_reply, within: 1h, calendar: always}
  - {metric: campaign_freshness, within: 7d, calendar: always}
  - {metric: weekly_report, calendar: office}
  - {metric: monthly_close, calendar: always}
  - {metric: daily_export, calendar: always}
  - {metric: resolution, match: {priority: normal}, by: "next business day 17:00", calendar: office}
""")


def utc(year, month, day, hour=0, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def rows_of(results: pl.DataFrame, metric: str) -> list[dict]:
    return results.filter(pl.col("metric") == metric).sort("item_id", "instance").to_dicts()


def test_a_repeat_clock_starts_at_a_message_while_none_runs_and_stops_at_the_next_reply():
    events = events_frame(
        event("1", at(23, 10, 0), "customer_reply"),
        event("1", at(23, 10, 20), "customer_reply"),  # a clock runs: starts nothing
        event("1", at(23, 10, 30), "agent_reply"),
        event("1", at(23, 10, 40), "agent_reply"),  # no clock runs: stops nothing
        event("1", at(23, 11, 0), "customer_reply"),
        event("1", at(23, 13, 0), "agent_reply"),  # two hours: breached
        event("1", at(23, 14, 0), "customer_reply"),  # still waiting at 14:30
        event("2", at(23, 12, 0), "customer_reply"),  # another item's clocks are its own
        event("2", at(23, 12, 10), "agent_reply"),
    )
    results = evaluate(items_frame(item("1", at(23, 9)), item("2", at(23, 9))), events, POLICY, now=at(23, 14, 30))
    other = rows_of(results, "next_reply")[3:]
    assert [(r["item_id"], r["instance"], r["elapsed_s"], r["met"]) for r in other] == [("2", 1, 600.0, True)]
    rows = rows_of(results, "next_reply")[:3]
    assert [(r["instance"], r["start"], r["stop"]) for r in rows] == [
        (1, at(23, 10, 0), at(23, 10, 30)), (2, at(23, 11, 0), at(23, 13, 0)), (3, at(23, 14, 0), None)]
    assert [(r["state"], r["met"], r["elapsed_s"]) for r in rows] == [
        ("achieved", True, 1800.0), ("breached", False, 2 * HOUR), ("active", None, 1800.0)]
    assert rows[2]["due_at"] == at(23, 15, 0)


def test_pauses_apply_to_each_repeat_instance_on_its_own():
    events = events_frame(
        event("1", at(23, 10, 0), "customer_reply"),
        event("1", at(23, 10, 10), "status", "pending"),
        event("1", at(23, 10, 25), "status", "open"),
        event("1", at(23, 11, 30), "agent_reply"),  # 90 minutes, 15 of them pending: 75 minutes used
        event("1", at(23, 12, 0), "customer_reply"),
        event("1", at(23, 12, 20), "status", "pending"),  # pending since: paused now
    )
    results = evaluate(items_frame(item("1", at(23, 9))), events, POLICY, now=at(23, 13, 0))
    first, second = rows_of(results, "next_reply")
    assert (first["elapsed_s"], first["paused_s"], first["state"]) == (75 * 60.0, 15 * 60.0, "breached")
    assert (second["elapsed_s"], second["paused_s"], second["state"]) == (20 * 60.0, 40 * 60.0, "paused")
    assert second["due_at"] == at(23, 13, 40)  # 1h budget + 40 minutes paused so far


def test_between_judges_each_gap_from_created_and_the_open_gap_to_now():
    items = items_frame(item("c", utc(2026, 11, 1), kind="ops", process="marketing"))
    events = events_frame(event("c", utc(2026, 11, 3), "updated"), event("c", utc(2026, 11, 12), "updated"),
                          event("c", utc(2026, 10, 30), "updated"))  # before created: ignored
    rows = rows_of(evaluate(items, events, POLICY, now=utc(2026, 11, 15)), "campaign_freshness")
    assert [(r["start"], r["stop"], r["elapsed_s"], r["state"]) for r in rows] == [
        (utc(2026, 11, 1), utc(2026, 11, 3), 2 * DAY, "achieved"),
        (utc(2026, 11, 3), utc(2026, 11, 12), 9 * DAY, "breached"),
        (utc(2026, 11, 12), None, 3 * DAY, "active"),
    ]
    assert sum(r["paused_s"] for r in rows) == 0


def test_between_ends_at_the_closed_milestone():
    items = items_frame(item("c", utc(2026, 11, 1), closed=utc(2026, 11, 10)))
    events = events_frame(event("c", utc(2026, 11, 3), "updated"), event("c", utc(2026, 11, 12), "updated"))
    rows = rows_of(evaluate(items, events, POLICY, now=utc(2026, 11, 20)), "campaign_freshness")
    assert [(r["start"], r["stop"], r["met"]) for r in rows] == [
        (utc(2026, 11, 1), utc(2026, 11, 3), True), (utc(2026, 11, 3), utc(2026, 11, 10), True)]


def test_a_weekly_deadline_is_wall_clock_time_in_amsterdam_across_the_end_of_summer_time():
    # Summer time ends on Sunday 25 October 2026: Wednesday 17:00 is 15:00 UTC before, 16:00 UTC after.
    items = items_frame(item("r", utc(2026, 10, 19, 8), kind="ops", process="reporting"))
    events = events_frame(
        event("r", utc(2026, 10, 21, 14, 30), "delivered"),  # met (due 15:00 UTC)
        event("r", utc(2026, 10, 28, 15, 30), "delivered"),  # met: due 16:00 UTC after the change
        event("r", utc(2026, 10, 28, 15, 45), "delivered"),  # a second delivery changes nothing
        event("r", utc(2026, 11, 5, 9, 0), "delivered"),  # late (due 4 November 16:00 UTC)
        # week of 9 November: nothing delivered -> missing
    )
    rows = rows_of(evaluate(items, events, POLICY, now=utc(2026, 11, 18, 10)), "weekly_report")
    assert [(r["instance"], r["start"], r["due_at"]) for r in rows] == [
        (1, utc(2026, 10, 19, 8), utc(2026, 10, 21, 15)),  # the first week starts with the stream
        (2, utc(2026, 10, 25, 23), utc(2026, 10, 28, 16)),  # Monday 00:00 CET
        (3, utc(2026, 11, 1, 23), utc(2026, 11, 4, 16)),
        (4, utc(2026, 11, 8, 23), utc(2026, 11, 11, 16)),
        (5, utc(2026, 11, 15, 23), utc(2026, 11, 18, 16)),
    ]
    assert [(r["stop"], r["state"], r["met"]) for r in rows] == [
        (utc(2026, 10, 21, 14, 30), "achieved", True),
        (utc(2026, 10, 28, 15, 30), "achieved", True),
        (utc(2026, 11, 5, 9), "breached", False),
        (None, "breached", False),
        (None, "active", None),
    ]
    assert rows[1]["within_s"] == 2 * DAY + 17 * HOUR
    assert rows[4]["remaining_s"] == 6 * HOUR and rows[4]["paused_s"] == 0


def test_a_month_day_past_the_end_means_the_last_day_and_a_period_before_the_start_is_left_out():
    items = items_frame(item("m", utc(2026, 1, 31, 18), kind="ops"))  # after January's deadline
    events = events_frame(event("m", utc(2026, 2, 27, 12), "closed_books"))
    rows = rows_of(evaluate(items, events, POLICY, now=utc(2026, 3, 5)), "monthly_close")
    assert [(r["start"], r["due_at"], r["state"]) for r in rows] == [
        (utc(2026, 2, 1), utc(2026, 2, 28, 17), "achieved"), (utc(2026, 3, 1), utc(2026, 3, 31, 17), "active")]
    assert [r["instance"] for r in rows] == [2, 3]  # periods keep their place: January (left out) is 1


def test_a_daily_schedule_stops_at_the_first_event_of_its_own_day():
    items = items_frame(item("d", utc(2026, 11, 2, 6), kind="ops"))
    events = events_frame(event("d", utc(2026, 11, 2, 9), "exported"), event("d", utc(2026, 11, 3, 11), "exported"))
    rows = rows_of(evaluate(items, events, POLICY, now=utc(2026, 11, 4, 9)), "daily_export")
    assert [(r["stop"], r["met"], r["state"]) for r in rows] == [
        (utc(2026, 11, 2, 9), True, "achieved"), (utc(2026, 11, 3, 11), False, "breached"), (None, None, "active")]


def test_next_business_day_skips_the_weekend_and_christmas():
    # Thursday 24 December 2026, 10:00 in Amsterdam: Friday 25 and Saturday 26 are holidays, Sunday is closed.
    items = items_frame(
        item("xmas", utc(2026, 12, 24, 9), resolved=utc(2026, 12, 28, 15, 59)),
        item("late", utc(2026, 12, 24, 9), resolved=utc(2026, 12, 28, 16, 30)),  # after 17:00 local, closed hours
        item("friday", utc(2026, 11, 20, 17)),  # Friday 18:00 local -> Monday 17:00
    )
    rows = {r["item_id"]: r for r in rows_of(evaluate(items, None, POLICY, now=utc(2026, 12, 30)), "resolution")}
    assert rows["xmas"]["due_at"] == utc(2026, 12, 28, 16)
    assert (rows["xmas"]["met"], rows["late"]["met"], rows["late"]["state"]) == (True, False, "breached")
    assert rows["friday"]["due_at"] == utc(2026, 11, 23, 16)
    assert rows["friday"]["state"] == "breached"  # never resolved, long past due
    assert rows["xmas"]["within_s"] == (rows["xmas"]["due_at"] - rows["xmas"]["start"]).total_seconds()


def test_plain_clocks_are_instance_one():
    plain = parse_policy(BASE.replace("METRIC", "{start: created, stop: resolved}").replace(
        "TARGET", "{metric: m, within: 4h, calendar: office}"))
    results = evaluate(items_frame(item("1", at(23, 9), resolved=at(23, 10))), None, plain, now=at(25, 9))
    assert results["instance"].to_list() == [1]


BASE = """\
version: 1
effective_from: 2026-01-01
calendars: {office: {timezone: Europe/Amsterdam, hours: {mon-fri: ["09:00-17:00"]}}}
metrics:
  m: METRIC
targets:
  - TARGET
"""


@pytest.mark.parametrize(("metric", "target", "message"), [
    ('{schedule: {every: fortnight, due: "wed 17:00"}, stop: "event:d"}', "{metric: m, calendar: office}",
     'sla.yaml:5: metrics.m.schedule.every: "fortnight" is not a period (use day, week, month)'),
    ('{schedule: {every: week, due: "17:00"}, stop: "event:d"}', "{metric: m, calendar: office}",
     'sla.yaml:5: metrics.m.schedule.due: "17:00" is not a weekly due time (use "wed 17:00")'),
    ('{schedule: {every: month, due: "32 17:00"}, stop: "event:d"}', "{metric: m, calendar: office}",
     'sla.yaml:5: metrics.m.schedule.due: "32 17:00": the day of the month must be 1-31 (use "5 17:00" (the 5th at 17:00))'),
    ('{schedule: {every: day, due: "25:00"}, stop: "event:d"}', "{metric: m, calendar: office}",
     'sla.yaml:5: metrics.m.schedule.due: "25:00" is not a time of day (00:00-23:59); use "10:00"'),
    ('{schedule: {every: day, due: "10:00", at: 1}, stop: "event:d"}', "{metric: m, calendar: office}",
     "sla.yaml:5: metrics.m.schedule.at: unknown key (expected one of: every, due)"),
    ('{schedule: {every: day, due: "10:00"}}', "{metric: m, calendar: office}",
     "sla.yaml:5: metrics.m.stop: required key is missing (the event that meets a period)"),
    ('{schedule: {every: day, due: "10:00"}, stop: "event:d", pause_when_status: [x]}',
     "{metric: m, calendar: office}",
     "sla.yaml:5: metrics.m.pause_when_status: not used with schedule (schedules do not pause or repeat; "
     "leave out pause_when_status)"),
    ('{schedule: {every: day, due: "10:00"}, stop: "event:d"}', "{metric: m, within: 1h, calendar: office}",
     "sla.yaml:7: targets[0].within: m runs on a schedule: its due time is the budget (leave out within)"),
    ('{between: "updated"}', "{metric: m, within: 7d, calendar: office}",
     'sla.yaml:5: metrics.m.between: "updated" is not an event kind (use event:<kind>, e.g. event:updated)'),
    ('{between: "event:updated", stop: resolved}', "{metric: m, within: 7d, calendar: office}",
     "sla.yaml:5: metrics.m.stop: not used with between (the gaps run from created through each event; "
     "leave out stop)"),
    ('{start: "event:a", stop: "event:b", repeat: sometimes}', "{metric: m, within: 1h, calendar: office}",
     'sla.yaml:5: metrics.m.repeat: "sometimes": input should be a valid boolean, unable to interpret input'),
    ('{start: "event:a", repeat: true}', "{metric: m, within: 1h, calendar: office}",
     "sla.yaml:5: metrics.m.stop: required key is missing"),
    ("{start: created, stop: resolved}", '{metric: m, by: "next business day 5pm", calendar: office}',
     'sla.yaml:7: targets[0].by: "next business day 5pm": "5pm" is not a time (use HH:MM), '
     'e.g. "next business day 17:00"'),
    ("{start: created, stop: resolved}", '{metric: m, by: "tomorrow 17:00", calendar: office}',
     'sla.yaml:7: targets[0].by: "tomorrow 17:00" is not a deadline (use "next business day 17:00")'),
    ("{start: created, stop: resolved}", '{metric: m, within: 1h, by: "next business day 17:00", calendar: office}',
     "sla.yaml:7: targets[0].by: give within (a duration) or by (a deadline), not both"),
    ("{start: created, stop: resolved}", "{metric: m, calendar: office}",
     "sla.yaml:7: targets[0].within: required key is missing"),
])
def test_each_new_key_gets_a_one_line_error_with_line_and_key_path(metric, target, message):
    with pytest.raises(PolicyError) as failure:
        parse_policy(BASE.replace("METRIC", metric).replace("TARGET", target))
    assert str(failure.value) == message


def test_the_issue_policy_parses_and_round_trips():
    from sla_core.policy_yaml import policy_to_yaml

    again = parse_policy(policy_to_yaml(POLICY))
    assert again == POLICY
    assert POLICY.metrics["weekly_report"].schedule.due_day == 2
    assert [m.kind for m in POLICY.metrics.values()] == [
        "repeat", "between", "schedule", "schedule", "schedule", "clock"]
    assert POLICY.targets[5].by == "next business day 17:00"
