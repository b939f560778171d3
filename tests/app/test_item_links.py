"""A mapping's url_template links each item back to its page in the source system."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from sla_store.importers.mapping import item_link_templates
from sla_ui.view import with_links
from tests.app.conftest import DASHBOARD

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_nyc311_mapping_links_to_the_request_on_nyc_open_data():
    templates = item_link_templates(ROOT / "config" / "mappings")
    frame = with_links(pl.DataFrame({"source": ["nyc311", "zendesk"], "item_id": ["53868751", "T 1/2"]}), templates)
    assert frame["link"].to_list() == [
        "https://data.cityofnewyork.us/resource/erm2-nwe9.json?unique_key=53868751", None]


def test_a_url_template_without_the_item_id_placeholder_is_refused(tmp_path):
    from sla_store.importers import ImportRefused, load_mapping

    text = (ROOT / "config" / "mappings" / "nyc311.yaml").read_text().replace(
        "?unique_key={item_id}", "")
    bad = tmp_path / "nyc311.yaml"
    bad.write_text(text)
    with pytest.raises(ImportRefused, match="url_template"):
        load_mapping(bad)


def _live_queue(monkeypatch, tmp_path: Path, *exports: tuple[str, str]) -> AppTest:
    """The live queue over a database of `exports` (fixture file, mapping file), at the synthetic NOW."""
    from sla_store.ingest import ingest
    from tests.app.synthetic import NOW

    db = tmp_path / "sla.duckdb"
    for fixture, mapping in exports:
        ingest(ROOT / "tests" / "fixtures" / fixture, db=db, config=ROOT / "config",
               mapping=ROOT / "config" / "mappings" / mapping, now=NOW)
    monkeypatch.setenv("SLA_DB", str(db))
    monkeypatch.setenv("SLA_CONFIG", str(ROOT / "config"))
    monkeypatch.setenv("SLA_NOW", NOW.isoformat())
    at = AppTest.from_file(DASHBOARD, default_timeout=60)
    at.run()
    at.switch_page("pages/live_queue.py").run()
    assert not at.exception
    return at


NYC = ("nyc311_2022-05-01_sample.csv", "nyc311.yaml")


def test_the_live_queue_links_open_nyc_requests_to_their_record(monkeypatch, tmp_path):
    at = _live_queue(monkeypatch, tmp_path, NYC)
    breached = at.dataframe[-1].value
    assert len(breached) > 400  # NYC's still-open requests
    assert list(breached.columns[:2]) == ["item_id", "link"]
    assert all(link == f"https://data.cityofnewyork.us/resource/erm2-nwe9.json?unique_key={item}"
               for item, link in zip(breached["item_id"], breached["link"], strict=True))


def test_rows_without_a_link_show_an_empty_cell_beside_linked_rows(monkeypatch, tmp_path):
    at = _live_queue(monkeypatch, tmp_path, NYC, ("servicenow_incidents.csv", "servicenow_incidents.yaml"))
    links = [link for frame in at.dataframe if "link" in frame.value.columns for link in frame.value["link"]]
    assert any(links) and "" in links  # both kinds of rows are in view
    assert None not in links  # an unlinked row is an empty cell, not Streamlit's "None"
