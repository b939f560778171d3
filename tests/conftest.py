"""Shared fixtures: fresh Streamlit caches per test, and AppTest page switching with a pages/ folder."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

_original_pages_manager_init = PagesManager.__init__


def _pages_manager_init_for_navigation(self, *args, **kwargs):
    # AppTest resets PagesManager.uses_pages_directory before every run, so with a pages/ folder next to
    # dashboard.py it falls back to the old pages-folder mode and runs a switched-to page without the main
    # script (no sidebar). A real server keeps the flag False once st.navigation has run; do the same here.
    _original_pages_manager_init(self, *args, **kwargs)
    PagesManager.uses_pages_directory = False


PagesManager.__init__ = _pages_manager_init_for_navigation


@pytest.fixture(autouse=True)
def _fresh_streamlit_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
