"""evaluate() over many items equals evaluating each item alone, with the target a per-item walk picks.

evaluate matches targets once per distinct combination of the matched attributes and runs each calendar's
rows through its kernel together; neither may change an item's row.
"""

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from sla_core.clocks import evaluate
from sla_core.policy import PolicyHistory
from sla_core.policy_yaml import parse_policy
from tests.unit.clock_fixtures import event, events_frame, item, items_frame

POLICY = """\
version: {version}
effective_from: {effective}
objective: 0.95
calendars:
  office:
    timezone: Europe/Amsterdam
    hours: {{mon-fri: ["08:00-12:00", "13:00-17:30"]}}
  phones:
    timezone: America/New_York
    hours: {{mon-sat: "07:00-19:00"}}
  always: 24/7
metrics:
  first_response: {{start: [created, "event:assigned"], stop: first_response}}
  resolution: {{start: [created, "event:assigned"], stop: resolved, pause_when_status: [pending]}}
targets:
  - {{metric: first_response, match: {{channel: [chat, Phone], priority: urgent}}, within: {fast}, calendar: phones}}
  - {{metric: first_response, match: {{channel: chat}}, within: 2h, calendar: always, objective: 0.9}}
  - {{metric: first_response, match: {{source: mail}}, within: 4h, calendar: office}}
  - {{metric: resolution, match: {{team: Billing, priority: [urgent, HIGH]}}, within: 8h, calendar: office}}
  - {{metric: resolution, match: {{kind: ticket}}, within: {slow}, calendar: phones}}
"""
HISTORY = PolicyHistory([
    parse_policy(POLICY.format(version=1, effective="2026-01-01", fast="30m", slow="2d")),
    parse_policy(POLICY.format(version=2, effective="2026-11-10", fast="1h", slow="1d")),
])
BASE = datetime(2026, 11, 2, tzinfo=UTC)
NOW = BASE + timedelta(days=16)
ATTRIBUTES = {
    "source": st.sampled_from(["mail", "chat", "MAIL"]),
    "channel": st.sampled_from(["chat", "phone", "Phone", "email", None]),
    "priority": st.sampled_from(["urgent", "high", "High", "low", None]),
    "team": st.sampled_from(["Billing", "billing", "Tech", None]),
    "kind": st.sampled_from(["ticket", "task"]),
}


@st.composite
def tickets(draw, index: int):
    created = BASE + timedelta(minutes=draw(st.integers(0, 20 * 1440)))
    later = st.one_of(st.none(), st.integers(0, 5 * 1440).map(lambda m: created + timedelta(minutes=m)))
    attributes = {name: draw(strategy) for name, strategy in ATTRIBUTES.items()}
    row = item(f"T{index}", created, first_response=draw(later), resolved=draw(later), **attributes)
    moments = st.integers(-1440, 6 * 1440).map(lambda m: created + timedelta(minutes=m))
    changes = draw(st.lists(st.tuples(moments, st.sampled_from(["pending", "open", "assigned"])), max_size=3))
    events = [dict(event(row["item_id"], at, "status", value), source=row["source"]) for at, value in changes]
    return row, events


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 12).flatmap(lambda n: st.tuples(*[tickets(i) for i in range(n)])))
def test_every_item_is_judged_as_if_it_were_alone_by_the_target_a_per_item_walk_picks(drawn):
    rows = [row for row, _ in drawn]
    events = [one for _, some in drawn for one in some]
    together = evaluate(items_frame(*rows), events_frame(*events), HISTORY, NOW)

    alone = [evaluate(items_frame(row), events_frame(*some), HISTORY, NOW) for row, some in drawn]
    order = ["item_id", "metric"]
    assert_frame_equal(together.sort(order), pl.concat(alone).sort(order), check_exact=True)
    for row in rows:
        policy = HISTORY.in_force(row["created"].date())
        for metric in ("first_response", "resolution"):
            target = policy.target_for(metric, row)
            got = together.filter((pl.col("item_id") == row["item_id"]) & (pl.col("metric") == metric))
            if target is None:
                assert got.is_empty()
            elif got.height:
                assert got.row(0, named=True)["target_index"] == target.index
                assert got.row(0, named=True)["calendar"] == target.calendar
                assert got.row(0, named=True)["policy_version"] == policy.version
    # rows keep the order of the items within each metric and policy version
    for _, part in together.group_by("metric", "policy_version", maintain_order=True):
        positions = [int(name[1:]) for name in part["item_id"].to_list()]
        assert positions == sorted(positions)
