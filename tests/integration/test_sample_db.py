"""The sample database looks like a real support operation: every slice populated, breaches, a live queue."""

from __future__ import annotations

import csv
from datetime import timedelta
from zoneinfo import ZoneInfo

from tests.integration.conftest import SAMPLE_NOW, SAMPLE_TICKETS, query


def test_the_ticket_export_round_trips_into_items(sample_db, sample_samples_dir):
    with (sample_samples_dir / "zendesk_tickets.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == SAMPLE_TICKETS
    assert query(sample_db, "SELECT count(*) FROM items WHERE source = 'zendesk'")[0][0] == SAMPLE_TICKETS
    assert query(sample_db, "SELECT count(*) FROM rejected_rows")[0][0] == 0
    vias = {row["Via"] for row in rows}
    assert vias == {"Mail", "Phone call (incoming)", "Chat", "Twitter", "Web form"}


def test_every_channel_team_and_priority_has_tickets(sample_db):
    assert {r[0] for r in query(sample_db, "SELECT DISTINCT channel FROM items WHERE kind = 'ticket'")} == {
        "email", "phone", "chat", "social", "web"}
    assert {r[0] for r in query(sample_db, "SELECT DISTINCT team FROM items WHERE kind = 'ticket'")} == {
        "Billing", "Technical", "Accounts", "Onboarding"}
    assert {r[0] for r in query(sample_db, "SELECT DISTINCT priority FROM items WHERE kind = 'ticket'")} == {
        "urgent", "high", "normal", "low"}


def test_history_spans_about_six_months_and_ends_at_now(sample_db):
    first, last = query(sample_db, "SELECT min(created), max(created) FROM items")[0]
    assert SAMPLE_NOW - timedelta(days=183) <= first <= SAMPLE_NOW - timedelta(days=170)
    assert SAMPLE_NOW - timedelta(days=2) <= last <= SAMPLE_NOW


def test_tickets_arrive_mostly_in_amsterdam_business_hours_and_on_weekdays(sample_db):
    zone = ZoneInfo("Europe/Amsterdam")
    created = [r[0].astimezone(zone) for r in query(sample_db, "SELECT created FROM items WHERE kind = 'ticket'")]
    daytime = sum(1 for moment in created if 8 <= moment.hour < 18)
    weekend = sum(1 for moment in created if moment.weekday() >= 5)
    assert daytime / len(created) > 0.7
    assert weekend / len(created) < 0.15


def test_every_team_has_some_breaches_and_mostly_meets_its_targets(sample_db):
    rows = query(sample_db, """
        SELECT team, count(*) FILTER (WHERE NOT met), avg(met::INT)
        FROM results WHERE metric = 'resolution' GROUP BY team
    """)
    assert len(rows) == 4
    for team, breached, share in rows:
        assert breached >= 3, team
        assert 0.8 < share < 0.995, team


def test_the_backlog_spike_shows_as_a_busier_and_worse_week(sample_db):
    weeks = query(sample_db, """
        SELECT date_trunc('week', created) AS week, count(*), avg(met::INT)
        FROM results WHERE metric = 'resolution' AND created < ?::TIMESTAMPTZ - INTERVAL 14 DAY
        GROUP BY week ORDER BY count(*) DESC
    """, [SAMPLE_NOW])
    busiest, typical = weeks[0], weeks[len(weeks) // 2]
    assert busiest[1] > 1.5 * typical[1]
    assert busiest[2] < typical[2]


def test_pending_and_on_hold_pauses_are_status_events(sample_db):
    counts = dict(query(sample_db, "SELECT value, count(*) FROM events WHERE kind = 'status' GROUP BY value"))
    assert counts["pending"] > SAMPLE_TICKETS * 0.1
    assert counts["on_hold"] > 0
    assert query(sample_db, "SELECT count(*) FROM results WHERE metric = 'resolution' AND paused_s > 0")[0][0] > 0


def test_the_live_queue_has_items_on_track_past_50_and_75_percent_and_breached(sample_db):
    levels = dict(query(sample_db, """
        SELECT CASE WHEN pct_used >= 100 THEN 'breached' WHEN pct_used >= 75 THEN '75%'
                    WHEN pct_used >= 50 THEN '50%' ELSE 'on track' END, count(*)
        FROM results WHERE stop IS NULL GROUP BY 1
    """))
    assert set(levels) == {"on track", "50%", "75%", "breached"}
    assert query(sample_db, "SELECT count(*) FROM results WHERE state = 'paused'")[0][0] > 0


def test_leads_go_submitted_scored_routed_for_growth_ops(sample_db):
    assert query(sample_db, "SELECT DISTINCT team, process FROM items WHERE item_id LIKE 'LEAD-%'") == [
        ("Growth Ops", "leads")]
    order = query(sample_db, """
        SELECT count(*) FROM (
            SELECT item_id, list(kind ORDER BY occurred_at) AS steps FROM events
            WHERE item_id LIKE 'LEAD-%' GROUP BY item_id)
        WHERE steps[1] <> 'submitted' OR (len(steps) >= 2 AND steps[2] <> 'scored')
    """)
    assert order[0][0] == 0
    late = query(sample_db, "SELECT count(*) FROM results WHERE metric = 'lead_scoring' AND NOT met")[0][0]
    assert late > 0


def test_weekly_reports_start_monday_midnight_amsterdam_and_a_few_are_late(sample_db):
    zone = ZoneInfo("Europe/Amsterdam")
    starts = [r[0].astimezone(zone) for r in query(
        sample_db, "SELECT created FROM items WHERE process = 'reporting' ORDER BY created")]
    assert len(starts) >= 25
    assert all((s.weekday(), s.hour, s.minute) == (0, 0, 0) for s in starts)
    assert {b - a for a, b in zip(starts, starts[1:], strict=False)} <= {timedelta(days=7), timedelta(days=7, hours=1),
                                                                        timedelta(days=6, hours=23)}
    assert query(sample_db, "SELECT DISTINCT team FROM items WHERE process = 'reporting'") == [("BI",)]
    late = query(sample_db, "SELECT count(*) FROM results WHERE metric = 'report_delivery' AND NOT met")[0][0]
    assert 1 <= late <= 5


def test_a_longer_history_spreads_the_same_tickets_over_more_days_with_the_recent_backlog_unchanged():
    from sla_store.sample_ops import generate_ops
    from sla_store.sample_tickets import generate_tickets

    short, _ = generate_tickets(20_000, seed=5, now=SAMPLE_NOW)
    long, _ = generate_tickets(20_000, seed=5, now=SAMPLE_NOW, days=730)
    assert SAMPLE_NOW - short["created"].min() < timedelta(days=183)
    assert timedelta(days=700) < SAMPLE_NOW - long["created"].min() < timedelta(days=731)
    recent = SAMPLE_NOW - timedelta(days=30)
    open_recent = [frame.filter((frame["created"] >= recent) & frame["resolved"].is_null()).height
                   for frame in (short, long)]
    assert open_recent[1] < open_recent[0] / 2  # the same tickets over 4x the days: fewer open right now
    ops = generate_ops(seed=5, now=SAMPLE_NOW, leads=100, days=730)
    weekly = ops.filter((ops["activity"] == "requested") & ops["case"].str.starts_with("RPT-"))
    assert weekly.height == 730 // 7  # one weekly report a week, over the whole history
