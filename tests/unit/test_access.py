"""Roles from the access file, and what a request may do: login, the loopback default, read-only."""

from __future__ import annotations

import pytest

from sla_core.access import (
    AccessError,
    AccessPolicy,
    Identity,
    LoginSettings,
    Role,
    identity_from_claims,
    is_loopback,
    login_settings,
    parse_access,
    rights_for,
)

ACCESS = """\
default: viewer
groups_claim: groups
users:
  Ana@Example.com: admin
  lea@example.com: lead
groups:
  sla-leads: lead
  sla-admins: admin
"""


def test_roles_come_from_the_email_ignoring_case_or_from_any_group_and_the_highest_wins():
    access = parse_access(ACCESS)
    assert access.role_for("ana@example.com") is Role.ADMIN
    assert access.role_for("ANA@EXAMPLE.COM ") is Role.ADMIN
    assert access.role_for("lea@example.com") is Role.LEAD
    assert access.role_for("lea@example.com", ["sla-admins"]) is Role.ADMIN
    assert access.role_for("zoe@example.com", ["other", "sla-leads"]) is Role.LEAD
    assert access.role_for("zoe@example.com", ["other"]) is Role.VIEWER
    assert access.role_for(None) is Role.VIEWER


def test_the_groups_claim_is_read_from_the_named_claim_as_a_list_or_a_single_string():
    access = parse_access("groups_claim: roles\ngroups: {ops: lead}\n")
    assert access.groups_of({"roles": ["ops", "x"], "groups": ["admins"]}) == ("ops", "x")
    assert access.groups_of({"roles": "ops"}) == ("ops",)
    assert access.groups_of({}) == ()


def test_an_empty_access_file_makes_every_logged_in_user_a_viewer():
    assert parse_access("") == AccessPolicy()
    assert parse_access("users:\ngroups:\n").role_for("a@b.c", ["g"]) is Role.VIEWER


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users:\n  ana@example.com: boss\n",
         'config/access.yaml:2: users.ana@example.com: "boss" is not a role (use viewer, lead or admin)'),
        ("users:\n  ana: admin\n", 'config/access.yaml:2: users.ana: "ana" is not an email address'),
        ("users:\n  a@b.c: lead\n  A@B.C: admin\n",
         'config/access.yaml:3: users.A@B.C: "A@B.C" is listed twice (emails ignore case)'),
        ("default: root\n", 'config/access.yaml:1: default: "root" is not a role (use viewer, lead or admin)'),
        ("usres: {}\n", "config/access.yaml:1: usres: unknown key (expected one of: default, groups_claim, users, "
                        "groups)"),
        ("groups:\n  leads: 2\n", 'config/access.yaml:2: groups.leads: "2" is not a role (use viewer, lead or admin)'),
        ("- ana\n", "config/access.yaml:1: an access file is a mapping with default, users and groups"),
        ("users: {a: [b\n", "config/access.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'"),
        ("users:\n  ana@example.com: viewer\n  ana@example.com: admin\n",
         "config/access.yaml:3: users.ana@example.com: duplicate key (first on line 2; only one may stay)"),
        ("groups: " + "[" * 40 + "]" * 40 + "\n", "config/access.yaml:1: nested deeper than 12 levels"),
    ],
)
def test_a_bad_access_file_gets_one_line_naming_file_line_and_key(text, message):
    with pytest.raises(AccessError) as caught:
        parse_access(text, "config/access.yaml")
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("address", "loopback"),
    [("localhost", True), ("127.0.0.1", True), ("127.8.9.1", True), ("::1", True), ("[::1]", True),
     ("LOCALHOST", True), ("0.0.0.0", False), ("", False), (None, False), ("::", False), ("10.0.0.5", False),
     ("dashboard.example.com", False), ("localhost.example.com", False)],
)
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback


def test_with_login_the_role_decides_and_the_author_is_the_identity():
    access = parse_access(ACCESS)

    def rights(identity):
        return rights_for(login_configured=True, identity=identity, access=access, server_address="0.0.0.0")

    anonymous = rights(None)
    assert not anonymous.can_commit and "Log in" in anonymous.notice
    viewer = rights(Identity("zoe@example.com"))
    assert (viewer.can_commit, viewer.role) == (False, Role.VIEWER) and "viewers" in viewer.notice
    lead = rights(Identity("lea@example.com", "Lea"))
    assert (lead.can_commit, lead.can_backdate, lead.author) == (True, False, "lea@example.com")
    admin = rights(Identity("x@example.com", groups=("sla-admins",)))
    assert (admin.can_commit, admin.can_backdate, admin.author) == (True, True, "x@example.com")
    no_email = rights(Identity(None, subject="abc123", groups=("sla-leads",)))
    assert no_email.author == "abc123"
    # without an access file, a login grants nothing beyond viewing
    assert not rights_for(login_configured=True, identity=Identity("ana@example.com"), access=None,
                          server_address="127.0.0.1").can_commit


def test_without_login_a_loopback_server_commits_as_the_local_account_and_any_other_is_read_only():
    local = rights_for(login_configured=False, identity=None, access=None, server_address="127.0.0.1",
                       local_user="ops")
    assert (local.mode, local.can_commit, local.can_backdate, local.author) == ("local", True, False, "ops (local)")
    assert "listens only on 127.0.0.1" in local.notice
    for address in ("0.0.0.0", "", None, "10.1.2.3"):
        shared = rights_for(login_configured=False, identity=None, access=None, server_address=address)
        assert (shared.mode, shared.can_commit) == ("read_only", False)
        assert "Read-only" in shared.notice and ".streamlit/secrets.toml" in shared.notice


def test_a_login_or_access_problem_makes_the_app_read_only_even_on_loopback():
    broken = rights_for(login_configured=False, identity=None, access=None, server_address="127.0.0.1",
                        problem="config/access.yaml:2: users.x: bad")
    assert (broken.mode, broken.can_commit) == ("read_only", False)
    assert broken.notice == "Read-only: config/access.yaml:2: users.x: bad"


SECRET_AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "s3cret-cookie",
    "client_id": "sla",
    "client_secret": "s3cret-client",
    "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration",
}


def test_login_settings_find_the_default_and_named_providers():
    assert login_settings(None) == LoginSettings(False)
    assert login_settings({}) == LoginSettings(False)
    assert login_settings(SECRET_AUTH) == LoginSettings(True, ("default",))
    named = {"redirect_uri": "r", "cookie_secret": "c", "okta": {k: "x" for k in ("client_id", "client_secret",
                                                                                 "server_metadata_url")}}
    assert login_settings(named) == LoginSettings(True, ("okta",))


def test_incomplete_login_settings_are_named_without_revealing_secrets():
    broken = {k: v for k, v in SECRET_AUTH.items() if k not in ("cookie_secret", "server_metadata_url")}
    settings = login_settings(broken)
    assert settings.configured and settings.problem == (
        ".streamlit/secrets.toml: login is misconfigured: [auth] needs cookie_secret; "
        "[auth] needs server_metadata_url"
    )
    assert "s3cret" not in settings.problem
    only_shared = login_settings({"redirect_uri": "r", "cookie_secret": "c"})
    assert "needs client_id, client_secret and server_metadata_url" in only_shared.problem


def test_identity_from_claims_reads_email_name_subject_and_groups_but_not_an_unverified_email():
    access = parse_access("groups_claim: roles\n")
    identity = identity_from_claims(
        {"email": "Ana@Example.com", "name": "Ana", "sub": "u1", "roles": ["sla-leads"]}, access)
    assert identity == Identity("Ana@Example.com", "Ana", "u1", ("sla-leads",))
    unverified = identity_from_claims({"email": "boss@example.com", "email_verified": False, "sub": "u2"}, access)
    assert unverified.email is None and unverified.author == "u2"


def test_an_alias_bomb_or_a_huge_access_file_is_refused_quickly_in_one_line():
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(8)
    ) + "users: *i\n"
    with pytest.raises(AccessError, match=r"aliases expand to more than 100,000 values"):
        parse_access(bomb, "access.yaml")
    with pytest.raises(AccessError, match=r"^access.yaml: 1,000,001 characters; an access file holds at most"):
        parse_access("#" * 1_000_001, "access.yaml")
