"""The screens on real exports in a real Chromium: the sample plus a ServiceNow incident log (62 assignment
groups, 2016) and an NYC 311 slice (2022), and the two exports alone. Screenshots go to
test-artifacts/screenshots/real-*.png and are meant to be looked at."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import SCREENSHOTS, wait_until_rendered

pytestmark = pytest.mark.browser

SERVICENOW_DAYS = "dates=2016-02-29&dates=2016-03-02"
DAY_UNIT = re.compile(r"\b\d+d\b")  # "1d 16h": business time in 24-hour days


@pytest.fixture
def tall(browser):
    """A tall viewport: Streamlit scrolls inside its main block, so a screenshot shows only the viewport."""
    context = browser.new_context(viewport={"width": 1400, "height": 2600})
    yield context.new_page()
    context.close()


def open_page(page, url: str, charts: int = 0) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    wait_until_rendered(page)
    if charts:
        page.wait_for_function(f"() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= {charts}",
                               timeout=30_000)
        page.wait_for_timeout(500)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Page not found").count() == 0
    assert not errors


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"real-{name}.png"), full_page=True)


def chart_texts(page, index: int = 0) -> list[str]:
    return page.locator(".js-plotly-plot").nth(index).locator("text").evaluate_all(
        "nodes => nodes.map(n => n.textContent)")


def traces(page, index: int = 0) -> list[dict]:
    """The plotly traces a chart was drawn from (x, y, text, name, mode)."""
    return page.locator(".js-plotly-plot").nth(index).evaluate(
        "el => el.data.map(t => ({name: t.name, mode: t.mode, x: t.x, y: t.y, text: t.text,"
        " orientation: t.orientation}))")


def select_value(locator) -> str:
    """What a selectbox shows: its label and chosen value (the value may sit in an input)."""
    return locator.evaluate("el => el.innerText + ' ' + [...el.querySelectorAll('input')].map(i => i.value)"
                            ".join(' ')")


def sidebar_text(page) -> str:
    return page.locator("[data-testid='stSidebar']").inner_text()


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


# --- 1. business time in hours, never 24-hour days -------------------------------------------------------

def test_business_time_reads_in_hours_on_performance_and_the_live_queue(real_app, tall):
    open_page(tall, f"{real_app}/performance?{SERVICENOW_DAYS}", charts=3)
    median = tall.locator("[data-testid='stMetric']").filter(has_text="Median elapsed").inner_text()
    assert re.search(r"\d+h( \d+m)?$", median.strip()), median
    assert not DAY_UNIT.search(main_text(tall))
    shot(tall, "performance-servicenow")

    open_page(tall, f"{real_app}/live-queue", charts=1)
    bar_labels = [t for t in traces(tall)[0]["text"]]
    assert bar_labels and all(re.fullmatch(r"(\d+h( \d+m)?|\d+m( \d+s)?|\d+s) left · \d+% used", t)
                              for t in bar_labels), bar_labels[:5]
    assert not DAY_UNIT.search(main_text(tall))
    assert not any(DAY_UNIT.search(t) for t in chart_texts(tall))


# --- 4. the live queue shows what a team lead can still save ----------------------------------------------

def test_live_queue_shows_savable_items_apart_from_breached_ones(real_app, tall):
    open_page(tall, f"{real_app}/live-queue", charts=1)
    shot(tall, "live-queue")
    bars = traces(tall)[0]
    assert 0 < len(bars["x"]) <= 25 and max(bars["x"]) <= 100  # none of them already breached
    assert "Still within target: closest to breach first" in main_text(tall)
    breached = re.search(r"Already breached \(([\d,]+)\)", main_text(tall))
    assert breached and int(breached.group(1).replace(",", "")) > 400  # ServiceNow's and NYC's open items
    # Remaining time and % used are on the bars themselves, visible without scrolling the table.
    first = tall.locator(".js-plotly-plot").first.bounding_box()
    assert first["y"] < 1000
    # The 50% / 75% / target labels do not overlap.
    boxes = {}
    for label in ("50% used", "75% used", "target (100%)"):
        boxes[label] = tall.locator(".js-plotly-plot").first.locator(".annotation-text", has_text=label).bounding_box()
    ordered = sorted(boxes.values(), key=lambda b: (b["y"], b["x"]))
    for a, b in zip(ordered, ordered[1:], strict=False):
        apart = a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"] or \
            a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"]
        assert apart, boxes


# --- 5. the default window covers every source; a link outside the data says so -------------------------

def test_default_window_is_the_latest_90_days_with_data_and_says_so(real_only_app, tall):
    open_page(tall, f"{real_only_app}/performance", charts=2)
    shot(tall, "default-window")
    inputs = tall.locator("[data-testid='stSidebar'] [data-testid='stDateInput'] input").evaluate_all(
        "nodes => nodes.map(n => n.value)")
    assert inputs == ["2016-02-29", "2022-05-01"]  # both exports, not only NYC
    assert "Showing 29 Feb 2016 – 01 May 2022" in sidebar_text(tall)
    bars = traces(tall, 1)[0]
    assert {"phone", "mobile", "web"} <= set(bars["x"])  # ServiceNow's phone and NYC's channels


def test_a_link_whose_dates_lie_outside_the_data_says_so(real_only_app, tall):
    open_page(tall, f"{real_only_app}/performance?dates=2010-01-01&dates=2010-02-01", charts=2)
    shot(tall, "link-outside-data")
    assert "The link's dates 01 Jan 2010 – 01 Feb 2010 lie outside the data" in sidebar_text(tall)


def test_the_overview_month_picker_lists_only_months_with_data(real_only_app, tall):
    open_page(tall, real_only_app, charts=1)
    tall.locator("[data-testid='stMain'] [data-testid='stSelectbox']").first.click()
    options = tall.get_by_role("option").all_inner_texts()
    tall.keyboard.press("Escape")
    assert options == ["May 2022", "March 2016", "February 2016"]
    shot(tall, "overview-months")


# --- 6. trends on real data -------------------------------------------------------------------------------

def test_trends_burn_down_offers_the_data_months_and_lines_break_at_the_gap(real_only_app, tall):
    open_page(tall, f"{real_only_app}/trends", charts=2)
    shot(tall, "trends")
    lines = [t for t in traces(tall) if t["mode"] == "lines+markers"]
    for line in lines:
        xs = line["x"]
        years = [x[:4] if x else None for x in xs]
        if "2016" in years and "2022" in years:
            first_2022 = years.index("2022")
            assert line["y"][first_2022 - 1] is None  # no straight line across six years
    month = select_value(tall.locator("[data-testid='stMain'] [data-testid='stSelectbox']").last)
    assert "May 2022" in month  # not "April 2022" (the week start)
    burn = [t for t in traces(tall, 1) if t["mode"] == "lines+markers"][0]
    assert len(burn["x"]) >= 1  # the burn-down is drawn
    assert not any("23:59" in t for t in chart_texts(tall))


def test_a_single_week_has_a_dated_axis(real_only_app, tall):
    open_page(tall, f"{real_only_app}/trends?dates=2022-05-01&dates=2022-05-01", charts=2)
    shot(tall, "trends-single-week")
    ticks = tall.locator(".js-plotly-plot").first.locator(".xtick text").evaluate_all(
        "nodes => nodes.map(n => n.textContent)")
    assert ticks == ["25 Apr 2022"]


# --- 7. many teams -----------------------------------------------------------------------------------------

def test_sixty_two_groups_show_the_worst_fifteen_and_others_with_whole_labels(real_app, tall):
    open_page(tall, f"{real_app}/performance?{SERVICENOW_DAYS}&perf_by=team", charts=3)
    shot(tall, "performance-62-groups")
    bars = traces(tall, 1)[0]
    assert len(bars["y"]) == 16 and bars["y"][-1].startswith("others (")
    ticks = tall.locator(".js-plotly-plot").nth(1).locator(".ytick text").evaluate_all(
        "nodes => nodes.map(n => n.textContent)")
    assert sorted(ticks) == sorted(bars["y"])  # every label whole, none cut or skipped
    shares = bars["x"][:-1]
    zero_labels = [text for value, text in zip(shares, bars["text"], strict=False) if value == 0]
    assert all(text == "0.0%" for text in zero_labels)  # a 0% bar still shows its value


def test_the_overview_heatmap_stays_bounded_with_many_groups(real_app, tall):
    open_page(tall, f"{real_app}/?month=2016-02", charts=1)
    shot(tall, "overview-servicenow-month")
    assert "February 2016: attainment against objective" in main_text(tall)
    heat = traces(tall)[0]
    assert len(heat["y"]) <= 16
    height = tall.locator(".js-plotly-plot").first.bounding_box()["height"]
    assert height < 1000


# --- 10. links carry the metric by key and the breakdown; a click drills down ----------------------------

def test_a_link_with_the_metric_key_and_breakdown_opens_that_view(real_app, tall):
    open_page(tall, f"{real_app}/performance?metric=first_response&perf_by=priority", charts=2)
    assert "First response" in select_value(tall.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']"))
    assert tall.locator("[data-testid='stMetric']").first.inner_text().startswith("First response attainment")
    query = parse_qs(urlparse(tall.url).query)
    assert query["metric"] == ["first_response"] and query["perf_by"] == ["priority"]
    assert "Priority" in select_value(tall.locator("[data-testid='stMain'] [data-testid='stSelectbox']").first)


def test_clicking_a_bar_drills_down_to_its_items(real_app, tall):
    open_page(tall, f"{real_app}/performance?perf_by=team", charts=2)
    bars = traces(tall, 1)[0]
    tallest = max(range(len(bars["y"])), key=lambda i: bars["y"][i])  # a bar big enough to click
    target = bars["x"][tallest]
    box = tall.locator(".js-plotly-plot").nth(1).locator(".bars .point path").nth(tallest).bounding_box()
    tall.mouse.click(box["x"] + box["width"] / 2, box["y"] + 10)  # near its top: the bar runs below the axis
    wait_until_rendered(tall)
    tall.wait_for_function(
        "t => [...document.querySelectorAll(\"[data-testid='stMain'] [data-testid='stSelectbox']\")]"
        ".some(n => (n.innerText + [...n.querySelectorAll('input')].map(i => i.value).join(' ')).includes(t))",
        arg=target, timeout=15_000)
    shot(tall, "performance-drill")
    assert f"breached items for team {target}" in main_text(tall)


# --- 12. no Deploy button ----------------------------------------------------------------------------------

def test_the_toolbar_has_no_deploy_button(real_app, page):
    open_page(page, real_app, charts=1)
    assert page.get_by_role("button", name="Deploy").count() == 0
    assert page.get_by_text("Deploy", exact=True).count() == 0


def test_clicking_a_heatmap_cell_lists_its_breached_items(real_app, tall):
    open_page(tall, f"{real_app}/?month=2016-02", charts=1)
    heat = traces(tall)[0]
    team, channel = heat["y"][0], heat["x"][0]  # the worst team (top row), in its worst channel
    area = tall.locator(".js-plotly-plot").first.locator(".nsewdrag").first.bounding_box()
    rows, columns = len(heat["y"]), len(heat["x"])
    tall.mouse.click(area["x"] + area["width"] / (2 * columns), area["y"] + area["height"] / (2 * rows))
    wait_until_rendered(tall)
    tall.get_by_text(f"items: team {team}, channel {channel}").wait_for(timeout=15_000)
    shot(tall, "overview-heatmap-drill")
