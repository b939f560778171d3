"""The layers import only across the allowed lines (docs/architecture.md): read from the source, so an
import inside a function counts as much as one at the top of a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (files, top-level names they must not import, why)
RULES: tuple[tuple[str, frozenset[str], str], ...] = (
    ("sla_core/**/*.py", frozenset({"streamlit", "duckdb", "plotly", "sla_store", "sla_ui", "sla_app"}),
     "the core is pure: no UI, no database"),
    ("sla_store/**/*.py", frozenset({"streamlit", "sla_ui", "sla_app"}),
     "the store never imports the UI (plotly only draws the report's figures)"),
    ("sla_ui/**/*.py", frozenset({"sla_store", "sla_app", "duckdb"}),
     "views render frames they are given; only sla_app reads the store"),
    ("pages/*.py", frozenset({"sla_store", "duckdb"}), "pages read through sla_app"),
    ("dashboard.py", frozenset({"sla_store", "duckdb"}), "the router reads through sla_app"),
)
PRODUCTION = ("sla_core/**/*.py", "sla_store/**/*.py", "sla_ui/**/*.py", "sla_app/**/*.py", "pages/*.py",
              "dashboard.py", "bench/*.py")
CLI_MODULE = "sla_store/cli.py"


def imported_modules(source: str) -> set[str]:
    """Every module a source text imports, dotted ('sla_store.db'), wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def crossings(source: str, forbidden: frozenset[str]) -> set[str]:
    return {name for name in imported_modules(source) if name.split(".")[0] in forbidden}


def command_module_imports(source: str) -> set[str]:
    return {name for name in imported_modules(source)
            if any(part.startswith("commands_") for part in name.split("."))}


def _files(pattern: str) -> list[Path]:
    return sorted(p for p in ROOT.glob(pattern) if ".venv" not in p.parts)


@pytest.mark.parametrize(("pattern", "forbidden", "why"), RULES, ids=[rule[0] for rule in RULES])
def test_no_module_imports_across_a_forbidden_line(pattern, forbidden, why):
    files = _files(pattern)
    assert files, f"no files match {pattern}"
    bad = {str(f.relative_to(ROOT)): sorted(crossings(f.read_text(), forbidden)) for f in files}
    assert not {f: names for f, names in bad.items() if names}, why


def test_only_the_cli_imports_the_command_modules():
    bad = {}
    for pattern in PRODUCTION:
        for file in _files(pattern):
            if file.relative_to(ROOT).as_posix() == CLI_MODULE:
                continue
            names = command_module_imports(file.read_text())
            if names:
                bad[str(file.relative_to(ROOT))] = sorted(names)
    assert not bad


def test_the_checker_sees_imports_inside_functions_and_from_imports():
    source = (
        "import polars as pl\n"
        "from sla_store import queries\n"
        "def read():\n"
        "    import duckdb\n"
        "    from sla_store.commands_simulate import run\n"
    )
    assert crossings(source, frozenset({"duckdb", "sla_store"})) == {
        "duckdb", "sla_store", "sla_store.queries", "sla_store.commands_simulate",
        "sla_store.commands_simulate.run"}
    assert command_module_imports(source) == {"sla_store.commands_simulate", "sla_store.commands_simulate.run"}
    assert command_module_imports("from sla_store import commands_ingest\n") == {"sla_store.commands_ingest"}
    assert not crossings("import polars\nfrom sla_core.policy import Policy\n", frozenset({"sla_store"}))
