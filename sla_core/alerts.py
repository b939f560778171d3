"""Escalation and alerting over a results frame: at-risk and breached items, escalation contacts, and
multi-window burn-rate alerts (Google SRE workbook, "Alerting on SLOs").

Pure: every function takes the results frame (columns as in docs/contracts.md) and the instant `now`
as parameters; nothing here reads the clock, files or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from sla_core.attainment import warning_level
from sla_core.budget import allowed_breaches, burn_rate_expr, decided_at

WARNING_THRESHOLDS_PCT: tuple[float, float] = (50.0, 75.0)
DEFAULT_LOOKBACK = timedelta(hours=24)
DEFAULT_MIN_DECIDED = 20

RUNNING_STATES = ("active", "paused")

ESCALATION_SCHEMA = {
    "policy_version": pl.Int32,
    "target_index": pl.Int32,
    "notify": pl.List(pl.String),
    "escalate_after": pl.Float64,
}


@dataclass(frozen=True)
class BurnWindowPair:
    """One multi-window alert: both windows must burn faster than `threshold` for it to fire."""

    long: timedelta
    short: timedelta
    threshold: float
    severity: str

    @property
    def label(self) -> str:
        return f"{_short_duration(self.long)}/{_short_duration(self.short)}"


# The SRE workbook's recommendation for a 30-day SLO window: 2% of the budget in 1 hour, 5% in 6 hours
# (both page someone), 10% in 3 days (a ticket).
SRE_WINDOW_PAIRS: tuple[BurnWindowPair, ...] = (
    BurnWindowPair(timedelta(hours=1), timedelta(minutes=5), 14.4, "page"),
    BurnWindowPair(timedelta(hours=6), timedelta(minutes=30), 6.0, "page"),
    BurnWindowPair(timedelta(days=3), timedelta(hours=6), 1.0, "ticket"),
)


def _short_duration(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# --- formulas -------------------------------------------------------------------------------------


def risk_level(pct_used: pl.Expr) -> pl.Expr:
    """Warning level from the share of the budget used (ServiceNow's thresholds): below 50 "on track",
    from 50 "50%", from 75 "75%", past 100 "breached" - exactly 100% is still within budget, as in the
    clocks (met when elapsed <= within). The same levels as the dashboard's (sla_core.attainment)."""
    return warning_level(pct_used)


def budget_share_spent(burn: float, window: timedelta, slo_window: timedelta = timedelta(days=30)) -> float:
    """Share of the whole SLO-window budget a burn rate spends within `window`:
    burn * window / slo_window (14.4x for 1h of 30 days = 2%)."""
    return burn * window.total_seconds() / slo_window.total_seconds()


# --- selections -----------------------------------------------------------------------------------


def escalation_table(policies: Iterable[Any]) -> pl.DataFrame:
    """(policy_version, target_index) -> notify list and escalate-after fraction, for every target of
    every policy version that names an escalation."""
    rows = []
    for policy in policies:
        for target in policy.targets:
            if target.escalation is None:
                continue
            rows.append({
                "policy_version": policy.version,
                "target_index": target.index,
                "notify": list(target.escalation.notify),
                "escalate_after": float(target.escalation.after),
            })
    return pl.DataFrame(rows, schema=ESCALATION_SCHEMA)


def with_escalation(results: pl.DataFrame, escalations: pl.DataFrame) -> pl.DataFrame:
    """Adds `notify` (the target's contacts, empty when none), `escalate_after` (fraction) and `escalated`
    (budget used at or past `after`)."""
    joined = results.join(
        escalations.with_columns(pl.col("policy_version").cast(pl.Int32), pl.col("target_index").cast(pl.Int32)),
        on=["policy_version", "target_index"],
        how="left",
    )
    return joined.with_columns(
        pl.col("notify").fill_null(pl.lit([], dtype=pl.List(pl.String))),
        escalated=(pl.col("escalate_after").is_not_null()
                   & (pl.col("pct_used") >= pl.col("escalate_after") * 100.0)).fill_null(False),
    )


def _cast_keys(results: pl.DataFrame) -> pl.DataFrame:
    return results.with_columns(pl.col("policy_version").cast(pl.Int32), pl.col("target_index").cast(pl.Int32))


def _row_keys(results: pl.DataFrame) -> list[str]:
    """A result row's key: item, metric and (for repeat, between and schedule clocks) instance."""
    return ["source", "item_id", "metric", *(["instance"] if "instance" in results.columns else [])]


def at_risk(results: pl.DataFrame) -> pl.DataFrame:
    """Running items (active or paused: not yet past their budget) that used at least 50% of it, most
    urgent (least remaining) first, with their warning `level`."""
    low, _ = WARNING_THRESHOLDS_PCT
    return (
        results.filter(pl.col("state").is_in(RUNNING_STATES) & (pl.col("pct_used") >= low))
        .with_columns(level=risk_level(pl.col("pct_used")))
        .sort(["remaining_s", *_row_keys(results)])
    )


def newly_breached(results: pl.DataFrame, now: datetime, since: datetime) -> pl.DataFrame:
    """Breached items, running or stopped, whose breach instant (due_at) lies in (since, now]."""
    return (
        results.filter((pl.col("state") == "breached") & (pl.col("due_at") > since) & (pl.col("due_at") <= now))
        .with_columns(level=pl.lit("breached"))
        .sort(["due_at", *_row_keys(results)])
    )


@dataclass(frozen=True)
class Findings:
    """What a check found at `now`: breached in (since, now], at risk, and burn-rate alerts."""

    now: datetime
    since: datetime
    breached: pl.DataFrame
    at_risk: pl.DataFrame
    burn_alerts: pl.DataFrame

    @property
    def teams(self) -> list[str]:
        names = set(self.breached["team"].fill_null("(no team)").to_list())
        names |= set(self.at_risk["team"].fill_null("(no team)").to_list())
        return sorted(names)

    def by_team(self) -> dict[str, dict[str, pl.DataFrame]]:
        """team -> {"breached": rows, "at_risk": rows}; items without a team under "(no team)"."""
        grouped: dict[str, dict[str, pl.DataFrame]] = {}
        for team in self.teams:
            grouped[team] = {
                name: frame.filter(pl.col("team").fill_null("(no team)") == team)
                for name, frame in (("breached", self.breached), ("at_risk", self.at_risk))
            }
        return grouped


def find(
    results: pl.DataFrame,
    now: datetime,
    since: datetime | None = None,
    escalations: pl.DataFrame | None = None,
    window_pairs: Sequence[BurnWindowPair] = SRE_WINDOW_PAIRS,
    burn_by: Sequence[str] = ("team", "channel"),
    min_decided: int = DEFAULT_MIN_DECIDED,
) -> Findings:
    """Everything a digest reports at `now`; `since` defaults to 24 hours before `now`."""
    since = since if since is not None else now - DEFAULT_LOOKBACK
    if escalations is None:
        escalations = pl.DataFrame(schema=ESCALATION_SCHEMA)
    judged = with_escalation(_cast_keys(results), escalations)
    return Findings(
        now=now,
        since=since,
        breached=newly_breached(judged, now, since),
        at_risk=at_risk(judged),
        burn_alerts=burn_rate_alerts(results, now, window_pairs, burn_by, min_decided),
    )


# --- burn rate ------------------------------------------------------------------------------------


def window_burn(
    results: pl.DataFrame, now: datetime, window: timedelta, by: Sequence[str]
) -> pl.DataFrame:
    """Per metric and slice: items decided in (now - window, now], breached among them, the allowed
    breaches (error budget in items) and the burn rate = breached / allowed."""
    keys = ["metric", *by]
    decided = results.filter(pl.col("met").is_not_null()).with_columns(decided_at=decided_at())
    inside = decided.filter((pl.col("decided_at") > now - window) & (pl.col("decided_at") <= now))
    return (
        inside.group_by(keys)
        .agg(
            decided=pl.len().cast(pl.Int64),
            breached=(~pl.col("met")).sum().cast(pl.Int64),
            allowed=allowed_breaches(pl.col("objective")),
        )
        .with_columns(burn=burn_rate_expr(pl.col("breached"), pl.col("allowed")))
    )


def burn_rate_alerts(
    results: pl.DataFrame,
    now: datetime,
    window_pairs: Sequence[BurnWindowPair] = SRE_WINDOW_PAIRS,
    by: Sequence[str] = ("team", "channel"),
    min_decided: int = DEFAULT_MIN_DECIDED,
) -> pl.DataFrame:
    """Multi-window burn-rate alerts: a (metric, slice) alerts for a window pair when the long window has
    at least `min_decided` decided items and both windows burn faster than the pair's threshold.

    Columns: metric, *by, window ("1h/5m"), severity, threshold, long_burn, short_burn, long_decided,
    long_breached, short_decided, short_breached; sorted by severity then long_burn descending."""
    keys = ["metric", *by]
    frames = []
    for pair in window_pairs:
        long = window_burn(results, now, pair.long, by)
        short = window_burn(results, now, pair.short, by).select(
            *keys,
            short_burn=pl.col("burn"), short_decided=pl.col("decided"), short_breached=pl.col("breached"),
        )
        firing = (
            long.rename({"burn": "long_burn", "decided": "long_decided", "breached": "long_breached"})
            .join(short, on=keys, how="inner", nulls_equal=True)
            .filter(
                (pl.col("long_decided") >= min_decided)
                & (pl.col("long_burn") > pair.threshold)
                & (pl.col("short_burn") > pair.threshold)
            )
            .select(
                *keys,
                window=pl.lit(pair.label),
                severity=pl.lit(pair.severity),
                threshold=pl.lit(pair.threshold, dtype=pl.Float64),
                long_burn=pl.col("long_burn"),
                short_burn=pl.col("short_burn"),
                long_decided=pl.col("long_decided"),
                long_breached=pl.col("long_breached"),
                short_decided=pl.col("short_decided"),
                short_breached=pl.col("short_breached"),
            )
        )
        frames.append(firing)
    if not frames:
        return pl.DataFrame()
    combined = pl.concat(frames, how="vertical_relaxed")
    return combined.sort(
        [pl.col("severity") != "page", pl.col("long_burn")], descending=[False, True]
    )
