"""The page list and the frame every page runs in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

import streamlit as st

APP_ROOT = Path(__file__).resolve().parents[1]
_IN_FRAME: ContextVar[bool] = ContextVar("in_app_frame", default=False)

# (file relative to the app root, title, icon, url path)
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("pages/overview.py", "Overview", ":material/dashboard:", "overview"),
    ("pages/performance.py", "Performance", ":material/bar_chart:", "performance"),
    ("pages/live_queue.py", "Live queue", ":material/timer:", "live-queue"),
    ("pages/trends.py", "Trends", ":material/trending_up:", "trends"),
    ("pages/internal_ops.py", "Internal ops", ":material/account_tree:", "internal-ops"),
    ("pages/what_if.py", "What-if", ":material/science:", "what-if"),
    ("pages/policy_history.py", "Policy history", ":material/history:", "policy-history"),
    ("pages/data.py", "Data", ":material/database:", "data"),
)


DEFAULT_PATH = "home"  # the default page is served at "/" only; its own url path must differ from the alias


def _opens(page) -> None:
    """A hidden page at the default page's name (/overview): Streamlit serves the default page at "/" only, so
    a link to /overview would say "Page not found". It switches to the default page, keeping the link's
    query parameters: the sidebar's widgets keep theirs (bound to the URL, they are session state already),
    the others (?month=) are passed on with every value."""
    st.switch_page(page, query_params={key: st.query_params.get_all(key) for key in st.query_params
                                       if key not in st.session_state})


def navigation(root: Path = APP_ROOT):
    pages = [
        st.Page(root / path, title=title, icon=icon, url_path=DEFAULT_PATH if i == 0 else url, default=(i == 0))
        for i, (path, title, icon, url) in enumerate(PAGES)
    ]
    default_url = PAGES[0][3]
    alias = st.Page(lambda: _opens(pages[0]), title=PAGES[0][1], url_path=default_url, visibility="hidden")
    return st.navigation([*pages, alias])


@contextmanager
def app_frame() -> Iterator[None]:
    """dashboard.py runs the chosen page inside this: the page then knows the sidebar and navigation ran."""
    token = _IN_FRAME.set(True)
    try:
        yield
    finally:
        _IN_FRAME.reset(token)


def run_app() -> None:
    """The app frame (dashboard.py is just this): page config, navigation, sidebar filters, the account
    line, then the chosen page inside the frame."""
    from sla_app.access import current_rights, render_account
    from sla_app.filters import render_sidebar_filters
    from sla_app.options import sidebar_options

    st.set_page_config(page_title="SLA dashboard", page_icon=":material/timer:", layout="wide")
    page = navigation()
    render_sidebar_filters(sidebar_options())
    render_account(current_rights())
    with app_frame():
        page.run()


def ensure_app_frame() -> None:
    """Make sure a page runs inside the app frame (sidebar filters, navigation); call it first in a page.

    Streamlit treats a pages/ folder next to the main script as an old-style multipage app until
    st.navigation has run once in the process, and then runs a deep-linked page file (/performance) alone:
    no sidebar, no filters. No setting turns that mode off, but st.navigation does, as documented (it
    disregards the pages directory from then on). So a page that finds itself outside the frame runs the
    frame right here - st.navigation routes to this same page, which runs inside it - and stops the
    frameless run. (A rerun would do too, but would drop a button click made on this run.)
    """
    if _IN_FRAME.get():
        return
    run_app()
    st.stop()
