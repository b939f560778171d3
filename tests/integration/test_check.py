"""`sla check` on a hand-built dataset judged on a 24/7 calendar, so every expected item below follows
from wall-clock arithmetic. The results table is stale (computed 3 hours before the check), as after a
morning ingest; the check must re-judge at --now."""

import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest
from typer.testing import CliRunner

from sla_core.clocks import evaluate
from sla_store.check import digest_text
from sla_store.cli import app
from sla_store.db import write_transaction
from sla_store.policy_files import load_policy_history

NOW = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)
INGESTED = NOW - timedelta(hours=3)

POLICY = """
version: 1
effective_from: 2026-01-01
objective: 0.95
calendars:
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution: {start: created, stop: resolved, pause_when_status: [pending]}
targets:
  - metric: first_response
    match: {priority: urgent}
    within: 1h
    calendar: always
    escalation: {notify: ["#urgent", "oncall@example.com"], after: 75%}
  - {metric: first_response, match: {kind: ticket}, within: 4h, calendar: always}
  - metric: resolution
    match: {kind: ticket}
    within: 8h
    calendar: always
    escalation: {notify: ["#support-leads"], after: 50%}
"""


def h(hours):
    return NOW + timedelta(hours=hours)


#        id   team         channel  priority  created  first_response  resolved  status events
ITEMS = [
    ("A", "Billing", "chat", "urgent", h(-50 / 60), None, None, []),
    ("B", "Billing", "email", "normal", h(-5), None, None, []),
    ("C", "Technical", "email", "normal", h(-30), h(-29), None, [(h(-26), "pending")]),
    ("D", "Technical", "email", "normal", h(-40), h(-39), h(-20), []),
    ("E", "Technical", "email", "high", h(-10), h(-5), h(-1), []),
    ("F", "Accounts", "email", "normal", h(-1), h(-0.5), None, []),
    ("G", "Accounts", "email", "normal", h(1), None, None, []),            # created after --now
    ("H", "Accounts", "email", "normal", h(-4.5), h(1), None, []),         # responds after --now
    ("I", "Technical", "email", "normal", h(-13), h(-12), h(-4), []),      # breached and stopped before ingest
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("check")
    config = root / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(POLICY)
    item_rows = pl.DataFrame(
        [{"source": "desk", "item_id": i, "kind": "ticket", "process": "support", "channel": ch, "team": t,
          "priority": p, "agent": "ann", "status": "open", "subject": f"item {i}", "created": c,
          "first_response": fr, "resolved": rs, "closed": rs}
         for i, t, ch, p, c, fr, rs, _ in ITEMS],
        schema_overrides={k: pl.Datetime("us", "UTC") for k in ("created", "first_response", "resolved", "closed")},
    )
    event_rows = pl.DataFrame(
        [{"source": "desk", "item_id": i, "occurred_at": at, "kind": "status", "value": value}
         for i, *_, changes in ITEMS for at, value in changes],
        schema={"source": pl.String, "item_id": pl.String, "occurred_at": pl.Datetime("us", "UTC"),
                "kind": pl.String, "value": pl.String},
    )
    stale = evaluate(item_rows, event_rows, load_policy_history(config), INGESTED).with_columns(  # noqa: F841
        computed_at=pl.lit(INGESTED)
    )
    db = root / "sla.duckdb"
    with write_transaction(db) as con:
        con.execute("INSERT INTO items BY NAME SELECT * FROM item_rows")
        con.execute("INSERT INTO events BY NAME SELECT * FROM event_rows")
        con.execute("INSERT INTO results BY NAME SELECT * FROM stale")
    return db, config


def run(setup, *args):
    db, config = setup
    return CliRunner().invoke(app, ["check", "--db", str(db), "--config", str(config), *args])


def digest(setup, *args):
    result = run(setup, "--now", NOW.isoformat(), "--format", "json", *args)
    return result, json.loads(result.stdout)


def items_of(teams, kind):
    return {team["team"]: [(r["item_id"], r["metric"]) for r in team[kind]] for team in teams}


def test_check_reports_exactly_the_new_breaches_and_at_risk_items_grouped_by_team(setup):
    result, payload = digest(setup)
    assert result.exit_code == 1
    assert payload["counts"] == {"breached": 5, "at_risk": 4, "burn_alerts": 0}
    assert [team["team"] for team in payload["teams"]] == ["Accounts", "Billing", "Technical"]
    assert items_of(payload["teams"], "breached") == {
        "Accounts": [("H", "first_response")],                      # due 30m ago; answered only later
        "Billing": [("B", "first_response")],                       # due 1h ago, still running
        # due 6h, 5h and 2h ago, all stopped late; I was already decided when the results were computed
        "Technical": [("E", "first_response"), ("I", "resolution"), ("E", "resolution")],
    }
    assert items_of(payload["teams"], "at_risk") == {
        "Accounts": [("H", "resolution")],                          # 4.5h of 8h
        "Billing": [("A", "first_response"), ("B", "resolution")],  # 50m of 1h; 5h of 8h
        "Technical": [("C", "resolution")],                         # 4h of 8h, paused since
    }


def test_at_risk_items_carry_their_level_time_left_and_due_instant(setup):
    _, payload = digest(setup)
    records = {(r["item_id"], r["metric"]): r for team in payload["teams"] for r in team["at_risk"]}
    assert records[("A", "first_response")]["level"] == "75%"
    assert records[("A", "first_response")]["remaining_s"] == 600.0
    assert records[("A", "first_response")]["due_at"] == "2026-10-14T12:10:00Z"
    assert records[("C", "resolution")]["state"] == "paused"
    assert records[("C", "resolution")]["level"] == "50%"
    assert records[("B", "resolution")]["pct_used"] == 62.5


def test_escalation_names_the_targets_contacts_once_past_its_after_share(setup):
    _, payload = digest(setup)
    by_team = {team["team"]: team for team in payload["teams"]}
    assert by_team["Billing"]["notify"] == ["#support-leads", "#urgent", "oncall@example.com"]
    escalated = {(r["item_id"], r["metric"]): r["notify"]
                 for team in payload["teams"] for r in team["breached"] + team["at_risk"] if r["escalated"]}
    assert escalated == {
        ("A", "first_response"): ["#urgent", "oncall@example.com"],
        ("B", "resolution"): ["#support-leads"],
        ("C", "resolution"): ["#support-leads"],
        ("E", "resolution"): ["#support-leads"],
        ("H", "resolution"): ["#support-leads"],
        ("I", "resolution"): ["#support-leads"],
    }


def test_text_digest_lists_teams_items_and_contacts(setup):
    result = run(setup, "--now", NOW.isoformat())
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == ("SLA check at 2026-10-14T12:00:00Z (breaches since 2026-10-13T12:00:00Z): "
                        "5 newly breached, 4 at risk, 0 burn-rate alerts")
    assert "Billing: 1 breached, 2 at risk - escalate to #support-leads, #urgent, oncall@example.com" in lines
    a_line = next(line for line in lines if "desk/A " in line)
    assert "75%" in a_line and "10m business left" in a_line and "escalate to #urgent, oncall@example.com" in a_line
    breached = [line for line in lines if line.lstrip().startswith("BREACHED")]
    assert breached and all(re.search(r"over by \d+[hm]\b.* business", line) for line in breached)
    assert not any(re.search(r"\d+d\b", line) for line in lines)  # business time never in 24-hour days


def test_the_text_digest_caps_each_teams_lines_and_says_how_many_more(setup):
    _, payload = digest(setup)
    text = digest_text(payload, max_lines_per_team=2)
    billing = text.split("\n\nBilling: ")[1].split("\n\n")[0].splitlines()
    assert [line.split()[1] for line in billing[1:3]] == ["desk/B", "desk/A"]  # breached first, then at risk
    assert billing[3] == "  ... and 1 more (all of them in --format json)"
    assert len(billing) == 4


def test_a_shorter_look_back_keeps_only_breaches_due_inside_it(setup):
    _, payload = digest(setup, "--since", "90m")
    breached = sorted((r["item_id"], r["metric"]) for team in payload["teams"] for r in team["breached"])
    assert breached == [("B", "first_response"), ("H", "first_response")]


def test_exit_code_is_zero_without_breaches_and_one_for_at_risk_when_asked(setup):
    earlier = (NOW - timedelta(hours=7)).isoformat()
    quiet = run(setup, "--now", earlier, "--format", "json")
    assert quiet.exit_code == 0
    payload = json.loads(quiet.stdout)
    assert payload["counts"]["breached"] == 0
    assert sorted((r["item_id"], r["metric"]) for team in payload["teams"] for r in team["at_risk"]) == [
        ("C", "resolution"), ("E", "first_response"), ("I", "resolution"),  # 4h of 8h paused; 3h of 4h; 6h of 8h
    ]
    assert run(setup, "--now", earlier, "--fail-on", "at-risk").exit_code == 1


def test_burn_rate_alerts_need_volume_in_the_long_window(setup):
    _, payload = digest(setup)
    assert payload["burn_alerts"] == []
    _, payload = digest(setup, "--min-decided", "2")
    # resolution for Technical/email: D, I and E breached 32h, 5h and 2h ago: 3 of 3 decided in 3 days,
    # I and E in the last 6 hours: burn 3 / (3 * 0.05) = 20x and 2 / (2 * 0.05) = 20x.
    # first_response for Accounts/email: F met 30m ago, H breached 30m ago: 1 / (2 * 0.05) = 10x in
    # both 3d and 6h (above 1x, below 14.4x; the 30m window (now-30m, now] holds neither).
    assert [(a["metric"], a["team"], a["channel"], a["window"], a["severity"], a["long_burn"], a["short_burn"],
             a["long_decided"]) for a in payload["burn_alerts"]] == [
        ("resolution", "Technical", "email", "3d/6h", "ticket", 20.0, 20.0, 3),
        ("first_response", "Accounts", "email", "3d/6h", "ticket", 10.0, 10.0, 2),
    ]


def test_bad_arguments_and_a_missing_database_exit_2_with_one_line(setup, tmp_path):
    bad_now = run(setup, "--now", "yesterday")
    assert bad_now.exit_code == 2
    assert bad_now.stderr.strip() == "error: --now 'yesterday' is not an ISO 8601 instant (e.g. 2026-10-14T12:00:00Z)"
    bad_since = run(setup, "--since", "a while")
    assert bad_since.exit_code == 2 and "--since 'a while'" in bad_since.stderr
    _, config = setup
    missing = CliRunner().invoke(app, ["check", "--db", str(tmp_path / "none.duckdb"), "--config", str(config)])
    assert missing.exit_code == 2 and len(missing.stderr.strip().splitlines()) == 1
    (tmp_path / "notes.duckdb").write_text("not a database")
    foreign = CliRunner().invoke(app, ["check", "--db", str(tmp_path / "notes.duckdb"), "--config", str(config)])
    assert foreign.exit_code == 2 and "notes.duckdb: not a DuckDB database file" in foreign.stderr
    assert len(foreign.stderr.strip().splitlines()) == 1


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.headers["Content-Type"], body))
        # statuses: one per request in turn, the last one repeating
        self.send_response(self.server.statuses[min(len(self.server.received), len(self.server.statuses)) - 1])
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_server():
    servers = []

    def start(*statuses):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        server.statuses, server.received = statuses, []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server, f"http://127.0.0.1:{server.server_address[1]}/hook"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_webhook_receives_the_digest_as_json_with_a_slack_text_field(setup, webhook_server):
    server, url = webhook_server(200)
    result, printed = digest(setup, "--webhook", url)
    assert result.exit_code == 1
    assert len(server.received) == 1
    content_type, body = server.received[0]
    assert content_type == "application/json"
    posted = json.loads(body)
    assert posted == printed
    assert posted["text"].startswith("SLA check at 2026-10-14T12:00:00Z")
    assert "Technical: 3 breached, 1 at risk - escalate to #support-leads" in posted["text"]


def test_a_failing_webhook_is_retried_then_reported_with_exit_code_2(setup, webhook_server):
    server, url = webhook_server(500)
    result = run(setup, "--now", NOW.isoformat(), "--webhook", url, "--retries", "3")
    assert result.exit_code == 2
    assert len(server.received) == 3
    assert result.stderr.strip() == f"error: webhook {url} failed after 3 attempt(s): HTTP 500"
    assert result.stdout.startswith("SLA check at")  # the digest itself is still printed


def test_an_unreachable_webhook_is_reported_not_dropped(setup, webhook_server):
    server, url = webhook_server(200)
    server.shutdown()
    server.server_close()
    result = run(setup, "--now", NOW.isoformat(), "--webhook", url, "--retries", "2", "--timeout", "1")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: webhook {url} failed after 2 attempt(s): ConnectError")


def test_a_webhook_that_recovers_gets_the_digest_on_a_retry(setup, webhook_server):
    server, url = webhook_server(503, 200)
    result = run(setup, "--now", NOW.isoformat(), "--webhook", url)
    assert result.exit_code == 1  # findings, delivered on the second attempt
    assert len(server.received) == 2 and server.received[0][1] == server.received[1][1]
    assert result.stderr == ""


def test_a_refused_webhook_request_is_not_retried(setup, webhook_server):
    server, url = webhook_server(404)
    result = run(setup, "--now", NOW.isoformat(), "--webhook", url, "--retries", "3")
    assert result.exit_code == 2
    assert len(server.received) == 1
    assert result.stderr.strip() == f"error: webhook {url} failed after 1 attempt(s): HTTP 404"


@pytest.mark.parametrize(("url", "problem"), [
    ("hooks.example.com/x", "use an absolute http:// or https:// URL"),
    ("ftp://hooks.example.com/x", "use an absolute http:// or https:// URL"),
    ("http://[::1", "Invalid port: ':1'"),
])
def test_a_malformed_webhook_url_is_refused_before_anything_runs(setup, url, problem):
    result = run(setup, "--now", NOW.isoformat(), "--webhook", url)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: --webhook {url!r}: {problem}"
    assert result.stdout == ""
