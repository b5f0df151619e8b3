"""Prune: delete what we applied before and git no longer wants, and nothing else.

Candidates are ``inventory - desired``, never "everything with our label", and each must still
carry our managed-by label *and* its project's and environment's labels on the live object: a
person who removes the labels takes the object over, and prune leaves it alone. A Namespace is
deleted only if it carries the ``mofang.io/created-by`` marker the tool sets when it creates
one. Deletion is by UID, so an object re-created under the same name since the read is never
touched. Guards stop the mistakes that cost most, each overridable by an explicit option: an
empty render of a project that has an inventory (a broken template looks exactly like that), a
prune of more than half of a project, and deleting a Namespace or PersistentVolume (their data)
while the project still exists.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mofang_gitops.engine.changesets import Action, ChangeSetEntry
from mofang_gitops.engine.inventory import Inventory, InventoryEntry
from mofang_gitops.engine.livestate import LiveState
from mofang_gitops.engine.options import ApplyOptions
from mofang_gitops.engine.ownership import created_by_us
from mofang_gitops.engine.sorting import group_by_stage
from mofang_gitops.errors import ClusterError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import (
    ANNOTATION_CREATED_BY,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_PROJECT,
    MANAGER,
    ObjectRef,
    Target,
)

log = logging.getLogger(__name__)

PROTECTED_KINDS = frozenset({"Namespace", "PersistentVolume"})


@dataclass(frozen=True)
class Candidate:
    """A stale inventory entry and its live object."""

    target: Target
    entry: InventoryEntry
    live: dict[str, Any]


@dataclass(frozen=True)
class PrunePlan:
    """What prune will delete, what it refuses (with reasons), and what to forget."""

    delete: tuple[Candidate, ...] = ()
    skipped: tuple[ChangeSetEntry, ...] = ()
    forget: frozenset[InventoryEntry] = frozenset()
    """Stale entries no longer ours (gone, or labels removed): dropped from the inventory."""


def is_ours(obj: dict[str, Any], target: Target) -> bool:
    """Whether a live object still carries our managed-by, project and environment labels.

    An object labelled for another project or environment is never ours to delete.
    """
    labels = obj.get("metadata", {}).get("labels") or {}
    return (
        labels.get(LABEL_MANAGED_BY) == MANAGER
        and labels.get(LABEL_PROJECT) == target.project
        and labels.get(LABEL_ENVIRONMENT, target.environment) == target.environment
    )


def plan_prune(
    cluster: str,
    target: Target,
    inventory: Inventory,
    desired: frozenset[ObjectRef],
    live: LiveState,
    options: ApplyOptions,
    before: int | None = None,
) -> PrunePlan:
    """Select what to delete for one target, applying every guard.

    ``before`` is how many objects the project had before this run (the mass-prune guard's
    base: renaming every object must not pass as "half of old plus new"); by default the
    inventory's size.
    """
    stale = sorted(e for e in inventory.entries if e.ref not in desired)
    candidates: list[Candidate] = []
    skipped: list[ChangeSetEntry] = []
    forget: set[InventoryEntry] = set()
    for entry in stale:
        obj = live.get(entry.ref)
        if error := live.error(entry.ref):
            skipped.append(_skip(cluster, target, entry, f"cannot read live state: {error}"))
        elif obj is None or not is_ours(obj, target):
            forget.add(entry)
            reason = "no longer labelled as ours (or already gone); left alone"
            skipped.append(_skip(cluster, target, entry, reason))
        elif entry.ref.kind == "Namespace" and not created_by_us(obj):
            forget.add(entry)
            reason = f"not created by {MANAGER} (no {ANNOTATION_CREATED_BY} annotation); left alone"
            skipped.append(_skip(cluster, target, entry, reason))
        else:
            candidates.append(Candidate(target, entry, obj))
    total = len(inventory.entries) if before is None else before
    refusal = _refusal(len(candidates), total, bool(desired), target, options)
    if refusal:
        skipped.extend(_skip(cluster, target, c.entry, refusal) for c in candidates)
        return PrunePlan((), tuple(skipped), frozenset(forget))
    allowed = []
    for candidate in candidates:
        if candidate.entry.ref.kind in PROTECTED_KINDS and not (
            options.project_removed(target.project) and options.allow_namespace_deletion
        ):
            reason = (
                f"{candidate.entry.ref.kind} is deleted only when its project is removed "
                "and --allow-namespace-deletion is given"
            )
            skipped.append(_skip(cluster, target, candidate.entry, reason))
        else:
            allowed.append(candidate)
    return PrunePlan(tuple(allowed), tuple(skipped), frozenset(forget))


def _refusal(
    stale: int, total: int, has_desired: bool, target: Target, options: ApplyOptions
) -> str:
    if not stale or options.project_removed(target.project):
        return ""
    if not has_desired and not options.allow_empty_prune:
        return (
            f"prune refused: the render of project {target.project} is empty but its inventory "
            f"lists {total} objects; use --allow-empty-prune if that is intended"
        )
    if stale * 2 > total and not options.allow_mass_prune:
        return (
            f"prune refused: would delete {stale} of {total} objects of project "
            f"{target.project} (more than half); use --allow-mass-prune if that is intended"
        )
    return ""


def delete_stale(
    cluster: Cluster, candidates: Sequence[Candidate], options: ApplyOptions
) -> list[ChangeSetEntry]:
    """Delete candidates stage by stage in reverse apply order, concurrently within a stage."""
    entries: list[ChangeSetEntry] = []
    for _, group in group_by_stage(candidates, lambda c: c.entry.ref, reverse=True):
        workers = max(1, min(options.concurrency, len(group)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            entries.extend(pool.map(lambda c: _delete_one(cluster, c, options), group))
    return entries


def _delete_one(cluster: Cluster, candidate: Candidate, options: ApplyOptions) -> ChangeSetEntry:
    ref, api_version = candidate.entry.ref, candidate.entry.api_version
    uid = str(candidate.live.get("metadata", {}).get("uid", ""))
    try:
        cluster.delete(
            api_version, ref.kind, ref.namespace, ref.name, uid=uid, dry_run=options.dry_run
        )
    except ClusterError as err:
        return _entry(cluster.name, candidate.target, candidate.entry, Action.FAILED, str(err))
    if not options.dry_run:
        log.info("%s:%s: deleted (pruned)", cluster.name, ref)
    reason = "removed from git"
    return _entry(cluster.name, candidate.target, candidate.entry, Action.DELETED, reason)


def _skip(cluster: str, target: Target, entry: InventoryEntry, reason: str) -> ChangeSetEntry:
    log.info("%s:%s: not pruned: %s", cluster, entry.ref, reason)
    return _entry(cluster, target, entry, Action.SKIPPED, reason)


def _entry(
    cluster: str, target: Target, entry: InventoryEntry, action: Action, reason: str
) -> ChangeSetEntry:
    return ChangeSetEntry(
        cluster=cluster,
        ref=entry.ref,
        action=action,
        reason=reason,
        api_version=entry.api_version,
        target=target,
    )
