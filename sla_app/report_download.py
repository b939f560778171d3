"""The monthly leadership report as a download on the Overview page.

The report is a few megabytes (plotly.js is inlined so it opens offline), so it is built only when the
button is clicked (Streamlit's deferred `data` callable) and the click does not rerun the page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import duckdb
import streamlit as st

from sla_store.db import current_time
from sla_store.report import render_html
from sla_store.report_data import build_report, month_start


def report_file_name(month: date) -> str:
    return f"sla-report-{month_start(month):%Y-%m}.html"


def report_html_bytes(connection: duckdb.DuckDBPyConnection, month: date, generated_at: datetime) -> bytes:
    """The self-contained HTML report for the month containing `month`."""
    return render_html(build_report(connection, month_start(month), generated_at)).encode("utf-8")


def offer_report_download(
    month: date,
    connection: Callable[[], duckdb.DuckDBPyConnection] | None = None,
    key: str = "report_download",
) -> None:
    """A download button for the month's report; `connection` returns a cursor on the live database
    (default: the pages' shared LiveDatabase)."""
    if connection is None:
        from sla_app import data

        connection = data.cursor

    def build() -> bytes:
        return report_html_bytes(connection(), month, current_time())

    st.download_button(
        f"Download the {month_start(month):%B %Y} report (HTML)",
        data=build,
        file_name=report_file_name(month),
        mime="text/html",
        key=key,
        on_click="ignore",
        icon=":material/download:",
        help="A self-contained report for leadership: attainment vs objective, change vs last month, "
             "error budget, worst slices with breach reasons, weekly compliance and trends. "
             "Print it to PDF from the browser or with `sla report --pdf`.",
    )
