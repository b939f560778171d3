"""`sla policy validate FILE` and `sla policy commit FILE`: the policy as code, from a shell or a CI hook.

`validate` checks policy files (and `access.yaml` files) with the same parser as the app: exit 0 when they
load, 2 with the one-line `file:line: key.path: message` otherwise. `commit` writes FILE as the next
version, with the page's refusals: a FILE edited from an older version than the committed one is refused,
and an effective date in the past needs `--backdate`, which first says how many decided verdicts change.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from sla_core.access import AccessError
from sla_core.policy import Policy, PolicyError
from sla_store.cli_common import ConfigOption, DbOption

policy_app = typer.Typer(
    help="Check policy files and commit them as new versions (policy as code).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ACCESS_FILE_NAMES = ("access.yaml", "access.yml")


def _exit_with(message: str) -> typer.Exit:
    """The one-line error on stderr (no prefix: `file:line: ...` is what editors and CI annotate)."""
    typer.echo(message, err=True)
    return typer.Exit(2)


def _read_policy(path: Path) -> Policy:
    from sla_store.policy_files import load_policy_file

    if not path.is_file():
        raise _exit_with(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        return load_policy_file(path)
    except UnicodeDecodeError:
        raise _exit_with(f"{path}: not UTF-8 text") from None
    except PolicyError as error:
        raise _exit_with(str(error)) from None
    except OSError as error:
        raise _exit_with(f"{path}: {error.strerror or error}") from None


@policy_app.command("validate")
def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Policy files (sla.yaml, history/vN.yaml, a proposal) "
                                                     "or access.yaml files.", show_default=False)],
) -> None:
    """Check files with the app's parser: exit 0 when all load, 2 with one line per bad file."""
    from sla_store.policy_files import load_access_file

    bad = 0
    for path in files:
        try:
            if path.name in ACCESS_FILE_NAMES:
                if not path.is_file():
                    raise AccessError(str(path), None, "", "no such file" if not path.exists() else "not a file")
                access = load_access_file(path)
                typer.echo(f"{path}: ok (access: {len(access.users)} users, {len(access.groups)} groups, "
                           f"default {access.default.label})")
            else:
                policy = _read_policy(path)
                typer.echo(f"{path}: ok (version {policy.version}, effective {policy.effective_from}, "
                           f"{len(policy.targets)} targets)")
        except AccessError as error:
            typer.echo(str(error), err=True)
            bad += 1
        except typer.Exit:
            bad += 1
    if bad:
        raise typer.Exit(2)


@policy_app.command("commit")
def commit_command(
    file: Annotated[Path, typer.Argument(help="The proposed policy; its `version:` is the version it was "
                                              "edited from.", show_default=False)],
    author: Annotated[str, typer.Option("--author", help="Who commits (kept in the version history).",
                                        show_default=False)],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown on the Policy history page).",
                                        show_default=False)],
    effective: Annotated[str | None, typer.Option(
        "--effective", help="First day (UTC, YYYY-MM-DD) judged by the new version; default today.",
        show_default=False)] = None,
    backdate: Annotated[bool, typer.Option(
        "--backdate", help="Allow an effective date in the past: verdicts already given are judged again.")]
    = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Commit FILE as the next version (refused when the committed version changed since FILE was edited).

    Long: the command's typer options are declared in its signature."""
    from sla_store.db import current_time
    from sla_store.policy_files import load_policy_history
    from sla_store.policy_store import CommitRefused, NewerVersionError, backdate_impact, commit_policy

    proposed = _read_policy(file)
    today = current_time().date()
    if effective is None:
        day = today
    else:
        try:
            day = dt.date.fromisoformat(effective.strip())
        except ValueError:
            raise _exit_with(f"--effective {effective!r} is not a day (use YYYY-MM-DD, e.g. {today})") from None
    if day < today and not backdate:
        raise _exit_with(
            f"--effective {day} is in the past (today is {today}): verdicts already given would be judged "
            "again; add --backdate to do that on purpose"
        )
    history = None  # read only to count what a backdate changes; commit_policy checks the version under its lock
    if day < today:
        try:
            history = load_policy_history(config)
        except (PolicyError, OSError) as error:
            raise _exit_with(str(error)) from None
        committed = max(history.versions, key=lambda policy: policy.version)
        if proposed.version == committed.version and day >= committed.effective_from:
            try:
                changes = backdate_impact(proposed, day, config=config, db=db, history=history)
            except (duckdb.Error, OSError, ValueError) as error:
                raise _exit_with(f"cannot count the verdicts a backdate changes: {error}".splitlines()[0]) from None
            _say_backdate_impact(changes, day)
    try:
        result = commit_policy(proposed, proposed.version, author, reason, day, config=config, db=db,
                               allow_backdate=backdate, history=history)
    except NewerVersionError as error:
        raise _exit_with(f"{file}: {error}") from None
    except (CommitRefused, PolicyError, OSError) as error:
        raise _exit_with(str(error)) from None
    typer.echo(
        f"Committed version {result.version}, effective {result.effective_from}, to {result.policy_path}; "
        f"version {result.version - 1} kept in {result.archived_path}."
        + (" Results rebuilt." if result.results_refreshed else "")
    )


def _say_backdate_impact(changes, day: dt.date) -> None:
    """The line a backdate prints before it writes: how many decided verdicts change."""
    if changes is None:
        typer.echo(f"Backdating to {day}: no database, so no stored verdicts change.")
    else:
        typer.echo(
            f"Backdating to {day} changes {changes.total:,} decided verdicts of items created since then "
            f"({changes.met_to_breached:,} met → breached, {changes.breached_to_met:,} breached → met, "
            f"{changes.no_longer_decided:,} no longer judged)."
        )


def register(app: typer.Typer) -> None:
    """Add `sla policy ...` to the `sla` app."""
    app.add_typer(policy_app, name="policy")
