"""The What-if and Policy history pages, driven through Streamlit's AppTest: edit -> simulate -> commit."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sla_core.policy_yaml import parse_policy
from sla_store.db import connect_read_only
from sla_store.policy_files import load_policy_history
from tests.call_counts import count_calls
from tests.integration.test_simulate_cli import build_database
from tests.unit.test_simulate_consistency import NOW, POLICY_V1, raw_history

APP = Path(__file__).resolve().parents[2] / "dashboard.py"
RESOLUTION_CATCH_ALL = 3  # row of the resolution 3d target in POLICY_V1
LOCAL_AUTHOR = f"{getpass.getuser()} (local)"  # no login, loopback server: the account running it commits


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    return make_workspace(tmp_path, monkeypatch)


def make_workspace(tmp_path, monkeypatch):
    """A config folder with POLICY_V1 and a database of its history, used by the app through the env."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "sla.yaml").write_text(POLICY_V1)
    db = tmp_path / "sla.duckdb"
    items, events = raw_history(1200, seed=42)
    build_database(db, items, events, parse_policy(POLICY_V1), NOW)
    monkeypatch.setenv("SLA_CONFIG", str(config))
    monkeypatch.setenv("SLA_DB", str(db))
    monkeypatch.setenv("SLA_NOW", NOW.isoformat())
    return config, db


def _open(page: str = "pages/what_if.py") -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception
    return at


def _edit_targets(at: AppTest, edited_rows: dict, added_rows: list | None = None, deleted_rows: list | None = None):
    at.session_state["whatif_targets"] = {
        "edited_rows": {str(k): v for k, v in edited_rows.items()},
        "added_rows": added_rows or [],
        "deleted_rows": deleted_rows or [],
    }


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _expected_by_sql(db, date_from, date_to, new_within: float) -> dict[str, float]:
    """The committed and proposed attainment of resolution inside the date filter, computed in SQL."""
    con = connect_read_only(db)
    row = con.sql(
        """
        WITH judged AS (
            SELECT met AS before, objective,
                   CASE WHEN target_index <> ? THEN met
                        WHEN stop IS NOT NULL THEN elapsed_s <= ?
                        WHEN elapsed_s > ? THEN FALSE END AS after
            FROM results
            WHERE metric = 'resolution' AND created >= ?::DATE AND created < ?::DATE + INTERVAL 1 DAY)
        SELECT count(*) FILTER (WHERE before) / count(before),
               count(*) FILTER (WHERE after) / count(after),
               count(*) FILTER (WHERE before AND NOT after),
               avg(objective) FILTER (WHERE after IS NOT NULL)
        FROM judged
        """,
        params=[RESOLUTION_CATCH_ALL, new_within, new_within, date_from, date_to],
    ).fetchall()[0]
    con.close()
    return {"before": row[0], "after": row[1], "flips": row[2], "objective": row[3]}


def test_the_page_shows_the_committed_targets_in_an_editable_table(workspace):
    at = _open()
    assert at.title[0].value == "What-if"
    shown = at.dataframe  # data editors are dataframe elements in AppTest
    editors = [frame for frame in shown if frame.key == "whatif_targets"]
    assert len(editors) == 1
    assert editors[0].value["within"].tolist() == ["15m", "4h", "8h", "72h"]  # "3d" in the policy: 72 business hours
    assert at.session_state["whatif_base_version"] == 1


def test_edit_simulate_commit_changes_the_figures_exactly_and_writes_version_2(workspace):
    config, db = workspace
    at = _open()
    assert at.session_state["metric"] == "resolution"
    date_from, date_to = at.session_state["dates"]

    _edit_targets(at, {RESOLUTION_CATCH_ALL: {"within": "12h"}})
    at.button(key="whatif_simulate").click()
    at.run()
    assert not at.exception

    expected = _expected_by_sql(db, date_from, date_to, 12 * 3600.0)
    assert _metric(at, "Attainment, committed") == f"{100 * expected['before']:.1f}%"
    assert _metric(at, "Attainment, proposed") == f"{100 * expected['after']:.1f}%"
    assert _metric(at, "Met → breached") == f"{expected['flips']:,}"
    assert expected["flips"] > 0
    history = next(c.value for c in at.caption if c.value.startswith("History: resolution, items created"))
    assert "0 recomputed" in history and "results re-judged from stored elapsed time" in history
    flips = next(frame for frame in at.dataframe if frame.value.shape[0] == expected["flips"])
    assert set(flips.value["flip"]) == {"met → breached"}
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [trace["name"] for trace in chart["data"]] == ["committed policy", "proposed policy"]
    # the objective line: the proposed objectives of the decided items (8h urgent at 95%, the rest at 90%)
    assert chart["layout"]["shapes"][0]["y0"] == pytest.approx(expected["objective"])
    diff = at.code[0].value
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert changed == ["-  within: 3d", "+  within: 12h"]

    at.text_area(key="whatif_reason").input("Resolution within a business day and a half")
    at.button(key="whatif_commit_button").click()
    at.run()
    assert not at.exception

    committed = load_policy_history(config)
    assert [p.version for p in committed] == [1, 2]
    assert committed.current.author == LOCAL_AUTHOR and committed.current.targets[3].within_s == 12 * 3600
    assert committed.current.effective_from == NOW.date()
    assert (config / "history" / "v1.yaml").read_text() == POLICY_V1
    assert "Committed version 2" in at.success[0].value
    con = connect_read_only(db)
    versions = dict(con.sql(
        "SELECT policy_version, count(*) FROM results GROUP BY ALL").fetchall())
    con.close()
    assert set(versions) == {1, 2}  # items created from NOW's date on are judged by version 2


def test_a_bad_cell_shows_the_row_and_column_instead_of_simulating(workspace):
    at = _open()
    _edit_targets(at, {1: {"within": "2x"}})
    at.button(key="whatif_simulate").click()
    at.run()
    assert not at.exception
    assert any(e.value.startswith("Targets row 2, within:") and "2x" in e.value for e in at.error)
    assert "whatif_sim" not in at.session_state


def test_adding_a_target_and_switching_a_calendar_to_24_7_recomputes_those_rows(workspace):
    at = _open()
    _edit_targets(
        at,
        {0: {"calendar": "always"}},
        added_rows=[{"metric": "resolution", "channel": "chat", "within": "4h", "calendar": "always"}],
    )
    at.button(key="whatif_simulate").click()
    at.run()
    assert not at.exception
    simulation = at.session_state["whatif_sim"]["simulation"]
    assert simulation.rejudged.recomputed_rows > 0 or simulation.rejudged.new_rows >= 0
    assert "always" in at.code[0].value


def test_a_commit_from_a_stale_version_is_refused_on_the_page(workspace):
    config, _ = workspace
    at = _open()
    _edit_targets(at, {1: {"within": "3h"}})
    at.run()
    # someone else commits version 2 meanwhile
    (config / "history").mkdir()
    (config / "history" / "v1.yaml").write_text(POLICY_V1)
    (config / "sla.yaml").write_text(POLICY_V1.replace("version: 1", "version: 2").replace(
        "effective_from: 2026-01-01", "effective_from: 2026-02-01\nauthor: Bo"))
    at.text_area(key="whatif_reason").input("faster email")
    at.button(key="whatif_commit_button").click()
    at.run()
    assert not at.exception
    assert any("version 2 was committed by Bo" in e.value for e in at.error), [e.value for e in at.error] + [w.value for w in at.warning] + [b.label for b in at.button]
    assert parse_policy((config / "sla.yaml").read_text()).author == "Bo"


def test_the_policy_history_page_lists_versions_and_diffs_consecutive_ones(workspace):
    config, _ = workspace
    at = _open()
    _edit_targets(at, {RESOLUTION_CATCH_ALL: {"within": "2d"}})
    at.run()
    at.text_area(key="whatif_reason").input("two days")
    at.button(key="whatif_commit_button").click()
    at.run()

    at.switch_page("pages/policy_history.py")
    at.run()
    assert not at.exception
    listing = at.dataframe[0].value
    assert listing["version"].tolist() == [2, 1]
    assert listing["author"].tolist()[0] == LOCAL_AUTHOR
    assert listing["reason"].tolist()[0] == "two days"
    assert "within: 2d" in at.code[0].value and "within: 3d" in at.code[0].value




def test_the_policy_history_page_with_one_version_says_how_to_start_the_history(workspace):
    at = _open("pages/policy_history.py")
    listing = at.dataframe[0].value
    assert listing["version"].tolist() == [1] and listing["committed_at"].tolist() == ["–"]
    assert "Only one version so far" in at.info[0].value
    assert not at.code


def test_a_rerun_without_a_new_edit_neither_parses_nor_reads_nor_simulates_again(workspace, monkeypatch):
    import yaml

    from sla_app import what_if as runner
    from sla_store import policy_files, simulation

    at = _open()
    _edit_targets(at, {RESOLUTION_CATCH_ALL: {"within": "2d"}})
    at.button(key="whatif_simulate").click()
    at.run()
    assert not at.exception
    calls = count_calls(monkeypatch, [*((yaml, name) for name in ("compose", "dump", "safe_dump", "safe_load")),
                                      (policy_files, "load_policy_history"), (simulation, "load_results"),
                                      (runner, "run_simulation")])
    for _ in range(2):
        at.run()
        assert not at.exception
    at.button(key="whatif_simulate").click()  # the same simulation again: answered from the cache
    at.run()
    assert not at.exception
    changed = [line for line in at.code[0].value.splitlines() if line[:1] in "+-" and line[:3] not in ("---", "+++")]
    assert changed == ["-  within: 3d", "+  within: 2d"]  # the proposal is still there, and still simulated
    assert any(m.label == "Attainment, proposed" for m in at.metric)
    assert calls == {}

    # the commit: the committed file parsed once under the lock (is it still the base version?), the new
    # version written once; the history the page holds goes to the results refresh and back to the page
    at.text_area(key="whatif_reason").input("two days")
    at.button(key="whatif_commit_button").click()
    at.run()
    assert not at.exception
    assert "Committed version 2" in at.success[0].value
    assert calls == {"compose": 1, "dump": 1}
    assert [policy.version for policy in load_policy_history(workspace[0])] == [1, 2]
