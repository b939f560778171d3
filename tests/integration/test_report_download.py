"""The Overview's report download: a button that builds the month's report from the live database."""

from datetime import UTC, date, datetime

from streamlit.testing.v1 import AppTest

from sla_app.report_download import report_file_name, report_html_bytes
from sla_store.db import LiveDatabase
from tests.integration.test_report import dataset  # noqa: F401 - the seeded results fixture


def _page(db_path: str) -> None:
    from datetime import date

    from sla_app.report_download import offer_report_download
    from sla_store.db import LiveDatabase

    live = LiveDatabase(db_path)
    offer_report_download(date(2026, 10, 17), connection=live.cursor, key="october_report")


def test_the_overview_offers_the_months_report_as_an_html_download(dataset):  # noqa: F811
    db, _, _ = dataset
    app = AppTest.from_function(_page, args=(str(db),), default_timeout=30).run()
    assert not app.exception
    buttons = app.get("download_button")
    assert [b.proto.label for b in buttons] == ["Download the October 2026 report (HTML)", "PDF"]
    assert "October 2026 report printed to PDF" in buttons[1].proto.help


def test_the_pdf_download_is_the_report_printed_by_chromium(dataset):  # noqa: F811
    from sla_app.report_download import report_pdf_bytes
    from sla_store.report import CHROMIUM

    if not CHROMIUM.exists():
        import pytest

        pytest.skip("no Chromium to print with")
    db, _, _ = dataset
    live = LiveDatabase(db)
    try:
        html = report_html_bytes(live.cursor(), date(2026, 10, 31), datetime(2026, 11, 2, tzinfo=UTC))
    finally:
        live.close()
    pdf = report_pdf_bytes(html)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 10_000


def test_the_report_names_the_policy_version_and_its_targets_with_display_names(dataset):  # noqa: F811
    from pathlib import Path

    from sla_store.policy_files import load_policy_history

    db, _, _ = dataset
    history = load_policy_history(Path(__file__).resolve().parents[2] / "config")
    live = LiveDatabase(db)
    try:
        html = report_html_bytes(live.cursor(), date(2026, 10, 31), datetime(2026, 11, 2, tzinfo=UTC),
                                 history).decode()
    finally:
        live.close()
    assert len(html.encode()) <= 1_500_000  # plotly's basic bundle, not the whole library
    assert "<h2>Targets in force</h2>" in html
    assert f"Policy version {history.current.version}, effective" in html
    assert "40h business (4.7 business days of 8.5 h)" in html  # never "1d 16h"
    assert ">Lead routing<" in html and ">lead_routing<" not in html


def test_the_downloaded_bytes_are_the_report_of_the_chosen_month(dataset):  # noqa: F811
    db, _, _ = dataset
    live = LiveDatabase(db)
    try:
        html = report_html_bytes(live.cursor(), date(2026, 10, 31), datetime(2026, 11, 2, tzinfo=UTC)).decode()
    finally:
        live.close()
    assert "<h1>SLA report – October 2026</h1>" in html
    assert "Generated 2026-11-02 00:00 UTC" in html
    assert report_file_name(date(2026, 10, 31)) == "sla-report-2026-10.html"

