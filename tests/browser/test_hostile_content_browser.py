"""Hostile data values in a real Chromium: a team named like a markdown image is shown as its literal text in
the drill-down message and the sidebar, and no viewer's browser fetches anything from the named host."""

from __future__ import annotations

import duckdb
import pytest

from sla_store import rollup
from sla_store.db import copy_database
from tests.browser.conftest import ROOT, SCREENSHOTS, serve_app, wait_until_rendered

pytestmark = pytest.mark.browser

IMAGE_TEAM = "![t](http://hostile.invalid/x.png) :red[red] $x^2$ **bold**"


@pytest.fixture(scope="module")
def hostile_app(sample_db, tmp_path_factory):
    """The sample database with one team renamed to hostile markdown; only its met results keep it, so the
    drill-down says it has no breached items."""
    folder = tmp_path_factory.mktemp("browser-hostile")
    db = folder / "sla.duckdb"
    copy_database(sample_db, db)
    con = duckdb.connect(str(db))
    con.execute("UPDATE results SET team = ? WHERE team = 'Onboarding' AND met AND metric = 'resolution'",
                [IMAGE_TEAM])
    rollup.rebuild(con)
    con.close()
    with serve_app(db, ROOT / "config", folder / "streamlit.log") as url:
        yield url


def test_a_team_named_like_a_markdown_image_is_shown_as_text_and_nothing_is_fetched(hostile_app, page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{hostile_app}/performance?perf_by=team&metric=resolution")
    wait_until_rendered(page)
    main = page.locator("[data-testid='stMain']")
    drill = main.locator("[data-testid='stSelectbox']").filter(has_text="Team").last
    drill.click()
    page.keyboard.type("hostile.invalid")
    page.keyboard.press("Enter")
    wait_until_rendered(page)
    message = main.locator("[data-testid='stAlertContentSuccess']")
    message.first.wait_for(timeout=30_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "hostile-team-drill-down.png"), full_page=True)
    text = message.first.inner_text().replace("\u2060", "")  # the joiner that keeps a URL from linking
    assert f"No breached resolution items for team {IMAGE_TEAM}." in text
    assert message.first.locator("img, a, strong, .katex, span[style*='color']").count() == 0
    assert page.locator("img[src*='hostile.invalid']").count() == 0
    assert not [url for url in requested if "hostile.invalid" in url]
