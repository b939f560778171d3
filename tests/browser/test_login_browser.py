"""Streamlit's OIDC login for real: a local OpenID Connect provider (oidc-provider-mock), the app served with an
[auth] section, Chromium logging in through the provider's page.

A viewer sees no commit button; a lead's backdated commit is refused, the same commit effective today is
written with the lead as its author; an admin's backdate says how many verdicts change, is written on a
second click and shows in Policy history with its reason. Screenshots: test-artifacts/screenshots/login-*.png.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sla_store.db import copy_database
from tests.browser.conftest import (
    ROOT,
    SCREENSHOTS,
    free_port,
    running_server,
    serve_app,
    wait_until_rendered,
)
from tests.browser.test_what_if_browser import edit_normal_resolution_budget

pytestmark = pytest.mark.browser

USERS = [
    {"sub": "viewer@example.com", "email": "viewer@example.com", "name": "Vera Viewer"},
    {"sub": "lead@example.com", "email": "lead@example.com", "name": "Lee Lead", "groups": ["sla-leads"]},
    {"sub": "admin@example.com", "email": "admin@example.com", "name": "Ada Admin"},
]
ACCESS = """\
default: viewer
groups:
  sla-leads: lead
users:
  admin@example.com: admin
"""


@contextlib.contextmanager
def oidc_provider(log: Path) -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 on a free port, with USERS as one-click accounts; yields its issuer URL."""
    port = free_port()
    command = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
    for user in USERS:
        command += ["--user-claims", json.dumps(user)]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, f"{url}/.well-known/openid-configuration", log, what="oidc-provider-mock",
                        timeout_s=30):
        yield url


@pytest.fixture
def login_app(sample_db, tmp_path):
    """The app with login configured against the mock provider, on private copies of the database and config."""
    db = tmp_path / "sla.duckdb"
    copy_database(sample_db, db)
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config, ignore=shutil.ignore_patterns("history", ".*"))
    (config / "access.yaml").write_text(ACCESS)
    with oidc_provider(tmp_path / "oidc.log") as issuer:
        secrets = tmp_path / "secrets.toml"
        secrets.write_text(
            "[auth]\n"
            'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
            'cookie_secret = "cookie-secret-for-the-login-browser-test"\n'
            'client_id = "sla-dashboard"\n'
            'client_secret = "client-secret-for-the-login-browser-test"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        )
        with serve_app(db, config, tmp_path / "streamlit.log", secrets=secrets) as url:
            yield url, config


@pytest.fixture
def new_page(browser):
    """A fresh browser context per user (cookies are per context), tall enough for the whole What-if page."""
    contexts = []

    def make():
        context = browser.new_context(viewport={"width": 1400, "height": 2600})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _log_in(page, url: str, who: str, shot: str) -> None:
    page.goto(url)
    wait_until_rendered(page)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r".*/oauth2/authorize.*"), timeout=30_000)
    page.screenshot(path=str(SCREENSHOTS / f"login-{shot}-provider.png"))
    page.get_by_role("button", name=who, exact=True).click()
    page.wait_for_url(re.compile(re.escape(url) + r"/.*"), timeout=30_000)
    wait_until_rendered(page)
    sidebar.get_by_role("button", name="Log out").wait_for(timeout=30_000)


def _what_if_with_an_edit(page, config: Path) -> None:
    page.get_by_test_id("stSidebarNav").get_by_text("What-if").click()
    wait_until_rendered(page)
    _, code = edit_normal_resolution_budget(page, config, "30h")
    assert "+  within: 30h" in code.first.inner_text()


def _set_effective(page, day: str) -> None:
    """Type a day (YYYY-MM-DD) into the date field's year, month and day segments."""
    field = page.locator(".st-key-whatif_effective")
    segments = field.get_by_role("spinbutton")
    segments.first.click()
    for segment, digits in zip(segments.all(), day.split("-"), strict=True):
        segment.focus()
        page.keyboard.type(digits, delay=40)
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")  # close the calendar the click opened
    page.wait_for_timeout(300)
    assert page.get_by_test_id("stFloatingOverlayPortal").get_by_role("button").count() == 0
    assert field.locator("input[type=date]").input_value() == day


def test_a_viewer_sees_no_commit_button_and_a_lead_commits_but_may_not_backdate(login_app, new_page):
    url, config = login_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    original = (config / "sla.yaml").read_text()

    viewer = new_page()
    viewer.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(viewer, url, "viewer@example.com", "viewer")
    assert viewer.get_by_test_id("stSidebar").get_by_text("viewer@example.com · viewer").is_visible()
    _what_if_with_an_edit(viewer, config)
    notice = viewer.get_by_text("Logged in as viewer@example.com (viewer)")
    notice.wait_for()
    assert viewer.get_by_role("button", name=re.compile("Commit version")).count() == 0
    assert viewer.get_by_label("Reason").count() == 0
    viewer.screenshot(path=str(SCREENSHOTS / "login-viewer-what-if.png"), full_page=True)

    viewer.get_by_test_id("stSidebar").get_by_role("button", name="Log out").click()
    viewer.wait_for_url(re.compile(r".*/oauth2/end_session.*"), timeout=30_000)  # the provider's logout
    viewer.get_by_role("button", name="End session").click()
    viewer.wait_for_url(re.compile(re.escape(url) + r"/.*"), timeout=30_000)
    wait_until_rendered(viewer)
    viewer.get_by_test_id("stSidebar").get_by_role("button", name="Log in").wait_for(timeout=30_000)

    lead = new_page()
    lead.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(lead, url, "lead@example.com", "lead")
    _what_if_with_an_edit(lead, config)
    lead.get_by_text("Logged in as lead@example.com (lead)").wait_for()
    assert lead.get_by_label("Author", exact=True).input_value() == "lead@example.com"
    assert lead.get_by_label("Author", exact=True).is_disabled()

    lead.get_by_label("Reason").fill("Normal tickets within 30 business hours since June")
    _set_effective(lead, "2026-06-01")
    lead.get_by_role("button", name="Commit version 2").click()
    wait_until_rendered(lead, timeout_ms=60_000)
    refusal = lead.get_by_test_id("stAlertContentError").filter(has_text="only an admin may backdate")
    refusal.wait_for(timeout=30_000)
    assert "2026-06-01 is before today (2026-11-20)" in refusal.inner_text()
    lead.screenshot(path=str(SCREENSHOTS / "login-lead-backdate-refused.png"), full_page=True)
    assert (config / "sla.yaml").read_text() == original

    _set_effective(lead, "2026-11-20")
    lead.get_by_role("button", name="Commit version 2").click()
    wait_until_rendered(lead, timeout_ms=60_000)
    lead.get_by_test_id("stAlertContentSuccess").get_by_text("Committed version 2").wait_for(timeout=60_000)
    lead.screenshot(path=str(SCREENSHOTS / "login-lead-committed.png"), full_page=True)
    written = yaml.safe_load((config / "sla.yaml").read_text())
    assert (written["version"], written["author"]) == (2, "lead@example.com")
    assert str(written["effective_from"]) == "2026-11-20"
    assert written["reason"] == "Normal tickets within 30 business hours since June"
    for page in (viewer, lead):
        assert page.get_by_test_id("stException").count() == 0
    assert not errors


def test_an_admin_backdates_after_seeing_how_many_verdicts_change_and_policy_history_shows_why(
    login_app, new_page
):
    url, config = login_app
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    admin = new_page()
    admin.on("pageerror", lambda error: errors.append(str(error)))
    _log_in(admin, url, "admin@example.com", "admin")
    _what_if_with_an_edit(admin, config)
    admin.get_by_text("Logged in as admin@example.com (admin)").wait_for()

    admin.get_by_label("Reason").fill("Contract amendment signed for June")
    _set_effective(admin, "2026-06-01")
    admin.get_by_role("button", name="Commit version 2").click()
    wait_until_rendered(admin, timeout_ms=60_000)
    warning = admin.get_by_test_id("stAlertContentWarning").filter(has_text="Backdating to 01 Jun 2026")
    warning.wait_for(timeout=60_000)
    assert re.search(r"re-judges the items created since then: [\d,]+ decided verdicts \(", warning.inner_text())
    admin.screenshot(path=str(SCREENSHOTS / "login-admin-backdate-count.png"), full_page=True)
    assert yaml.safe_load((config / "sla.yaml").read_text())["version"] == 1  # nothing written yet

    admin.get_by_role("button", name="Commit version 2, backdated to 01 Jun 2026").click()
    wait_until_rendered(admin, timeout_ms=60_000)
    admin.get_by_test_id("stAlertContentSuccess").get_by_text("Committed version 2").wait_for(timeout=60_000)
    written = yaml.safe_load((config / "sla.yaml").read_text())
    assert (written["author"], str(written["effective_from"])) == ("admin@example.com", "2026-06-01")

    admin.get_by_test_id("stSidebarNav").get_by_text("Policy history").click()
    wait_until_rendered(admin)
    admin.get_by_role("heading", name="Version 1 → version 2").wait_for()
    admin.screenshot(path=str(SCREENSHOTS / "login-admin-policy-history.png"), full_page=True)
    assert admin.get_by_test_id("stException").count() == 0
    assert not errors
