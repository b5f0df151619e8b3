"""Round-trip YAML for the files the tool writes into people's repositories (issue 18).

Reading specs stays with the fast safe reader of ``yamlio``; this module only serves the two
commands that write: ``new`` lays out a fresh, commented spec (``dump_commented``), and
``validate --fix`` changes values in a person's file (``replace_values``). Both go through
ruamel.yaml's round-trip mode. A fix replaces exactly the characters of each changed value, at
the position and in the quoting style ruamel's round-trip loader reports, so every other byte
(comments, key order, flow mappings, blank lines, indentation) stays as it was: ruamel's own
dumper would re-flow and re-indent what it did not understand the way the person wrote it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

FieldPath = tuple[str | int, ...]


class EditError(Exception):
    """A value to change is not where the spec says (the file changed, or is not a mapping)."""


@dataclass(frozen=True)
class Commented:
    """A value written with an end-of-line comment, optionally in flow style (``{a: 1}``)."""

    value: Any
    comment: str = ""
    flow: bool = False


def _round_trip() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 100
    return yaml


def dump_commented(document: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    """A spec as YAML text: ``Commented`` values get their comments, ``header`` lines go on top."""
    data = _to_commented(document)
    if header:
        data.yaml_set_start_comment("\n".join(header))
    out = io.StringIO()
    _round_trip().dump(data, out)
    text = out.getvalue()
    return text if text.endswith("\n") else text + "\n"


def _to_commented(value: Any) -> Any:
    """Plain data (with ``Commented`` wrappers) as ruamel's commented containers."""
    if isinstance(value, Commented):
        return _to_commented(value.value)
    if isinstance(value, Mapping):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[key] = _to_commented(item)
            if isinstance(item, Commented):
                if item.flow and isinstance(mapping[key], CommentedMap | CommentedSeq):
                    mapping[key].fa.set_flow_style()
                if item.comment:
                    mapping.yaml_add_eol_comment(item.comment, key)
        return mapping
    if isinstance(value, list | tuple):
        sequence = CommentedSeq()
        for index, item in enumerate(value):
            sequence.append(_to_commented(item))
            if isinstance(item, Commented) and item.comment:
                sequence.yaml_add_eol_comment(item.comment, index)
        return sequence
    return value


def replace_values(text: str, changes: Mapping[FieldPath, Any]) -> str:
    """``text`` with the value at each field path replaced; nothing else changes.

    Raises:
        EditError: a path is missing, or its value is not a scalar written on one line.
    """
    try:
        data = _round_trip().load(text)
    except YAMLError as e:
        raise EditError(f"cannot read the file back: {e}") from e
    lines = text.splitlines(keepends=True)
    edits = []
    for path, value in changes.items():
        line, start, end, flow = _locate(data, path, lines)
        old = lines[line][start:end]
        edits.append((line, start, end, format_like(old, value, flow)))
    for line, start, end, new in sorted(edits, reverse=True):
        lines[line] = lines[line][:start] + new + lines[line][end:]
    return "".join(lines)


def _locate(data: Any, path: FieldPath, lines: list[str]) -> tuple[int, int, int, bool]:
    """(line, start column, end column, in a flow collection) of the scalar at ``path``."""
    parent = data
    try:
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        if isinstance(parent, CommentedMap):
            line, column = parent.lc.value(key)
        elif isinstance(parent, CommentedSeq) and isinstance(key, int):
            line, column = parent.lc.item(key)
        else:
            raise EditError(f"{_dotted(path)}: not inside a mapping or list")
        current = parent[key]
    except (KeyError, IndexError, TypeError) as e:
        raise EditError(f"{_dotted(path)}: no such field in the file") from e
    if isinstance(current, CommentedMap | CommentedSeq):
        raise EditError(f"{_dotted(path)}: not a single value")
    flow = bool(parent.fa.flow_style())
    return line, column, _scalar_end(lines[line], column, flow, path), flow


def _scalar_end(line: str, start: int, flow: bool, path: FieldPath) -> int:
    """Where the scalar starting at ``start`` ends on its line (quotes and comments respected)."""
    quote = line[start : start + 1]
    if quote in ('"', "'"):
        index = start + 1
        while index < len(line):
            char = line[index]
            if quote == '"' and char == "\\":
                index += 2
                continue
            if char == quote:
                if quote == "'" and line[index + 1 : index + 2] == "'":
                    index += 2
                    continue
                return index + 1
            index += 1
        raise EditError(f"{_dotted(path)}: a quoted value over several lines cannot be fixed")
    end = len(line.rstrip("\r\n"))
    comment = line.find(" #", start)
    if comment >= 0:
        end = min(end, comment)
    if flow:
        for stop in (",", "}", "]"):
            found = line.find(stop, start, end)
            if found >= 0:
                end = found
    return len(line[:end].rstrip()) if end > start else end


def format_like(old: str, value: Any, flow: bool = False) -> str:
    """``value`` written in the style of ``old``: the same quotes, else plain when that is safe."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = str(value)
    if old.startswith('"'):
        return json.dumps(text, ensure_ascii=False)
    if old.startswith("'"):
        return "'" + text.replace("'", "''") + "'"
    if isinstance(value, str) and not _plain_reads_back(text, value, flow):
        return json.dumps(text, ensure_ascii=False)
    return text


def _plain_reads_back(text: str, value: str, flow: bool) -> bool:
    """Whether ``text`` written plain reads back as the string ``value`` (or the same number)."""
    probe = f"v: {{x: {text}}}\n" if flow else f"v: {text}\n"
    try:
        data = YAML(typ="safe", pure=True).load(probe)
    except YAMLError:
        return False
    read = data["v"]["x"] if flow else data["v"]
    return isinstance(read, str | int | float) and not isinstance(read, bool) and str(read) == value


def _dotted(path: FieldPath) -> str:
    return ".".join(str(part) for part in path)
