"""Monthly delivery: the report mailed through a local SMTP server (aiosmtpd) started by the test."""

from __future__ import annotations

import email
import email.policy
import socket
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from sla_store.mail import MailError, SmtpSettings, compose, headline_body, parse_recipients, send


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 OK"


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd checks its own start by connecting to it)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield "127.0.0.1", port, inbox
    finally:
        controller.stop()


def smtp_env(host: str, port: int, **extra: str) -> dict[str, str]:
    return {"SLA_SMTP_HOST": host, "SLA_SMTP_PORT": str(port), "SLA_SMTP_STARTTLS": "0",
            "SLA_MAIL_FROM": "sla@example.org", **extra}


def test_a_message_with_the_report_attached_reaches_every_recipient(smtp_server, tmp_path):
    host, port, inbox = smtp_server
    report = tmp_path / "sla-report-2026-10.html"
    report.write_text("<html><body>report</body></html>")
    body = headline_body("October 2026", [
        {"metric": "resolution", "attainment": 0.9376, "objective": 0.94, "decided": 481, "breached": 30,
         "budget_used": 1.04},
    ], names={"resolution": "Resolution"}, attached=[report.name])
    settings = SmtpSettings.from_env(smtp_env(host, port))
    send(settings, compose(settings.sender, ["a@x.org", "b@y.org"], "SLA report October 2026", body, [report]))

    [(sender, recipients, message)] = inbox.messages
    assert sender == "sla@example.org" and recipients == ["a@x.org", "b@y.org"]
    assert message["Subject"] == "SLA report October 2026"
    text = message.get_body(("plain",)).get_content()
    assert "Resolution: 93.8% against an objective of 94.0% - below objective" in text
    assert "30 of 481 decided items breached, error budget used 104.0%" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == report.name
    assert attachment.get_content_type() == "text/html"
    assert b"report" in attachment.get_payload(decode=True)


@pytest.mark.parametrize(("env", "problem"), [
    ({}, "SLA_SMTP_HOST is not set"),
    ({"SLA_SMTP_HOST": "mail"}, "SLA_MAIL_FROM is not set"),
    ({"SLA_SMTP_HOST": "mail", "SLA_MAIL_FROM": "me", }, "SLA_MAIL_FROM='me' is not a mail address"),
    ({"SLA_SMTP_HOST": "mail", "SLA_MAIL_FROM": "a@b.org", "SLA_SMTP_PORT": "smtp"}, "is not a port number"),
    ({"SLA_SMTP_HOST": "mail", "SLA_MAIL_FROM": "a@b.org", "SLA_SMTP_STARTTLS": "maybe"}, "not a yes/no value"),
    ({"SLA_SMTP_HOST": "mail", "SLA_MAIL_FROM": "a@b.org", "SLA_SMTP_PASSWORD": "x"}, "without SLA_SMTP_USER"),
])
def test_missing_or_bad_settings_are_named_in_one_line(env, problem):
    with pytest.raises(MailError, match=problem):
        SmtpSettings.from_env(env)


def test_settings_default_to_the_submission_port_with_starttls_and_the_user_as_sender():
    settings = SmtpSettings.from_env({"SLA_SMTP_HOST": "mail", "SLA_SMTP_STARTTLS": "yes",
                                      "SLA_SMTP_USER": "reports@example.org", "SLA_SMTP_PASSWORD": "pw"})
    assert (settings.port, settings.starttls, settings.sender) == (587, True, "reports@example.org")


def test_recipients_are_split_on_commas_and_checked():
    assert parse_recipients("a@x.org, b@y.org,a@x.org") == ["a@x.org", "b@y.org"]
    with pytest.raises(MailError, match="'nobody' is not a mail address"):
        parse_recipients("a@x.org,nobody")


def test_an_unreachable_server_is_one_line_naming_it(tmp_path):
    settings = SmtpSettings.from_env(smtp_env("127.0.0.1", 1))
    with pytest.raises(MailError, match=r"^SMTP 127.0.0.1:1: "):
        send(settings, compose(settings.sender, ["a@x.org"], "s", "b", []), timeout_s=2)


def test_an_attachment_keeps_its_file_type(tmp_path: Path):
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    message = compose("a@b.org", ["c@d.org"], "s", "body", [pdf])
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"


# --- `sla report --mail-to` ------------------------------------------------------------------------------

def test_sla_report_mails_the_report_with_its_headline_figures(sample_db, smtp_server, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sla_store.cli import app
    from tests.integration.conftest import query

    host, port, inbox = smtp_server
    for name, value in smtp_env(host, port).items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "sla-report-2026-10.html"
    result = CliRunner().invoke(app, ["report", "--month", "2026-10", "--out", str(out), "--db", str(sample_db),
                                      "--mail-to", "lead@example.org,director@example.org"])
    assert result.exit_code == 0, result.output
    assert "mailed sla-report-2026-10.html to lead@example.org, director@example.org" in result.output
    [(sender, recipients, message)] = inbox.messages
    assert recipients == ["lead@example.org", "director@example.org"]
    assert message["Subject"] == "SLA report October 2026"
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == out.name and attachment.get_payload(decode=True) == out.read_bytes()
    body = message.get_body(("plain",)).get_content()
    met, decided, breached = query(sample_db, """
        SELECT count(*) FILTER (WHERE met), count(*) FILTER (WHERE met IS NOT NULL), count(*) FILTER (WHERE NOT met)
        FROM results WHERE metric = 'resolution'
          AND created >= TIMESTAMPTZ '2026-10-01 00:00:00+00' AND created < TIMESTAMPTZ '2026-11-01 00:00:00+00'""")[0]
    assert f"- Resolution: {100 * met / decided:.1f}% against an objective of" in body
    assert f"{breached} of {decided} decided items breached" in body
    assert "Lead routing" in body and "lead_routing" not in body  # display names, not keys


def test_sla_report_refuses_missing_smtp_settings_before_writing_anything(sample_db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sla_store.cli import app

    for name in ("SLA_SMTP_HOST", "SLA_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", "--month", "2026-10", "--out", str(out), "--db", str(sample_db),
                                      "--mail-to", "a@x.org"])
    assert result.exit_code == 2
    assert "SLA_SMTP_HOST is not set" in result.output
    assert not out.exists()


def test_a_refused_delivery_exits_2_with_one_line(sample_db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sla_store.cli import app

    for name, value in smtp_env("127.0.0.1", 1).items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, ["report", "--month", "2026-10", "--out", str(tmp_path / "r.html"),
                                      "--db", str(sample_db), "--mail-to", "a@x.org"])
    assert result.exit_code == 2
    assert "SMTP 127.0.0.1:1:" in result.output and "Traceback" not in result.output
