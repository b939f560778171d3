"""evaluate() equals a plain per-item walk through status events, measured with the slow reference."""

import dataclasses
from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla_core.clocks import evaluate
from sla_core.policy_yaml import parse_policy
from tests.unit.clock_fixtures import event, events_frame, item, items_frame
from tests.unit.slow_reference import EPOCH, MICRO, ReferenceCalendar, instant_us

CALENDARS = {
    "amsterdam": ("timezone: Europe/Amsterdam\n    hours: {mon-fri: [\"08:00-12:00\", \"13:00-17:30\"], sat: \"10:00-14:00\"}\n"
                  "    holidays: {country: NL, dates: [2026-10-26]}",
                  ReferenceCalendar("Europe/Amsterdam", [[(28800, 43200), (46800, 63000)]] * 5 + [[(36000, 50400)], []],
                                    [datetime(2026, 10, 26).date()], "NL")),
    "new_york_nights": ("timezone: America/New_York\n    hours: {mon-sat: \"22:00-06:00\", sun: \"00:00-24:00\"}",
                        ReferenceCalendar("America/New_York", [[(79200, 108000)]] * 6 + [[(0, 86400)]])),
    "always": ("24/7", ReferenceCalendar("UTC", None)),
}
STATUSES = ["open", "pending", "on_hold", "solved", "new"]
PAUSING = ("pending", "on_hold")
BASE = datetime(2026, 10, 20, tzinfo=UTC)  # both autumn DST changes lie within the next three weeks


def policy_for(calendar: str, within: str):
    spec = CALENDARS[calendar][0]
    body = spec if spec == "24/7" else "\n    " + spec
    if within == "0s":  # a policy file refuses a zero budget; the kernel still handles one (simulated proposals)
        policy = policy_for(calendar, "1s")
        return dataclasses.replace(policy, targets=tuple(dataclasses.replace(t, within_s=0.0) for t in policy.targets))
    return parse_policy(f"""\
version: 1
effective_from: 2026-01-01
calendars:
  c: {body}
metrics:
  resolution: {{start: created, stop: resolved, pause_when_status: [pending, on_hold]}}
targets:
  - {{metric: resolution, within: {within}, calendar: c}}
""")


def moment(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


@st.composite
def tickets(draw):
    created = draw(st.integers(0, 14 * 1440))
    resolved = draw(st.one_of(st.none(), st.integers(created - 60, created + 10 * 1440)))
    changes = draw(st.lists(st.tuples(st.integers(created - 2 * 1440, created + 12 * 1440), st.sampled_from(STATUSES)),
                            max_size=8))
    return created, resolved, changes


def reference_row(reference: ReferenceCalendar, within_s: int, created, resolved, changes, now_us):
    start = instant_us(moment(created))
    stop = instant_us(moment(resolved)) if resolved is not None and instant_us(moment(resolved)) <= now_us else None
    end = stop if stop is not None else now_us
    visible = sorted((instant_us(moment(m)), status) for m, status in set(changes) if instant_us(moment(m)) <= now_us)
    paused = 0
    for index, (since, status) in enumerate(visible):
        if status not in PAUSING:
            continue
        until = visible[index + 1][0] if index + 1 < len(visible) else end
        low, high = max(since, start), min(until, end)
        if high > low:
            paused += reference.business_us(low, high)
    paused_now = bool(visible) and visible[-1][1] in PAUSING
    elapsed = reference.business_us(start, end) - paused
    over = elapsed > within_s * 10**6
    if stop is not None:
        state = "breached" if over else "achieved"
    else:
        state = "breached" if over else ("paused" if paused_now else "active")
    due = EPOCH + reference.due_us(start, within_s * 10**6 + paused) * MICRO
    return {"elapsed_s": elapsed / 1e6, "paused_s": paused / 1e6, "state": state, "due_at": due}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(CALENDARS)), st.sampled_from([("0s", 0), ("30m", 1800), ("4h", 14400), ("2d", 172800)]),
       st.lists(tickets(), min_size=1, max_size=6), st.integers(0, 21 * 1440))
def test_evaluate_equals_a_per_item_walk_through_status_events(calendar, budget, drawn, now_minutes):
    within, within_s = budget
    policy = policy_for(calendar, within)
    reference = CALENDARS[calendar][1]
    now = moment(now_minutes)
    rows, events = [], []
    for number, (created, resolved, changes) in enumerate(drawn):
        rows.append(item(str(number), moment(created), resolved=None if resolved is None else moment(resolved)))
        events += [event(str(number), moment(m), value=status) for m, status in set(changes)]
    results = evaluate(items_frame(*rows), events_frame(*events), policy, now=now)
    got = {row["item_id"]: row for row in results.to_dicts()}
    for number, (created, resolved, changes) in enumerate(drawn):
        if moment(created) > now:
            assert str(number) not in got
            continue
        expected = reference_row(reference, within_s, created, resolved, changes, instant_us(now))
        row = got[str(number)]
        assert {key: row[key] for key in expected} == expected, (number, created, resolved, sorted(set(changes)))
    assert set(results["state"].to_list()) <= {"achieved", "breached", "active", "paused"}
    assert results.filter(pl.col("met").is_null())["state"].is_in(["active", "paused"]).all()
