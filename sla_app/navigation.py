"""The page list and the frame every page runs in."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

APP_ROOT = Path(__file__).resolve().parents[1]

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


def navigation(root: Path = APP_ROOT):
    pages = [
        st.Page(root / path, title=title, icon=icon, url_path=url, default=(i == 0))
        for i, (path, title, icon, url) in enumerate(PAGES)
    ]
    return st.navigation(pages)


def ensure_app_frame() -> None:
    """Make sure a page runs inside dashboard.py (sidebar filters, navigation).

    Streamlit treats a pages/ folder next to the main script as an old-style multipage app until
    st.navigation has run once in the process. If the very first request is a deep link (/performance),
    the page file then runs alone: no sidebar, no filters, and the server stays in that mode. Leave that
    mode and rerun, which runs dashboard.py and routes to the same URL.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
