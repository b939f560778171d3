"""The served dashboard's Streamlit settings."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_toolbar_is_in_viewer_mode_so_there_is_no_deploy_button():
    settings = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["client"]["toolbarMode"] == "viewer"


def test_secrets_are_kept_out_of_git():
    assert ".streamlit/secrets.toml" in (ROOT / ".gitignore").read_text().splitlines()
