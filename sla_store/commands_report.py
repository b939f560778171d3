"""`sla check` (escalation digest for cron jobs) and `sla report` (the monthly leadership report)."""

from __future__ import annotations

import json
import re
import subprocess
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from sla_store.cli_common import ConfigOption, DbOption, fail

DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


class FailOn(StrEnum):
    breached = "breached"
    at_risk = "at-risk"


def _instant_or_none(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_instant(text: str, option: str) -> datetime:
    """ISO 8601 instant; naive means UTC."""
    moment = _instant_or_none(text)
    if moment is None:
        raise fail(f"{option} {text!r} is not an ISO 8601 instant (e.g. 2026-10-14T12:00:00Z)")
    return moment


def parse_lookback(text: str, now: datetime) -> datetime:
    """`--since`: a wall-clock span before now ("24h", "90m", "1d12h", "1w") or an ISO instant."""
    compact = text.strip().lower().replace(" ", "")
    parts = DURATION_PART.findall(compact)
    if parts and "".join(number + unit for number, unit in parts) == compact:
        return now - timedelta(seconds=sum(float(n) * UNIT_SECONDS[u] for n, u in parts))
    moment = _instant_or_none(text)
    if moment is None:
        raise fail(f"--since {text!r} is neither a span (24h, 90m, 2d) nor an ISO 8601 instant")
    return moment


def parse_month(text: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise fail(f"--month {text!r} is not a month (use YYYY-MM, e.g. 2026-10)")
    if not 1900 <= int(match.group(1)) <= 2199:
        raise fail(f"--month {text!r} is out of range (stored times lie in 1900-2199)")
    return date(int(match.group(1)), int(match.group(2)), 1)


def _one_line(error: Exception) -> str:
    """DuckDB's message without its multi-line hints ("IO Error: The file ... is not a valid ...")."""
    return str(error).strip().splitlines()[0]


def _load_history(config: Path | None):
    from sla_core.policy import PolicyError
    from sla_store.policy_files import load_policy_history

    try:
        return load_policy_history(config)
    except PolicyError as error:
        raise fail(str(error)) from None
    except FileNotFoundError as error:
        raise fail(f"{error.filename}: policy file not found") from None


def _history_or_none(config: Path | None):
    """The policy history for the report's "targets in force" section; None when there is no policy file
    (the figures do not need it)."""
    from sla_store.policy_files import config_dir

    if not (config_dir(config) / "sla.yaml").exists():
        return None
    return _load_history(config)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `sla` app.

    Long: it declares the report commands with their typer options."""

    @app.command()
    def check(
        now: Annotated[str | None, typer.Option("--now", help="Judge as of this ISO instant (default: now).",
                                                show_default=False)] = None,
        since: Annotated[str, typer.Option("--since", help="Look-back for new breaches: a span or ISO instant.")]
        = "24h",
        output: Annotated[OutputFormat, typer.Option("--format", help="Digest as text or JSON.")]
        = OutputFormat.text,
        fail_on: Annotated[FailOn, typer.Option("--fail-on", help="What makes the exit code 1.")]
        = FailOn.breached,
        webhook: Annotated[str | None, typer.Option("--webhook", help="POST the digest as JSON to this URL.",
                                                    show_default=False)] = None,
        retries: Annotated[int, typer.Option("--retries", min=1, help="Webhook attempts.")] = 3,
        timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Webhook timeout per attempt (s).")]
        = 5.0,
        min_decided: Annotated[int, typer.Option("--min-decided", min=1,
                                                 help="Burn-rate alerts need this many decided items.")] = 20,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """Newly breached and at-risk items grouped by team with escalation contacts, plus burn-rate alerts.

        Exit code 0: nothing found; 1: findings (--fail-on breached: new breaches or burn-rate alerts;
        at-risk: also items at 50%+ of their budget); 2: an error, including a webhook that failed."""
        from sla_store import check as checking
        from sla_store.db import current_time

        moment = parse_instant(now, "--now") if now else current_time()
        if webhook and (problem := checking.webhook_url_problem(webhook)):
            raise fail(f"--webhook {checking.redact_url(webhook)!r}: {problem}")
        settings = checking.CheckSettings(now=moment, since=parse_lookback(since, moment), min_decided=min_decided)
        history = _load_history(config)
        try:
            findings = checking.run_check(db, history, settings)
        except FileNotFoundError as error:
            raise fail(str(error)) from None
        except duckdb.Error as error:
            raise fail(_one_line(error)) from None
        payload = checking.digest_payload(findings, settings.burn_by)
        if output is OutputFormat.json:
            typer.echo(json.dumps(payload, indent=2, default=str))
        else:
            typer.echo(payload["text"])
        if webhook:
            try:
                checking.post_webhook(webhook, payload, attempts=retries, timeout_s=timeout)
            except checking.WebhookError as error:
                raise fail(str(error)) from None
        raise typer.Exit(1 if checking.has_findings(findings, fail_on.value) else 0)

    @app.command()
    def report(
        month: Annotated[str, typer.Option("--month", help="The month to report, YYYY-MM.")],
        out: Annotated[Path, typer.Option("--out", help="Where to write the HTML (a .csv of the figures goes next"
                                                        " to it).")] = Path("report.html"),
        pdf: Annotated[Path | None, typer.Option("--pdf", help="Also print a PDF with headless Chromium.",
                                                 show_default=False)] = None,
        mail_to: Annotated[str | None, typer.Option(
            "--mail-to", help="Mail the report to these addresses (a@x.org,b@y.org) through SMTP: "
                              "SLA_SMTP_HOST, SLA_SMTP_PORT, SLA_SMTP_STARTTLS, SLA_SMTP_USER, "
                              "SLA_SMTP_PASSWORD, SLA_MAIL_FROM.", show_default=False)] = None,
        db: DbOption = None,
        config: ConfigOption = None,
    ) -> None:
        """The monthly leadership report: attainment vs objective, change vs last month, error budget,
        worst slices with their breach reasons, weekly compliance and trend charts, as one HTML file.
        With --mail-to it is also sent, attached, with its headline figures in the message body."""
        from sla_store import mail
        from sla_store import report as reporting
        from sla_store.db import current_time

        first = parse_month(month)
        delivery = None
        if mail_to is not None:  # settings and addresses are checked before any work
            try:
                delivery = mail.SmtpSettings.from_env(), mail.parse_recipients(mail_to)
            except mail.MailError as error:
                raise fail(str(error)) from None
        try:
            written = reporting.write_report(db, first, out, current_time(), history=_history_or_none(config))
        except OSError as error:  # a missing database says so itself; a bad --out names the path
            raise fail(f"{error.filename}: {error.strerror}" if error.filename else str(error)) from None
        except duckdb.Error as error:
            raise fail(_one_line(error)) from None
        for path in written:
            typer.echo(f"wrote {path}")
        if pdf is not None:
            try:
                reporting.print_pdf(out, pdf)
            except reporting.PdfUnavailable as error:
                raise fail(f"no PDF: {error}") from None
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                raise fail(str(error)) from None
            typer.echo(f"wrote {pdf}")
        if delivery is not None:
            settings, recipients = delivery
            label = first.strftime("%B %Y")
            attachments = [out, *([pdf] if pdf is not None else [])]
            body = mail.headline_body(label, mail.headline_rows(out.with_suffix(".csv").read_text("utf-8")),
                                      attached=[path.name for path in attachments])
            message = mail.compose(settings.sender, recipients, f"SLA report {label}", body, attachments)
            try:
                mail.send(settings, message)
            except mail.MailError as error:
                raise fail(str(error)) from None
            typer.echo(f"mailed {out.name} to {', '.join(recipients)}")
