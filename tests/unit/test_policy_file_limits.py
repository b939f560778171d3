"""A policy file that is hostile or careless is refused in one line naming the file, line and key path:
duplicate keys, budgets of nothing or of centuries, objectives outside (0, 1), oversized files, alias bombs
and deep nesting. The checks run on the YAML node graph before any object is built, so a bomb costs nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla_core.policy import PolicyError
from sla_core.policy_yaml import MAX_POLICY_CHARS, parse_policy

SHIPPED = (Path(__file__).resolve().parents[2] / "config" / "sla.yaml").read_text()
MINIMAL = """\
version: 1
effective_from: 2026-01-01
objective: 0.95
calendars:
  always: 24/7
metrics:
  first_response: {start: created, stop: first_response}
targets:
  - {metric: first_response, within: 2h, calendar: always}
"""
BOMB = "\n".join(
    ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]" for i in range(8)]
)


def refusal(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="config/sla.yaml")
    message = str(caught.value)
    assert "\n" not in message and message.startswith("config/sla.yaml")
    return message


@pytest.mark.parametrize("text, expected", [
    (MINIMAL + "objective: 0.5\n", "config/sla.yaml:10: objective: duplicate key (first on line 3; only one may stay)"),
    (MINIMAL.replace("  first_response: {start: created, stop: first_response}",
                     "  first_response: {start: created, stop: first_response}\n"
                     "  first_response: {start: created, stop: resolved}"),
     "config/sla.yaml:8: metrics.first_response: duplicate key (first on line 7; only one may stay)"),
    (MINIMAL.replace("within: 2h, calendar: always}", "within: 2h, calendar: always, within: 9d}"),
     "config/sla.yaml:9: targets[0].within: duplicate key (first on line 9; only one may stay)"),
])
def test_duplicate_keys_are_refused_where_the_second_one_stands(text, expected):
    assert refusal(text) == expected


@pytest.mark.parametrize("within", ["0s", "0m", "0h0m", "366d", "8761h", "99999999999999999999d"])
def test_a_target_of_no_time_or_of_more_than_a_year_is_refused(within):
    message = refusal(MINIMAL.replace("within: 2h", f"within: {within}"))
    assert message.startswith(f'config/sla.yaml:9: targets[0].within: "{within}" is ')


@pytest.mark.parametrize("within", ["1s", "365d", "8760h"])
def test_targets_up_to_a_year_are_accepted(within):
    assert parse_policy(MINIMAL.replace("within: 2h", f"within: {within}")).targets[0].within_s > 0


@pytest.mark.parametrize("objective", ["0", "0%", "-0.5", "1.5", "150%", "1"])
@pytest.mark.parametrize("where", ["policy", "target"])
def test_an_objective_outside_zero_to_one_is_refused(objective, where):
    if where == "policy":
        text, path = MINIMAL.replace("objective: 0.95", f"objective: {objective}"), "config/sla.yaml:3: objective:"
    else:
        text = MINIMAL.replace("calendar: always}", f"calendar: always, objective: {objective}}}")
        path = "config/sla.yaml:9: targets[0].objective:"
    assert refusal(text).startswith(f"{path} {objective} must be above 0 and below 1")


def test_a_file_over_the_size_limit_is_refused_before_parsing():
    message = refusal(MINIMAL + "# " + "x" * MAX_POLICY_CHARS + "\n")
    assert message.endswith(f"a policy file holds at most {MAX_POLICY_CHARS:,}")


@pytest.mark.timeout(20)
def test_a_yaml_alias_bomb_is_refused_without_expanding_it():
    assert refusal(BOMB) == ("config/sla.yaml:6: f: aliases expand to more than 100,000 values (a YAML alias "
                             "bomb?); write the values out")


@pytest.mark.timeout(20)
def test_an_alias_bomb_inside_a_real_key_is_refused_too():
    text = SHIPPED.replace("targets:", BOMB.replace("\n", "\n  ").replace("a: &a", "  a: &a", 1)
                           .join(["x_bomb:\n", "\ntargets:"]), 1)
    assert "aliases expand to more than 100,000 values" in refusal(text)


def test_an_alias_that_contains_itself_is_refused():
    assert refusal("a: &a [1, *a]\n") == "config/sla.yaml:1: a[1]: an alias refers to a value that contains it"


@pytest.mark.timeout(20)
@pytest.mark.parametrize("text", [
    "x: " + "[" * 100_000 + "]" * 100_000,
    "x: " + "[1, " * 20 + "]" * 20,
    "x: " + "{a: " * 30 + "1" + "}" * 30,
    "x:\n" + "".join("  " * depth + f"k{depth}:\n" for depth in range(1, 40)),
])
def test_deep_nesting_is_refused(text):
    assert "nested deeper than 12 levels" in refusal(text)


def test_the_shipped_policy_and_yaml_merge_keys_still_load():
    assert parse_policy(SHIPPED).version >= 1
    merged = MINIMAL.replace("targets:\n  - {metric: first_response, within: 2h, calendar: always}",
                             "base: &base {metric: first_response, calendar: always}\n"
                             "targets:\n  - {<<: *base, within: 2h}\n  - {<<: *base, within: 4h}")
    with pytest.raises(PolicyError, match="base"):  # an unknown top key, not a duplicate or alias refusal
        parse_policy(merged)
