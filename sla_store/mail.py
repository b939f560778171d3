"""Monthly delivery of the report by mail: SMTP settings from the environment, one message with the
report attached and its headline figures in the body.

Settings (environment): SLA_SMTP_HOST (required), SLA_SMTP_PORT (default 587 with STARTTLS, else 25),
SLA_SMTP_STARTTLS (1/true/yes/on), SLA_SMTP_USER and SLA_SMTP_PASSWORD (log in when a user is set),
SLA_MAIL_FROM (default: the user).
"""

from __future__ import annotations

import csv
import io
import os
import re
import smtplib
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from sla_core.durations import display_name

ENV_HOST, ENV_PORT, ENV_STARTTLS = "SLA_SMTP_HOST", "SLA_SMTP_PORT", "SLA_SMTP_STARTTLS"
ENV_USER, ENV_PASSWORD, ENV_FROM = "SLA_SMTP_USER", "SLA_SMTP_PASSWORD", "SLA_MAIL_FROM"
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$|^[^@\s,;<>]+@localhost$")
MIME_TYPES = {".html": ("text", "html"), ".pdf": ("application", "pdf"), ".csv": ("text", "csv")}


class MailError(RuntimeError):
    """Settings or a delivery that failed; str() is one line."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    sender: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        env = os.environ if environ is None else environ
        host = env.get(ENV_HOST, "").strip()
        if not host:
            raise MailError(f"{ENV_HOST} is not set (the SMTP server to send the report through)")
        flag = env.get(ENV_STARTTLS, "").strip().lower()
        if flag not in _TRUE | _FALSE:
            raise MailError(f"{ENV_STARTTLS}={flag!r} is not a yes/no value (use 1 or 0)")
        starttls = flag in _TRUE
        port_text = env.get(ENV_PORT, "").strip() or ("587" if starttls else "25")
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise MailError(f"{ENV_PORT}={port_text!r} is not a port number")
        user = env.get(ENV_USER, "").strip() or None
        password = env.get(ENV_PASSWORD) or None
        if password and not user:
            raise MailError(f"{ENV_PASSWORD} is set without {ENV_USER}")
        sender = env.get(ENV_FROM, "").strip() or (user if user and "@" in user else "")
        if not sender:
            raise MailError(f"{ENV_FROM} is not set (the report's sender address)")
        if not _ADDRESS.match(sender):
            raise MailError(f"{ENV_FROM}={sender!r} is not a mail address")
        return cls(host, int(port_text), starttls, user, password, sender)


def parse_recipients(text: str) -> list[str]:
    """'a@x.org, b@y.org' -> ['a@x.org', 'b@y.org']; raises MailError naming a bad address."""
    recipients = [part.strip() for part in re.split(r"[,;]", text) if part.strip()]
    if not recipients:
        raise MailError("--mail-to needs at least one address (a@x.org,b@y.org)")
    for address in recipients:
        if not _ADDRESS.match(address):
            raise MailError(f"--mail-to: {address!r} is not a mail address")
    return list(dict.fromkeys(recipients))


def compose(sender: str, recipients: Sequence[str], subject: str, body: str,
            attachments: Iterable[Path]) -> EmailMessage:
    """A plain-text message with files attached (HTML, PDF, CSV by their suffix)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message.set_content(body)
    for path in attachments:
        maintype, subtype = MIME_TYPES.get(path.suffix.lower(), ("application", "octet-stream"))
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def send(settings: SmtpSettings, message: EmailMessage, timeout_s: float = 30.0) -> None:
    """Deliver through the configured server; raises MailError with one line on any failure."""
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=timeout_s) as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user:
                smtp.login(settings.user, settings.password or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as error:
        raise MailError(f"SMTP {settings.host}:{settings.port} refused the login for {settings.user}: "
                        f"{error.smtp_code}") from None
    except smtplib.SMTPRecipientsRefused as error:
        raise MailError(f"SMTP {settings.host}:{settings.port} refused every recipient: "
                        f"{', '.join(error.recipients)}") from None
    except (smtplib.SMTPException, OSError) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise MailError(f"SMTP {settings.host}:{settings.port}: {detail}") from None
    if refused:
        raise MailError(f"SMTP {settings.host}:{settings.port} refused: {', '.join(sorted(refused))}")


def headline_rows(figures_csv: str) -> list[dict]:
    """The headline rows (one per metric) of the report's figures CSV, with numbers parsed."""
    rows = []
    for row in csv.DictReader(io.StringIO(figures_csv)):
        if row.get("section") != "headline":
            continue
        parsed: dict = {"metric": row["metric"]}
        for column in ("attainment", "objective", "budget_used"):
            parsed[column] = float(row[column]) if row.get(column) not in (None, "") else None
        for column in ("decided", "breached"):
            parsed[column] = int(float(row[column])) if row.get(column) not in (None, "") else 0
        rows.append(parsed)
    return rows


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def headline_body(label: str, rows: Iterable[Mapping], names: Mapping[str, str] | None = None,
                  attached: Sequence[str] = ()) -> str:
    """The message body: one line per metric with attainment against objective, breaches and budget used.

    `rows` carry metric, attainment, objective, decided, breached, budget_used (shares, None when unknown);
    `names` maps metric keys to display names."""
    lines = [f"SLA report for {label}", ""]
    for row in rows:
        name = (names or {}).get(row["metric"]) or display_name(row["metric"])
        attainment, objective = row.get("attainment"), row.get("objective")
        verdict = ""
        if attainment is not None and objective is not None:
            verdict = " - below objective" if round(attainment, 3) < round(objective, 3) else " - on target"
        lines.append(f"- {name}: {_pct(attainment)} against an objective of {_pct(objective)}{verdict}; "
                     f"{row.get('breached', 0)} of {row.get('decided', 0)} decided items breached, "
                     f"error budget used {_pct(row.get('budget_used'))}")
    if len(lines) == 2:
        lines.append("No items were created in this month.")
    if attached:
        lines += ["", "Attached: " + ", ".join(attached) + "."]
    return "\n".join(lines) + "\n"
