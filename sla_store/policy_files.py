"""Reads policy files from config/: the committed sla.yaml and older versions in config/history/."""

from __future__ import annotations

import os
from pathlib import Path

from sla_core.access import AccessError, AccessPolicy, parse_access
from sla_core.policy import Policy, PolicyError, PolicyHistory
from sla_core.policy_yaml import parse_policy

DEFAULT_CONFIG = Path("config")


def config_dir(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get("SLA_CONFIG") or DEFAULT_CONFIG)


def load_policy_file(path: str | os.PathLike, source: str | None = None) -> Policy:
    """Parse one policy file. PolicyError (one line, named `source`, default the path) when it is not UTF-8,
    cannot be read or is invalid; FileNotFoundError when it does not exist (callers say what to do then)."""
    path = Path(path)
    source = source or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except OSError as error:
        raise PolicyError(source, None, "", f"cannot be read ({error.strerror or error})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise PolicyError(source, None, "", f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset "
                                            f"{error.start}); save it as UTF-8") from None
    return parse_policy(text, source=source)


def config_relative(root: Path, file: Path) -> str:
    """`config/history/v2.yaml`: a policy file named from its config folder, never by an absolute path."""
    return str(Path(root.resolve().name or ".") / file.relative_to(root))


def load_policy_history(directory: str | os.PathLike | None = None, current: Policy | None = None) -> PolicyHistory:
    """Every version: config/history/*.yaml plus the committed config/sla.yaml (`current`, when the caller
    has just parsed it: each file is parsed once)."""
    root = config_dir(directory)
    versions: dict[int, Policy] = {}
    history = root / "history"
    if history.is_dir():
        for file in sorted(history.glob("*.yaml")):
            policy = load_policy_file(file, config_relative(root, file))
            versions[policy.version] = policy
    if current is None:
        current = load_policy_file(root / "sla.yaml", config_relative(root, root / "sla.yaml"))
    versions[current.version] = current
    return PolicyHistory(list(versions.values()))


def access_path(directory: str | os.PathLike | None = None) -> Path:
    return config_dir(directory) / "access.yaml"


def load_access_file(path: str | os.PathLike) -> AccessPolicy:
    """Parse one access file; AccessError (one line) when it is unreadable or invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AccessError(str(path), None, "", "not UTF-8 text") from None
    except OSError as error:
        raise AccessError(str(path), None, "", error.strerror or str(error)) from None
    return parse_access(text, source=str(path))


def load_access(directory: str | os.PathLike | None = None) -> AccessPolicy | None:
    """config/access.yaml, or None when the folder has none (every logged-in user is then a viewer)."""
    path = access_path(directory)
    if not path.exists():
        return None
    return load_access_file(path)
