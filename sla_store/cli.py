"""The `sla` command line: ingest exports, build samples, query attainment, simulate, check, report and
commit policy versions."""

from __future__ import annotations

import functools
from collections.abc import Callable

import typer

from sla_store import commands_ingest, commands_policy, commands_report, commands_simulate
from sla_store.cli_common import fail
from sla_store.entry import INTERRUPTED

app = typer.Typer(
    help="SLA analytics over helpdesk exports and internal-operations event logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (commands_ingest, commands_simulate, commands_report, commands_policy):
    module.register(app)


def guarded(callback: Callable) -> Callable:
    """A command that ends Ctrl-C and an unusable database with one line on stderr, never a traceback."""

    @functools.wraps(callback)
    def run(*args, **kwargs):
        import duckdb

        from sla_store.db import DatabaseUnusable

        try:
            return callback(*args, **kwargs)
        except DatabaseUnusable as error:
            raise fail(str(error)) from None
        except (KeyboardInterrupt, duckdb.InterruptException):
            raise fail(INTERRUPTED, code=130) from None
        except RuntimeError as error:  # DuckDB turns Ctrl-C during a query into "Query interrupted"
            if "interrupted" not in str(error).lower():
                raise
            raise fail(INTERRUPTED, code=130) from None

    return run


def guard_commands(typer_app: typer.Typer) -> None:
    """Wrap every command registered so far, sub-apps (`sla policy ...`) included."""
    for command in typer_app.registered_commands:
        if command.callback is not None and not hasattr(command.callback, "__wrapped__"):
            command.callback = guarded(command.callback)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            guard_commands(group.typer_instance)


guard_commands(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
