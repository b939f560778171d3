"""AppTest fixtures: one seeded database per session, the dashboard driven against it at a pinned now."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sla_store.db import connect_read_only, copy_database
from tests.app.synthetic import NOW, build_synthetic_db, write_fixture_config

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard.py"


@pytest.fixture(autouse=True)
def served_on_loopback():
    """AppTest runs the app as `make run` serves it: on a loopback address and without login, where commits
    are allowed (tests of the other cases set server.address themselves)."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)


@pytest.fixture(scope="session")
def fixture_db(tmp_path_factory) -> Path:
    return build_synthetic_db(tmp_path_factory.mktemp("db") / "sla.duckdb", tickets=3000, seed=42)


@pytest.fixture(scope="session")
def fixture_config(tmp_path_factory) -> Path:
    return write_fixture_config(tmp_path_factory.mktemp("config"))


@pytest.fixture
def sql(fixture_db):
    """Run plain SQL over the fixture database (the tests' independent source of truth; with a sealed history
    beside it, over both files)."""
    con = connect_read_only(fixture_db)
    con.execute("SET TimeZone = 'UTC'")

    def run(query: str, params: list | None = None) -> list[tuple]:
        return con.sql(query, params=params or []).fetchall()

    yield run
    con.close()


@pytest.fixture
def app_env(monkeypatch, fixture_db, fixture_config):
    def use(db: Path = fixture_db) -> None:
        monkeypatch.setenv("SLA_DB", str(db))
        monkeypatch.setenv("SLA_CONFIG", str(fixture_config))
        monkeypatch.setenv("SLA_NOW", NOW.isoformat())

    use()
    return use


@pytest.fixture
def app(app_env) -> AppTest:
    """The dashboard after its first run (the Overview page)."""
    at = AppTest.from_file(DASHBOARD, default_timeout=30)
    at.run()
    assert not at.exception
    return at


@pytest.fixture
def writable_db(fixture_db, tmp_path) -> Path:
    """A private copy of the fixture database for tests that import into it."""
    copy = tmp_path / "sla.duckdb"
    copy_database(fixture_db, copy)
    return copy


def chart_data(at: AppTest, index: int = 0) -> list[dict]:
    return json.loads(at.get("plotly_chart")[index].proto.spec)["data"]


def chart_layout(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)["layout"]


def metric_values(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def pct(share: float) -> str:
    return f"{100 * share:.1f}%"


# The sidebar's default date range: the last 90 days of data (the fixture's last item is created at NOW).
DEFAULT_FROM = dt.datetime.combine(NOW.date() - dt.timedelta(days=89), dt.time(), dt.UTC)
DEFAULT_TO = dt.datetime.combine(NOW.date() + dt.timedelta(days=1), dt.time(), dt.UTC)
IN_DEFAULT_RANGE = "created >= ? AND created < ?"
DEFAULT_RANGE = [DEFAULT_FROM, DEFAULT_TO]
