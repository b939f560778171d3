"""Who may commit on the What-if page: the local default (loopback or read-only) and roles behind a login.

AppTest stands in for Streamlit's login: `at.secrets["auth"]` configures it and `at.user` is the identity
the provider returned (the real login runs in tests/browser/test_login_browser.py).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from sla_core.policy_yaml import parse_policy
from sla_store.db import connect_read_only
from sla_store.policy_store import version_history
from tests.app.test_what_if import APP, LOCAL_AUTHOR, RESOLUTION_CATCH_ALL, _edit_targets, make_workspace
from tests.unit.test_simulate_consistency import POLICY_V1

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-cookie-secret-for-tests",
    "client_id": "sla-dashboard",
    "client_secret": "a-client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
ACCESS = """\
users:
  lea@example.com: lead
  ada@example.com: admin
groups:
  sla-admins: admin
"""
TODAY = date(2026, 3, 20)  # NOW of the What-if fixture history


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """The What-if workspace with an access file."""
    config, db = make_workspace(tmp_path, monkeypatch)
    (config / "access.yaml").write_text(ACCESS)
    return config, db


@pytest.fixture
def address():
    def use(value: str | None) -> None:
        st_config.set_option("server.address", value)

    return use


def _what_if(user: dict | None = None, login: bool = False, within: str = "2d") -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if login:
        at.secrets["auth"] = dict(AUTH)
    if user is not None:
        at.user = user
    at.run()
    at.switch_page("pages/what_if.py")
    at.run()
    assert not at.exception
    _edit_targets(at, {RESOLUTION_CATCH_ALL: {"within": within}})
    at.run()
    assert not at.exception
    return at


def _commit_button(at: AppTest):
    return [b for b in at.button if b.key == "whatif_commit_button"]


def _commit(at: AppTest, reason: str, effective: date | None = None) -> AppTest:
    at.text_area(key="whatif_reason").input(reason)
    if effective is not None:
        at.date_input(key="whatif_effective").set_value(effective)
    at.button(key="whatif_commit_button").click()
    at.run()
    assert not at.exception
    return at


def _plain(markdown: str) -> str:
    """The text a markdown-escaped notice shows."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("`", "")


def _notices(at: AppTest) -> list[str]:
    return [_plain(e.value) for e in (*at.info, *at.warning, *at.caption)]


def _warning(at: AppTest) -> str:
    return next(w for w in (_plain(w.value) for w in at.warning) if w.startswith("Read-only"))


# -------------------------------------------------------------------------------------- no login


def test_on_a_loopback_address_without_login_the_page_says_commits_are_local_and_allows_them(workspace, address):
    config, _ = workspace
    address("127.0.0.1")
    at = _what_if()
    info = [i for i in (_plain(i.value) for i in at.info) if "No login is configured" in i]
    assert info and "listens only on 127.0.0.1" in info[0] and f"recorded as {LOCAL_AUTHOR}" in info[0]
    assert _commit_button(at)
    assert any(_plain(c.value) == f"No login: local commits as {LOCAL_AUTHOR}." for c in at.sidebar.caption)

    _commit(at, "two days")
    assert parse_policy((config / "sla.yaml").read_text()).author == LOCAL_AUTHOR


def test_on_a_loopback_address_without_login_a_past_effective_date_is_refused(workspace, address):
    config, _ = workspace
    address("localhost")
    at = _commit(_what_if(), "backdated", date(2026, 2, 1))
    assert any("only an admin may backdate" in e.value for e in at.error), [e.value for e in at.error]
    assert (config / "sla.yaml").read_text() == POLICY_V1


@pytest.mark.parametrize("where", [None, "0.0.0.0", "10.20.30.40"])
def test_on_any_other_address_without_login_the_app_is_read_only_and_says_how_to_configure_login(
    workspace, address, where
):
    address(where)
    at = _what_if()
    warning = _warning(at)
    assert "no login is configured" in warning and "[auth] section in .streamlit/secrets.toml" in warning
    assert "config/access.yaml" in warning
    assert not _commit_button(at)
    assert at.code  # the proposal's diff is still shown


# ---------------------------------------------------------------------------------------- login


def test_with_login_an_anonymous_visitor_gets_a_log_in_button_and_no_commit(workspace, address):
    address("0.0.0.0")
    at = _what_if({"is_logged_in": False}, login=True)
    assert [b.label for b in at.sidebar.button if b.key == "login_default"] == ["Log in"]
    assert "Log in to commit a new version." in _notices(at)
    assert not _commit_button(at)


def test_a_viewer_sees_every_figure_but_no_commit_button(workspace, address):
    address("0.0.0.0")
    at = _what_if({"is_logged_in": True, "email": "zoe@example.com", "name": "Zoe"}, login=True)
    assert any("zoe@example.com (viewer)" in n and "do not commit" in n for n in _notices(at))
    assert not _commit_button(at)
    assert [b.label for b in at.sidebar.button if b.key == "logout"] == ["Log out"]


def test_a_lead_commits_as_the_logged_in_identity_but_may_not_backdate(workspace, address):
    config, _ = workspace
    address("0.0.0.0")  # with login, the address no longer matters
    lead = {"is_logged_in": True, "email": "lea@example.com", "name": "Lea"}

    at = _commit(_what_if(lead, login=True), "re-judge spring", date(2026, 2, 1))
    refusal = [e.value for e in at.error]
    assert any("2026-02-01 is before today (2026-03-20)" in e and "only an admin may backdate" in e
               for e in refusal), refusal
    assert (config / "sla.yaml").read_text() == POLICY_V1

    at.date_input(key="whatif_effective").set_value(TODAY)
    at.button(key="whatif_commit_button").click()
    at.run()
    assert not at.exception
    written = parse_policy((config / "sla.yaml").read_text())
    assert (written.version, written.author, written.effective_from) == (2, "lea@example.com", TODAY)


def _verdicts_a_4h_backdate_changes(db, since: date) -> int:
    """In SQL: decided resolution verdicts of items created since `since` that the catch-all at 4h changes."""
    con = connect_read_only(db)
    try:
        return con.sql(
            """
            WITH judged AS (
                SELECT met, CASE WHEN target_index <> ? THEN met
                                 WHEN stop IS NOT NULL THEN elapsed_s <= 14400
                                 WHEN elapsed_s > 14400 THEN FALSE END AS after
                FROM results WHERE created >= ?::DATE)
            SELECT count(*) FROM judged WHERE met IS NOT NULL AND (after IS NULL OR after <> met)
            """,
            params=[RESOLUTION_CATCH_ALL, since],
        ).fetchall()[0][0]
    finally:
        con.close()


def test_an_admin_by_group_backdates_after_seeing_how_many_verdicts_change_and_history_shows_the_reason(
    workspace, address
):
    config, db = workspace
    address("0.0.0.0")
    admin = {"is_logged_in": True, "email": "max@example.com", "groups": ["staff", "sla-admins"]}
    at = _what_if(admin, login=True, within="4h")
    assert any("max@example.com (admin)" in n and "backdated" in n for n in _notices(at))

    _commit(at, "Contract amended from 1 February", date(2026, 2, 1))
    assert (config / "sla.yaml").read_text() == POLICY_V1  # nothing written before the confirmation
    expected = _verdicts_a_4h_backdate_changes(db, date(2026, 2, 1))
    assert expected > 0, expected
    warning = next(w for w in (_plain(w.value) for w in at.warning) if w.startswith("Backdating"))
    assert warning.startswith(f"Backdating to 01 Feb 2026 re-judges the items created since then: {expected:,} "
                              "decided verdicts (")
    at.button(key="whatif_backdate_confirm").click()
    at.run()
    assert not at.exception
    written = parse_policy((config / "sla.yaml").read_text())
    assert (written.author, written.effective_from) == ("max@example.com", date(2026, 2, 1))
    assert written.reason == "Contract amended from 1 February"
    assert version_history(config).select("version", "backdated").rows() == [(2, True), (1, False)]

    at.switch_page("pages/policy_history.py")
    at.run()
    assert not at.exception
    listing = at.dataframe[0].value
    assert listing["reason"].tolist()[0] == "Contract amended from 1 February"
    assert listing["backdated"].tolist() == [True, False]


def test_a_broken_access_file_makes_the_app_read_only_with_the_one_line_error(workspace, address):
    config, _ = workspace
    (config / "access.yaml").write_text("users:\n  lea@example.com: boss\n")
    address("127.0.0.1")
    at = _what_if({"is_logged_in": True, "email": "lea@example.com"}, login=True)
    warning = _warning(at)
    assert f'{config}/access.yaml:2: users.lea@example.com: "boss" is not a role' in warning
    assert not _commit_button(at)


def test_an_incomplete_auth_section_is_read_only_and_does_not_fall_back_to_local_commits(workspace, address):
    address("127.0.0.1")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "client_id": "x"}
    at.run()
    at.switch_page("pages/what_if.py")
    at.run()
    assert not at.exception
    warning = _warning(at)
    assert "login is misconfigured: [auth] needs cookie_secret" in warning
    assert "a-client-secret" not in warning


def test_an_identity_is_shown_as_text_never_as_markdown(workspace, address):
    address("0.0.0.0")
    at = _what_if({"is_logged_in": True, "email": "![t](http://host/x.png)@example.com"}, login=True)
    notices = [n.value for n in (*at.info, *at.sidebar.caption)]
    assert any("`![t](http://host/x.png)@example.com`" in n for n in notices), notices  # a code span
    assert not any(n.replace("`![t](http://host/x.png)@example.com`", "").count("![t](") for n in notices)


def _data_page(user: dict | None = None, login: bool = False) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    if login:
        at.secrets["auth"] = dict(AUTH)
    if user is not None:
        at.user = user
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception
    return at


def _uploaders(at: AppTest) -> list:
    return list(at.get("file_uploader"))


def test_uploads_follow_the_same_rights_as_commits(workspace, address):
    address("127.0.0.1")
    assert _uploaders(_data_page())

    address("0.0.0.0")
    read_only = _data_page()
    assert not _uploaders(read_only)
    assert _warning(read_only).startswith("Read-only: no login is configured")
    assert read_only.metric  # the counts are still shown

    viewer = _data_page({"is_logged_in": True, "email": "zoe@example.com"}, login=True)
    assert not _uploaders(viewer)
    lead = _data_page({"is_logged_in": True, "email": "lea@example.com"}, login=True)
    assert _uploaders(lead)
