"""Counting calls to library or project functions in a test (how often YAML is parsed, files are read...)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def count_calls(monkeypatch, targets: Iterable[tuple[Any, str]]) -> dict[str, int]:
    """Wrap each (module, name) so every call adds one to the returned dict under `name`, then calls through."""
    calls: dict[str, int] = {}
    for module, name in targets:
        real = getattr(module, name)

        def wrapper(*args, _real=real, _name=name, **kwargs):
            calls[_name] = calls.get(_name, 0) + 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)
    return calls
