"""Shared links with dates: the sidebar's picker shows the link's window whole, and the URL keeps it (also after
it was clamped to the data), so the link can be passed on again."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import SCREENSHOTS, wait_until_rendered

pytestmark = pytest.mark.browser


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_until_rendered(page)
    page.get_by_role("heading", name="Performance").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)


def picker(page) -> list[str]:
    return page.locator("[data-testid='stSidebar'] [data-testid='stDateInput'] input").evaluate_all(
        "nodes => nodes.map(n => n.value)")


def link_dates(page) -> list[str]:
    return parse_qs(urlparse(page.url).query).get("dates", [])


def test_a_link_with_one_day_twice_fills_both_ends_of_the_picker(served_app, page):
    open_page(page, f"{served_app}/performance?dates=2026-10-01&dates=2026-10-01")
    page.screenshot(path=str(SCREENSHOTS / "dates-one-day.png"), full_page=True)
    assert picker(page) == ["2026-10-01", "2026-10-01"]
    assert link_dates(page) == ["2026-10-01", "2026-10-01"]


def test_a_clamped_link_keeps_its_window_in_the_url(served_app, page):
    open_page(page, f"{served_app}/performance?dates=2020-01-01&dates=2026-10-15")
    page.screenshot(path=str(SCREENSHOTS / "dates-clamped.png"), full_page=True)
    shown = picker(page)
    assert shown[1] == "2026-10-15" and shown[0] > "2020-01-01"  # clamped to the first day with data
    assert link_dates(page) == shown  # the clamped window, ready to be passed on
