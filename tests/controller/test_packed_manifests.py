"""The render cache keeps manifest texts compressed: equal manifests, the same text back."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from mofang_gitops.manifests import Manifest, ObjectRef

REF = ObjectRef("apps", "StatefulSet", "vision", "nb")


def _manifest(text: str) -> Manifest:
    return Manifest(REF, "apps/v1", text, "Notebook.nb", "projects/vision/notebooks/nb.yaml")


@given(st.text())
def test_a_packed_manifest_reads_back_its_text_and_equals_the_plain_one(text: str) -> None:
    plain = _manifest(text)
    packed = plain.packed()
    assert "text" not in vars(packed)  # kept compressed, not as text
    assert packed.text == text
    assert packed == plain and hash(packed) == hash(plain)
    assert dataclasses.replace(packed, source="x").text == text


def test_a_packed_manifest_parses_its_body_and_is_smaller() -> None:
    text = (
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: nb\n  namespace: vision\n"
        "  labels:\n    app.kubernetes.io/managed-by: mofang-gitops\n"
        "    mofang.io/project: vision\nspec:\n  replicas: 1\n"
    )
    plain = _manifest(text)
    plain.body  # noqa: B018 (parsed and cached on the plain one)
    packed = plain.packed()
    assert "body" not in vars(packed)
    assert packed.body == plain.body
    assert len(vars(packed)["_packed"]) < len(text.encode()) / 2
    assert not hasattr(_manifest("x"), "_packed")
