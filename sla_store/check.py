"""`sla check`: open and recently decided items at `now`, the escalation digest, posted.

The `results` table holds each item's judgement as of the write that last touched it; a cron job asks
about *now*. When the stored results were judged by this policy history and no later than `now`, the rows
that matter (running, or decided inside the look-back and burn-rate windows) are read as stored and the
running clocks brought forward to `now` (sla_core.open_clocks.advance: due instant, paused or running,
elapsed so far) - a query, nothing re-judged. Otherwise (a `--now` in the past, a policy file changed
since) those items are re-evaluated from raw data with sla_core.clocks.evaluate as of `now`: milestones
and events after `now` are ignored.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import polars as pl

from sla_core import alerts
from sla_core.clocks import ITEM_COLUMNS, ITEM_TIMES, evaluate
from sla_core.durations import format_business
from sla_core.policy import Policy, PolicyHistory, as_history
from sla_store.coverage import unrecorded_or_none
from sla_store.db import connect_read_only
from sla_store.report_data import in_utc

MILESTONE_COLUMNS = tuple(column for column in ITEM_TIMES if column != "created")
FIXED_COLUMNS = ", ".join(column for column in ITEM_COLUMNS if column not in MILESTONE_COLUMNS)
MAX_LINES_PER_TEAM = 25


class WebhookError(RuntimeError):
    """The digest could not be delivered."""


def load_items_as_of(
    con: duckdb.DuckDBPyConnection, now: datetime, horizon: datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Items that can matter at `now` and their events, as the export would have shown them at `now`.

    An item matters when one of its results is still running, or was decided or fell due after
    `horizon`, or it has no results yet. Milestones and events after `now` are dropped."""
    milestones = ", ".join(f"CASE WHEN {m} <= $now THEN {m} END AS {m}" for m in MILESTONE_COLUMNS)
    candidates = f"""
        SELECT {FIXED_COLUMNS}, {milestones}
        FROM items i
        WHERE i.created <= $now
          AND (EXISTS (SELECT 1 FROM results r
                       WHERE r.source = i.source AND r.item_id = i.item_id
                         AND (r.stop IS NULL OR r.stop > $horizon OR r.due_at > $horizon))
               OR NOT EXISTS (SELECT 1 FROM results r WHERE r.source = i.source AND r.item_id = i.item_id))
    """
    params = {"now": now, "horizon": horizon}
    items = con.cursor().sql(candidates, params=params).pl()
    events = con.cursor().sql(
        f"""
        WITH chosen AS ({candidates})
        SELECT e.source, e.item_id, e.occurred_at, e.kind, e.value
        FROM events e JOIN chosen c USING (source, item_id)
        WHERE e.occurred_at <= $now
        ORDER BY e.source, e.item_id, e.occurred_at
        """,
        params=params,
    ).pl()
    return in_utc(items), in_utc(events)


def stored_results_as_of(con: duckdb.DuckDBPyConnection, history: PolicyHistory | Policy, now: datetime,
                         horizon: datetime) -> pl.DataFrame | None:
    """The stored results that can matter at `now`, running clocks brought forward to it; None when the
    stored results cannot answer (judged by another policy history, or later than `now`)."""
    from sla_core.open_clocks import advance
    from sla_store.compute import judged_by

    try:
        same_policy = judged_by(con, history)
    except duckdb.CatalogException:  # a database from before results_basis existed
        return None
    latest = con.sql("SELECT max(computed_at) FROM results").fetchall()[0][0]
    if not same_policy or (latest is not None and latest > now):
        return None
    stored = con.cursor().sql(
        "SELECT * FROM results WHERE stop IS NULL OR stop > $horizon OR due_at > $horizon",
        params={"horizon": horizon}).pl()
    return advance(in_utc(stored), history, now).drop("computed_at")


@dataclass(frozen=True)
class CheckSettings:
    now: datetime
    since: datetime
    window_pairs: tuple[alerts.BurnWindowPair, ...] = alerts.SRE_WINDOW_PAIRS
    burn_by: tuple[str, ...] = ("team", "channel")
    min_decided: int = alerts.DEFAULT_MIN_DECIDED


def run_check(db: str | Path | None, history: PolicyHistory | Policy, settings: CheckSettings) -> alerts.Findings:
    """Re-evaluate what can have changed and select breached, at-risk and burn-rate findings."""
    longest = max((pair.long for pair in settings.window_pairs), default=timedelta(0))
    horizon = min(settings.since, settings.now - longest)
    con = connect_read_only(db)
    try:
        results = stored_results_as_of(con, history, settings.now, horizon)
        if results is None:
            items, events = load_items_as_of(con, settings.now, horizon)
            never = unrecorded_or_none(con, history)
    finally:
        con.close()
    if results is None:
        # A source that never records a metric's start or stop is not measured for it, never "newly breached".
        results = evaluate(items, events, history, settings.now, unrecorded=never)
    return alerts.find(
        results,
        settings.now,
        since=settings.since,
        escalations=alerts.escalation_table(as_history(history).versions),
        window_pairs=settings.window_pairs,
        burn_by=settings.burn_by,
        min_decided=settings.min_decided,
    )


def has_findings(findings: alerts.Findings, fail_on: str) -> bool:
    """`breached`: a newly breached item or a firing burn-rate alert; `at-risk`: also any at-risk item."""
    found = findings.breached.height > 0 or findings.burn_alerts.height > 0
    if fail_on == "at-risk":
        found = found or findings.at_risk.height > 0
    return found


# --- rendering ------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None


def _item_record(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": row["source"],
        "item_id": row["item_id"],
        "metric": row["metric"],
        "instance": row.get("instance", 1),  # the clock of a repeating, between or scheduled metric
        "team": row["team"],
        "channel": row["channel"],
        "priority": row["priority"],
        "agent": row["agent"],
        "state": row["state"],
        "level": row["level"],
        "pct_used": round(row["pct_used"], 1),
        "remaining_s": round(row["remaining_s"], 1),
        "due_at": _iso(row["due_at"]),
        "escalated": bool(row["escalated"]),
        "notify": list(row["notify"]) if row["escalated"] else [],
    }


def _item_line(record: dict[str, Any]) -> str:
    where = "/".join(value for value in (record["channel"], record["priority"]) if value)
    if record["level"] == "breached":
        timing = f"due {record['due_at']}, over by {format_business(-record['remaining_s'])}"
    else:
        # floor, so an item at 74.9% never reads "75% used" under the 50% level
        timing = (f"{math.floor(record['pct_used'])}% used, {format_business(record['remaining_s'])} left, "
                  f"due {record['due_at']}")
    metric = record["metric"] + (f" #{record['instance']}" if record.get("instance", 1) != 1 else "")
    line = f"  {record['level'].upper():<9}{record['source']}/{record['item_id']}  {metric}"
    line += f"  {where}  agent {record['agent'] or '-'}  {timing}"
    if record["escalated"]:
        line += "  -> escalate to " + ", ".join(record["notify"])
    return line


def _burn_line(alert: dict[str, Any], by: Iterable[str]) -> str:
    where = "/".join(str(alert[key]) if alert[key] is not None else "-" for key in by)
    return (
        f"  {alert['severity'].upper():<7}{alert['metric']}  {where}  {alert['window']}: "
        f"burn {alert['long_burn']:.1f}x / {alert['short_burn']:.1f}x > {alert['threshold']:g}x "
        f"({alert['long_breached']} of {alert['long_decided']} breached)"
    )


def digest_payload(findings: alerts.Findings, burn_by: Iterable[str] = ("team", "channel")) -> dict[str, Any]:
    """The digest as JSON: counts, teams with their items and escalation contacts, burn-rate alerts, and
    a Slack-compatible `text` field holding the same digest as plain text."""
    burn_by = tuple(burn_by)
    teams = []
    for team, frames in findings.by_team().items():
        breached = [_item_record(row) for row in frames["breached"].iter_rows(named=True)]
        at_risk = [_item_record(row) for row in frames["at_risk"].iter_rows(named=True)]
        contacts = sorted({contact for record in breached + at_risk for contact in record["notify"]})
        teams.append({"team": team, "notify": contacts, "breached": breached, "at_risk": at_risk})
    burns = [
        {key: (round(value, 3) if isinstance(value, float) else value) for key, value in row.items()}
        for row in findings.burn_alerts.iter_rows(named=True)
    ]
    counts = {
        "breached": findings.breached.height,
        "at_risk": findings.at_risk.height,
        "burn_alerts": findings.burn_alerts.height,
    }
    payload = {
        "now": _iso(findings.now),
        "since": _iso(findings.since),
        "counts": counts,
        "teams": teams,
        "burn_alerts": burns,
    }
    payload["text"] = digest_text(payload, burn_by)
    return payload


def digest_text(payload: dict[str, Any], burn_by: Iterable[str] = ("team", "channel"),
                max_lines_per_team: int = MAX_LINES_PER_TEAM) -> str:
    """The digest as plain text. Each team lists its breached items first, then the most urgent at-risk
    ones, at most `max_lines_per_team` lines (chat tools cut long messages; the JSON keeps every item)."""
    counts = payload["counts"]
    lines = [
        f"SLA check at {payload['now']} (breaches since {payload['since']}): "
        f"{counts['breached']} newly breached, {counts['at_risk']} at risk, "
        f"{counts['burn_alerts']} burn-rate alerts"
    ]
    for team in payload["teams"]:
        header = f"{team['team']}: {len(team['breached'])} breached, {len(team['at_risk'])} at risk"
        if team["notify"]:
            header += " - escalate to " + ", ".join(team["notify"])
        lines += ["", header]
        records = team["breached"] + team["at_risk"]
        lines += [_item_line(record) for record in records[:max_lines_per_team]]
        if len(records) > max_lines_per_team:
            lines.append(f"  ... and {len(records) - max_lines_per_team} more (all of them in --format json)")
    if payload["burn_alerts"]:
        lines += ["", "Burn-rate alerts (long / short window):"]
        lines += [_burn_line(alert, burn_by) for alert in payload["burn_alerts"]]
    if not payload["teams"] and not payload["burn_alerts"]:
        lines.append("Nothing breached or at risk.")
    else:
        lines += ["", "Time left and overruns are business time; due instants are UTC."]
    return "\n".join(lines)


# --- delivery -------------------------------------------------------------------------------------


SECRET_SEGMENT = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}$")


def redact_url(url: str) -> str:
    """The URL as it may be printed: no user name or password, no query string or fragment, and path
    segments that look like tokens (Slack's /services/T0/B0/XXXX) shown as `***`."""
    text = str(url)
    try:
        parsed = httpx.URL(text)
        if not (parsed.scheme and parsed.host):
            raise ValueError(text)
        origin = f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
        path = parsed.path
    except (httpx.InvalidURL, ValueError, TypeError):
        match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*://)?(?:[^@/?#]*@)?([^/?#]*)([^?#]*)", text)
        origin, path = ((match.group(1) or "") + match.group(2), match.group(3)) if match else ("", "")
    segments = ["***" if SECRET_SEGMENT.match(segment) else segment for segment in path.split("/")]
    return origin + "/".join(segments)


def _without_url(text: str, url: str) -> str:
    """An error message with the full URL (and its query string) replaced by the redacted form."""
    return text.replace(str(url), redact_url(url)) if url else text


def webhook_url_problem(url: str) -> str | None:
    """Why `url` cannot take a webhook post (None when it can): it must be an absolute http(s) URL."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError) as error:
        return str(error)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return "use an absolute http:// or https:// URL"
    return None


def post_webhook(
    url: str,
    payload: dict[str, Any],
    attempts: int = 3,
    timeout_s: float = 5.0,
    backoff_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """POST the payload as JSON; retry transport errors, 429 and 5xx with exponential backoff
    (backoff_s, 2*backoff_s, ...). Returns the number of attempts used; raises WebhookError when the
    post did not succeed (a 4xx other than 429 is not retried: the same request would fail again)."""
    body = json.dumps(payload, default=str)
    last_problem = "no attempt made"
    with httpx.Client(timeout=timeout_s) as client:
        for attempt in range(1, attempts + 1):
            try:
                response = client.post(url, content=body, headers={"Content-Type": "application/json"})
            except httpx.HTTPError as error:
                last_problem = (f"{type(error).__name__}: {_without_url(str(error), url)}" if str(error)
                                else type(error).__name__)
            else:
                if response.is_success:
                    return attempt
                last_problem = f"HTTP {response.status_code}"
                if response.status_code < 500 and response.status_code != 429:
                    break
            if attempt < attempts:
                sleep(backoff_s * 2 ** (attempt - 1))
    raise WebhookError(f"webhook {redact_url(url)} failed after {attempt} attempt(s): {last_problem}")
