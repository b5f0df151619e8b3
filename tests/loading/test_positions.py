"""Positions of spec values: found again from the file's text only when an error needs one.

The controller keeps every project's documents between passes; a position per value cost more
memory than the value (docs/decisions.md, "Controller memory"), so a document keeps its file's
text instead and composes it again the first time something is located.
"""

from __future__ import annotations

import pytest

from mofang_gitops.errors import Location, Problem
from mofang_gitops.sources.loading import build_model
from mofang_gitops.yamlio import YAMLFileError, load_documents


def test_positions_are_composed_again_only_when_a_value_is_located() -> None:
    first, second = load_documents("f.yaml", b"a: 1\nb:\n  - x\n  - {c: 2}\n---\nd: 3\n")
    assert "positions" not in vars(first) and "positions" not in vars(second)
    assert first.locate(["b", 1, "c"]) == Location("f.yaml", 4, 9)
    assert second.locate(["d"]) == Location("f.yaml", 6, 4)
    assert second.locate(["d", "missing"]) == Location("f.yaml", 6, 4)  # closest ancestor
    assert second.locate(["nope"]) == Location("f.yaml", 6, 1)
    assert "positions" in vars(first) and first.text is second.text


def test_a_duplicate_key_still_names_the_line_of_the_first() -> None:
    with pytest.raises(YAMLFileError) as raised:
        load_documents("g.yaml", b"a: 1\nb: 2\na: 3\n")
    assert str(raised.value.location) == "g.yaml:3:1"
    assert raised.value.message == "duplicate key 'a' (first defined on line 1)"


def test_a_loaded_spec_keeps_its_model_and_text_but_not_the_plain_data() -> None:
    """The model holds the values; the document only what locating an error needs."""
    (doc,) = load_documents(
        "projects/vision/project.yaml",
        b"apiVersion: mofang.io/v1alpha1\nkind: Project\nmetadata:\n  name: vision\nspec:\n"
        b"  owners: [alice]\n  environments: [prod]\n  resourceGroups: [cpu-general]\n",
    )
    problems: list[Problem] = []
    loaded = build_model(doc, "Project", problems)
    assert loaded is not None, problems
    assert loaded.doc.data is None and doc.data["kind"] == "Project"
    assert loaded.model.metadata.name == "vision"
    assert loaded.locate("metadata", "name") == Location("projects/vision/project.yaml", 4, 9)
