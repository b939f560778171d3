"""Real-browser fixtures: the app served by `streamlit run` on a free loopback port against a sample
database, and a headless Debian Chromium page driven by Playwright.

Without /usr/bin/chromium the browser tests skip, except on CI ($CI set), where they fail.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
SAMPLE_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SAMPLE_TICKETS = 5000
STARTUP_TIMEOUT_S = 60


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"{CHROMIUM} is missing on CI: .ci/run installs it")
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not installed (apt-get install chromium)")
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory) -> Path:
    """A sample database built by the project's own generator and import pipeline."""
    from sla_store.sample import build_sample_db

    root = tmp_path_factory.mktemp("browser-sample")
    db = root / "sla.duckdb"
    build_sample_db(db, tickets=SAMPLE_TICKETS, seed=42, now=SAMPLE_NOW, samples_dir=root / "samples",
                    config=ROOT / "config")
    return db


REAL_EXPORTS = (  # (file in tests/fixtures, mapping in config/mappings or None to recognise it)
    ("servicenow_incident_event_log_subset.csv", None),  # 890 incidents, 62 assignment groups, 2016
    ("nyc311_2022-05-01_sample.csv", "nyc311.yaml"),     # 924 requests, New York, 1 May 2022
)


def build_real_exports_db(db: Path, *, with_sample: bool, samples_dir: Path | None = None) -> Path:
    """Both real exports imported with the project's importers and shipped mappings, on top of the sample
    database when `with_sample` (else on an empty one)."""
    from sla_store.ingest import ingest
    from sla_store.sample import build_sample_db

    if with_sample:
        build_sample_db(db, tickets=SAMPLE_TICKETS, seed=42, now=SAMPLE_NOW,
                        samples_dir=samples_dir or db.parent / "samples", config=ROOT / "config")
    for name, mapping in REAL_EXPORTS:
        ingest(ROOT / "tests" / "fixtures" / name, db=db, config=ROOT / "config", now=SAMPLE_NOW,
               mapping=ROOT / "config" / "mappings" / mapping if mapping else None)
    return db


@pytest.fixture(scope="session")
def real_db(tmp_path_factory) -> Path:
    """The sample plus both real exports (ServiceNow 2016, NYC 311 2022) in one database."""
    return build_real_exports_db(tmp_path_factory.mktemp("browser-real") / "sla.duckdb", with_sample=True)


@pytest.fixture(scope="session")
def real_only_db(tmp_path_factory) -> Path:
    """Only the two real exports: the newest data is six years older than the clock."""
    return build_real_exports_db(tmp_path_factory.mktemp("browser-real-only") / "sla.duckdb", with_sample=False)


@contextlib.contextmanager
def running_server(command: list[str], ready_url: str, log: Path, *, what: str, timeout_s: float,
                   cwd: Path | None = None, env: dict | None = None) -> Iterator[None]:
    """Run `command` (its output in `log`) until the block ends; ready once `ready_url` answers 200."""
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start ({ready_url}):\n{log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def serve_app(db: Path, config: Path, log: Path, secrets: Path | None = None) -> Iterator[str]:
    """`streamlit run dashboard.py` on a free port over `db` and `config` (and the secrets file `secrets`, e.g.
    with an [auth] section; default: none, whatever .streamlit/secrets.toml holds); yields its base URL."""
    port = free_port()
    env = {**os.environ, "SLA_DB": str(db), "SLA_CONFIG": str(config), "SLA_NOW": SAMPLE_NOW.isoformat()}
    command = [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard.py"),
               "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
               "--secrets.files", str(secrets or log.parent / "no-secrets.toml")]
    url = f"http://127.0.0.1:{port}"
    with running_server(command, f"{url}/_stcore/health", log, what="streamlit", timeout_s=STARTUP_TIMEOUT_S,
                        cwd=ROOT, env=env):
        yield url


@pytest.fixture(scope="session")
def served_app(sample_db, tmp_path_factory):
    """Base URL of `streamlit run dashboard.py` serving the sample database."""
    log = tmp_path_factory.mktemp("streamlit-log") / "streamlit.log"
    with serve_app(sample_db, ROOT / "config", log) as url:
        yield url


@pytest.fixture(scope="session")
def real_app(real_db, tmp_path_factory):
    """Base URL of the dashboard serving the sample plus both real exports."""
    log = tmp_path_factory.mktemp("streamlit-real-log") / "streamlit.log"
    with serve_app(real_db, ROOT / "config", log) as url:
        yield url


@pytest.fixture(scope="session")
def real_only_app(real_only_db, tmp_path_factory):
    """Base URL of the dashboard serving only the two real exports."""
    log = tmp_path_factory.mktemp("streamlit-real-only-log") / "streamlit.log"
    with serve_app(real_only_db, ROOT / "config", log) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API runs an event loop while open, so a second sync_playwright()
    # in another module (e.g. one with its own page fixture) must not overlap with this one.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()


def wait_until_rendered(page, timeout_ms: int = 30_000) -> None:
    """Wait for the app to finish its script runs: the main block is there and the running indicator
    (with its Stop button) has been gone for a moment."""
    page.wait_for_selector("[data-testid='stMain']", timeout=timeout_ms)
    idle_js = "() => !document.querySelector(\"[data-testid='stStatusWidget']\")"
    for _ in range(2):  # a rerun (or a fragment) can start right after the first run ends
        page.wait_for_timeout(700)
        page.wait_for_function(idle_js, timeout=timeout_ms)
