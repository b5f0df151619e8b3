"""Server-side apply of one stage of objects, concurrently, one change-set entry per object.

Objects whose owned fields already hold our values get no request at all, so a no-op run moves
no ``resourceVersion`` and costs nothing but the LISTs. The rest are applied with field manager
``mofang-gitops``, taking fields back from other managers (git wins) unless
``force_conflicts=False``, in which case the conflict is reported with the other manager's name.
A change to an immutable field is reported as ``replaced`` and done (delete, then create) only
with ``allow_replace``. Every failure becomes an entry; one never stops the others.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from mofang_gitops.engine.changesets import Action, ChangeSetEntry
from mofang_gitops.engine.diffing import changed_diff, created_diff, describe, dry_run_changes
from mofang_gitops.engine.normalizing import Verdict, compare_owned
from mofang_gitops.engine.options import ApplyOptions
from mofang_gitops.engine.waiting import wait_deleted
from mofang_gitops.errors import ClusterError, ConflictError, InvalidObjectError
from mofang_gitops.k8s.cluster import Cluster, object_id
from mofang_gitops.manifests import Manifest, Target

log = logging.getLogger(__name__)

_IMMUTABLE = re.compile(
    r"field is immutable|is immutable|may not change once set|Forbidden: updates to"
)
REPLACE_HINT = "immutable field changed; use --allow-replace"
RUN_SKIPPED = "one-shot run already submitted; a new run needs a spec change"
T = TypeVar("T")


@dataclass(frozen=True)
class Work:
    """One desired object with what the live read found for it."""

    target: Target
    manifest: Manifest
    live: dict[str, Any] | None
    in_inventory: bool = False
    read_error: ClusterError | None = None


@dataclass(frozen=True)
class _Todo:
    """An object the local decision could not settle: it needs a request to the server."""

    work: Work
    verdict: Verdict | None
    """None for an object to create."""
    reason: str = ""
    diff: str = ""


def apply_stage(
    cluster: Cluster, works: Sequence[Work], options: ApplyOptions
) -> list[ChangeSetEntry]:
    """Apply (or dry-run) one stage; entries come back in the order of ``works``.

    Decisions are made locally first (CPU only, no thread hand-off); only objects that need a
    request go to the thread pool, so a no-op stage of thousands of objects stays cheap.
    """

    def decide(work: Work) -> ChangeSetEntry | _Todo:
        return _guarded(cluster, work, partial(_decide, cluster, work, options))

    def execute(todo: _Todo) -> ChangeSetEntry:
        return _guarded(cluster, todo.work, partial(_execute, cluster, todo, options))

    decided = [decide(w) for w in works]
    todo = [d for d in decided if isinstance(d, _Todo)]
    if len(todo) <= 1 or options.concurrency <= 1:
        done = [execute(t) for t in todo]
    else:
        with ThreadPoolExecutor(max_workers=min(options.concurrency, len(todo))) as pool:
            done = list(pool.map(execute, todo))
    results = iter(done)
    return [next(results) if isinstance(d, _Todo) else d for d in decided]


def apply_one(cluster: Cluster, work: Work, options: ApplyOptions) -> ChangeSetEntry:
    """Decide locally, ask the server only when needed, and write only real changes."""
    return apply_stage(cluster, [work], options)[0]


def _guarded(cluster: Cluster, work: Work, step: Callable[[], T]) -> T | ChangeSetEntry:
    """Run one step for one object; any failure becomes that object's entry."""
    try:
        return step()
    except ClusterError as err:
        return _entry(cluster, work, Action.FAILED, str(err))
    except Exception as err:  # a bug must not hide the other objects' outcomes
        log.exception("%s: unexpected error", _id(cluster, work))
        return _entry(cluster, work, Action.FAILED, f"internal error: {err!r}")


def _decide(cluster: Cluster, work: Work, options: ApplyOptions) -> ChangeSetEntry | _Todo:
    """Settle locally what needs no request: failures, runs, planned creations, no-ops."""
    manifest, live = work.manifest, work.live
    if work.read_error is not None:
        return _entry(cluster, work, Action.FAILED, f"cannot read live state: {work.read_error}")
    if manifest.is_run and (live is not None or work.in_inventory):
        return _entry(cluster, work, Action.SKIPPED, RUN_SKIPPED)
    body = manifest.body
    if live is None:
        diff = created_diff(body, _id(cluster, work))
        if options.dry_run:
            return _entry(cluster, work, Action.CREATED, diff=diff)
        return _Todo(work, None, "", diff)
    comparison = compare_owned(body, live)
    if comparison.verdict is Verdict.SAME:
        return _entry(cluster, work, Action.UNCHANGED)
    diff = changed_diff(body, live, _id(cluster, work))
    return _Todo(work, comparison.verdict, describe(comparison), diff)


def _execute(cluster: Cluster, todo: _Todo, options: ApplyOptions) -> ChangeSetEntry:
    """Create, or confirm a change with a dry run where in doubt (or planning), then write."""
    work, reason, diff = todo.work, todo.reason, todo.diff
    if todo.verdict is None:
        return _write(cluster, work, options, Action.CREATED, "", diff)
    if options.dry_run or todo.verdict is Verdict.DOUBT:
        body, live = work.manifest.body, work.live or {}
        try:
            dry = cluster.server_side_apply(body, force=options.force_conflicts, dry_run=True)
        except ClusterError as err:
            return _failure(cluster, work, options, err, reason, diff, dry_run=True)
        if not dry_run_changes(dry.object, live):
            return _entry(cluster, work, Action.UNCHANGED)
        if options.dry_run:
            return _entry(cluster, work, Action.CONFIGURED, reason, diff)
    return _write(cluster, work, options, Action.CONFIGURED, reason, diff)


def _write(
    cluster: Cluster, work: Work, options: ApplyOptions, action: Action, reason: str, diff: str
) -> ChangeSetEntry:
    try:
        result = cluster.server_side_apply(work.manifest.body, force=options.force_conflicts)
    except ClusterError as err:
        return _failure(cluster, work, options, err, reason, diff, dry_run=False)
    before = (work.live or {}).get("metadata", {}).get("resourceVersion")
    if result.created:
        action = Action.CREATED
    elif before is not None and result.object["metadata"].get("resourceVersion") == before:
        log.debug("%s: apply changed nothing", _id(cluster, work))
        return _entry(cluster, work, Action.UNCHANGED)
    elif action is Action.CREATED:  # existed without our labels: the apply adopted it
        action, reason = Action.CONFIGURED, "adopted an existing object"
    log.info("%s: %s", _id(cluster, work), action.value)
    return _entry(cluster, work, action, reason, diff)


def _failure(
    cluster: Cluster,
    work: Work,
    options: ApplyOptions,
    err: ClusterError,
    reason: str,
    diff: str,
    *,
    dry_run: bool,
) -> ChangeSetEntry:
    message = str(err).removeprefix(f"{err.subject}: ")
    if isinstance(err, ConflictError):
        return _entry(cluster, work, Action.FAILED, f"conflict: {message}", diff)
    if isinstance(err, InvalidObjectError) and _IMMUTABLE.search(message):
        if not options.allow_replace:
            return _entry(cluster, work, Action.FAILED, f"{REPLACE_HINT} ({message})", diff)
        if dry_run:
            return _entry(
                cluster, work, Action.REPLACED, f"immutable field changed: {reason}", diff
            )
        return _replace(cluster, work, reason, diff)
    log.warning("%s: %s", _id(cluster, work), message)
    return _entry(cluster, work, Action.FAILED, message, diff)


def _replace(cluster: Cluster, work: Work, reason: str, diff: str) -> ChangeSetEntry:
    """Delete the live object (that incarnation only) and create it anew."""
    ref, api_version = work.manifest.ref, work.manifest.api_version
    uid = str((work.live or {}).get("metadata", {}).get("uid", ""))
    cluster.delete(api_version, ref.kind, ref.namespace, ref.name, uid=uid)
    wait_deleted(cluster, api_version, ref.kind, ref.namespace, ref.name, uid=uid)
    try:
        cluster.server_side_apply(work.manifest.body, force=True)
    except ClusterError as err:
        return _entry(cluster, work, Action.FAILED, f"deleted to replace, re-create failed: {err}")
    log.info("%s: replaced", _id(cluster, work))
    return _entry(cluster, work, Action.REPLACED, f"immutable field changed: {reason}", diff)


def _id(cluster: Cluster, work: Work) -> str:
    ref = work.manifest.ref
    return object_id(cluster.name, ref.kind, ref.namespace, ref.name)


def _entry(
    cluster: Cluster, work: Work, action: Action, reason: str = "", diff: str = ""
) -> ChangeSetEntry:
    return ChangeSetEntry(
        cluster=cluster.name,
        ref=work.manifest.ref,
        action=action,
        reason=reason,
        diff=diff,
        api_version=work.manifest.api_version,
        target=work.target,
    )
