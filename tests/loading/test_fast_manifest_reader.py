"""The fast reader of rendered manifests gives exactly what libyaml's safe loader gives.

``Manifest.body`` uses :func:`mofang_gitops.yamlio.load_manifest`, which reads our own template
output with a line-based reader and hands anything outside that subset to libyaml. Both paths
must give identical dicts for every object the renderer produces: the example platform, the
benchmark's generated platform, and adversarial values pushed through the templates' ``|q``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from benchmarks.generate import generate
from mofang_gitops import yamlio
from mofang_gitops.rendering import render_repo
from mofang_gitops.rendering.templating import quote
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo

REPO_ROOT = Path(__file__).resolve().parents[2]
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _libyaml(text: str) -> Any:
    return yaml.load(text, Loader=_LOADER)


def _rendered_texts(root: Path) -> list[str]:
    validation = validate_repo(load_repo(DirectoryTree(root)))
    return [m.text for t in render_repo(validation) for m in t.manifests]


def _fast_or_none(text: str) -> Any:
    try:
        return yamlio.fast_load_manifest(text)
    except yamlio._UnsupportedError:
        return None


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (``1 == True`` is not good enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def test_example_platform_reads_identically() -> None:
    texts = _rendered_texts(REPO_ROOT)
    assert len(texts) > 100
    fast = 0
    for text in texts:
        expected = _libyaml(text)
        assert _same(yamlio.load_manifest(text), expected), text
        direct = _fast_or_none(text)
        if direct is not None:
            fast += 1
            assert _same(direct, expected), text
    assert fast >= 0.95 * len(texts)  # the fast path is the rule, libyaml the exception


def test_generated_platform_reads_identically_without_fallback(tmp_path: Path) -> None:
    texts = _rendered_texts(generate(tmp_path / "platform", 8))  # every framework twice
    assert len(texts) >= 8 * 18
    for text in texts:
        assert _same(yamlio.fast_load_manifest(text), _libyaml(text)), text


TRICKY_STRINGS = [
    "",
    " ",
    "plain",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "False",
    "null",
    "~",
    "y",
    "n",
    "1",
    "-1",
    "010",
    "0x1F",
    "0o17",
    "1e5",
    "1.5",
    "1_000",
    ".inf",
    "-.inf",
    ".nan",
    "NaN",
    "Infinity",
    "2026-11-28",
    "12:30:00",
    "a: b",
    "a:b",
    "- x",
    "? x",
    "# x",
    "x # y",
    "&a",
    "*a",
    "!tag",
    "|",
    ">",
    "%",
    "@",
    "`",
    "'",
    '"',
    "\\",
    "\\/",
    "{a: 1}",
    "[1, 2]",
    "{",
    "}",
    "[",
    "]",
    ",",
    " lead",
    "trail ",
    "tab\there",
    "new\nline",
    "cr\rx",
    "nul\x00",
    "del\x7f",
    "nel\x85",
    "ls\u2028x",
    "ps\u2029x",
    "bom\ufeff",
    "é",
    "中文",
    "😀",
    "\ud800",
    "\ufffe",
    "---",
    "...",
    "<<",
    "=",
    "{{ x }}",
    "$(x)",
    "http://a/b?c=d#e",
]
TRICKY_VALUES: list[Any] = [
    *TRICKY_STRINGS,
    0,
    7,
    -3,
    10**20,
    True,
    False,
    None,
    1.5,
    1e20,
    float("inf"),
    float("nan"),
    [],
    {},
    ["a", 1],
    {"b": 1, "a": [True, None]},
    [{"k": "v"}],
    {"nested": {"x": "1e5"}},
]


def _equivalent(text: str) -> None:
    """Both loaders give the same value, or both refuse the text."""
    try:
        expected = _libyaml(text)
    except Exception as error:  # noqa: BLE001 - YAMLError, or UnicodeEncodeError on surrogates
        with pytest.raises(type(error)):
            yamlio.load_manifest(text)
        return
    got = yamlio.load_manifest(text)
    if isinstance(expected, float) and expected != expected:  # NaN
        assert isinstance(got, float) and got != got
        return
    assert _same(got, expected) or _has_nan(expected), (text, got, expected)


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return value != value
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return False


@pytest.mark.parametrize("value", TRICKY_VALUES, ids=repr)
def test_quoted_values_read_identically(value: Any) -> None:
    q = quote(value)
    for text in (
        f"metadata:\n  name: {q}\n",
        f"metadata:\n  labels:\n    {quote(str(value))}: {q}\n",
        f"spec:\n  items:\n    - {q}\n    - {{name: {q}}}\n",
        f'spec:\n  env:\n    - {{name: "X", value: {q}}}\n  list: [{q}, {q}]\n',
        f"spec:\n  containers:\n  - name: {q}\n    args: [{q}]\n",
    ):
        _equivalent(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb:\n  c: 2\n",
        "a:\n- 1\n- x: 2\n  y: 3\nb: 4\n",  # compact sequence at the key's indentation
        "a:\n  - x: 1\n    y:\n      - 2\n  - 3\n",
        "a:\n  -   x: 1\n      y: 2\n",  # extra spaces after the dash
        "a:\nb: 1\n",  # empty value
        "a: 1\na: 2\n",  # duplicate keys: the last wins in both
        'a:   "x"   \n',
        "{on: 1}: 2\n",
        "a: {on: 1}\n",
        'a: {yes: "x", b: "y"}\n',
        'a: [{uri: {exact: "/x"}}]\n',
        "a: {k: v}\n",  # bare value: libyaml's job
        "a: 1.0\n",
        "a: 1e3\n",
        "a: yes\n",
        "a: |\n  text\n",
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "# comment\na: 1\n",
        "a: 1 # comment\n",
        "---\na: 1\n",
        "a: 1\n---\nb: 2\n",
        "  a: 1\n",
        "- a\n- b\n",
        "just a string\n",
        "a:\n  b: 1\n c: 2\n",  # bad indentation
        "a:\n  b: 1\n    c: 2\n",
        "a:\n  - 1\n  b: 2\n",
        'a: "unterminated\n',
        'a: "x" "y"\n',
        "a:\tb\n",
        '"a":1\n',
        '"a" : 1\n',
        "a : 1\n",
        "a.b/c-d_e: 1\n",
        "1: a\n",
        "-a: 1\n",
        "a: [1, 2,]\n",
        'a: {"x": 1,}\n',
        'a: "\\ud83d\\ude00"\n',
        'a: "\\/"\n',
        'a: "\\u0000"\n',
        "",
        "\n\n",
    ],
)
def test_structures_read_identically(text: str) -> None:
    _equivalent(text)


def _random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth <= 0 or roll < 0.5:
        return rng.choice(TRICKY_VALUES[: len(TRICKY_STRINGS) + 7])
    if roll < 0.75:
        return {rng.choice(TRICKY_STRINGS + ["k1", "k2", "name"]): _random_value(rng, depth - 1)
                for _ in range(rng.randint(0, 4))}  # fmt: skip
    return [_random_value(rng, depth - 1) for _ in range(rng.randint(0, 4))]


def _block(value: dict[str, Any], indent: int, rng: random.Random) -> list[str]:
    """Block YAML the way the templates write it: keys bare or quoted, leaves through |q."""
    pad = " " * indent
    lines = []
    for key, item in value.items():
        bare = key.isidentifier() and key not in ("yes", "no", "on", "off", "true", "false")
        head = f"{pad}{key if bare and rng.random() < 0.5 else quote(key)}:"
        if isinstance(item, dict) and item and rng.random() < 0.7:
            lines += [head, *_block(item, indent + 2, rng)]
        elif isinstance(item, list) and item and rng.random() < 0.7:
            lines.append(head)
            for element in item:
                if isinstance(element, dict) and element and rng.random() < 0.7:
                    first, *rest = _block(element, indent + 4, rng)
                    lines += [f"{pad}  - {first.lstrip()}", *rest]
                else:
                    lines.append(f"{pad}  - {quote(element)}")
        else:
            lines.append(f"{head} {quote(item)}")
    return lines


def test_random_documents_read_identically() -> None:
    rng = random.Random(20261128)
    for _ in range(400):
        document = {f"k{i}": _random_value(rng, 3) for i in range(rng.randint(1, 5))}
        _equivalent("\n".join(_block(document, 0, rng)) + "\n")


def test_fast_path_is_taken_for_plain_output() -> None:
    text = 'apiVersion: "v1"\nkind: "ConfigMap"\ndata:\n  "a": "1"\n  b: [1, {x: "y"}]\n'
    assert yamlio.fast_load_manifest(text) == {
        "apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "1", "b": [1, {"x": "y"}]},
    }  # fmt: skip
    assert json.loads(json.dumps(yamlio.load_manifest(text))) == _libyaml(text)
