"""Object-level comparison of two renders: created, changed and deleted objects per target.

Objects are matched by identity (``ObjectRef``) within a target and compared by their rendered
text, which is deterministic, so an unchanged object costs one string comparison and only changed
objects pay for ``difflib``. Nothing is parsed, except Secrets, whose values are masked before
any diff is made (the masked text is all that leaves this module).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from mofang_gitops.manifests import Manifest, ObjectRef, RenderedTarget, Target
from mofang_gitops.yamlio import dump, load_manifest

CREATED, CHANGED, DELETED = "created", "changed", "deleted"
ACTIONS = (CREATED, CHANGED, DELETED)
MASK = "***"
CHANGED_MASK = f"{MASK} (changed)"
_SECRET_FIELDS = ("data", "stringData")


@dataclass(frozen=True)
class ObjectChange:
    """One object that the change creates, changes or deletes in one target."""

    action: str
    ref: ObjectRef
    source: str
    """``<Kind> <name>`` of the spec it is rendered from (empty when unknown)."""
    source_path: str
    diff: tuple[str, ...]
    """Unified diff lines of the YAML (Secret values masked), hunk headers included."""

    @property
    def label(self) -> str:
        """``Kind/ns/name (Notebook bob-dev)``."""
        return f"{self.ref} ({self.source})" if self.source else str(self.ref)


@dataclass(frozen=True)
class TargetChanges:
    """The changed objects of one (environment, cluster, project)."""

    target: Target
    namespace: str
    changes: tuple[ObjectChange, ...]

    def count(self, action: str) -> int:
        """How many objects have this action."""
        return sum(1 for c in self.changes if c.action == action)

    def counts_text(self) -> str:
        """``3 created, 1 changed`` (actions with zero objects left out)."""
        parts = [f"{self.count(a)} {a}" for a in ACTIONS if self.count(a)]
        return ", ".join(parts) or "no changes"


def diff_targets(
    before: Iterable[RenderedTarget], after: Iterable[RenderedTarget], context: int = 3
) -> list[TargetChanges]:
    """Compare two renders target by target; targets without a change are left out."""
    old = {t.target: t for t in before}
    new = {t.target: t for t in after}
    found = []
    for target in sorted(old.keys() | new.keys()):
        a, b = old.get(target), new.get(target)
        changes = diff_manifests(a.manifests if a else (), b.manifests if b else (), context)
        shown = b or a
        if changes and shown is not None:
            found.append(TargetChanges(target, shown.namespace, tuple(changes)))
    return found


def diff_manifests(
    before: Sequence[Manifest], after: Sequence[Manifest], context: int = 3
) -> list[ObjectChange]:
    """Created and changed objects in ``after``'s order, then deleted ones in ``before``'s."""
    old = {m.ref: m for m in before}
    new_refs = {m.ref for m in after}
    changes = []
    for manifest in after:
        previous = old.get(manifest.ref)
        if previous is None:
            changes.append(_change(CREATED, None, manifest, context))
        elif previous.text != manifest.text:
            changes.append(_change(CHANGED, previous, manifest, context))
    for manifest in before:
        if manifest.ref not in new_refs:
            changes.append(_change(DELETED, manifest, None, context))
    return changes


def _change(action: str, a: Manifest | None, b: Manifest | None, context: int) -> ObjectChange:
    shown = b or a
    assert shown is not None
    text_a, text_b = masked_texts(a, b)
    lines = difflib.unified_diff(text_a.splitlines(), text_b.splitlines(), lineterm="", n=context)
    body = tuple(line for line in lines if not line.startswith(("--- ", "+++ ")))
    return ObjectChange(action, shown.ref, source_label(shown.source), shown.source_path, body)


def source_label(source: str) -> str:
    """``Notebook.bob-dev`` as people read it: ``Notebook bob-dev``."""
    return source.replace(".", " ", 1)


def is_secret(manifest: Manifest) -> bool:
    """Whether the object holds secret values (a core ``Secret`` of any type)."""
    return manifest.ref.kind == "Secret" and manifest.ref.group == ""


def masked_texts(a: Manifest | None, b: Manifest | None) -> tuple[str, str]:
    """Both texts ready to show: Secret values replaced, changed ones marked as changed."""
    body_a = _secret_body(a)
    body_b = _secret_body(b)
    text_a = _show(a, body_a, None)
    text_b = _show(b, body_b, body_a if a is not None else None)
    return text_a, text_b


def _secret_body(manifest: Manifest | None) -> dict[str, Any] | None:
    if manifest is None or not is_secret(manifest):
        return None
    try:
        parsed = load_manifest(manifest.text)
    except Exception:  # noqa: BLE001 - unreadable secret text is hidden whole, never shown
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _show(manifest: Manifest | None, body: dict[str, Any] | None, other: Any) -> str:
    if manifest is None:
        return ""
    if body is None:
        return manifest.text
    if not body:
        return f"# {manifest.ref}: content hidden (Secret)\n"
    return dump(mask_secret(body, other))


def mask_secret(body: dict[str, Any], other: dict[str, Any] | None) -> dict[str, Any]:
    """Replace every value under ``data`` and ``stringData`` of a Secret body.

    Values that differ from ``other``'s under the same key read ``*** (changed)`` (added keys
    read ``***``: the diff line shows them as added), so a review still sees
    which keys a change touches without seeing any value, not even a hash of it.
    """
    masked = dict(body)
    for field_name in _SECRET_FIELDS:
        values = body.get(field_name)
        if values is None:
            continue
        theirs = other.get(field_name) if isinstance(other, dict) else None
        if not isinstance(values, dict):
            masked[field_name] = MASK if values == theirs or other is None else CHANGED_MASK
            continue
        theirs = theirs if isinstance(theirs, dict) else {}
        masked[field_name] = {
            key: CHANGED_MASK if key in theirs and theirs[key] != value else MASK
            for key, value in values.items()
        }
    return masked
