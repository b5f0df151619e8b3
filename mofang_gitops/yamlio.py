"""The one YAML module: safe reads of spec files with positions, fast reads of our own output.

Spec files are untrusted. They are composed by libyaml (PyYAML's C composer, several times faster
than a pure-Python parser on thousands of files) and turned into plain data here, so that:

* every value keeps its ``line:column`` for error messages;
* anchors/aliases are refused before anything is expanded (no alias bombs), as are duplicate
  keys, custom tags, non-UTF-8 bytes and files over the size cap;
* plain scalars resolve by the YAML 1.2 core schema (``no`` stays a string, ``010`` is 10).

Rendered manifests are our own text and are read with the plain C safe loader. Files the tool
rewrites in place keep their comments through ruamel.yaml's round-trip mode.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mofang_gitops.errors import Location

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_BOOL_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:merge",
    "tag:yaml.org,2002:binary",
}

FieldPath = tuple[str | int, ...]


class YAMLFileError(Exception):
    """A file cannot be read as safe YAML; ``location`` says where, ``hint`` how to fix it."""

    def __init__(self, location: Location, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.location = location
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Document:
    """One YAML document of a file: plain data plus the position of every value in it."""

    path: str
    index: int
    data: Any
    positions: Mapping[FieldPath, tuple[int, int]] = field(repr=False)

    def locate(self, field_path: Sequence[str | int] = ()) -> Location:
        """Return the position of a field, or of its closest ancestor that exists."""
        key = tuple(field_path)
        while key not in self.positions and key:
            key = key[:-1]
        line, column = self.positions.get(key, (0, 0))
        return Location(self.path, line, column)


def load_documents(path: str, content: bytes, max_bytes: int = MAX_FILE_BYTES) -> list[Document]:
    """Parse every document of an untrusted YAML file; raise ``YAMLFileError`` on unsafe input."""
    if len(content) > max_bytes:
        raise YAMLFileError(
            Location(path),
            f"file is {len(content)} bytes, over the {max_bytes}-byte limit",
            "split it into several files",
        )
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as e:
        line = content[: e.start].count(b"\n") + 1
        raise YAMLFileError(
            Location(path, line, 1), f"not valid UTF-8 ({e.reason})", "save the file as UTF-8"
        ) from e
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        nodes = list(yaml.compose_all(io.StringIO(text), Loader=_SafeLoader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise YAMLFileError(loc, f"invalid YAML: {e.problem or e.context}") from e
    except yaml.YAMLError as e:
        raise YAMLFileError(Location(path), f"invalid YAML: {e}") from e
    documents = []
    for index, node in enumerate(nodes):
        if node is None:
            continue
        builder = _Builder(path)
        data = builder.build(node, ())
        documents.append(Document(path, index, data, builder.positions))
    return documents


class _Builder:
    """Turns composed nodes into plain data, refusing what a spec has no business containing."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.positions: dict[FieldPath, tuple[int, int]] = {}
        self.seen: set[int] = set()

    def fail(self, node: yaml.Node, message: str, hint: str = "") -> YAMLFileError:
        return YAMLFileError(
            Location(self.path, node.start_mark.line + 1, node.start_mark.column + 1),
            message,
            hint,
        )

    def build(self, node: yaml.Node, at: FieldPath) -> Any:
        if id(node) in self.seen:
            raise self.fail(
                node,
                "YAML anchors and aliases are not allowed (this anchored value is reused)",
                "write the values out",
            )
        self.seen.add(id(node))
        if len(self.seen) > MAX_NODES:
            raise self.fail(node, f"document has more than {MAX_NODES} values", "split the file")
        self.positions[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in _STANDARD_TAGS:
            raise self.fail(node, f"YAML tag {node.tag!r} is not allowed", "remove the tag")
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, at)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*at, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return _resolve_scalar(node)

    def build_mapping(self, node: yaml.MappingNode, at: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, "YAML merge keys (<<) are not allowed", "write keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain strings")
            key = str(key_node.value)
            if key in result:
                first = self.positions.get((*at, key), (0, 0))[0]
                raise self.fail(
                    key_node,
                    f"duplicate key {key!r} (first defined on line {first})",
                    "keep one of them",
                )
            result[key] = self.build(value_node, (*at, key))
        return result


def _resolve_scalar(node: yaml.ScalarNode) -> Any:
    """Resolve a scalar by the YAML 1.2 core schema; quoted scalars are always strings."""
    value: str = node.value
    if node.style:  # quoted or block scalar; plain scalars have no style
        return value
    if _NULL.match(value):
        return None
    if _BOOL_TRUE.match(value):
        return True
    if _BOOL_FALSE.match(value):
        return False
    if _INT.match(value):
        return int(value)
    if _INT_OCT.match(value):
        return int(value[2:], 8)
    if _INT_HEX.match(value):
        return int(value[2:], 16)
    if _FLOAT.match(value) and any(c.isdigit() for c in value):
        return float(value)
    if value in (".inf", "+.inf", ".Inf", "+.Inf"):
        return float("inf")
    return value


def load_manifests(text: str) -> Iterator[Any]:
    """Read our own rendered manifests (trusted output of the templates)."""
    return (doc for doc in yaml.load_all(text, Loader=_SafeLoader) if doc is not None)


def load_manifest(text: str) -> Any:
    """Read one rendered manifest."""
    return yaml.load(text, Loader=_SafeLoader)


def dump(data: Any) -> str:
    """Dump plain data as block YAML in key order given (deterministic, for diffs and output)."""
    return str(
        yaml.dump(
            data,
            Dumper=_SafeDumper,
            sort_keys=False,
            default_flow_style=False,
            allow_unicode=True,
            width=1_000_000,
        )
    )


def dump_all(documents: Sequence[Any]) -> str:
    """Dump several documents separated by ``---``."""
    return "---\n".join(dump(d) for d in documents)


def rewrite_values(path: Path, changes: Mapping[FieldPath, Any]) -> None:
    """Set values in a YAML file in place, keeping its comments and layout (ruamel round-trip).

    Used by ``validate --fix`` to write clamped requests back to the spec the user owns.
    """
    from ruamel.yaml import YAML

    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 1_000_000
    documents = list(rt.load_all(path.read_text(encoding="utf-8")))
    for field_path, value in changes.items():
        index, *keys = field_path
        target = documents[int(index)]
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    with path.open("w", encoding="utf-8") as out:
        rt.dump_all(documents, out)
