"""How business time reads to people: one set of formatting functions for tables, charts, the report and
the CLI.

Business time is never shown in 24-hour days: a 40-hour budget in a calendar open 8.5 hours a day is
about five working days, and "1d 16h" reads as a third of that. Durations are shown in hours and minutes
("40h", "1h 30m"), seconds only below an hour ("12m 5s"), and, where a calendar is known, as business
days of that calendar ("4.7 business days of 8.5 h").
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from sla_core.calendar import Calendar

BUSINESS = "business"


def format_duration(seconds: float) -> str:
    """Compact hours and minutes, never days: 5400 -> '1h 30m'; 144000 -> '40h'; 725 -> '12m 5s';
    0 -> '0s'; -7200 -> '-2h'. Seconds are dropped (rounded to the minute) from an hour up."""
    magnitude = abs(float(seconds))
    total = round(magnitude)
    if total >= 3600:
        total = round(magnitude / 60) * 60
        units: tuple[tuple[str, int], ...] = (("h", 3600), ("m", 60))
    else:
        units = (("m", 60), ("s", 1))
    sign = "-" if seconds < 0 and total else ""
    parts = []
    for unit, size in units:
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + (" ".join(parts) or "0s")


def format_business(seconds: float, day_hours: float | None = None) -> str:
    """Business time with its unit spelled out: 144000 -> '40h business'; with the calendar's working day
    (`day_hours`, e.g. 8.5) and at least one such day: '40h business (4.7 business days of 8.5 h)'."""
    text = f"{format_duration(seconds)} {BUSINESS}"
    if day_hours and abs(seconds) >= day_hours * 3600:
        text += f" ({format_business_days(seconds, day_hours)})"
    return text


def format_business_days(seconds: float, day_hours: float) -> str:
    """Business days of a calendar's working day: (144000, 8.5) -> '4.7 business days of 8.5 h'."""
    days = seconds / (day_hours * 3600)
    unit = "business day" if round(abs(days), 1) == 1 else "business days"
    return f"{days:.1f} {unit} of {_hours(day_hours)} h"


def remaining_text(seconds: float) -> str:
    """Business time left on a clock: '2h 5m left', or 'overdue 3h' once past its target."""
    if seconds < 0:
        return f"overdue {format_duration(-seconds)}"
    return f"{format_duration(seconds)} left"


def business_day_hours(calendar: Calendar) -> float | None:
    """The calendar's usual working day in hours (the most common length among its open weekdays, the
    longer on a tie): 8.5 for mon-fri 08:00-12:00 + 13:00-17:30 with a short Saturday. None for 24/7,
    where business time is wall-clock time."""
    if calendar.always or calendar.weekly is None:
        return None
    lengths = [sum(end - start for start, end in day) for day in calendar.weekly]
    open_days = [length for length in lengths if length > 0]
    if not open_days:
        return None
    counts = Counter(open_days)
    seconds = max(counts, key=lambda length: (counts[length], length))
    return seconds / 3600


def _hours(value: float) -> str:
    return f"{value:g}" if value == round(value, 2) else f"{value:.2f}"


# -- shares (attainment, objectives, budgets) -------------------------------------------------------------

SHARE_DIGITS = 1  # one rounding for every percentage shown


def format_share(share: float | None, digits: int = SHARE_DIGITS) -> str:
    """0.93761 -> '93.8%'; None -> '–'. Attainment, budgets and objectives all round the same way."""
    if share is None:
        return "–"
    return f"{100 * share:.{digits}f}%"


def objective_text(share: float | None) -> str:
    """An objective as the policy states it: 0.95 -> '95%', 0.9 -> '90%', 0.975 -> '97.5%' (the same
    rounding as format_share, without a trailing '.0')."""
    if share is None:
        return "–"
    text = format_share(share)
    return text.replace(".0%", "%") if text.endswith(".0%") else text


def objectives_text(objectives: list[float], per_target: bool = True) -> str:
    """The policy objectives behind a selection: '95%' when they agree, '90%–95% (per target)' when the
    selection mixes targets with different objectives - never an average of them."""
    distinct = sorted({round(o, 6) for o in objectives if o is not None})
    if not distinct:
        return "–"
    if len(distinct) == 1:
        return objective_text(distinct[0])
    span = f"{objective_text(distinct[0])}–{objective_text(distinct[-1])}"
    return f"{span} (per target)" if per_target else span


def below_objective(attainment: float | None, objective: float | None) -> bool:
    """Under the objective, compared at the precision shown (so a 94.96% month against 95% reads as
    '95.0%' and is not flagged)."""
    if attainment is None or objective is None:
        return False
    return round(100 * attainment, SHARE_DIGITS) < round(100 * objective, SHARE_DIGITS)


def display_name(key: str) -> str:
    """A metric, field or process key as people read it: 'lead_routing' -> 'Lead routing'."""
    return key.replace("_", " ").strip().capitalize()


def target_rows(policy) -> list[dict[str, str]]:
    """The policy's targets as people read them, in order (first match wins): metric display name, what
    they match, the budget in business hours (and business days of its calendar), the calendar and the
    objective - for the report's "policy in force" table."""
    rows = []
    for target in policy.targets:
        calendar = policy.calendars.get(target.calendar)
        day_hours = business_day_hours(calendar) if calendar is not None else None
        by = getattr(target, "by", None)
        metric = policy.metrics.get(target.metric)
        schedule = getattr(metric, "schedule", None)
        if schedule is not None:  # the period's deadline is the budget (a schedule target has no within)
            budget = f"every {schedule.every}, due {schedule.due}"
        elif by:
            budget = f"by {by}"
        elif calendar is not None and calendar.always:
            budget = f"{format_duration(target.within_s)} (24/7)"
        else:
            budget = format_business(target.within_s, day_hours)
        match = "; ".join(f"{display_name(key).lower()} {', '.join(values)}" for key, values in target.match.items())
        rows.append({
            "metric": display_name(target.metric),
            "match": match or "every item",
            "budget": budget,
            "calendar": target.calendar,
            "objective": objective_text(policy.objective_for(target)),
        })
    return rows
