"""`sla check` answers from the stored clocks brought forward to now, as re-judging the raw data would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sla_store import check
from sla_store.policy_files import load_policy_history
from sla_store.sample import build_sample_db

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check-stored")
    db = folder / "sla.duckdb"
    build_sample_db(db, tickets=6000, now=NOW, samples_dir=folder / "samples", config=REPO / "config")
    return db


@pytest.mark.parametrize("hours", [0, 3, 30])
def test_the_stored_answer_equals_re_judging_the_raw_data(sample_db, hours, monkeypatch):
    history = load_policy_history(REPO / "config")
    later = NOW + timedelta(hours=hours)
    settings = check.CheckSettings(now=later, since=later - timedelta(hours=6))
    stored = check.run_check(sample_db, history, settings)
    monkeypatch.setattr(check, "stored_results_as_of", lambda *args: None)
    rejudged = check.run_check(sample_db, history, settings)
    assert check.digest_payload(stored) == check.digest_payload(rejudged)
    assert stored.at_risk.height + stored.breached.height > 0


def test_a_check_in_the_past_or_under_another_policy_re_judges_raw_data(sample_db):
    from sla_store.db import connect_read_only

    history = load_policy_history(REPO / "config")
    con = connect_read_only(sample_db)
    try:
        horizon = NOW - timedelta(days=3)
        assert check.stored_results_as_of(con, history, NOW, horizon) is not None
        assert check.stored_results_as_of(con, history, NOW - timedelta(hours=1), horizon) is None
        other = history.versions[0]
        raw = dict(other.raw)
        raw["objective"] = 0.5
        from sla_core.policy_yaml import parse_policy_mapping

        assert check.stored_results_as_of(con, parse_policy_mapping(raw, "edited"), NOW, horizon) is None
    finally:
        con.close()
