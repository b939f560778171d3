"""Every dashboard page in a real Chromium against `streamlit run`: renders without errors, draws its charts,
keeps a sidebar filter in the URL. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS, wait_until_rendered

pytestmark = pytest.mark.browser

# (url path, heading, charts expected at least)
PAGES = (
    ("", "Overview", 1),  # the default page lives at the root URL
    ("performance", "Performance", 3),
    ("live-queue", "Live queue", 1),
    ("trends", "Trends", 2),
    ("internal-ops", "Internal operations", 2),
    ("data", "Data", 0),
)


def open_page(page, url: str) -> None:
    page.goto(url)
    wait_until_rendered(page)


def test_first_visit_to_a_deep_link_shows_the_sidebar_filters(served_app, page):
    # The very first run of a fresh server is the one Streamlit may route through its pages/ folder mode.
    open_page(page, f"{served_app}/performance")
    # The page leaves Streamlit's pages-folder mode with a rerun; wait for the rerun's sidebar.
    page.locator("[data-testid='stSidebar']").get_by_text("Filters", exact=True).wait_for(timeout=30_000)
    assert page.get_by_role("heading", name="Performance").count() == 1


@pytest.mark.parametrize(("path", "heading", "charts"), PAGES)
def test_page_renders_with_its_charts_and_no_errors(served_app, page, path, heading, charts):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_page(page, f"{served_app}/{path}")
    page.get_by_role("heading", name=heading).first.wait_for(timeout=30_000)
    if charts:
        # charts arrive one by one as the page's reads finish: wait for all of them, each with a trace drawn
        page.wait_for_function(
            """n => document.querySelectorAll('.js-plotly-plot').length >= n
                   && document.querySelectorAll('.js-plotly-plot .trace, .js-plotly-plot .hm').length >= n""",
            arg=charts, timeout=30_000)
        assert page.locator(".js-plotly-plot").count() >= charts
        drawn = page.locator(".js-plotly-plot .trace, .js-plotly-plot .hm")
        assert drawn.count() >= charts
    assert page.locator("[data-testid='stException']").count() == 0
    assert not errors
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert page.get_by_text("Page not found").count() == 0
    page.screenshot(path=str(SCREENSHOTS / f"page-{path or 'overview'}.png"), full_page=True)


def test_the_default_page_opens_by_its_name_too_with_the_links_filters(served_app, page):
    open_page(page, f"{served_app}/overview?channel=chat&month=2026-10")
    page.get_by_role("heading", name="Overview").first.wait_for(timeout=30_000)
    assert page.get_by_text("Page not found").count() == 0
    page.get_by_text("October 2026: attainment against objective").wait_for(timeout=30_000)
    assert "chat" in page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").first.inner_text()
    assert page.get_by_text("October 2026: attainment against objective").count() == 1
    page.screenshot(path=str(SCREENSHOTS / "page-overview-by-name.png"), full_page=True)


def test_choosing_a_channel_in_the_sidebar_filters_the_page_and_the_url(served_app, page):
    open_page(page, f"{served_app}/performance")
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.locator("[data-testid='stMultiSelect']").first.click()
    page.get_by_role("option", name="chat", exact=True).click()
    page.keyboard.press("Escape")
    wait_until_rendered(page)
    page.wait_for_url(re.compile(r"channel=chat"), timeout=10_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    # The per-channel bars now show chat alone.
    labels = page.locator(".js-plotly-plot").first.locator(".xtick text").evaluate_all(
        "nodes => nodes.map(n => n.textContent)")
    assert labels == ["chat"]
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(SCREENSHOTS / "page-performance-chat.png"), full_page=True)

    # The filter is kept when moving to another page, and a shared link restores it.
    page.goto(page.url.replace("/performance", "/trends"))
    wait_until_rendered(page)
    assert "chat" in page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").first.inner_text()


def test_internal_ops_draws_the_scheduled_deliverables_strip(served_app, page):
    open_page(page, f"{served_app}/internal-ops")
    page.get_by_role("heading", name="Scheduled deliverables").wait_for(timeout=30_000)
    strip = page.locator(".js-plotly-plot").filter(has_text="Weekly report per stream").first
    strip.wait_for(timeout=30_000)
    # one square per period: met, late, missing and due traces draw their points
    assert strip.locator(".scatterlayer .point").count() >= 20  # two streams, the default 90 days
    for stream in ("KPI-WEEKLY", "FINANCE-WEEKLY"):
        assert strip.get_by_text(stream).count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    strip.scroll_into_view_if_needed()
    strip.screenshot(path=str(SCREENSHOTS / "internal-ops-deliverables-strip.png"))
