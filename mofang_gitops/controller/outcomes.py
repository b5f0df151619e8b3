"""What one apply did to each target: its entries split per target, its state and error text.

Pure over ``ChangeSet``s, so the reconcile loop only records what these decide.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mofang_gitops.controller.plans import PlannedTarget
from mofang_gitops.controller.statuses import SyncState
from mofang_gitops.engine import PROTECTED_KINDS, Action, ChangeSet, ChangeSetEntry, Inventory
from mofang_gitops.manifests import Target

log = logging.getLogger(__name__)

APPLIED = (Action.CREATED, Action.CONFIGURED, Action.REPLACED)
MAX_CHANGES = 50
"""Change-set entries kept per target for the pages (the counts cover the rest)."""


def by_target(changes: ChangeSet, targets: Sequence[Target]) -> dict[Target, ChangeSet]:
    """Split one run's entries per target (an inventory's own failure goes to its target)."""
    inventories = {Inventory(t.environment, t.project).name: t for t in targets}
    found: dict[Target, list[ChangeSetEntry]] = {t: [] for t in targets}
    for entry in changes:
        target = entry.target
        if target is None and entry.ref.kind == "ConfigMap":
            target = inventories.get(entry.ref.name)
            if target is not None and target.cluster != entry.cluster:
                target = Target(target.environment, entry.cluster, target.project)
        if target in found:
            found[target].append(entry)
    return {t: ChangeSet.of(entries) for t, entries in found.items()}


def outcome(planned: PlannedTarget, changes: ChangeSet) -> tuple[SyncState, str]:
    """State and error text of one applied target."""
    failed = changes.failed
    if failed:
        return SyncState.FAILED, "; ".join(f"{e.id}: {e.reason}" for e in failed[:3])
    if planned.error:  # the head did not render; its last good revision is what runs
        return SyncState.FAILED, f"{planned.error}; last good {planned.revision[:12]} applied"
    if planned.problems:
        return SyncState.INVALID, ""
    skipped = changes.with_action(Action.SKIPPED) if planned.removed else []
    kept = [e for e in skipped if e.ref.kind in PROTECTED_KINDS]
    if kept:
        names = ", ".join(str(e.ref) for e in kept[:5]) + (", ..." if len(kept) > 5 else "")
        error = (
            f"project deleted from git; kept {len(kept)} object(s): {names}. Namespaces and "
            "PersistentVolumes go only with --prune-removed-projects"
        )
        log.warning("%s: %s", planned.rendered.target, error)
        return SyncState.OUT_OF_SYNC, error
    return SyncState.SYNCED, ""


def change_entries(changes: ChangeSet) -> tuple[tuple[str, str, str], ...]:
    """What changed, as ``(action, object, reason)`` for the pages (at most ``MAX_CHANGES``)."""
    return tuple(
        (str(e.action), str(e.ref), e.reason)
        for e in changes.entries
        if e.action != Action.UNCHANGED
    )[:MAX_CHANGES]
