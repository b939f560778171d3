"""The `sla` command line: ingest exports, build samples, query attainment, simulate, check, report and
commit policy versions."""

from __future__ import annotations

import typer

from sla_store import commands_ingest, commands_policy, commands_report, commands_simulate

app = typer.Typer(
    help="SLA analytics over helpdesk exports and internal-operations event logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (commands_ingest, commands_simulate, commands_report, commands_policy):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
