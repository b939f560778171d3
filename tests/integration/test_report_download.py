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
    assert len(buttons) == 1
    assert buttons[0].proto.label == "Download the October 2026 report (HTML)"


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

