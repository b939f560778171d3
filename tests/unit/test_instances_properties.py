"""Properties of the instance clocks: a repeat clock with one start and one stop is the plain clock; the
gaps between events add up to the span from created to the end."""

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_core.clocks import evaluate
from sla_core.policy_yaml import parse_policy
from tests.unit.clock_fixtures import event, events_frame, item, items_frame
from tests.unit.test_clocks_properties import CALENDARS, STATUSES

BASE = datetime(2026, 10, 20, tzinfo=UTC)  # the autumn DST changes of Europe and New York lie ahead
COMPARED = ["start", "stop", "elapsed_s", "paused_s", "state", "met", "due_at", "remaining_s", "within_s"]


def moment(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def policy_for(calendar: str, within: str):
    spec = CALENDARS[calendar][0]
    body = spec if spec == "24/7" else "\n    " + spec
    return parse_policy(f"""\
version: 1
effective_from: 2026-01-01
calendars:
  c: {body}
metrics:
  plain: {{start: "event:asked", stop: "event:answered", pause_when_status: [pending, on_hold]}}
  repeating: {{start: "event:asked", stop: "event:answered", pause_when_status: [pending, on_hold], repeat: true}}
  gaps: {{between: "event:updated"}}
targets:
  - {{metric: plain, within: {within}, calendar: c}}
  - {{metric: repeating, within: {within}, calendar: c}}
  - {{metric: gaps, within: {within}, calendar: c}}
""")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calendar=st.sampled_from(sorted(CALENDARS)),
    within=st.sampled_from(["1s", "30m", "4h", "2d"]),
    asked=st.integers(0, 10 * 1440),
    answer_after=st.one_of(st.none(), st.integers(0, 5 * 1440)),
    changes=st.lists(st.tuples(st.integers(-1440, 14 * 1440), st.sampled_from(STATUSES)), max_size=6),
    now_after=st.integers(0, 16 * 1440),
)
def test_a_repeat_clock_with_one_start_and_one_stop_is_the_plain_clock(
    calendar, within, asked, answer_after, changes, now_after
):
    events = [event("1", moment(asked), "asked")]
    if answer_after is not None:
        events.append(event("1", moment(asked + answer_after), "answered"))
    events += [event("1", moment(m), "status", status) for m, status in set(changes)]
    now = moment(asked + now_after)
    results = evaluate(items_frame(item("1", moment(-2000))), events_frame(*events), policy_for(calendar, within),
                       now=now, metrics=["plain", "repeating"])
    plain = results.filter(pl.col("metric") == "plain").select(COMPARED)
    repeating = results.filter(pl.col("metric") == "repeating").select(COMPARED)
    assert plain.height == 1
    assert repeating.to_dicts() == plain.to_dicts()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calendar=st.sampled_from(sorted(CALENDARS)),
    created=st.integers(0, 3 * 1440),
    updates=st.lists(st.integers(-1440, 20 * 1440), max_size=8),
    closed_after=st.one_of(st.none(), st.integers(0, 20 * 1440)),
    now_after=st.integers(0, 22 * 1440),
)
def test_the_gaps_between_events_add_up_to_the_span_from_created_to_the_end(
    calendar, created, updates, closed_after, now_after
):
    now = moment(created + now_after)
    closed = moment(created + closed_after) if closed_after is not None else None
    items = items_frame(item("1", moment(created), closed=closed))
    events = events_frame(*[event("1", moment(m), "updated") for m in updates]) if updates else None
    policy = policy_for(calendar, "4h")
    rows = evaluate(items, events, policy, now=now, metrics=["gaps"]).sort("instance")
    end = closed if closed is not None and closed <= now else now
    span = policy.calendars["c"].business_seconds(pl.Series([moment(created)]), pl.Series([end]))[0]
    assert rows["elapsed_s"].sum() == span
    assert rows["instance"].to_list() == list(range(1, rows.height + 1))
    counted = sorted(moment(m) for m in updates if moment(created) <= moment(m) <= end)
    assert rows.height == len(counted) + 1
    # consecutive: each gap starts where the previous one stopped
    assert rows["start"].to_list()[1:] == rows["stop"].to_list()[:-1]
    assert rows["stop"].to_list()[-1] == (closed if closed is not None and closed <= now else None)
