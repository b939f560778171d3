"""The What-if page in a real Chromium: edit a budget in the grid, simulate, commit, see the new version.

Runs its own `streamlit run` against copies of the sample database and config/, because a commit writes
both. Screenshots go to test-artifacts/screenshots/what-if-*.png.
"""

from __future__ import annotations

import getpass
import shutil

import pytest
import yaml
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from sla_store.db import copy_database
from tests.browser.conftest import ROOT, SCREENSHOTS, serve_app, wait_until_rendered

pytestmark = pytest.mark.browser
LOCAL_AUTHOR = f"{getpass.getuser()} (local)"


@pytest.fixture
def what_if_app(sample_db, tmp_path):
    """A served app on private copies of the sample database and the config folder."""
    db = tmp_path / "sla.duckdb"
    copy_database(sample_db, db)
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns("history", ".*"))
    with serve_app(db, config, tmp_path / "streamlit.log") as url:
        yield url, config


def edit_normal_resolution_budget(page, config, budget: str):
    """On the What-if page, set the normal-priority resolution target's `within` to `budget`; returns that
    target's row and the locator of the diff the commit section then shows."""
    committed = yaml.safe_load((config / "sla.yaml").read_text())
    row = next(i for i, t in enumerate(committed["targets"])
               if t["metric"] == "resolution" and t.get("match", {}).get("priority") == "normal"
               and "team" not in t.get("match", {}))
    grid = page.locator(".st-key-whatif_targets [data-testid='stDataFrame']")
    grid.wait_for()
    code = page.locator("[data-testid='stCode']")
    for _attempt in range(3):  # the canvas grid can drop keys typed while it is still laying out
        _edit_cell(page, grid, row, 6, budget)  # column 6 = within
        wait_until_rendered(page)
        try:
            code.first.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    return row, code


def _edit_cell(page, grid, row: int, column: int, text: str) -> None:
    """Type into a cell of a Streamlit data editor (a canvas grid): select a cell, walk to the top-left one
    and from there to the wanted cell with the arrow keys, open its editor, replace the text."""
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 60, box["y"] + 35 + 17)  # a cell of the first data rows
    for _ in range(40):  # wherever the click landed, walk to the top-left cell first
        page.keyboard.press("ArrowUp")
    for _ in range(12):
        page.keyboard.press("ArrowLeft")
    for _ in range(row):
        page.keyboard.press("ArrowDown")
    for _ in range(column):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_timeout(400)
    page.keyboard.press("Control+A")
    page.keyboard.type(text, delay=50)
    page.keyboard.press("Enter")


@pytest.fixture
def tall_page(browser):
    """A tall viewport: Streamlit scrolls inside its main block, so screenshots show only the viewport."""
    context = browser.new_context(viewport={"width": 1400, "height": 3000})
    yield context.new_page()
    context.close()


def test_edit_simulate_and_commit_in_the_browser(what_if_app, tall_page):
    url, config = what_if_app
    page = tall_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(url)
    wait_until_rendered(page)
    page.locator("[data-testid='stSidebarNav']").get_by_text("What-if").click()
    wait_until_rendered(page)
    assert page.get_by_role("heading", name="What-if").is_visible()

    row, code = edit_normal_resolution_budget(page, config, "30h")
    page.screenshot(path=str(SCREENSHOTS / "what-if-edited.png"))
    diff = code.first.inner_text()
    assert "+  within: 30h" in diff  # the commit section shows the edit as a diff

    page.get_by_role("button", name="Simulate").click()
    wait_until_rendered(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    assert page.get_by_text("Attainment, proposed").first.is_visible()
    assert page.get_by_text("Items that flip").is_visible()
    assert page.locator(".js-plotly-plot .trace").count() >= 2
    page.screenshot(path=str(SCREENSHOTS / "what-if-simulated.png"), full_page=True)

    assert page.get_by_label("Author", exact=True).input_value() == LOCAL_AUTHOR  # no login, loopback: the server's account
    page.get_by_label("Reason").fill("Normal tickets resolved within 30 business hours")
    page.get_by_role("button", name="Commit version 2").click()
    wait_until_rendered(page, timeout_ms=60_000)
    page.get_by_test_id("stAlertContentSuccess").get_by_text("Committed version 2").wait_for(timeout=60_000)
    page.screenshot(path=str(SCREENSHOTS / "what-if-committed.png"), full_page=True)
    written = yaml.safe_load((config / "sla.yaml").read_text())
    assert written["version"] == 2 and written["author"] == LOCAL_AUTHOR
    assert written["targets"][row]["within"] == "30h"
    assert (config / "history" / "v1.yaml").exists()

    page.locator("[data-testid='stSidebarNav']").get_by_text("Policy history").click()
    wait_until_rendered(page)
    assert page.get_by_role("heading", name="Version 1 → version 2").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "what-if-policy-history.png"), full_page=True)
    assert page.locator("[data-testid='stException']").count() == 0
    assert not errors
