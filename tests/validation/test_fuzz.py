"""Hostile specs: validation refuses them with located problems, or they render readable YAML.

Hypothesis rewrites one value (or adds one key) of one spec file of tests/testdata/minimal with
something hostile: any Unicode (control characters, line and paragraph separators,
noncharacters, lone surrogates), huge or non-finite numbers, quantity and duration look-alikes,
deep or long structures, odd keys. Whatever it writes, load + validate + render must either
report problems that each carry ``path:line:col``, or produce manifests the manifest reader
accepts, and never raise. The seed is fixed (``derandomize``) and the examples bounded, so CI
runs the same cases in a few seconds.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo
from mofang_gitops.yamlio import load_documents, load_manifest, load_manifests
from tests.scenarios import BASE

SPEC_FILES = (  # the files with free text (commands) twice
    "projects/vision/trainings/resnet50.yaml",
    "projects/vision/trainings/resnet50.yaml",
    "projects/vision/pipelines/daily-features.yaml",
    "projects/vision/pipelines/daily-features.yaml",
    "projects/vision/notebooks/bob-dev.yaml",
    "projects/vision/project.yaml",
    "projects/vision/quota.yaml",
    "platform.yaml",
)
SPECIALS = "\x00\t\n\r\x1b\x7f\x80\x85\x9f\xa0\u2028\u2029\ufeff\ufffe\uffff\ud800\U0010ffff\"'\\"

characters = st.one_of(st.characters(), st.characters(codec="ascii"), st.sampled_from(SPECIALS))
hostile_text = st.lists(characters, max_size=24).map("".join)
insertions = st.lists(characters, min_size=1, max_size=6).map("".join)
quantity_like = st.from_regex(
    r"[0-9]{1,12}(\.[0-9]{1,3})?([eE][+-]?[0-9]{1,8}|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?",
    fullmatch=True,
)
duration_like = st.from_regex(r"([0-9]{1,15}(\.[0-9]{1,3})?(ms|s|m|h|d)){1,3}", fullmatch=True)
numbers = st.one_of(
    st.integers(-(10**20), 10**20),
    st.sampled_from([0, -1, 2**31, 2**63, 3_000_000, 10**60, 10**70]),
    st.floats(),
)
leaves = st.one_of(hostile_text, quantity_like, duration_like, numbers, st.booleans(), st.none())
structures = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(hostile_text, inner, max_size=3),
    ),
    max_leaves=12,
)
long_lists = st.integers(0, 400).map(lambda n: [f"x{i}" for i in range(n)])
deep = st.integers(1, 120).map(lambda n: _nest(n))
values = st.one_of(leaves, leaves, structures, long_lists, deep)


def _nest(depth: int) -> Any:
    value: Any = "bottom"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


def _paths(data: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield at
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*at, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*at, index))


def _containers(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    return [p for p in _paths(data, at) if isinstance(_get(data, p), dict)]


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def _original(path: str) -> Any:
    (document,) = load_documents(path, (BASE / path).read_bytes())
    return document.data


@st.composite
def hostile_specs(draw: st.DrawFn) -> tuple[str, str]:
    """One spec file of the minimal repository with one hostile change, as YAML text.

    Most changes go where damage is likely: hostile characters inserted into an existing
    string (so the rest of the value still fits its pattern), or a leaf replaced by a hostile
    scalar; the rest replace any value with any structure, or add an odd key.
    """
    path = draw(st.sampled_from(SPEC_FILES))
    data = _original(path)
    leaves_here = [p for p in _paths(data) if p and not isinstance(_get(data, p), dict | list)]
    how = draw(st.sampled_from(["insert", "insert", "leaf", "leaf", "any", "key"]))
    if how == "insert":
        where = draw(st.sampled_from([p for p in leaves_here if isinstance(_get(data, p), str)]))
        original = _get(data, where)
        at = draw(st.integers(0, len(original)))
        _set(data, where, original[:at] + draw(insertions) + original[at:])
    elif how == "leaf":
        _set(data, draw(st.sampled_from(leaves_here)), draw(leaves))
    elif how == "any":
        _set(data, draw(st.sampled_from([p for p in _paths(data) if p])), draw(values))
    else:
        _get(data, draw(st.sampled_from(_containers(data))))[draw(hostile_text)] = draw(values)
    return path, _dump(data)


def _set(data: Any, path: tuple[Any, ...], value: Any) -> None:
    _get(data, path[:-1])[path[-1]] = value


def _dump(data: Any) -> str:
    """YAML text by PyYAML's Python emitter, which escapes what the C emitter cannot encode."""
    return str(yaml.dump(data, Dumper=yaml.SafeDumper, allow_unicode=True, sort_keys=False))


def _check(path: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        shutil.copytree(BASE, root, ignore=shutil.ignore_patterns("README"))
        (root / path).write_bytes(text.encode("utf-8", "surrogatepass"))
        validation = validate_repo(load_repo(DirectoryTree(root)))
    for problem in validation.errors:
        assert problem.location.path, problem
        assert problem.location.line >= 1, f"unlocated: {problem}"
    for rendered in render_repo(validation):
        documents = [manifest.text for manifest in rendered.manifests]
        for document in documents:
            assert isinstance(load_manifest(document), dict)
        assert len(list(load_manifests("---\n".join(documents)))) == len(documents)


@settings(
    derandomize=True,
    max_examples=300,
    deadline=timedelta(seconds=5),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hostile_specs())
def test_hostile_specs_are_refused_with_positions_or_render_readable_yaml(
    spec: tuple[str, str],
) -> None:
    _check(*spec)
