"""The one YAML package: safe reads of spec files with positions, fast reads of our own output.

Writing people's files (``new``, ``validate --fix``) is ``yamlio.roundtrip``, the one place that
uses ruamel.yaml's round-trip mode.

Spec files are untrusted. They are composed by libyaml (PyYAML's C composer, several times faster
than a pure-Python parser on thousands of files) and turned into plain data here, so that:

* every value keeps its ``line:column`` for error messages;
* anchors/aliases are refused before anything is expanded (no alias bombs), as are duplicate
  keys, custom tags, non-UTF-8 bytes and files over the size cap;
* plain scalars resolve by the YAML 1.2 core schema (``no`` stays a string, ``010`` is 10);
* U+0085, U+2028 and U+2029 written as such are refused with their position: libyaml's scanner
  follows YAML 1.1, where they are line breaks, and folds them into a space inside quoted and
  flow scalars (U+0085 becomes ``" "``, spaces around U+2028 vanish), ends a plain scalar or a
  comment with them (the rest of a comment line becomes YAML), and counts them as lines so every
  later ``line:column`` disagrees with editors. Refusing them before libyaml sees the text is the
  only depth at which they can still be reported rather than rewritten. Their double-quoted escapes
  reach the models unchanged, and the string kinds refuse them by name.

Rendered manifests are our own text: a line-based reader built on the C JSON decoder reads them
(every value the templates write is JSON), giving exactly what the C safe loader gives, which
reads anything outside that subset.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import yaml

from mofang_gitops.errors import Location

MAX_FILE_BYTES = 256 * 1024
MAX_NODES = 20_000
MAX_DEPTH = 64
"""Deepest nesting a spec may have (real specs need fewer than ten levels)."""
MAX_NUMBER_DIGITS = 64
"""Longest plain integer a spec may write; longer numbers are no bound a cluster has."""
_YAML11_BREAKS = re.compile("[\x85\u2028\u2029]")
_CONTROL_NAMES = {
    "\x00": "NULL",
    "\t": "CHARACTER TABULATION",
    "\n": "LINE FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE (NEL)",
}

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_STR_TAG = "tag:yaml.org,2002:str"
_COLLECTION_TAGS = {
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
    yaml.MappingNode: "tag:yaml.org,2002:map",
}


class _SpecLoader(_SafeLoader):  # type: ignore[misc]
    """The C safe loader composing nodes without running YAML 1.1 implicit resolution.

    ``_Builder`` resolves plain scalars itself (YAML 1.2 core schema) and looks at a node's tag
    only to refuse custom tags, merge keys and the ``=`` value key, so every other untagged
    scalar is simply ``str`` here: the same verdicts, without a regex round per scalar.
    """

    def resolve(self, kind: Any, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is yaml.ScalarNode:
            if implicit[0] and value == "<<":
                return _MERGE_TAG
            if implicit[0] and value == "=":
                return _VALUE_TAG
            return _STR_TAG
        return _COLLECTION_TAGS[kind]


_NON_STRING_STARTS = frozenset("0123456789+-.~nNtTfF")
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
    """One YAML document of a file: plain data, and where each value is when asked."""

    path: str
    index: int
    data: Any
    text: str = field(repr=False, compare=False)
    """The whole file (shared by its documents): positions are found again from it."""

    @cached_property
    def positions(self) -> Mapping[FieldPath, tuple[int, int]]:
        """The position of every value, composed again from ``text`` on first use.

        A position per value cost more than the value itself and is read only to report an
        error: the controller keeps every project's documents between passes, and kept their
        positions too (docs/decisions.md, "Controller memory"). ``text`` already passed every
        check of ``load_documents``, so composing it again gives the same nodes.
        """
        node = list(yaml.compose_all(self.text, Loader=_SpecLoader))[self.index]
        builder = _Builder(self.path, positions=True)
        builder.build(node, ())
        return builder.positions

    def without_data(self) -> Document:
        """This document without its parsed data: what a loaded spec keeps to locate errors.

        The spec's model holds the values; the plain mappings and lists of every file, kept
        beside it by the controller between passes, were about 10 MB at 1,000 projects.
        """
        return replace(self, data=None)

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
    _refuse_yaml11_breaks(path, text)
    try:
        nodes = list(yaml.compose_all(text, Loader=_SpecLoader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise YAMLFileError(loc, f"invalid YAML: {e.problem or e.context}") from e
    except yaml.reader.ReaderError as e:  # a character YAML refuses; libyaml counts bytes
        index = len(text.encode("utf-8")[: e.position].decode("utf-8", errors="ignore"))
        line, column = _position(text, index)
        raise YAMLFileError(
            Location(path, line, column),
            f"{describe_character(chr(e.character))} is not allowed",
            "remove it",
        ) from e
    except yaml.YAMLError as e:
        raise YAMLFileError(Location(path), f"invalid YAML: {e}") from e
    documents = []
    for index, node in enumerate(nodes):
        if node is None:
            continue
        data = _Builder(path).build(node, ())
        documents.append(Document(path, index, data, text))
    return documents


def describe_character(char: str) -> str:
    """``U+2028 LINE SEPARATOR``: the code point and the name people can look up."""
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(char, "")
    if not name:
        category = unicodedata.category(char)
        name = {"Cc": "control character", "Cs": "lone surrogate"}.get(category, "noncharacter")
    return f"U+{ord(char):04X} {name}"


def _position(text: str, index: int) -> tuple[int, int]:
    """1-based ``(line, column)`` of a character index, counting only line feeds as breaks."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _refuse_yaml11_breaks(path: str, text: str) -> None:
    """Refuse the characters libyaml reads as line breaks and editors do not (see above)."""
    found = _YAML11_BREAKS.search(text)
    if found is None:
        return
    line, column = _position(text, found.start())
    raise YAMLFileError(
        Location(path, line, column),
        f"{describe_character(found.group())} is not allowed",
        "YAML 1.1 readers take it for a line break; remove it (or write a real line break)",
    )


class _Builder:
    """Turns composed nodes into plain data, refusing what a spec has no business containing."""

    def __init__(self, path: str, *, positions: bool = False) -> None:
        self.path = path
        self.record = positions
        self.positions: dict[FieldPath, tuple[int, int]] = {}
        """Filled only when asked (``Document.positions``)."""
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
        if len(at) > MAX_DEPTH:  # also keeps this recursive walk far from Python's limit
            raise self.fail(node, f"values are nested more than {MAX_DEPTH} levels deep")
        if len(self.seen) > MAX_NODES:
            raise self.fail(node, f"document has more than {MAX_NODES} values", "split the file")
        if self.record:
            self.positions[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in _STANDARD_TAGS:
            raise self.fail(node, f"YAML tag {node.tag!r} is not allowed", "remove the tag")
        if isinstance(node, yaml.MappingNode):
            return self.build_mapping(node, at)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*at, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        try:
            return _resolve_scalar(node)
        except ValueError as e:
            raise self.fail(node, str(e), f"at most {MAX_NUMBER_DIGITS} digits") from e

    def build_mapping(self, node: yaml.MappingNode, at: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                raise self.fail(key_node, "YAML merge keys (<<) are not allowed", "write keys out")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "mapping keys must be plain strings")
            key = str(key_node.value)
            if key in result:
                first = lines[key]
                raise self.fail(
                    key_node,
                    f"duplicate key {key!r} (first defined on line {first})",
                    "keep one of them",
                )
            lines[key] = value_node.start_mark.line + 1
            result[key] = self.build(value_node, (*at, key))
        return result


def _resolve_scalar(node: yaml.ScalarNode) -> Any:
    """Resolve a scalar by the YAML 1.2 core schema; quoted scalars are always strings."""
    value: str = node.value
    if node.style:  # quoted or block scalar; plain scalars have no style
        return value
    if value and value[0] not in _NON_STRING_STARTS:
        return value  # no null, bool, number or .inf starts with this character
    if _NULL.match(value):
        return None
    if _BOOL_TRUE.match(value):
        return True
    if _BOOL_FALSE.match(value):
        return False
    if _INT.match(value) or _INT_OCT.match(value) or _INT_HEX.match(value):
        if len(value) > MAX_NUMBER_DIGITS:
            raise ValueError(f"a number of {len(value)} digits is not allowed")
        if _INT.match(value):
            return int(value)
        return int(value[2:], 8 if value[1] == "o" else 16)
    if _FLOAT.match(value) and any(c.isdigit() for c in value):
        return float(value)
    if value in (".inf", "+.inf", ".Inf", "+.Inf"):
        return float("inf")
    return value


def load_manifests(text: str) -> Iterator[Any]:
    """Read our own rendered manifests (trusted output of the templates)."""
    return (doc for doc in yaml.load_all(text, Loader=_SafeLoader) if doc is not None)


def load_manifest(text: str) -> Any:
    """Read one rendered manifest: the fast reader, or libyaml for anything it does not know.

    Gives exactly what ``yaml.load(text, Loader=CSafeLoader)`` gives (errors included).
    """
    try:
        return fast_load_manifest(text)
    except _UnsupportedError:
        return yaml.load(text, Loader=_SafeLoader)


# --- fast reader of rendered manifests -----------------------------------------------------------
#
# Every value the templates write goes through ``|q`` (JSON), the structure is block YAML, and a
# few flow mappings written in the templates have bare keys (``{name: "x", value: "y"}``). For
# that subset a line-based reader that hands values to the C JSON decoder is about five times
# faster than libyaml. It accepts only what resolves identically under YAML 1.1 (PyYAML's safe
# loader) and JSON; anything else (floats, plain words such as ``yes``, block scalars, anchors,
# comments, tabs, line-break characters YAML knows and JSON does not) raises ``_UnsupportedError``
# and the whole document goes to libyaml instead.

_YAML11_WORDS = frozenset(
    "yes Yes YES no No NO true True TRUE false False FALSE on On ON off Off OFF".split()
    + ["null", "Null", "NULL"]
)
"""Plain words PyYAML resolves to booleans or null: never read as keys by the fast reader."""
_FAST_UNSAFE = re.compile(
    "[^\\n\\x20-\\x7e\\xa0-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd\\U00010000-\\U0010ffff]"
)
"""Characters YAML reads differently from JSON (line breaks such as U+2028) or refuses."""
_JSON_ONLY_ESCAPES = re.compile(r"\\u[dD][89a-fA-F]")
"""Escapes JSON reads and libyaml refuses: surrogate halves (``\\ud83d``)."""
_LINE = re.compile(r"^( *)([^ \n].*)$", re.MULTILINE)
_PLAIN_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_./-]*):(?: +|$)")
_FLOW_BARE_KEY = re.compile(r'"(?:[^"\\]|\\.)*"|([{,] *)([A-Za-z_][A-Za-z0-9_./-]*)(?=: )')
_BAD_START = frozenset("#%&*!|>?'@`")
_BAD_ITEM_START = frozenset("-?:&*!|>%@`#'")
_CACHE_LIMIT = 1 << 16
_MISSING: Any = object()
_NOT_A_KEY = ("", "")


class _UnsupportedError(Exception):
    """The text leaves the subset the fast reader knows; libyaml reads it instead."""


def _refuse(_: str) -> Any:
    raise _UnsupportedError("float or constant")


_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder(  # type: ignore[attr-defined]
    parse_float=_refuse, parse_constant=_refuse
).scan_once
"""The C scanner of a decoder that refuses floats (YAML 1.1 reads ``1e5`` as a string)."""
_scan_string: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_keys: dict[str, tuple[str, str]] = {}
"""Line content -> ``(key, rest)`` (``_NOT_A_KEY`` when the line is not a key): lines repeat."""
_scalars: dict[str, Any] = {}
"""Value text -> value, for immutable values only (collections are parsed each time)."""


def _json_value(text: str) -> Any:
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        raise ValueError(text) from None
    if end != len(text):
        raise ValueError(text)
    return value


def _quote_bare_key(match: re.Match[str]) -> str:
    key = match.group(2)
    if key is None:
        return match.group(0)
    if key in _YAML11_WORDS:
        raise _UnsupportedError(key)
    return f'{match.group(1)}"{key}"'


def _scalar(text: str) -> Any:
    """A value written on the key's line: JSON, or a flow collection with bare keys."""
    value = _scalars.get(text, _MISSING)
    if value is not _MISSING:
        return value
    try:
        value = _json_value(text)
    except ValueError:
        if text[0] not in "{[":
            raise _UnsupportedError(text) from None
        try:
            value = _json_value(_FLOW_BARE_KEY.sub(_quote_bare_key, text))
        except ValueError:
            raise _UnsupportedError(text) from None
    if not isinstance(value, dict | list):
        if len(_scalars) >= _CACHE_LIMIT:
            _scalars.clear()
        _scalars[text] = value
    return value


def _split_key(content: str) -> tuple[str, str]:
    """``(key, rest of the line)`` when ``content`` starts a mapping entry, else ``_NOT_A_KEY``."""
    split = _keys.get(content)
    if split is None:
        split = _parse_key(content)
        if len(_keys) >= _CACHE_LIMIT:
            _keys.clear()
        _keys[content] = split
    return split


def _parse_key(content: str) -> tuple[str, str]:
    if content[0] == '"':
        try:
            key, end = _scan_string(content, 1)
        except ValueError:
            raise _UnsupportedError(content) from None
        if content[end : end + 1] != ":":
            return _NOT_A_KEY
        rest = content[end + 1 :]
        if rest and rest[0] != " ":
            raise _UnsupportedError(content)
        return key, rest.strip(" ")
    match = _PLAIN_KEY.match(content)
    if match is None:
        return _NOT_A_KEY
    key = match.group(1)
    if key in _YAML11_WORDS:
        raise _UnsupportedError(key)
    return key, content[match.end() :].rstrip(" ")


def _mapping(lines: list[tuple[str, str]], i: int, indent: int) -> tuple[dict[str, Any], int]:
    count = len(lines)
    result: dict[str, Any] = {}
    while i < count:
        spaces, content = lines[i]
        at = len(spaces)
        if at != indent:
            if at < indent:
                break
            raise _UnsupportedError("unexpected indentation")
        if content[0] == "-":
            break
        split = _split_key(content)
        if split is _NOT_A_KEY:
            raise _UnsupportedError(content)
        key, rest = split
        i += 1
        if rest:
            result[key] = _scalar(rest)
            continue
        nxt = len(lines[i][0]) if i < count else -1
        if nxt > indent:
            if lines[i][1][:2] == "- ":
                result[key], i = _sequence(lines, i, nxt)
            else:
                result[key], i = _mapping(lines, i, nxt)
        elif nxt == indent and lines[i][1][:2] == "- ":
            result[key], i = _sequence(lines, i, indent)
        else:
            result[key] = None
    return result, i


def _sequence(lines: list[tuple[str, str]], i: int, indent: int) -> tuple[list[Any], int]:
    count = len(lines)
    items: list[Any] = []
    while i < count:
        spaces, content = lines[i]
        at = len(spaces)
        if at != indent:
            if at < indent:
                break
            raise _UnsupportedError("unexpected indentation")
        if content[:2] != "- ":
            break
        item = content[2:].lstrip(" ")
        if not item or item[0] in _BAD_ITEM_START:
            raise _UnsupportedError(content)
        if item[0] not in "{[" and _split_key(item) is not _NOT_A_KEY:
            column = at + len(content) - len(item)
            lines[i] = (" " * column, item)
            value, i = _mapping(lines, i, column)
        else:
            value, i = _scalar(item), i + 1
        items.append(value)
    return items, i


def fast_load_manifest(text: str) -> Any:
    """Read one rendered manifest without libyaml; ``_UnsupportedError`` outside the subset."""
    if text.isascii():
        if not text.replace("\n", " ").isprintable():
            raise _UnsupportedError("control characters")
    elif _FAST_UNSAFE.search(text):
        raise _UnsupportedError("characters YAML reads differently")
    if "\\" in text and _JSON_ONLY_ESCAPES.search(text):
        raise _UnsupportedError("escapes YAML reads differently")
    lines: list[tuple[str, str]] = _LINE.findall(text)
    for _, content in lines:
        if content[0] in _BAD_START or content[:3] in ("---", "..."):
            raise _UnsupportedError(content)
    if not lines or lines[0][0] or lines[0][1][0] == "-":
        raise _UnsupportedError("not a block mapping")
    value, end = _mapping(lines, 0, 0)
    if end != len(lines):
        raise _UnsupportedError("content after the mapping")
    return value


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
