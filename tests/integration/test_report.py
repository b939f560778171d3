"""The monthly report: every figure in the HTML and the CSV equals one computed here by plain counting over
a seeded results table."""

import base64
import csv
import io
import random
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from sla_store.cli import app
from sla_store.db import write_transaction
from sla_store.report import CHROMIUM

OCTOBER = date(2026, 10, 1)
SEPTEMBER = date(2026, 9, 1)
WITHIN = {"first_response": 4 * 3600.0, "resolution": 40 * 3600.0}
OBJECTIVE = {"first_response": 0.95, "resolution": 0.9}
# breach probability per (team, channel): Billing chat is the slice that should top the worst list
BREACH_ODDS = {("Billing", "chat"): 0.3, ("Billing", "email"): 0.08, ("Technical", "chat"): 0.04,
               ("Technical", "email"): 0.12}


def _rows(seed=42):
    rng = random.Random(seed)
    rows, events = [], []
    start = datetime(2026, 8, 3, tzinfo=UTC)
    for n in range(1600):
        created = start + timedelta(seconds=rng.uniform(0, 92 * 86400))
        team, channel = rng.choice(list(BREACH_ODDS))
        odds = BREACH_ODDS[(team, channel)] * (0.5 if created.month == 9 else 1.0)
        priority = rng.choice(["urgent", "high", "normal", "normal", "low"])
        agent = rng.choice(["ann", "bob", "cem", "dee"])
        if rng.random() < 0.7:  # the rest never changed status: "new" when their budget ran out
            events.append((f"t{n}", created + timedelta(minutes=5), rng.choice(["open", "pending", "open"])))
        for metric in ("first_response", "resolution"):
            within = WITHIN[metric]
            open_late = created > datetime(2026, 10, 29, tzinfo=UTC) and rng.random() < 0.5
            paused = rng.choice([0.0, 0.0, 3600.0])
            due = created + timedelta(seconds=within + paused)
            if open_late:
                met, stop, state, elapsed = None, None, "active", within / 2
            elif rng.random() < odds:
                met, stop, state, elapsed = False, due + timedelta(hours=2), "breached", within + 7200
            else:
                met, stop, state, elapsed = True, created + timedelta(seconds=within / 2), "achieved", within / 2
            rows.append({
                "source": "test", "item_id": f"t{n}", "metric": metric, "kind": "ticket",
                "process": "support", "channel": channel, "team": team, "priority": priority, "agent": agent,
                "status": "open", "created": created, "policy_version": 1, "target_index": 0,
                "calendar": "always", "within_s": within, "objective": OBJECTIVE[metric], "start": created,
                "stop": stop, "elapsed_s": elapsed, "paused_s": paused, "state": state, "met": met,
                "due_at": due, "remaining_s": within - elapsed, "pct_used": 100 * elapsed / within,
            })
    return rows, events


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    rows, events = _rows()
    db = tmp_path_factory.mktemp("report") / "sla.duckdb"
    result_rows = pl.DataFrame(rows).with_columns(  # noqa: F841 - read by DuckDB below
        computed_at=pl.lit(datetime(2026, 11, 2, tzinfo=UTC))
    )
    status_events = pl.DataFrame(  # noqa: F841
        {"source": "test", "item_id": [e[0] for e in events], "occurred_at": [e[1] for e in events],
         "kind": "status", "value": [e[2] for e in events]}
    )
    with write_transaction(db) as con:
        con.execute("INSERT INTO results BY NAME SELECT * FROM result_rows")
        con.execute("INSERT INTO events BY NAME SELECT * FROM status_events")
    return db, rows, dict((e[0], e[2]) for e in events)


def _in_month(row, first):
    end = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first <= row["created"].date() < end


def _expected(rows, key):
    """metric + slice -> decided, met, breached, attainment, allowed, budget used, by plain counting."""
    figures = defaultdict(lambda: {"decided": 0, "met": 0, "breached": 0, "allowed": 0.0})
    for row in rows:
        bucket = figures[key(row)]
        if row["met"] is None:
            continue
        bucket["decided"] += 1
        bucket["met" if row["met"] else "breached"] += 1
        bucket["allowed"] += 1 - row["objective"]
    for bucket in figures.values():
        bucket["attainment"] = bucket["met"] / bucket["decided"] if bucket["decided"] else None
        bucket["budget_used"] = bucket["breached"] / bucket["allowed"] if bucket["allowed"] else None
    return dict(figures)


def _html_figures(html):
    return {name: value for name, value in re.findall(r'data-figure="([^"]+)"\s+data-value="([^"]*)"', html)}


@pytest.fixture(scope="module")
def written(dataset, tmp_path_factory):
    db, rows, _ = dataset
    out = tmp_path_factory.mktemp("out") / "report.html"
    result = CliRunner().invoke(app, ["report", "--month", "2026-10", "--out", str(out), "--db", str(db)],
                                env={"SLA_NOW": "2026-11-02T08:00:00Z"})
    assert result.exit_code == 0, result.output
    return out, out.read_text()


def test_headline_attainment_budget_and_change_equal_plain_counts(dataset, written):
    _, rows, _ = dataset
    _, html = written
    october = _expected([r for r in rows if _in_month(r, OCTOBER)], lambda r: r["metric"])
    september = _expected([r for r in rows if _in_month(r, SEPTEMBER)], lambda r: r["metric"])
    shown = _html_figures(html)
    for metric in ("first_response", "resolution"):
        mine = october[metric]
        assert float(shown[f"headline:{metric}:attainment"]) == pytest.approx(mine["attainment"])
        assert int(shown[f"headline:{metric}:decided"]) == mine["decided"]
        assert int(shown[f"headline:{metric}:breached"]) == mine["breached"]
        assert float(shown[f"headline:{metric}:objective"]) == pytest.approx(OBJECTIVE[metric])
        assert float(shown[f"headline:{metric}:budget_used"]) == pytest.approx(mine["budget_used"])
        change = 100 * (mine["attainment"] - september[metric]["attainment"])
        assert float(shown[f"headline:{metric}:change_pp"]) == pytest.approx(change)
        assert f"{100 * mine['attainment']:.1f}%" in html
    assert "(mix of targets)" not in html  # one objective per metric here


@pytest.mark.parametrize("dimension", ["channel", "team"])
def test_per_channel_and_team_figures_equal_plain_counts(dataset, written, dimension):
    _, rows, _ = dataset
    _, html = written
    october = _expected([r for r in rows if _in_month(r, OCTOBER)], lambda r: (r["metric"], r[dimension]))
    shown = _html_figures(html)
    for (metric, value), mine in october.items():
        prefix = f"{dimension}:{metric}:{value}"
        assert float(shown[f"{prefix}:attainment"]) == pytest.approx(mine["attainment"])
        assert int(shown[f"{prefix}:breached"]) == mine["breached"]
        assert float(shown[f"{prefix}:budget_used"]) == pytest.approx(mine["budget_used"])


def test_weekly_compliance_flags_exactly_the_weeks_below_their_objective(dataset, written):
    _, rows, _ = dataset
    _, html = written
    october = [r for r in rows if _in_month(r, OCTOBER)]
    weekly = _expected(october, lambda r: (r["created"].date() - timedelta(days=r["created"].weekday()),
                                           r["metric"]))
    shown = _html_figures(html)
    flagged = set(re.findall(r'class="flag" data-figure="week:([^:]+):([^:]+):attainment"', html))
    assert len(weekly) == 10  # five weeks touch October 2026 (Sep 28 ... Oct 26), two metrics
    for (week, metric), mine in weekly.items():
        assert float(shown[f"week:{week}:{metric}:attainment"]) == pytest.approx(mine["attainment"])
        assert ((week.isoformat(), metric) in flagged) == (mine["attainment"] < OBJECTIVE[metric])
    assert flagged, "the seeded data has weeks below their objective"


def test_the_worst_slice_comes_first_with_its_most_common_breach_reasons(dataset, written):
    _, rows, status_of = dataset
    _, html = written
    october = [r for r in rows if _in_month(r, OCTOBER)]
    slices = _expected(october, lambda r: (r["metric"], r["team"], r["channel"]))
    excess = {k: v["breached"] - v["allowed"] for k, v in slices.items() if v["decided"] >= 10}
    eligible = sorted((k for k, over in excess.items() if over > 0), key=lambda k: (-excess[k], k))
    worst = eligible[0]
    shown_order = re.findall(r'data-slice="([^"]+)"', html)
    assert shown_order == [":".join(k) for k in eligible[:5]]
    breached = [r for r in october if (r["metric"], r["team"], r["channel"]) == worst and r["met"] is False]
    priority, count = Counter(r["priority"] for r in breached).most_common(1)[0]
    block = html[html.index(f'data-slice="{":".join(worst)}"'):]
    block = block[: block.index("</div>")]
    assert f"priority <strong>{priority}</strong>: {100 * count / len(breached):.0f}% of the breaches" in block
    statuses = Counter(status_of.get(r["item_id"], "new") for r in breached)
    status, count = sorted(statuses.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    assert f"status at breach <strong>{status}</strong>: {100 * count / len(breached):.0f}%" in block


def test_the_report_is_self_contained_and_carries_its_figures_as_csv(dataset, written):
    _, rows, _ = dataset
    out, html = written
    assert not re.search(r'<script[^>]+src=|<link[^>]+href=', html)
    assert html.count("<script>") == 1 + html.count("Plotly.newPlot")  # plotly.js once, then one per chart
    assert html.count("Plotly.newPlot") == 3  # weekly and monthly trends, gap to objective per team
    encoded = re.search(r'href="data:text/csv;base64,([^"]+)"', html).group(1)
    embedded = base64.b64decode(encoded).decode()
    assert embedded == out.with_suffix(".csv").read_text()
    october = _expected([r for r in rows if _in_month(r, OCTOBER)], lambda r: r["metric"])
    headline = [r for r in csv.DictReader(io.StringIO(embedded)) if r["section"] == "headline"]
    assert {r["metric"]: (int(r["met"]), int(r["breached"])) for r in headline} == {
        metric: (figures["met"], figures["breached"]) for metric, figures in october.items()
    }


def test_report_refuses_a_bad_month_and_a_missing_database_in_one_line(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["report", "--month", "2026-13", "--out", str(tmp_path / "r.html"),
                              "--db", str(tmp_path / "none.duckdb")])
    assert bad.exit_code == 2
    assert bad.output.strip() == "error: --month '2026-13' is not a month (use YYYY-MM, e.g. 2026-10)"
    missing = runner.invoke(app, ["report", "--month", "2026-10", "--out", str(tmp_path / "r.html"),
                                  "--db", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2
    assert "no database yet" in missing.output and len(missing.output.strip().splitlines()) == 1


def test_a_file_that_is_not_a_database_is_refused_in_one_line(tmp_path):
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database")
    result = CliRunner().invoke(app, ["report", "--month", "2026-10", "--out", str(tmp_path / "r.html"),
                                      "--db", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {bad}: not a DuckDB database file, or a damaged one (restore it from " \
        "a backup, or move it away)"
    assert str(bad) in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_empty_month_still_renders_a_report(dataset, tmp_path):
    db, _, _ = dataset
    out = tmp_path / "empty.html"
    result = CliRunner().invoke(app, ["report", "--month", "2025-01", "--out", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "No items were created in January 2025" in out.read_text()


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium")
def test_report_prints_to_pdf_with_headless_chromium(dataset, tmp_path):
    db, _, _ = dataset
    pdf = tmp_path / "report.pdf"
    result = CliRunner().invoke(app, ["report", "--month", "2026-10", "--out", str(tmp_path / "r.html"),
                                      "--pdf", str(pdf), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert pdf.stat().st_size > 20_000


def test_without_chromium_the_pdf_is_refused_clearly_and_the_html_still_written(dataset, tmp_path, monkeypatch):
    db, _, _ = dataset
    monkeypatch.setattr("sla_store.report.CHROMIUM", tmp_path / "no-chromium")
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", "--month", "2026-10", "--out", str(out), "--pdf",
                                      str(tmp_path / "r.pdf"), "--db", str(db)])
    assert result.exit_code == 2
    assert result.stderr.strip() == (f"error: no PDF: {tmp_path / 'no-chromium'} not found: install Chromium "
                                     "(apt-get install chromium) to print PDFs; the HTML report was written")
    assert out.exists() and not (tmp_path / "r.pdf").exists()
