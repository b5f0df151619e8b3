"""Spec files compose without YAML 1.1 implicit resolution and load exactly as with it.

``load_documents`` skips PyYAML's per-scalar resolver regexes (its own builder resolves scalars
by the YAML 1.2 core schema). These tests pin that every verdict is the one the full resolver
gave: the same data and positions, and the same refusals (merge keys, ``=``, custom tags).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mofang_gitops import yamlio

REPO_ROOT = Path(__file__).resolve().parents[2]
_FULL: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _with_full_resolver(path: str, content: bytes) -> list[yamlio.Document] | str:
    """What ``load_documents`` gave when nodes were composed with the full YAML 1.1 resolver."""
    text = content.decode("utf-8").removeprefix("\ufeff")
    try:
        nodes = list(yaml.compose_all(text, Loader=_FULL))
        documents = []
        for index, node in enumerate(nodes):
            if node is None:
                continue
            builder = yamlio._Builder(path, positions=True)
            document = yamlio.Document(path, index, builder.build(node, ()), text)
            document.__dict__["positions"] = builder.positions  # as composed here
            documents.append(document)
    except yamlio.YAMLFileError as e:
        return f"{e.location}: {e.message} ({e.hint})"
    except yaml.YAMLError as e:
        return f"YAMLError {e}"
    return documents


def _now(path: str, content: bytes) -> list[yamlio.Document] | str:
    try:
        return yamlio.load_documents(path, content)
    except yamlio.YAMLFileError as e:
        if e.message.startswith("invalid YAML"):
            return "YAMLError"
        return f"{e.location}: {e.message} ({e.hint})"


def _same(path: str, content: bytes) -> None:
    expected, got = _with_full_resolver(path, content), _now(path, content)
    if isinstance(expected, str) and expected.startswith("YAMLError"):
        assert got == "YAMLError"
        return
    assert type(got) is type(expected)
    if isinstance(expected, str):
        assert got == expected
        return
    assert isinstance(got, list)
    assert [(d.index, d.data, dict(d.positions)) for d in got] == [
        (d.index, d.data, dict(d.positions)) for d in expected
    ]
    for a, b in zip(got, expected, strict=True):
        assert repr(a.data) == repr(b.data)  # types too: True is not 1, 1.0 is not 1


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: yes\nc: no\nd: on\ne: ~\nf: null\ng: 1.5\nh: 010\ni: 0x1F\nj: 0o17\nk: .inf\n",
        "t: 2026-11-28\nu: 12:30:00\nv: 1_000\nw: 1e5\nx: '1'\ny: \"true\"\nz: \n",
        "base: &b {x: 1}\nother: *b\n",  # alias: refused
        "base: {x: 1}\nmerged:\n  <<: {y: 2}\n",  # merge key: refused
        "'<<': 1\n",  # quoted: an ordinary key
        "a: =\n",  # the YAML 1.1 value key
        "a: '='\n",
        "= : 1\n",
        "a: !custom x\n",
        "a: !!python/object:os.system x\n",
        "a: !!str 1\nb: !!int '2'\nc: !!int 3\nd: !!float 4\n",
        "a: !!binary aGk=\n",
        "a: [1, two, {three: 3}]\nb:\n  - x\n  - - y\n",
        "a: 1\na: 2\n",  # duplicate key: refused
        "? [complex]\n: key\n",
        "a: |\n  block\nb: >\n  folded\n",
        "---\na: 1\n---\nb: 2\n...\n",
        "- not\n- a mapping\n",
        "",
        "a: [unclosed\n",
        "a: 'unterminated\n",
        "\ta: 1\n",
    ],
)
def test_same_verdicts_as_the_full_resolver(text: str) -> None:
    _same("projects/p/notebooks/x.yaml", text.encode())


def test_every_example_spec_loads_identically() -> None:
    files = [REPO_ROOT / "platform.yaml", *sorted((REPO_ROOT / "environments").glob("*.yaml"))]
    files += sorted((REPO_ROOT / "projects").rglob("*.yaml"))
    files += sorted((REPO_ROOT / "tests" / "testdata").rglob("*.yaml"))
    assert len(files) > 50
    for path in files:
        _same(str(path.relative_to(REPO_ROOT)), path.read_bytes())


def _core_schema(value: str) -> Any:
    """The YAML 1.2 core schema by regexes alone (what the builder's shortcut must agree with)."""
    for pattern, result in (
        (yamlio._NULL, None),
        (yamlio._BOOL_TRUE, True),
        (yamlio._BOOL_FALSE, False),
    ):
        if pattern.match(value):
            return result
    if yamlio._INT.match(value):
        return int(value)
    if yamlio._INT_OCT.match(value):
        return int(value[2:], 8)
    if yamlio._INT_HEX.match(value):
        return int(value[2:], 16)
    if yamlio._FLOAT.match(value) and any(c.isdigit() for c in value):
        return float(value)
    if value in (".inf", "+.inf", ".Inf", "+.Inf"):
        return float("inf")
    return value


def test_plain_scalar_shortcut_agrees_with_the_core_schema() -> None:
    words = ["", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE"]
    words += ["yes", "no", "on", "off", "y", "n", "nan", ".nan", ".inf", "+.inf", ".Inf", "-.inf"]
    words += ["0", "7", "-3", "+4", "010", "0o17", "0x1F", "1.5", "-.5", "1e5", "1_000", "team-1"]
    words += [chr(c) for c in range(0x21, 0x7F)] + [chr(c) + "x1" for c in range(0x21, 0x7F)]
    for value in words:
        node = yaml.ScalarNode("tag:yaml.org,2002:str", value, style=None)
        assert repr(yamlio._resolve_scalar(node)) == repr(_core_schema(value)), value
