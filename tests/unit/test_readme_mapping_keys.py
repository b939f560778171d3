"""The README documents every key a mapping file accepts, each with an example."""

import re
from pathlib import Path

from sla_store.importers.mapping import Mapping

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_mapping_key_has_a_row_with_an_example_in_the_readme():
    rows = {match.group(1): match.group(2) for match in re.finditer(r"^\| `(\w+)` \|(.*)\|$", README.read_text(),
                                                                   re.MULTILINE)}
    for key in Mapping.model_fields:
        assert key in rows, f"README: no row for mapping key {key!r}"
        assert f"`{key}:" in rows[key], f"README: the row of {key!r} has no example"
