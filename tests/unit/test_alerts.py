"""Alert selection, escalation and multi-window burn rates over hand-built results frames (24/7 clocks,
so every figure below can be checked with wall-clock arithmetic)."""

import random
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from sla_core import alerts

NOW = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)
HOUR = 3600.0

RESULT_SCHEMA = {
    "source": pl.String, "item_id": pl.String, "metric": pl.String, "kind": pl.String,
    "process": pl.String, "channel": pl.String, "team": pl.String, "priority": pl.String,
    "agent": pl.String, "status": pl.String, "created": pl.Datetime("us", "UTC"),
    "policy_version": pl.Int32, "target_index": pl.Int32, "calendar": pl.String, "within_s": pl.Float64,
    "objective": pl.Float64, "start": pl.Datetime("us", "UTC"), "stop": pl.Datetime("us", "UTC"),
    "elapsed_s": pl.Float64, "paused_s": pl.Float64, "state": pl.String, "met": pl.Boolean,
    "due_at": pl.Datetime("us", "UTC"), "remaining_s": pl.Float64, "pct_used": pl.Float64,
}


def result(item_id, *, start, within_s=4 * HOUR, stop=None, now=NOW, paused_s=0.0, paused=False,
           team="Billing", channel="email", metric="resolution", objective=0.95, target_index=0,
           policy_version=1):
    """One results row judged on a 24/7 calendar at `now`, as the clocks would compute it."""
    end = stop if stop is not None else now
    elapsed = (end - start).total_seconds() - paused_s
    met = None if stop is None and elapsed <= within_s else elapsed <= within_s
    if met is None:
        state = "paused" if paused else "active"
    else:
        state = "achieved" if met else "breached"
    return {
        "source": "test", "item_id": item_id, "metric": metric, "kind": "ticket", "process": "support",
        "channel": channel, "team": team, "priority": "normal", "agent": "ann", "status": "open",
        "created": start, "policy_version": policy_version, "target_index": target_index,
        "calendar": "always", "within_s": within_s, "objective": objective, "start": start, "stop": stop,
        "elapsed_s": elapsed, "paused_s": paused_s, "state": state, "met": met,
        "due_at": start + timedelta(seconds=within_s + paused_s), "remaining_s": within_s - elapsed,
        "pct_used": 100.0 * elapsed / within_s,
    }


def frame(rows):
    return pl.DataFrame(rows, schema=RESULT_SCHEMA)


@pytest.mark.parametrize(("pct", "level"), [
    (0.0, "on track"), (49.99, "on track"), (50.0, "50%"), (74.99, "50%"), (75.0, "75%"),
    (99.99, "75%"), (100.0, "75%"), (100.01, "breached"), (250.0, "breached"),
])
def test_risk_level_follows_the_50_75_100_thresholds_with_exactly_100_still_in_budget(pct, level):
    got = pl.select(alerts.risk_level(pl.lit(pct))).item()
    assert got == level


@pytest.mark.parametrize(("burn", "window", "share"), [
    (14.4, timedelta(hours=1), 0.02), (6.0, timedelta(hours=6), 0.05), (1.0, timedelta(days=3), 0.10),
    (1.0, timedelta(days=30), 1.0),
])
def test_the_sre_thresholds_spend_2_5_and_10_percent_of_a_30_day_budget(burn, window, share):
    assert alerts.budget_share_spent(burn, window) == pytest.approx(share)


def test_at_risk_lists_running_items_between_half_and_full_budget_most_urgent_first():
    rows = frame([
        result("fresh", start=NOW - timedelta(hours=1)),                   # 25%
        result("half", start=NOW - timedelta(hours=2)),                    # 50% exactly
        result("three_quarters", start=NOW - timedelta(hours=3)),          # 75% exactly
        result("almost", start=NOW - timedelta(hours=3, minutes=59)),      # 99.6%
        result("on_the_line", start=NOW - timedelta(hours=4)),             # 100%: not past the budget yet
        result("paused_late", start=NOW - timedelta(hours=5), paused_s=1.5 * HOUR, paused=True),  # 87.5%
        result("over", start=NOW - timedelta(hours=5)),                    # breached while running
        result("done_late", start=NOW - timedelta(hours=8), stop=NOW - timedelta(hours=4, minutes=30)),
        result("done_fast", start=NOW - timedelta(hours=3), stop=NOW - timedelta(hours=1)),  # achieved at 50%
    ])
    risky = alerts.at_risk(rows)
    assert risky["item_id"].to_list() == ["on_the_line", "almost", "paused_late", "three_quarters", "half"]
    assert risky["level"].to_list() == ["75%", "75%", "75%", "75%", "50%"]


def test_newly_breached_takes_running_and_stopped_items_whose_breach_instant_is_in_the_window():
    since = NOW - timedelta(hours=24)
    rows = frame([
        # due 4h after start: the due instant decides membership of (since, now]
        result("running_breached", start=NOW - timedelta(hours=6)),                          # due now-2h
        result("stopped_breached", start=NOW - timedelta(hours=20), stop=NOW - timedelta(hours=10)),
        result("old_breach", start=NOW - timedelta(hours=30), stop=NOW - timedelta(hours=2)),  # due now-26h
        result("due_exactly_at_since", start=since - timedelta(hours=4), stop=NOW),
        result("due_a_second_ago", start=NOW - timedelta(hours=4), within_s=4 * HOUR - 1),
        result("achieved", start=NOW - timedelta(hours=5), stop=NOW - timedelta(hours=2)),
        result("at_risk", start=NOW - timedelta(hours=3)),
    ])
    breached = alerts.newly_breached(rows, NOW, since)
    assert breached["item_id"].to_list() == ["stopped_breached", "running_breached", "due_a_second_ago"]


def test_items_past_their_targets_escalation_point_name_its_contacts():
    escalations = pl.DataFrame(
        {"policy_version": [1], "target_index": [0], "notify": [["#billing-leads", "oncall@example.com"]],
         "escalate_after": [0.75]},
        schema=alerts.ESCALATION_SCHEMA,
    )
    rows = frame([
        result("past_after", start=NOW - timedelta(hours=3, minutes=30)),               # 87.5%
        result("before_after", start=NOW - timedelta(hours=2, minutes=30)),             # 62.5%
        result("other_target", start=NOW - timedelta(hours=3, minutes=30), target_index=1),
        result("older_version", start=NOW - timedelta(hours=3, minutes=30), policy_version=2),
    ])
    found = alerts.find(rows, NOW, escalations=escalations)
    by_item = {row["item_id"]: row for row in found.at_risk.iter_rows(named=True)}
    assert by_item["past_after"]["escalated"] is True
    assert by_item["past_after"]["notify"] == ["#billing-leads", "oncall@example.com"]
    assert by_item["before_after"]["escalated"] is False
    assert by_item["before_after"]["notify"] == ["#billing-leads", "oncall@example.com"]
    assert by_item["other_target"]["escalated"] is False and by_item["other_target"]["notify"] == []
    assert by_item["older_version"]["escalated"] is False and by_item["older_version"]["notify"] == []


def test_findings_group_breached_and_at_risk_items_by_team():
    rows = frame([
        result("b1", start=NOW - timedelta(hours=6), team="Billing"),
        result("t1", start=NOW - timedelta(hours=3), team="Technical"),
        result("n1", start=NOW - timedelta(hours=3), team=None),
        result("t2", start=NOW - timedelta(hours=1), team="Technical"),  # on track: not reported
    ])
    grouped = alerts.find(rows, NOW).by_team()
    assert list(grouped) == ["(no team)", "Billing", "Technical"]
    assert grouped["Billing"]["breached"]["item_id"].to_list() == ["b1"]
    assert grouped["Billing"]["at_risk"].height == 0
    assert grouped["Technical"]["at_risk"]["item_id"].to_list() == ["t1"]
    assert grouped["(no team)"]["at_risk"]["item_id"].to_list() == ["n1"]


def _decided_rows(rng, team, count, breach_share, window, prefix):
    """`count` items decided at random instants inside the last `window`; a `breach_share` of them late."""
    rows = []
    for n in range(count):
        decided = NOW - timedelta(seconds=rng.uniform(1, window.total_seconds() - 1))
        if rng.random() < breach_share:
            # due at `decided`, stopped later: breached at its due instant
            rows.append(result(f"{prefix}{n}", start=decided - timedelta(hours=4), team=team,
                               stop=min(NOW, decided + timedelta(minutes=1))))
        else:
            rows.append(result(f"{prefix}{n}", start=decided - timedelta(hours=1), stop=decided, team=team))
    return rows


def _expected_burn(rows, window):
    """Independent burn rate: late items among those decided inside the window over their budget."""
    decided = breached = 0
    allowed = 0.0
    for row in rows:
        when = row["stop"] if row["met"] else row["due_at"]
        if NOW - window < when <= NOW:
            decided += 1
            breached += 0 if row["met"] else 1
            allowed += 1 - row["objective"]
    return decided, breached, (breached / allowed if allowed else None)


def test_window_burn_counts_items_by_the_instant_they_were_decided():
    rng = random.Random(42)
    rows = _decided_rows(rng, "Billing", 300, 0.2, timedelta(days=4), "x")
    results = frame(rows)
    for window in (timedelta(minutes=30), timedelta(hours=6), timedelta(days=3)):
        got = alerts.window_burn(results, NOW, window, ["team"]).row(0, named=True)
        decided, breached, burn = _expected_burn(rows, window)
        assert (got["decided"], got["breached"]) == (decided, breached)
        assert got["burn"] == pytest.approx(burn)


def test_burn_alert_fires_only_when_both_windows_burn_and_the_long_window_has_volume():
    rng = random.Random(42)
    fast = _decided_rows(rng, "Billing", 60, 1.0, timedelta(hours=1), "fast")       # 20x in every window
    fast += [result("fast_recent", start=NOW - timedelta(hours=4, minutes=2), team="Billing", stop=NOW)]
    thin = _decided_rows(rng, "Technical", 12, 0.9, timedelta(hours=1), "thin")     # too few items
    cooled = _decided_rows(rng, "Accounts", 60, 0.9, timedelta(hours=1), "cool")    # last 5 minutes clean
    cooled = [r for r in cooled if (r["stop"] if r["met"] else r["due_at"]) < NOW - timedelta(minutes=5)]
    cooled += [result(f"cool_ok{n}", start=NOW - timedelta(hours=1), stop=NOW - timedelta(minutes=n),
                      team="Accounts") for n in range(1, 4)]
    results = frame(fast + thin + cooled)
    fired = alerts.burn_rate_alerts(results, NOW, by=["team"], min_decided=20)
    one_hour = fired.filter(pl.col("window") == "1h/5m")
    assert one_hour["team"].to_list() == ["Billing"]
    decided, breached, burn = _expected_burn(fast, timedelta(hours=1))
    row = one_hour.row(0, named=True)
    assert (row["long_decided"], row["long_breached"]) == (decided, breached)
    assert row["long_burn"] == pytest.approx(burn) and burn > 14.4
    assert row["severity"] == "page" and row["threshold"] == 14.4
    # the slower pairs fire for the fast slice too, and never for the thin one
    assert "Billing" in fired.filter(pl.col("window") == "6h/30m")["team"].to_list()
    assert "Billing" in fired.filter(pl.col("window") == "3d/6h")["team"].to_list()
    assert "Technical" not in fired["team"].to_list()


def test_a_slice_burning_at_exactly_the_threshold_does_not_alert():
    # 20 items in the last hour, objective 0.95: 1 breach is burn 1.0 = the 3d/6h threshold, not above it
    rows = [result(f"ok{n}", start=NOW - timedelta(hours=2), stop=NOW - timedelta(minutes=3 * n + 1))
            for n in range(19)]
    rows.append(result("late", start=NOW - timedelta(hours=4, minutes=10), stop=NOW))
    fired = alerts.burn_rate_alerts(frame(rows), NOW, by=["team"], min_decided=20)
    assert fired.filter(pl.col("window") == "3d/6h").height == 0
    rows.append(result("late2", start=NOW - timedelta(hours=4, minutes=20), stop=NOW))
    fired = alerts.burn_rate_alerts(frame(rows), NOW, by=["team"], min_decided=20)
    assert fired.filter(pl.col("window") == "3d/6h")["team"].to_list() == ["Billing"]
