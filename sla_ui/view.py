"""Small rendering helpers shared by the pages: number formats, downloadable tables, empty states."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

import polars as pl
import streamlit as st

from sla_core.durations import SHARE_DIGITS, display_name, format_duration, format_share, remaining_text
from sla_core.safe_csv import frame_csv
from sla_core.trends import MonthEndForecast

NO_VALUE = "–"


def pct(share: float | None, digits: int = SHARE_DIGITS) -> str:
    """0.9534 -> '95.3%'; None -> '–' (sla_core.durations.format_share: one rounding everywhere)."""
    return format_share(share, digits)


def points(delta_share: float | None) -> str | None:
    """Change of a share in percentage points, for st.metric's delta: 0.012 -> '+1.2 pp'."""
    if delta_share is None:
        return None
    return f"{100 * delta_share:+.1f} pp"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return NO_VALUE
    return format_duration(seconds)


def remaining(seconds: float | None) -> str:
    """Business time left on a clock: '2h 5m left', or 'overdue 27h' once past its target."""
    if seconds is None:
        return NO_VALUE
    return remaining_text(seconds)


def metric_label(metric: str) -> str:
    """'first_response' -> 'First response' (sla_core.durations.display_name)."""
    return display_name(metric)


def forecast_text(forecast: MonthEndForecast) -> str:
    """One line for leadership: where the month ends if the pace so far continues."""
    verdict = "meets the objective" if forecast.meets_objective else "misses the objective"
    return (f"Month-end forecast at this pace: ~{forecast.projected_decided:,.0f} decided, "
            f"~{forecast.projected_breached:,.0f} breached, error budget used {pct(forecast.budget_consumed, 0)} "
            f"- {verdict}.")


def month_label(month: dt.date) -> str:
    return month.strftime("%B %Y")


def plain(value: Any) -> str:
    """`value` as literal text for anything Streamlit renders as markdown (messages, captions, headers,
    widget labels). Data values pass through here: a team named `![t](http://host/x.png)` must not make every
    viewer's browser fetch an image, `:red[x]` must not colour, `$x$` must not typeset, `**x**` must not be
    bold. The text is kept on one line and each construct markdown (or Streamlit's extensions) would act on
    is broken with a backslash escape, which CommonMark shows as the character itself; ordinary text
    (`config/access.yaml:2: users.lea: "boss" is not a role`) is left exactly as it was.
    """
    text = " ".join(str(value).splitlines()).replace("\\", "\\\\")
    for pattern, replacement in MARKDOWN_ACTIVE:
        text = pattern.sub(replacement, text)
    return text


MARKDOWN_ACTIVE = [
    (re.compile(r"\](?=[(\[])"), r"\\]"),                       # [text](url), ![image](url), [text][ref]
    (re.compile(r"<(?=[A-Za-z/!?])"), r"\\<"),                    # <http://autolink>, HTML
    # Bare http://... and www. are linked after escapes are resolved: an invisible word joiner breaks them.
    (re.compile(r"(?<=[A-Za-z]):(?=//)"), ":\u2060"),
    (re.compile(r"(?i)\bwww\."), lambda found: found.group()[:3] + "\u2060."),
    (re.compile(r"\$"), r"\\$"),                                   # $LaTeX$
    (re.compile(r":(?=[A-Za-z][A-Za-z0-9_+/-]*[:\[])"), r"\\:"),  # :emoji:, :material/icon:, :red[colour]
    (re.compile(r"[*`~]"), r"\\\g<0>"),                            # emphasis, code, strike-through
    (re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])"), r"\\_"),   # _emphasis_ (not snake_case)
    (re.compile(r"^(\s*)([#+=>-]|\d+[.)])"),                        # heading, list, quote, rule at the start
     lambda found: found.group(1) + found.group(2)[:-1] + "\\" + found.group(2)[-1]),
]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "table"


def table(frame: pl.DataFrame, title: str, *, key: str, column_config: Mapping[str, Any] | None = None,
          height: int | str = "auto", caption: str | None = None, download: pl.DataFrame | None = None) -> None:
    """A dataframe with a CSV download of exactly the rows shown (or of `download`, e.g. every row of a
    long list whose first rows are shown)."""
    config: dict[str, Any] = {}
    shown = frame
    if LINK in frame.columns and frame[LINK].null_count() == frame.height:
        shown = shown.drop(LINK)  # no row links anywhere (no source has a url_template): no column of "None"
    elif LINK in frame.columns:
        shown = shown.with_columns(pl.col(LINK).fill_null(""))  # a row without a link: an empty cell, not "None"
    for name, dtype in shown.schema.items():
        if name.endswith("elapsed_s") and dtype.is_numeric():
            # Business durations read as "3h 20m" on screen; the CSV keeps the seconds.
            shown = shown.with_columns(pl.col(name).map_elements(duration, return_dtype=pl.String))
            label = name.removesuffix("_s").replace("_", " ")
            config[name] = st.column_config.TextColumn(label, help="Business time (the target's calendar)")
        elif dtype == pl.Date:
            config[name] = st.column_config.DateColumn(name, format="YYYY-MM-DD")
        elif isinstance(dtype, pl.Datetime):
            config[name] = st.column_config.DatetimeColumn(name, format="YYYY-MM-DD HH:mm")
    config.update(column_config or {})
    for name, spec in list(config.items()):
        # Shares (attainment, objectives, budgets) read with one rounding everywhere: "93.8%".
        if isinstance(spec, Mapping) and (spec.get("type_config") or {}).get("format") == "percent" \
                and name in shown.columns and shown.schema[name].is_numeric():
            shown = shown.with_columns(pl.col(name) * 100)
            config[name] = {**spec, "type_config": {**spec["type_config"], "format": f"%.{SHARE_DIGITS}f%%"}}
    st.dataframe(shown, hide_index=True, column_config=config, height=height)
    rows = frame if download is None else download

    def csv_bytes() -> bytes:
        return frame_csv(rows).encode("utf-8")

    cols = st.columns([1, 3])
    # The CSV is written only when the button is clicked, and the click does not rerun the page.
    cols[0].download_button(
        "Download CSV", csv_bytes, file_name=f"{_slug(title)}.csv",
        mime="text/csv", key=f"download_{key}", icon=":material/download:", on_click="ignore",
    )
    if caption:
        cols[1].caption(plain(caption))


def empty_state(what: str, hint: str = "Widen the date range or clear some filters in the sidebar.") -> None:
    st.info(f"{plain(what)} {hint}", icon=":material/filter_alt_off:")


def data_notes(messages: list[str], key: str) -> None:
    """What is wrong with the data or setup (e.g. "first response: not measured for nyc311 (no column)"), one
    line each, as plain text in a bordered box; nothing when there is nothing to say."""
    if not messages:
        return
    with st.container(border=True, key=key):
        st.markdown(":material/info: **Data notes**")
        for message in messages:
            st.text(message)


def with_links(frame: pl.DataFrame, templates: Mapping[str, str]) -> pl.DataFrame:
    """Add a `link` column: each item's page in its source system, from its mapping's url_template
    (null where the source has none)."""
    from urllib.parse import quote

    if frame.is_empty() or "source" not in frame.columns or not templates:
        return frame.with_columns(link=pl.lit(None, dtype=pl.String))
    return frame.with_columns(link=pl.struct("source", "item_id").map_elements(
        lambda r: templates[r["source"]].replace("{item_id}", quote(str(r["item_id"]), safe=""))
        if r["source"] in templates else None, return_dtype=pl.String))


LINK = "link"
LINK_COLUMN = st.column_config.LinkColumn("open", display_text="open ↗", help="The item in its source system")


_CLI_WORDS = (
    ("pass --format or --mapping", "choose a Format or a Column mapping above"),
    ("needs --mapping FILE", "needs a Column mapping (choose one above)"),
    ("--format", "the Format choice"),
    ("--mapping", "the Column mapping choice"),
)


def in_page_terms(message: object, temp_path: object, name: str) -> str:
    """An import message in the Data page's language: the uploaded file's own name instead of the
    temporary path it was saved under, the page's choices instead of command-line flags."""
    text = str(message).replace(str(temp_path), name)
    folder = str(getattr(temp_path, "parent", ""))
    if folder and folder != ".":
        text = text.replace(folder + "/", "")
    for cli, page in _CLI_WORDS:
        text = text.replace(cli, page)
    return text
