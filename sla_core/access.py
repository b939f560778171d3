"""Who may change targets: roles from the access file, and what a request may do with them.

The access file (`config/access.yaml`) maps logged-in users to roles, by email and by the groups an
identity provider puts in its ID token:

    default: viewer          # anyone who logs in and is not listed below
    groups_claim: groups     # the ID-token claim listing the user's groups
    users:                   # email -> role
      ana@example.com: admin
    groups:                  # group -> role
      sla-leads: lead

Roles: viewer (every page, no commit), lead (commits effective today or later), admin (may also backdate,
with a reason). A user listed several ways gets the highest role.

Without login configured, commits are allowed only while the server listens on a loopback address (the
person at the machine commits as the account running the server); on any other address the app is
read-only. Pure: the shell passes in the settings, the identity and the server address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from sla_core.checked_yaml import KeyLines, first_problem, load_checked_yaml, pydantic_message
from sla_core.policy import PolicyError


class Role(IntEnum):
    """Ordered: a higher role may do everything a lower one may."""

    VIEWER = 1
    LEAD = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            raise ValueError(f'"{text}" is not a role (use viewer, lead or admin)') from None


ROLE_NAMES = tuple(role.label for role in Role)
MAX_ACCESS_CHARS = 1_000_000  # thousands of users and groups fit in well under a megabyte


class AccessError(PolicyError):
    """An access file that cannot be used (one line: "<file>:<line>: <key.path>: <message>")."""


class AccessSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: Any = "viewer"
    groups_claim: str = "groups"
    users: dict[str, Any] | None = None
    groups: dict[str, Any] | None = None

    @field_validator("groups_claim")
    @classmethod
    def _claim(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name an ID-token claim, e.g. groups")
        return value.strip()


@dataclass(frozen=True)
class AccessPolicy:
    """Roles by email (lower-case) and by group; `default` for anyone else who logs in."""

    users: Mapping[str, Role] = field(default_factory=dict)
    groups: Mapping[str, Role] = field(default_factory=dict)
    default: Role = Role.VIEWER
    groups_claim: str = "groups"

    def role_for(self, email: str | None, groups: Iterable[str] = ()) -> Role:
        """The highest role the email or any of the groups maps to; `default` when none does."""
        found = [self.users[email.strip().lower()]] if email and email.strip().lower() in self.users else []
        found += [self.groups[group] for group in groups if group in self.groups]
        return max(found, default=self.default)

    def groups_of(self, claims: Mapping[str, Any]) -> tuple[str, ...]:
        """The group names in an identity's claims (a list, or one string)."""
        value = claims.get(self.groups_claim)
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list | tuple):
            return tuple(str(v) for v in value)
        return ()


def parse_access(text: str, source: str = "access.yaml") -> AccessPolicy:
    """YAML text -> AccessPolicy. Raises AccessError with one line "<source>:<line>: <key.path>: <message>"."""
    try:
        data, root = load_checked_yaml(text, source, max_chars=MAX_ACCESS_CHARS, holds="an access file")
    except PolicyError as error:
        raise AccessError(error.source, error.line, error.path, error.message) from None
    errors = KeyLines(source, root)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _access_error(errors, (), "an access file is a mapping with default, users and groups")
    try:
        spec = AccessSpec.model_validate(data)
    except ValidationError as failure:
        first, loc = first_problem(failure, data, errors)
        allowed = tuple(AccessSpec.model_fields) if first["type"] == "extra_forbidden" and len(loc) == 1 else ()
        raise _access_error(errors, loc, pydantic_message(first, allowed)) from None

    def role(path: tuple, value: Any) -> Role:
        try:
            if not isinstance(value, str):
                raise ValueError(f'"{value}" is not a role (use viewer, lead or admin)')
            return Role.parse(value)
        except ValueError as error:
            raise _access_error(errors, path, str(error)) from None

    users: dict[str, Role] = {}
    for email, value in (spec.users or {}).items():
        key = email.strip().lower()
        if "@" not in key or key.startswith("@") or key.endswith("@"):
            raise _access_error(errors, ("users", email), f'"{email}" is not an email address')
        if key in users:
            raise _access_error(errors, ("users", email), f'"{email}" is listed twice (emails ignore case)')
        users[key] = role(("users", email), value)
    groups: dict[str, Role] = {}
    for name, value in (spec.groups or {}).items():
        if not name.strip():
            raise _access_error(errors, ("groups", name), "a group needs a name")
        groups[name.strip()] = role(("groups", name), value)
    return AccessPolicy(users, groups, role(("default",), spec.default), spec.groups_claim)


def _access_error(errors: KeyLines, path: tuple, message: str) -> AccessError:
    plain = errors.error(path, message)
    return AccessError(plain.source, plain.line, plain.path, plain.message)


# ------------------------------------------------------------------------------------------- decisions

Mode = Literal["login", "local", "read_only"]


@dataclass(frozen=True)
class Identity:
    """A logged-in user as the identity provider names them."""

    email: str | None
    name: str | None = None
    subject: str | None = None
    groups: tuple[str, ...] = ()

    @property
    def author(self) -> str:
        """How a commit names its author: the email (else the subject) the provider vouched for."""
        return self.email or self.subject or "unknown"


@dataclass(frozen=True)
class Rights:
    """What the current request may do, and the one-line reason to show on the page."""

    mode: Mode
    can_commit: bool
    can_backdate: bool
    author: str | None
    role: Role | None
    notice: str


def is_loopback(address: str | None) -> bool:
    """True for `localhost`, 127.0.0.0/8 and ::1. An empty address listens on every interface: False."""
    if not address:
        return False
    text = address.strip().strip("[]").lower()
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


LOGIN_HOWTO = (
    "configure login: an [auth] section in .streamlit/secrets.toml (redirect_uri, cookie_secret, client_id, "
    "client_secret, server_metadata_url) and roles in config/access.yaml - see the README"
)


def rights_for(
    *,
    login_configured: bool,
    identity: Identity | None,
    access: AccessPolicy | None,
    server_address: str | None,
    local_user: str = "local",
    problem: str | None = None,
) -> Rights:
    """Decide what the request may do.

    - `problem` (a login or access file that does not load): read-only for everyone, saying why.
    - login configured: the logged-in identity's role from `access` (viewer without an access file);
      nobody commits before logging in.
    - no login, loopback address: commits effective today or later, as `local_user`.
    - no login, any other address: read-only, with how to configure login.
    """
    if problem:
        return Rights("read_only", False, False, None, None, f"Read-only: {problem}")
    if login_configured:
        if identity is None:
            return Rights("login", False, False, None, None, "Log in to commit a new version.")
        role = (access or AccessPolicy()).role_for(identity.email, identity.groups)
        who = f"Logged in as {identity.author} ({role.label})"
        if role >= Role.ADMIN:
            return Rights("login", True, True, identity.author, role,
                          f"{who}: you may commit versions, also backdated ones (with a reason).")
        if role >= Role.LEAD:
            return Rights("login", True, False, identity.author, role,
                          f"{who}: you may commit versions effective today or later.")
        return Rights("login", False, False, identity.author, role,
                      f"{who}: viewers see every page but do not commit; a lead or admin commits.")
    if is_loopback(server_address):
        return Rights(
            "local", True, False, f"{local_user} (local)", None,
            f"No login is configured and this server listens only on {server_address}, so whoever uses this "
            f"machine may commit versions effective today or later, recorded as {local_user} (local). "
            f"Before serving it to others, {LOGIN_HOWTO}.",
        )
    where = server_address or "every network interface"
    return Rights(
        "read_only", False, False, None, None,
        f"Read-only: no login is configured and this server listens on {where}. To commit, {LOGIN_HOWTO}.",
    )


# ------------------------------------------------------------------------------------ login settings

SECRETS_FILE = ".streamlit/secrets.toml"
SHARED_LOGIN_KEYS = ("redirect_uri", "cookie_secret")
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
_NOT_PROVIDERS = ("client_kwargs", "expose_tokens")


@dataclass(frozen=True)
class LoginSettings:
    """Streamlit's [auth] secrets section, checked: the providers to offer, or what is wrong with it."""

    configured: bool
    providers: tuple[str, ...] = ()  # "default" is the provider written directly in [auth]
    problem: str | None = None


def login_settings(auth: Mapping[str, Any] | None, source: str = SECRETS_FILE) -> LoginSettings:
    """Check an [auth] section (st.secrets["auth"]) without revealing any secret value.

    No section: login is not configured. A section that lacks redirect_uri, cookie_secret or a complete
    provider (client_id, client_secret, server_metadata_url) is configured but broken: the app is then
    read-only rather than silently falling back to the unauthenticated default.
    """
    if not auth:
        return LoginSettings(False)
    providers: list[tuple[str, Mapping[str, Any]]] = []
    if any(key in auth for key in PROVIDER_KEYS):
        providers.append(("default", auth))
    providers += [(name, value) for name, value in auth.items()
                  if isinstance(value, Mapping) and name not in _NOT_PROVIDERS]
    problems = [f"[auth] needs {key}" for key in SHARED_LOGIN_KEYS if not auth.get(key)]
    if not providers:
        problems.append("[auth] needs client_id, client_secret and server_metadata_url (or an [auth.NAME] provider)")
    for name, value in providers:
        section = "[auth]" if name == "default" else f"[auth.{name}]"
        problems += [f"{section} needs {key}" for key in PROVIDER_KEYS if not value.get(key)]
    problem = f"{source}: login is misconfigured: {'; '.join(problems)}" if problems else None
    return LoginSettings(True, tuple(name for name, _ in providers), problem)


def identity_from_claims(claims: Mapping[str, Any], access: AccessPolicy | None) -> Identity:
    """The identity in an ID token's claims (st.user). An email the provider marks unverified is not used."""
    email = claims.get("email") if claims.get("email_verified") is not False else None
    return Identity(
        email=str(email).strip() if email else None,
        name=str(claims["name"]) if claims.get("name") else None,
        subject=str(claims["sub"]) if claims.get("sub") else None,
        groups=(access or AccessPolicy()).groups_of(claims),
    )


__all__ = [
    "ROLE_NAMES",
    "AccessError",
    "AccessPolicy",
    "Identity",
    "Rights",
    "Role",
    "LoginSettings",
    "identity_from_claims",
    "is_loopback",
    "login_settings",
    "parse_access",
    "rights_for",
]
