"""Who is using the app and what they may do: Streamlit's login (st.login / st.user / st.logout), the roles
in config/access.yaml and the address the server listens on, decided by sla_core.access."""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import Any

import streamlit as st

from sla_core.access import (
    AccessError,
    AccessPolicy,
    Identity,
    LoginSettings,
    Rights,
    identity_from_claims,
    login_settings,
    rights_for,
)
from sla_store.policy_files import config_dir, load_access
from sla_ui.view import plain


def _auth_section() -> Mapping[str, Any] | None:
    """st.secrets["auth"], or None when there is no secrets file or no [auth] section."""
    try:
        if not st.secrets.load_if_toml_exists() or "auth" not in st.secrets:
            return None
        section = st.secrets["auth"]
    except Exception:  # an unreadable secrets file is reported by Streamlit at startup
        return None
    return section if isinstance(section, Mapping) else None


def current_login() -> LoginSettings:
    return login_settings(_auth_section())


def _local_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def _logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except (AttributeError, KeyError):
        return False


def current_identity(settings: LoginSettings, access: AccessPolicy | None) -> Identity | None:
    if not settings.configured or settings.problem or not _logged_in():
        return None
    return identity_from_claims(st.user.to_dict(), access)


def current_rights() -> Rights:
    """What this session may do (computed on every run: the access file and the login can change)."""
    settings = current_login()
    problem = settings.problem
    access = None
    try:
        access = load_access(config_dir())
    except AccessError as error:
        problem = problem or f"{error} (fix config/access.yaml; nobody commits meanwhile)"
    return rights_for(
        login_configured=settings.configured,
        identity=current_identity(settings, access),
        access=access,
        server_address=st.get_option("server.address"),
        local_user=_local_user(),
        problem=problem,
    )




def _code(value: str) -> str:
    """An inline code span: shown verbatim, never turned into a link (emails are autolinked otherwise)."""
    return "`" + value.replace("`", "'") + "`"


def _notice_markdown(rights: Rights) -> str:
    """The notice with markdown escaped and the author as a code span."""
    if not rights.author:
        return plain(rights.notice)
    return _code(rights.author).join(plain(part) for part in rights.notice.split(rights.author))


def render_account(rights: Rights) -> None:
    """The sidebar's account block: log in / log out with the login, else what the local default allows."""
    settings = current_login()
    with st.sidebar:
        if settings.configured and not settings.problem:
            if rights.author is None:
                for provider in settings.providers:
                    label = "Log in" if len(settings.providers) == 1 else f"Log in with {provider}"
                    if st.button(label, key=f"login_{provider}", icon=":material/login:"):
                        st.login() if provider == "default" else st.login(provider)
            else:
                st.caption(f"{_code(rights.author)} · {rights.role.label if rights.role else ''}")
                if st.button("Log out", key="logout", icon=":material/logout:"):
                    st.logout()
        elif rights.mode == "local":
            st.caption(f"No login: local commits as {_code(rights.author)}.")
        else:
            st.caption("Read-only: see What-if for how to enable commits.")


def show_rights(rights: Rights) -> None:
    """The commit section's notice: who commits, or why nobody can."""
    notice = _notice_markdown(rights)
    if rights.mode == "read_only":
        st.warning(notice, icon=":material/lock:")
    elif rights.mode == "local":
        st.info(notice, icon=":material/computer:")
    elif rights.can_commit:
        st.caption(notice)
    else:
        st.info(notice, icon=":material/visibility:")


def effective_help(rights: Rights) -> str:
    base = "Items created from this day (UTC) on are judged by the new version."
    if rights.can_backdate:
        return base + " As an admin you may pick a past day; the reason is shown in Policy history."
    return base + " Today or later: a past day would re-judge verdicts already given (admins only)."
