"""Reading a configuration file's YAML safely, with errors that name the line and key path.

Policy files (`sla_core.policy_yaml`) and access files (`sla_core.access`) share it:

- `load_checked_yaml` refuses oversized, deeply nested, alias-bomb and duplicate-key files on the YAML node
  graph before any Python object is built;
- `KeyLines` knows each key path's line and makes the one-line `PolicyError` "<file>:<line>: <path>: <message>";
- `first_problem` / `pydantic_message` turn a pydantic ValidationError into that line;
- `dump_yaml` writes YAML that the loader reads back to the same values (YAML 1.1 booleans quoted).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sla_core.policy import PolicyError

MAX_YAML_DEPTH = 12  # a policy's targets[0].escalation.notify[0] is 4 levels deep
MAX_YAML_VALUES = 100_000  # values after expanding aliases
_FLOW_BRACKET = re.compile(r"[\[\]{}]")


# -- loading ------------------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML 1.1 without yes/no/on/off booleans: a country code NO stays the string "NO"."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _timestamp_or_text(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """Dates such as 2026-13-01 stay text so validation reports them with their key path."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)


def load_checked_yaml(text: str, source: str, *, max_chars: int, holds: str) -> tuple[Any, Any]:
    """YAML text -> (data, root node). Raises PolicyError with one line "<source>:<line>: <message>".

    The file's shape is checked on the YAML node graph before any Python object is built: its size, nesting
    depth, duplicate keys, and how far aliases expand (a 10-line "billion laughs" file would otherwise take
    gigabytes and minutes)."""
    if len(text) > max_chars:
        raise PolicyError(source, None, "", f"{len(text):,} characters; {holds} holds at most {max_chars:,}")
    if (deep := _deep_flow_at(text)) is not None:
        # PyYAML's scanner slows down with every open bracket: refuse a deep file before scanning it.
        raise PolicyError(source, text.count("\n", 0, deep) + 1, "", f"nested deeper than {MAX_YAML_DEPTH} levels")
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as error:
        raise _not_yaml(source, error) from None
    except RecursionError:
        raise PolicyError(source, None, "", f"nested deeper than {MAX_YAML_DEPTH} levels") from None
    _check_node_graph(root, source)
    loader = _Loader("")
    try:
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        raise _not_yaml(source, error) from None
    finally:
        loader.dispose()
    return data, root


def _not_yaml(source: str, error: yaml.YAMLError) -> PolicyError:
    if not isinstance(error, yaml.MarkedYAMLError):
        return PolicyError(source, None, "", f"not valid YAML: {error}")
    mark = error.problem_mark or error.context_mark
    return PolicyError(source, mark.line + 1 if mark else None, "",
                       f"not valid YAML: {error.problem or error.context}")


def _deep_flow_at(text: str) -> int | None:
    """Offset of the first bracket nested deeper than MAX_YAML_DEPTH (flow style: [..], {..}), else None."""
    depth = 0
    for found in _FLOW_BRACKET.finditer(text):
        if found.group() in "[{":
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return found.start()
        elif depth:
            depth -= 1
    return None


def _check_node_graph(root: yaml.Node | None, source: str) -> None:
    """Refuse duplicate keys, deep nesting, self-containing aliases and alias expansion beyond
    MAX_YAML_VALUES, walking each distinct node once (an alias is a second reference to the same node)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def fail(node: yaml.Node, path: tuple, message: str) -> PolicyError:
        return PolicyError(source, node.start_mark.line + 1, format_path(path), message)

    def visit(node: yaml.Node, path: tuple) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise fail(node, path, "an alias refers to a value that contains it")
        if len(path) > MAX_YAML_DEPTH:
            raise fail(node, path, f"nested deeper than {MAX_YAML_DEPTH} levels")
        open_nodes.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if name is not None and key_node.tag != "tag:yaml.org,2002:merge":
                    if name in seen:
                        raise fail(key_node, path + (name,),
                                   f"duplicate key (first on line {seen[name]}; only one may stay)")
                    seen[name] = key_node.start_mark.line + 1
                total += visit(value_node, path + ((name if name is not None else "?"),))
                if total > MAX_YAML_VALUES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for index, child in enumerate(node.value):
                total += visit(child, path + (index,))
                if total > MAX_YAML_VALUES:
                    break
        open_nodes.discard(key)
        if total > MAX_YAML_VALUES:
            raise fail(node, path, f"aliases expand to more than {MAX_YAML_VALUES:,} values (a YAML alias "
                                   "bomb?); write the values out")
        sizes[key] = total
        return total

    if root is not None:
        visit(root, ())


# -- errors at a key path ---------------------------------------------------------------------------------


def _node_lines(node: yaml.Node | None, path: tuple = (), out: dict | None = None) -> dict[tuple, int]:
    """Key path -> 1-based line of the value at that path (for mapping keys, the key's line)."""
    out = {} if out is None else out
    if node is None or len(path) > 32:  # YAML aliases can make a node contain itself
        return out
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            out[path + (key,)] = key_node.start_mark.line + 1
            _node_lines(value_node, path + (key,), out)
            # A value on a later line than its key (a block under it) is where its problems are.
            if value_node.start_mark.line > key_node.start_mark.line and not isinstance(
                value_node, yaml.MappingNode | yaml.SequenceNode
            ):
                out[path + (key,)] = value_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _node_lines(child, path + (index,), out)
    return out


def format_path(path: Sequence) -> str:
    """("targets", 0, "within") -> "targets[0].within"."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


class KeyLines:
    """The line of every key path in one file, and errors that name it."""

    def __init__(self, source: str, root: yaml.Node | None):
        self.source, self.lines = source, _node_lines(root)

    def line(self, path: Sequence) -> int | None:
        """The line of the path, else of its nearest parent that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error(self, path: Sequence, message: str) -> PolicyError:
        return PolicyError(self.source, self.line(path), format_path(path), message)


def first_problem(failure: ValidationError, data: Any, lines: KeyLines) -> tuple[dict, tuple]:
    """The validation error found first in the file, and its key path."""
    found = [(error, clean_loc(data, error["loc"], error["type"] == "missing")) for error in failure.errors()]
    return min(found, key=lambda pair: lines.line(pair[1]) or 0)


_SHOWS_INPUT = frozenset({
    "int_parsing", "float_parsing", "date_from_datetime_parsing", "date_parsing", "datetime_parsing", "string_type",
    "dict_type", "list_type", "int_from_float", "float_type", "int_type", "model_type", "datetime_from_date_parsing",
    "date_type", "datetime_type", "bool_parsing", "bool_type",
})


def pydantic_message(error: dict, allowed: Sequence[str] = ()) -> str:
    """One pydantic error as the message after the key path; `allowed` lists the keys for "unknown key"."""
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return f"unknown key (expected one of: {', '.join(allowed)})" if allowed else "unknown key"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    if kind in _SHOWS_INPUT:
        value = error.get("input")
        shown = f'"{value}"' if not isinstance(value, dict | list) else type(value).__name__
        return f"{shown}: {message[0].lower()}{message[1:]}"
    return message


def allowed_keys(model: type[BaseModel] | None) -> tuple[str, ...]:
    return tuple(model.model_fields) if model else ()


def clean_loc(data: Any, loc: Sequence, missing: bool = False) -> tuple:
    """Pydantic's error location without its union-member tags (e.g. 'list[str]'): only real keys."""
    path: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        elif missing and isinstance(node, dict):
            path.append(part)  # the missing key itself
            break
        else:
            continue
        path.append(part)
    return tuple(path)


# -- writing -------------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Quotes strings such as "NO" or "on" that a YAML 1.1 reader would take for booleans."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    if value.lower() in ("yes", "no", "on", "off", "y", "n"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(raw: dict) -> str:
    """The mapping as block YAML in its own key order; load_checked_yaml reads it back to the same values."""
    return yaml.dump(raw, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None, width=110)
