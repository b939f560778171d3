"""The policy spec: parsing, round trips, first match wins, versions in force, one-line errors."""

import copy
import itertools
import random
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sla_core.durations import format_duration
from sla_core.policy import PolicyError, PolicyHistory
from sla_core.policy_spec import parse_duration
from sla_core.policy_yaml import parse_policy, parse_policy_mapping, policy_to_yaml

CONFIG = Path(__file__).resolve().parents[2] / "config" / "sla.yaml"

EXAMPLE = """\
version: 1
effective_from: 2026-01-01
objective: 0.95
calendars:
  support_hours:
    timezone: Europe/Amsterdam
    hours: {mon-fri: ["08:00-12:00", "13:00-17:30"], sat: ["10:00-14:00"]}
    holidays: {country: NL, dates: [2026-12-24]}
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
  resolution:     {start: created, stop: resolved, pause_when_status: [pending, on_hold]}
  lead_scoring:   {start: "event:submitted", stop: "event:scored"}
targets:
  - {metric: first_response, match: {channel: chat}, within: 2m, calendar: always}
  - {metric: first_response, match: {channel: email, priority: [urgent, high]}, within: 1h, calendar: support_hours}
  - {metric: resolution, within: 3d, calendar: support_hours, objective: 0.9}
  - {metric: lead_scoring, match: {process: leads}, within: 60m, calendar: always,
     escalation: {notify: ["#growth-ops", "oncall@example.com"], after: 75%}}
"""


def test_the_example_policy_parses_into_calendars_metrics_and_targets():
    policy = parse_policy(EXAMPLE)
    assert policy.version == 1 and policy.effective_from == date(2026, 1, 1) and policy.objective == 0.95
    assert set(policy.calendars) == {"support_hours", "always"}
    assert policy.calendars["always"].always and policy.calendars["support_hours"].timezone == "Europe/Amsterdam"
    assert policy.metrics["resolution"].pause_when_status == ("pending", "on_hold")
    assert policy.metrics["lead_scoring"].start == "event:submitted"
    second = policy.targets[1]
    assert (second.index, second.metric, second.within_s, second.calendar) == (1, "first_response", 3600.0, "support_hours")
    assert second.match == {"channel": ("email",), "priority": ("urgent", "high")}
    assert policy.targets[3].escalation.notify == ("#growth-ops", "oncall@example.com")
    assert policy.targets[3].escalation.after == 0.75
    assert policy.objective_for(policy.targets[2]) == 0.9
    assert policy.objective_for(policy.targets[0]) == 0.95


def test_yaml_round_trip_gives_an_equal_policy():
    policy = parse_policy(EXAMPLE)
    again = parse_policy(policy_to_yaml(policy))
    assert again == policy
    assert again.fingerprint == policy.fingerprint
    assert again.targets == policy.targets and again.calendars == policy.calendars


def test_round_trip_keeps_author_reason_and_commit_time():
    text = EXAMPLE.replace("objective: 0.95\n", "objective: 0.95\nauthor: Ada\nreason: tighter chat\n"
                           "committed_at: 2026-11-24T20:30:00Z\n")
    policy = parse_policy(text)
    again = parse_policy(policy_to_yaml(policy))
    assert (again.author, again.reason, again.committed_at) == ("Ada", "tighter chat", datetime(2026, 11, 24, 20, 30, tzinfo=UTC))
    assert again == policy


def test_an_edited_copy_of_raw_parses_into_a_different_policy():
    policy = parse_policy(EXAMPLE)
    edited = copy.deepcopy(policy.raw)
    edited["targets"][0]["within"] = "5m"
    changed = parse_policy_mapping(edited)
    assert changed.targets[0].within_s == 300.0
    assert changed != policy
    assert policy.targets[0].within_s == 120.0  # the original is untouched


def test_the_shipped_policy_parses_and_round_trips():
    policy = parse_policy(CONFIG.read_text(), source="config/sla.yaml")
    assert parse_policy(policy_to_yaml(policy)) == policy
    assert {"first_response", "resolution", "lead_scoring", "lead_routing", "report_delivery"} <= set(policy.metrics)
    assert any(t.escalation for t in policy.targets)


def test_the_shipped_policy_judges_every_ticket_and_no_ops_item_by_ticket_targets():
    policy = parse_policy(CONFIG.read_text())
    for channel, priority, team in itertools.product(
        ["email", "phone", "chat", "social", "web", "fax"], ["urgent", "high", "normal", "low", None],
        ["Billing", "Technical", "Accounts", "Onboarding"],
    ):
        ticket = {"kind": "ticket", "process": "support", "channel": channel, "priority": priority, "team": team}
        assert policy.target_for("first_response", ticket) is not None
        assert policy.target_for("resolution", ticket) is not None
    lead = {"kind": "ops", "process": "leads", "team": "Growth Ops"}
    report = {"kind": "ops", "process": "reporting", "team": "BI"}
    assert policy.target_for("first_response", lead) is None and policy.target_for("resolution", report) is None
    assert policy.target_for("lead_scoring", lead).within_s == 3600.0
    assert policy.target_for("lead_routing", lead) is not None
    assert policy.target_for("report_delivery", report).calendar == "always"


def test_first_matching_target_wins():
    policy = parse_policy(EXAMPLE)
    chat_urgent = {"channel": "chat", "priority": "urgent"}
    assert policy.target_for("first_response", chat_urgent).index == 0
    assert policy.target_for("first_response", {"channel": "email", "priority": "high"}).index == 1
    assert policy.target_for("first_response", {"channel": "email", "priority": "low"}) is None
    assert policy.target_for("resolution", {"channel": "chat"}).index == 2


def test_vectorized_matching_agrees_with_target_for_on_every_row():
    policy = parse_policy(CONFIG.read_text())
    rng = random.Random(42)
    rows = [
        {
            "kind": rng.choice(["ticket", "ops", None]),
            "process": rng.choice(["support", "leads", "reporting", None]),
            "channel": rng.choice(["email", "phone", "chat", "social", "web", "Chat", None]),
            "priority": rng.choice(["urgent", "high", "normal", "low", "HIGH", None]),
            "team": rng.choice(["Billing", "Technical", "technical", "Accounts", "Onboarding", "BI", None]),
        }
        for _ in range(2000)
    ]
    items = pl.DataFrame(rows, schema={key: pl.String for key in rows[0]})
    for metric in policy.metrics:
        vectorized = policy.match_targets(items, metric).to_list()
        one_by_one = [t.index if (t := policy.target_for(metric, row)) else None for row in rows]
        assert vectorized == one_by_one


def test_matching_ignores_case():
    policy = parse_policy(EXAMPLE)
    assert policy.target_for("first_response", {"channel": "EMAIL", "priority": "Urgent"}).index == 1


def test_history_judges_each_day_by_the_version_in_force():
    first = parse_policy(EXAMPLE)
    second = parse_policy(EXAMPLE.replace("version: 1", "version: 2").replace("2026-01-01", "2026-06-01"))
    history = PolicyHistory([second, first])
    assert [p.version for p in history.versions] == [1, 2]
    assert history.current.version == 2
    assert history.in_force(date(2026, 5, 31)).version == 1
    assert history.in_force(date(2026, 6, 1)).version == 2
    assert history.in_force(date(2025, 1, 1)).version == 1  # before any version: the first one
    created = pl.Series(
        [datetime(2025, 12, 31, tzinfo=UTC), datetime(2026, 5, 31, 23, 59, tzinfo=UTC),
         datetime(2026, 6, 1, 0, 0, tzinfo=UTC), None],
        dtype=pl.Datetime("us", "UTC"),
    )
    assert history.version_for(created).to_list() == [1, 1, 2, None]


def test_version_for_uses_the_utc_date_of_instants_in_other_zones():
    first = parse_policy(EXAMPLE)
    second = parse_policy(EXAMPLE.replace("version: 1", "version: 2").replace("2026-01-01", "2026-06-01"))
    # 1 June 01:00 in Amsterdam is still 31 May in UTC.
    created = pl.Series([datetime(2026, 5, 31, 23, 0, tzinfo=UTC)], dtype=pl.Datetime("us", "UTC"))
    assert PolicyHistory([first, second]).version_for(created.dt.convert_time_zone("Europe/Amsterdam")).to_list() == [1]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("15m", 900.0), ("4h", 14400.0), ("2d", 172800.0), ("1h30m", 5400.0), ("1h 30m", 5400.0),
     ("1.5h", 5400.0), ("0s", 0.0)],
)
def test_durations_parse_to_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["2x", "", "h", "90", "-5m", "1h-30m"])
def test_bad_durations_are_refused_with_the_accepted_units(text):
    with pytest.raises(ValueError, match=r"is not a duration \(use 90s, 15m, 4h, 2d\)"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5400.0, "1h 30m"), (0.0, "0s"), (59.6, "1m"), (90061.0, "25h 1m"), (-7200.0, "-2h"), (172800.0, "48h")],
)
def test_durations_format_for_people(seconds, text):
    assert format_duration(seconds) == text


def _mutate(old: str, new: str) -> str:
    assert old in EXAMPLE, old
    return EXAMPLE.replace(old, new, 1)


BAD_FILES = [
    (_mutate("within: 60m", "within: 2x"),
     'sla.yaml:18: targets[3].within: "2x" is not a duration (use 90s, 15m, 4h, 2d)'),
    (_mutate("calendar: always}", "calendar: alwayz}"),
     'sla.yaml:15: targets[0].calendar: "alwayz" is not a calendar (known: support_hours, always)'),
    (_mutate("metric: resolution", "metric: resolved"),
     'sla.yaml:17: targets[2].metric: "resolved" is not a metric (known: first_response, resolution, lead_scoring)'),
    (_mutate("13:00-17:30", "13:00-25:30"),
     'sla.yaml:7: calendars.support_hours.hours.mon-fri[1]: "25:30" is not a time of day (00:00-23:59, or 24:00 as an end)'),
    (_mutate("mon-fri:", "mon-fry:"),
     'sla.yaml:7: calendars.support_hours.hours.mon-fry: "mon-fry" is not a day or day range (use mon, tue, ..., sun or mon-fri)'),
    (_mutate("objective: 0.9}", "objective: 1.5}"),
     "sla.yaml:17: targets[2].objective: 1.5 must be above 0 and below 1 (e.g. 0.95 or 95%)"),
    (_mutate("stop: resolved", "stop: solved"),
     'sla.yaml:12: metrics.resolution.stop: "solved" is not a milestone (use created, first_response, resolved, closed or event:<kind>, or a list of them for whichever comes first)'),
    (_mutate("country: NL", "country: XX"),
     'sla.yaml:8: calendars.support_hours.holidays.country: "XX" is not a country known to the holidays package (e.g. NL, US, DE)'),
    (_mutate("Europe/Amsterdam", "Europe/Amsterdm"),
     'sla.yaml:6: calendars.support_hours.timezone: "Europe/Amsterdm" is not an IANA time zone (e.g. Europe/Amsterdam)'),
    (_mutate(", within: 3d", ""), "sla.yaml:17: targets[2].within: required key is missing"),
    (_mutate("{channel: chat}", "{chanel: chat}"),
     "sla.yaml:15: targets[0].match.chanel: cannot match on chanel (use channel, priority, team, process, agent, kind, source; declare other attributes under dimensions:)"),
    (_mutate("within: 2m,", "within: 2m, whithin: 3m,"),
     "sla.yaml:15: targets[0].whithin: unknown key (expected one of: metric, match, within, by, calendar, objective, escalation)"),
    (_mutate("  always: 24/7", "  always: 24/6"),
     'sla.yaml:9: calendars.always: "24/6" is not a calendar (use 24/7 or a mapping with timezone and hours)'),
    (_mutate("2026-01-01", "2026-13-01"),
     'sla.yaml:2: effective_from: "2026-13-01": input should be a valid date or datetime, month value is outside expected range of 1-12'),
    (_mutate("after: 75%", "after: 175%"), "sla.yaml:19: targets[3].escalation.after: 175% must be between 0% and 100%"),
    (_mutate("version: 1", "version: 0"), "sla.yaml:1: version: must be 1 or more"),
    (_mutate('sat: ["10:00-14:00"]', 'sat: ["10:00"]'),
     'sla.yaml:7: calendars.support_hours.hours.sat[0]: "10:00" is not an opening interval (use "08:00-17:30")'),
    (_mutate("[pending, on_hold]}", "[pending, on_hold]"), "sla.yaml:13: not valid YAML: expected ',' or '}', but got '<scalar>'"),
    ("just text", "sla.yaml:1: a policy is a mapping with version, effective_from, calendars, metrics, targets"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES)
def test_a_bad_policy_gets_one_line_naming_line_and_key_path(text, message):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value)


def test_the_source_name_starts_the_message():
    with pytest.raises(PolicyError, match=r"^config/history/v3\.yaml:18: targets\[3\]\.within: "):
        parse_policy(_mutate("within: 60m", "within: 2x"), source="config/history/v3.yaml")


def test_a_norwegian_country_code_is_not_read_as_false():
    policy = parse_policy(_mutate("country: NL", "country: NO"))
    assert policy.calendars["support_hours"].holidays.country == "NO"
    assert "country: \"NO\"" in policy_to_yaml(policy)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_damaged_policy_raises_only_a_one_line_policy_error(data):
    lines = EXAMPLE.splitlines()
    index = data.draw(st.integers(0, len(lines) - 1))
    edit = data.draw(st.sampled_from(["drop", "replace", "insert"]))
    junk = data.draw(st.text(alphabet=" :-[]{},#'\"abc019%/\t", max_size=12))
    if edit == "drop":
        del lines[index]
    elif edit == "replace":
        position = data.draw(st.integers(0, len(lines[index])))
        lines[index] = lines[index][:position] + junk + lines[index][position + len(junk):]
    else:
        lines.insert(index, junk)
    try:
        parse_policy("\n".join(lines))
    except PolicyError as error:
        assert str(error).startswith("sla.yaml")
        assert "\n" not in str(error)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, path + (index,))


SHIPPED_RAW = parse_policy(CONFIG.read_text()).raw
SHIPPED_PATHS = [path for path in _paths(SHIPPED_RAW) if path]
JUNK = [None, 0, -1, 1.5, "", "x", [], {}, [1], {"a": 1}, True, "24/7", "5m", "mon", "08:00-09:00", "event:", "MON",
        10**30, "75%", "2026-02-30", date(2026, 1, 1)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SHIPPED_PATHS), st.sampled_from(JUNK), st.booleans()), min_size=1, max_size=3))
def test_any_wrong_value_anywhere_raises_only_a_one_line_policy_error(edits):
    data = copy.deepcopy(SHIPPED_RAW)
    for path, junk, delete in edits:
        parent = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            if delete and isinstance(parent, dict):
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(junk)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier edit removed or replaced this path
    try:
        parse_policy_mapping(data, source="edited")
    except PolicyError as error:
        assert str(error).startswith("edited") and "\n" not in str(error)


def test_targets_and_policies_can_be_set_members_and_dict_keys():
    policy = parse_policy(CONFIG.read_text())
    again = parse_policy(CONFIG.read_text())
    assert len(set(policy.targets) | set(again.targets)) == len(policy.targets)
    assert {policy: "v1"}[again] == "v1"
