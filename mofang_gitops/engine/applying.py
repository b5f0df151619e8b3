"""Server-side apply of one stage of objects, concurrently, one change-set entry per object.

Objects whose owned fields already hold our values get no request at all, so a no-op run moves
no ``resourceVersion`` and costs nothing but the LISTs. The rest are applied with field manager
``mofang-gitops``, taking fields back from other managers (git wins) unless
``force_conflicts=False``, in which case the conflict is reported with the other manager's name.
A change to an immutable field is reported as ``replaced`` and done (delete, then create) only
with ``allow_replace``. Every failure becomes an entry; one never stops the others.

Nothing is adopted: an object to create is first checked to be really absent (``ownership``),
and a live object labelled for another project or environment is never written.

Writes go out in batches of ``WRITE_BATCH``; before each, ``ApplyOptions.may_write`` is asked
(the controller asks "do we still hold the lease?"), so a replica that lost the lease mid-stage
stops within one batch instead of finishing the stage, or the whole target, on its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

from mofang_gitops.engine.changesets import Action, ChangeSetEntry
from mofang_gitops.engine.diffing import changed_diff, created_diff, describe, dry_run_changes
from mofang_gitops.engine.normalizing import Verdict, compare_owned
from mofang_gitops.engine.options import ApplyOptions
from mofang_gitops.engine.ownership import (
    desired_body,
    find_existing,
    foreign_reason,
    owner_labels,
)
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
NOT_WRITTEN = "not written: this replica no longer holds the leader lease"
WRITE_BATCH = 64
"""Writes sent between two ``may_write`` checks."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Work:
    """One desired object with what the live read found for it.

    Slotted, like ``ChangeSetEntry`` and ``ObjectRef``: a run holds one per desired object, and
    an instance dict each was about 20 MB of a controller's full pass at 1,000 projects.
    """

    target: Target
    manifest: Manifest
    live: dict[str, Any] | None
    in_inventory: bool = False
    read_error: ClusterError | None = None
    fresh_namespace: bool = False
    """Its namespace was created by this run: nothing else can hold its name, no check needed."""
    blocked: str = ""
    """Why it must not be applied at all (its Namespace was refused), else ''."""
    settled: bool = False
    """``live`` is a stub: the live read found that our apply would change nothing."""


Diff = str | Callable[[], str]
"""A diff, or how to make it when someone reads it (see ``ChangeSetEntry.diff_source``)."""


@dataclass(frozen=True, slots=True)
class _Todo:
    """An object the local decision could not settle: it needs a request to the server."""

    work: Work
    verdict: Verdict | None
    """None for an object to create."""
    reason: str = ""
    diff: Diff = ""


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

    decided = _check_creations(cluster, [decide(w) for w in works], options)
    done = _execute_in_batches(
        cluster, [d for d in decided if isinstance(d, _Todo)], options, execute
    )
    results = iter(done)
    return [next(results) if isinstance(d, _Todo) else d for d in decided]


def _execute_in_batches(
    cluster: Cluster,
    todo: list[_Todo],
    options: ApplyOptions,
    execute: Callable[[_Todo], ChangeSetEntry],
) -> list[ChangeSetEntry]:
    """Send the writes ``WRITE_BATCH`` at a time, asking ``may_write`` before each batch."""
    done: list[ChangeSetEntry] = []
    workers = max(1, min(options.concurrency, len(todo)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start in range(0, len(todo), WRITE_BATCH):
            if not options.writes_allowed():
                left = todo[start:]
                log.warning("%s: %d write(s) left undone: %s", cluster.name, len(left), NOT_WRITTEN)
                done.extend(_entry(cluster, t.work, Action.FAILED, NOT_WRITTEN) for t in left)
                break
            batch = todo[start : start + WRITE_BATCH]
            if len(batch) <= 1 or workers <= 1:
                done.extend(execute(t) for t in batch)
            else:
                done.extend(pool.map(execute, batch))
    return done


def apply_one(cluster: Cluster, work: Work, options: ApplyOptions) -> ChangeSetEntry:
    """Decide locally, ask the server only when needed, and write only real changes."""
    return apply_stage(cluster, [work], options)[0]


def _check_creations(
    cluster: Cluster, decided: list[ChangeSetEntry | _Todo], options: ApplyOptions
) -> list[ChangeSetEntry | _Todo]:
    """Make sure every object to create is really absent, not just absent from our labelled read.

    An object found without our labels, or with another project's, fails instead of being
    adopted; one found with ours (created since the read) is decided again as a change.
    """
    creations = [
        d for d in decided
        if isinstance(d, _Todo) and d.verdict is None and not d.work.fresh_namespace
    ]  # fmt: skip
    if not creations:
        return decided
    wanted = [(t.work.manifest.api_version, t.work.manifest.ref) for t in creations]
    existing = find_existing(cluster, wanted, options.concurrency)

    def settle(todo: _Todo) -> ChangeSetEntry | _Todo:
        found = existing.get(todo.work.manifest.ref)
        if found is None:
            return todo
        if isinstance(found, ClusterError):
            reason = f"cannot check that the name is free: {found}"
            return _entry(cluster, todo.work, Action.FAILED, reason)
        work = todo.work
        if reason := foreign_reason(found, *owner_labels(work.manifest, work.target)):
            log.warning("%s: %s", _id(cluster, work), reason)
            return _entry(cluster, work, Action.FAILED, reason)
        return _decide(cluster, replace(work, live=found), options)

    checking = {id(t) for t in creations}
    settled: list[ChangeSetEntry | _Todo] = []
    for d in decided:
        if isinstance(d, _Todo) and id(d) in checking:
            settled.append(_guarded(cluster, d.work, partial(settle, d)))
        else:
            settled.append(d)
    return settled


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
    if work.blocked:
        return _entry(cluster, work, Action.FAILED, work.blocked)
    if work.read_error is not None:
        return _entry(cluster, work, Action.FAILED, f"cannot read live state: {work.read_error}")
    if manifest.is_run and (live is not None or work.in_inventory):
        return _entry(cluster, work, Action.SKIPPED, RUN_SKIPPED)
    if work.settled:  # the read made the checks below on this very live object
        return _entry(cluster, work, Action.UNCHANGED)
    if live is None:  # the body is parsed only when it is sent (a cold pass creates all)
        created = partial(_created_diff, manifest, _id(cluster, work))  # made only if read
        if options.dry_run and work.fresh_namespace:
            return _entry(cluster, work, Action.CREATED, diff=created)
        return _Todo(work, None, "", created)  # _check_creations first makes sure the name is free
    body = desired_body(manifest, live)
    if reason := foreign_reason(live, *owner_labels(manifest, work.target)):
        return _entry(cluster, work, Action.FAILED, reason)
    comparison = compare_owned(body, live)
    if comparison.verdict is Verdict.SAME:
        return _entry(cluster, work, Action.UNCHANGED)
    changed = partial(changed_diff, body, live, _id(cluster, work))
    return _Todo(work, comparison.verdict, describe(comparison), changed)


def unchanged_on_read(target: Target, manifest: Manifest, live: dict[str, Any]) -> bool:
    """Whether ``_decide`` will find ``live`` unchanged without a request (``Work.settled``).

    Asked as each page of the live read arrives, so that such an object (every object of a
    no-op pass) is kept only as a stub: the same ownership check and comparison ``_decide``
    makes, on the same live object; ``_decide`` still fails it first if it is blocked. Its
    parsed body is not read again in this run, so the caller may drop it.
    """
    if manifest.is_run or foreign_reason(live, *owner_labels(manifest, target)):
        return False
    return compare_owned(desired_body(manifest, live), live).verdict is Verdict.SAME


def _execute(cluster: Cluster, todo: _Todo, options: ApplyOptions) -> ChangeSetEntry:
    """Create, or confirm a change with a dry run where in doubt (or planning), then write."""
    work, reason, diff = todo.work, todo.reason, todo.diff
    if todo.verdict is None:
        if options.dry_run:
            return _entry(cluster, work, Action.CREATED, diff=diff)
        return _write(cluster, work, options, Action.CREATED, "", diff)
    if options.dry_run or todo.verdict is Verdict.DOUBT:
        body, live = desired_body(work.manifest, work.live), work.live or {}
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
    cluster: Cluster, work: Work, options: ApplyOptions, action: Action, reason: str, diff: Diff
) -> ChangeSetEntry:
    try:
        body = desired_body(work.manifest, work.live)
        result = cluster.server_side_apply(body, force=options.force_conflicts)
    except ClusterError as err:
        return _failure(cluster, work, options, err, reason, diff, dry_run=False)
    work.manifest.forget_body()  # written: nothing reads it again in this run
    before = (work.live or {}).get("metadata", {}).get("resourceVersion")
    if result.created:
        action = Action.CREATED
    elif before is not None and result.object["metadata"].get("resourceVersion") == before:
        log.debug("%s: apply changed nothing", _id(cluster, work))
        return _entry(cluster, work, Action.UNCHANGED)
    elif action is Action.CREATED:  # created by someone else between the check and the apply
        action, reason = Action.CONFIGURED, "appeared between the ownership check and the apply"
        log.warning("%s: %s", _id(cluster, work), reason)
    log.info("%s: %s", _id(cluster, work), action.value)
    return _entry(cluster, work, action, reason, diff)


def _failure(
    cluster: Cluster,
    work: Work,
    options: ApplyOptions,
    err: ClusterError,
    reason: str,
    diff: Diff,
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


def _replace(cluster: Cluster, work: Work, reason: str, diff: Diff) -> ChangeSetEntry:
    """Delete the live object (that incarnation only) and create it anew."""
    ref, api_version = work.manifest.ref, work.manifest.api_version
    uid = str((work.live or {}).get("metadata", {}).get("uid", ""))
    cluster.delete(api_version, ref.kind, ref.namespace, ref.name, uid=uid)
    wait_deleted(cluster, api_version, ref.kind, ref.namespace, ref.name, uid=uid)
    try:
        cluster.server_side_apply(desired_body(work.manifest, None), force=True)
    except ClusterError as err:
        return _entry(cluster, work, Action.FAILED, f"deleted to replace, re-create failed: {err}")
    log.info("%s: replaced", _id(cluster, work))
    return _entry(cluster, work, Action.REPLACED, f"immutable field changed: {reason}", diff)


def _created_diff(manifest: Manifest, object_id: str) -> str:
    """The diff of a creation, made from the manifest's text when read.

    A change set may outlive the run and must not keep every created object's parsed body (a
    cold pass creates them all).
    """
    return created_diff(desired_body(manifest, None), object_id)


def _id(cluster: Cluster, work: Work) -> str:
    ref = work.manifest.ref
    return object_id(cluster.name, ref.kind, ref.namespace, ref.name)


def _entry(
    cluster: Cluster, work: Work, action: Action, reason: str = "", diff: Diff = ""
) -> ChangeSetEntry:
    return ChangeSetEntry(
        cluster=cluster.name,
        ref=work.manifest.ref,
        action=action,
        reason=reason,
        diff_source=diff,
        api_version=work.manifest.api_version,
        target=work.target,
    )
