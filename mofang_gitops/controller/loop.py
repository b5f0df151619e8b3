"""The reconcile loop: git push to running platform, continuously.

One pass fetches the branch, validates the head, renders every valid project at the head and every
invalid one at its last good revision (``controller_plans``), then applies each target on its own:
a failure in one target is recorded and the next one still runs. A remote that is down keeps the
last fetched head; retriable cluster errors shorten the wait to an exponential backoff. Passes run
on every interval (which also heals drift) and whenever ``trigger()`` is called (webhooks).

Passes are incremental. A project is rendered again only when its directory's git tree, or the
shared inputs (platform, environments, components, people), changed since its last render
(``RenderCache``). A pass started by ``trigger()`` applies only the targets whose desired state
changed (or whose last apply failed); a full pass (every interval, and the first) applies every
target in one engine run per cluster, desired objects from the cache, so drift is still found
with one LIST per kind, not one per kind and target.

A project this controller applied and git then deleted is pruned through the inventories left in
each cluster (its Namespace and PersistentVolumes only with ``prune_removed_projects``). The last
good revision per project and the projects being removed are kept in a ``StateStore`` (a
ConfigMap in the cluster), loaded whenever this replica starts leading, so neither a restart nor
a hand-over forgets them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, runtime_checkable

from mofang_gitops.controller.facts import node_selectors, platform_facts, project_facts
from mofang_gitops.controller.metrics import ControllerMetrics
from mofang_gitops.controller.plans import (
    RENDER_BUDGET,
    ControllerState,
    Plan,
    PlannedTarget,
    RenderCache,
    StoredTarget,
    gone_projects,
    namespace_of,
    plan_targets,
    quota_baseline,
    removed_targets,
)
from mofang_gitops.controller.statuses import (
    StatusBoard,
    SyncState,
    TargetStatus,
)
from mofang_gitops.engine import (
    PROTECTED_KINDS,
    Action,
    ApplyOptions,
    ChangeSet,
    ChangeSetEntry,
    Inventory,
)
from mofang_gitops.errors import ClusterError, GitError
from mofang_gitops.health import TargetHealth
from mofang_gitops.manifests import RenderedTarget, Target
from mofang_gitops.sources.git import (
    CommitInfo,
    GitTree,
    RevisionDigest,
    cache_path,
    fetch_branch,
    is_ancestor,
    mask_url,
    pin_revision,
    read_commit,
    revision_digest,
)
from mofang_gitops.sources.loading import Repo, internal_stage, load_repo
from mofang_gitops.validation.repository import Validation, validate_repo

log = logging.getLogger(__name__)

APPLIED = (Action.CREATED, Action.CONFIGURED, Action.REPLACED)
MAX_CHANGES = 50
"""Change-set entries kept per target for the pages (the counts cover the rest)."""


HealthReader = Callable[[Sequence[RenderedTarget]], Sequence[TargetHealth]]
"""Reads the live health of rendered targets (``health.read_clusters`` on the applier's
clusters), a port so the loop is tested without a cluster."""


class Applier(Protocol):
    """Applies rendered targets to their clusters (the engine's ResourceManager, adapted)."""

    def apply(self, targets: Sequence[RenderedTarget], options: ApplyOptions) -> ChangeSet:
        """Apply (and prune) ``targets``; per-object failures are entries, not exceptions."""
        ...


@runtime_checkable
class InventoryReader(Protocol):
    """Reads the inventories a cluster holds (an ``Applier`` that can is asked for removals)."""

    def inventories(self, cluster: str, kube_context: str = "") -> list[Inventory]:
        """Every inventory in ``cluster``; raises ``ClusterError`` when it cannot be read."""
        ...

    def forget_inventory(self, cluster: str, inventory: Inventory, kube_context: str = "") -> None:
        """Delete an inventory that lists nothing any more."""
        ...


@runtime_checkable
class PassAware(Protocol):
    """An applier or state store whose API clients keep a retry budget per pass."""

    def start_pass(self) -> None:
        """Reset what is counted per pass."""
        ...


class StateStore(Protocol):
    """Where the controller's state outlives the process."""

    def load(self) -> ControllerState:
        """The stored state (empty when none); raises ``ClusterError`` when unreadable."""
        ...

    def save(self, state: ControllerState) -> None:
        """Store ``state``; raises ``ClusterError`` when the write fails."""
        ...


@dataclass(frozen=True)
class ControllerOptions:
    """What to watch and how often."""

    repo_url: str
    branch: str
    cache_dir: Path
    interval: float = 60.0
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    standby_poll: float = 2.0
    """How often a replica without the lease checks whether it has it now."""
    prune_removed_projects: bool = False
    """Delete the Namespace and PersistentVolumes of projects deleted from git, too."""
    render_budget: float = RENDER_BUDGET
    """Seconds one project may take to render; past it the project is Failed, the pass goes on."""


@dataclass
class _Memory:
    """What survives between passes (``good`` also in the state store, if there is one)."""

    head: str = ""
    good: dict[str, str] = field(default_factory=dict)
    removing: frozenset[str] = frozenset()
    restored: bool = False
    """Whether the state was loaded from the store since this replica last started leading."""
    saved: ControllerState | None = None
    applied: dict[Target, tuple[str, ...]] = field(default_factory=dict)
    """Per target, what was last applied without failures (``PlannedTarget.desired``): drift =
    changes to a target whose desired state did not change; an incremental pass skips it."""
    digests: dict[str, RevisionDigest | None] = field(default_factory=dict)
    """Tree hashes per revision (None: unreadable, nothing of it is cached)."""
    last_full: float = -1.0
    """``time.monotonic()`` when the last full pass started (-1: none yet)."""
    validations: dict[str, Validation] = field(default_factory=dict)
    head_validation: tuple[tuple[str, tuple[tuple[str, str], ...]], Validation] | None = None
    """The head's validation and the (head, last good revisions) it was made against."""
    failures: int = 0
    commits: dict[str, CommitInfo] = field(default_factory=dict)
    """Subject, author and time of the revisions shown (a commit never changes)."""


class Controller:
    """Reconciles the watched branch into the clusters; thread-safe ``trigger`` and ``stop``."""

    def __init__(
        self,
        options: ControllerOptions,
        applier: Applier,
        *,
        may_apply: Callable[[], bool] = lambda: True,
        on_result: Callable[[TargetStatus], None] | None = None,
        state: StateStore | None = None,
        read_health: HealthReader | None = None,
        on_health: Callable[[Sequence[TargetHealth]], None] | None = None,
    ) -> None:
        self.options = options
        self.applier = applier
        self.state = state
        self.may_apply = may_apply
        self.on_result = on_result
        self.read_health = read_health
        """Reads the health of the applied targets after each pass (None: health not shown)."""
        self.on_health = on_health
        """Told every health read (Events on transitions to Degraded)."""
        self.board = StatusBoard()
        self.metrics = ControllerMetrics()
        self.ready = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._memory = _Memory()
        self._renders = RenderCache(self._render_key)
        self._pass_lock = threading.Lock()
        self.namespaces: dict[Target, str] = {}
        """Namespace of every planned target (where its Events go)."""
        self.resource_groups: Mapping[str, Mapping[str, str]] = {}
        """Node selector per resource group at the head (a health reader names pods' groups)."""
        self.board.set_fact("repoUrl", mask_url(options.repo_url))
        self.board.set_fact("branch", options.branch)

    def trigger(self) -> None:
        """Start a pass as soon as the current one ends (webhooks call this)."""
        self._wake.set()

    def stop(self) -> None:
        """Make :meth:`run` return after the current pass."""
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        """Reconcile until :meth:`stop`: on every interval, on triggers, sooner after failures.

        A pass a trigger started is incremental unless a full one is due (one per interval).
        """
        full = True
        while not self._stopping.is_set():
            self.reconcile_once(full=full)
            wait = self.options.interval
            if self.board.fact("leader") is False:
                wait = min(wait, self.options.standby_poll)
            elif self._memory.failures:
                backoff = self.options.backoff_base * 2 ** (self._memory.failures - 1)
                wait = min(wait, backoff, self.options.backoff_max)
            triggered = self._wake.wait(wait) and not self._stopping.is_set()
            self._wake.clear()
            since = time.monotonic() - self._memory.last_full
            full = not triggered or self._memory.last_full < 0 or since >= self.options.interval

    def reconcile_once(self, *, full: bool = True) -> bool:
        """One pass; True when every target ended Synced or Invalid-at-last-good.

        ``full`` compares every target with its cluster (drift); otherwise only the targets
        whose desired state changed since their last successful apply are applied.
        """
        with self._pass_lock, self.metrics.reconcile_duration.time():
            if not self.may_apply():
                self.board.set_fact("leader", False)
                self._memory.restored = False  # the leader moves the state on meanwhile
                self._memory.applied.clear()  # and the clusters: compare every target again
                # A standby is ready: readiness gates rollouts, and a new replica that waited
                # for the lease to be ready would stall every rolling update behind the leader.
                self.ready.set()
                return False
            self.board.set_fact("leader", True)
            for part in (self.applier, self.state):
                if isinstance(part, PassAware):
                    part.start_pass()  # a retry storm last pass must not starve this one
            try:
                ok = self._pass(full)
            except Exception as e:  # nothing in one revision's data may end the process
                log.exception("pass at %s failed: %s", self._memory.head[:12] or "-", e)
                self.metrics.errors.labels("pass").inc()
                self.board.set_fact("passError", f"{type(e).__name__}: {e}"[:2000])
                ok = False
            else:
                self.board.set_fact("passError", "")
            self._memory.failures = 0 if ok else self._memory.failures + 1
            if ok:
                self.ready.set()
            return ok

    def _pass(self, full: bool) -> bool:
        """Fetch, plan and apply; False when something is to be retried."""
        started = time.monotonic()
        head = self._fetch()
        if not head or not self._restore():
            return False
        if full:
            self._memory.last_full = started
        renders = self._renders.renders
        plan = self._plan(head)
        rendered = self._renders.renders - renders
        self.metrics.projects_rendered.inc(rendered)
        ok, planned = self._apply_plan(plan, full)
        self.metrics.targets_planned.inc(planned)
        self.board.set_fact(
            "lastPass",
            {
                "full": full,
                "projectsRendered": rendered,
                "targetsPlanned": planned,
                "targets": len(plan.targets),
                "seconds": round(time.monotonic() - started, 3),
            },
        )
        self._record_commits(head, plan)
        self._observe_health(plan)
        return ok

    def _render_key(self, sha: str, project: str) -> str | None:
        """The ``RenderCache`` key of ``project`` at ``sha`` (None when its trees are unknown)."""
        digests = self._memory.digests
        if sha not in digests:
            if len(digests) > 64:
                digests.clear()
            try:
                digests[sha] = revision_digest(self._cache, sha)
            except GitError as e:
                log.warning("cannot read the trees of %s, rendering all: %s", sha[:12], e)
                digests[sha] = None
        digest = digests[sha]
        return None if digest is None else digest.key(project)

    def _record_commits(self, head: str, plan: Plan) -> None:
        """Subject, author and time of the head and of every applied revision, for the pages."""
        wanted = {head, *(p.revision for p in plan.targets), *(f.revision for f in plan.failed)}
        known = self._memory.commits
        for sha in sorted(s for s in wanted if s and s not in known):
            try:
                known[sha] = read_commit(self._cache, sha)
            except GitError as e:  # information only: the revision itself is applied
                log.warning("cannot read commit %s: %s", sha[:12], e)
        for sha in set(known) - wanted:
            del known[sha]
        self.board.set_fact("commits", {sha: c.as_dict() for sha, c in sorted(known.items())})

    def _observe_health(self, plan: Plan) -> None:
        """Read health once for every applied target (best effort: status is already known)."""
        if self.read_health is None or not self.may_apply():
            return
        try:
            health = self.read_health([p.rendered for p in plan.targets if not p.removed])
        except Exception as e:  # health is information; it must never fail a pass
            log.warning("health read failed: %s", e)
            self.metrics.errors.labels("health").inc()
            return
        for target in health:
            self.board.put_health(target)
        self.metrics.set_health(health)
        if self.on_health is not None:
            try:
                self.on_health(health)
            except Exception as e:  # events are best effort
                log.warning("cannot record health events: %s", e)

    def _fetch(self) -> str:
        """Fetch the branch; on failure keep the last head (the last good state stays applied)."""
        options, memory = self.options, self._memory
        try:
            sha = fetch_branch(options.repo_url, options.branch, options.cache_dir)
        except GitError as e:
            log.warning(
                "%s %s: fetch failed, keeping %s: %s",
                mask_url(options.repo_url),
                options.branch,
                memory.head[:12] or "nothing",
                e,
            )
            self.board.set_fact("fetchError", str(e))
            self._memory.failures += 0 if memory.head else 1
            return memory.head
        self.board.set_fact("fetchError", "")
        if memory.head and sha != memory.head and not is_ancestor(self._cache, memory.head, sha):
            log.warning(
                "%s: force-push detected: %s is not an ancestor of %s",
                options.branch,
                memory.head[:12],
                sha[:12],
            )
        memory.head = sha
        self.board.set_fact("revision", sha)
        return sha

    @property
    def _cache(self) -> Path:
        return cache_path(self.options.repo_url, self.options.cache_dir)

    def _load(self, sha: str) -> Repo:
        """Load revision ``sha`` of the cache: its blobs in one ``git cat-file --batch`` stream.

        Only the platform layout is read, as the CLI reads a checkout (a ``RevisionTree`` read
        every blob of the commit one by one: seconds for ten projects, minutes for a thousand).
        """
        with GitTree(self._cache, sha) as tree:
            return load_repo(tree)

    def _validation(self, sha: str) -> Validation:
        """Load and validate an older revision (cached: a commit never changes).

        The capacity rule is left out: such a revision is only rendered for projects that
        passed it when it was the head (see ``_head_validation``).
        """
        cached = self._memory.validations.get(sha)
        if cached is None:
            cached = validate_repo(self._load(sha), capacity=False)
            if len(self._memory.validations) > 16:
                self._memory.validations.clear()
            self._memory.validations[sha] = cached
        return cached

    def _restore(self) -> bool:
        """Load the state once per leadership; False (retry later) when it cannot be read."""
        memory = self._memory
        if memory.restored or self.state is None:
            return True
        try:
            stored = self.state.load()
        except ClusterError as e:
            log.warning("cannot read the controller state, retrying: %s", e)
            self.board.set_fact("stateError", str(e))
            memory.failures += 1
            return False
        memory.good = {**stored.good, **memory.good}
        memory.removing |= stored.removing
        memory.saved, memory.restored = stored, True
        self.board.set_fact("stateError", "")
        log.info("restored the last good revision of %d project(s)", len(stored.good))
        return True

    def _save(self) -> None:
        """Store the state when it changed (best effort: retried on the next pass)."""
        memory = self._memory
        state = ControllerState(dict(memory.good), memory.removing)
        if self.state is None or memory.saved == state:
            return
        try:
            self.state.save(state)
        except ClusterError as e:
            log.warning("cannot store the controller state, retrying next pass: %s", e)
            return
        memory.saved = state

    def _head_validation(self, sha: str) -> Validation:
        """Validate the head against the quota in force (each project's last good revision)."""
        good = self._memory.good
        key = (sha, tuple(sorted(good.items())))
        cached = self._memory.head_validation
        if cached is None or cached[0] != key:
            baseline = quota_baseline(good, self._validation)
            validation = validate_repo(self._load(sha), baseline)
            cached = self._memory.head_validation = (key, validation)
        return cached[1]

    def _plan(self, head: str) -> Plan:
        validation = self._head_validation(head)
        plan = plan_targets(
            validation,
            head,
            self._memory.good,
            self._validation,
            render_budget=self.options.render_budget,
            cache=self._renders,
        )
        self._renders.keep(set(validation.repo.projects) | set(plan.good_revisions))
        for project, problems in plan.stranded.items():
            log.warning(
                "project %s: invalid at %s with no good revision: %s",
                project,
                head[:12],
                "; ".join(problems),
            )
        # Invalid projects with nothing applied have no target yet: list them on /status.
        self.board.set_fact("invalidProjects", {p: list(e) for p, e in plan.stranded.items()})
        self.board.set_fact("projects", project_facts(validation))
        self.board.set_fact("platform", platform_facts(validation))
        if validation.repo.platform is not None:
            self.resource_groups = node_selectors(validation)
        for problem in validation.errors:
            stage = internal_stage(problem)
            if stage is not None:
                self.metrics.errors.labels(stage).inc()
        broken = {f.target.project for f in plan.failed}
        broken |= {p.rendered.target.project for p in plan.targets if p.error}
        self.metrics.errors.labels("render").inc(len(broken))
        removed = self._removed(validation, head)
        return Plan(plan.targets + removed, plan.good_revisions, plan.stranded, plan.failed)

    def _removed(self, head: Validation, sha: str) -> tuple[PlannedTarget, ...]:
        """Targets of known projects deleted from git that still have objects in a cluster."""
        memory = self._memory
        gone = gone_projects(head, ControllerState(memory.good, memory.removing))
        if gone is None:
            return ()  # a broken head decides nothing; keep what is being removed
        stored, complete = self._stored_targets(head, gone) if gone else ([], True)
        found = {s.target.project for s in stored}
        memory.removing = frozenset(found if complete else found | gone)
        for s in stored:
            log.warning("%s: project deleted from git, pruning its objects", s.target)
        return removed_targets(sha, stored)

    def _stored_targets(
        self, head: Validation, gone: frozenset[str]
    ) -> tuple[list[StoredTarget], bool]:
        """Non-empty inventories of ``gone`` projects per cluster; False if a cluster failed."""
        reader, platform = self.applier, head.repo.platform
        if not isinstance(reader, InventoryReader) or platform is None:
            return [], False
        stored, complete = [], True
        for cluster in platform.model.spec.clusters:
            try:
                found = reader.inventories(cluster.name, cluster.kube_context)
            except ClusterError as e:
                log.warning("%s: cannot read inventories: %s", cluster.name, e)
                complete = False
                continue
            for inventory in (i for i in found if i.project in gone):
                if inventory.entries:
                    target = Target(inventory.environment, cluster.name, inventory.project)
                    ns = namespace_of(inventory)
                    stored.append(StoredTarget(target, ns, cluster.kube_context))
                else:
                    self._forget(reader, cluster.name, inventory, cluster.kube_context)
        return stored, complete

    def _forget(
        self, reader: InventoryReader, cluster: str, inventory: Inventory, ctx: str
    ) -> None:
        try:
            reader.forget_inventory(cluster, inventory, ctx)
        except ClusterError as e:
            log.warning("%s: cannot delete empty inventory %s: %s", cluster, inventory.name, e)

    def _apply_plan(self, plan: Plan, full: bool) -> tuple[bool, int]:
        """Apply what is due; (False when something is to be retried, targets planned)."""
        ok = True  # a render that failed is not retried sooner: the same data fails the same way
        self.board.forget_except(
            {p.rendered.target for p in plan.targets} | {f.target for f in plan.failed}
        )
        for failed in plan.failed:
            if failed.namespace:
                self.namespaces[failed.target] = failed.namespace
            self._record(
                TargetStatus(failed.target, SyncState.FAILED, failed.revision, failed.error)
            )
        due: list[PlannedTarget] = []
        for planned in plan.targets:
            if planned.rendered.namespace:
                self.namespaces[planned.rendered.target] = planned.rendered.namespace
            if full or not self._unchanged(planned):
                due.append(planned)
        if due and not self.may_apply():
            log.warning("lost leadership, not applying %d target(s)", len(due))
            return False, 0
        together = [p for p in due if not p.removed]
        if len(together) > 1:
            ok = self._apply_together(together)
        else:
            ok = all([self._apply_target(p) for p in together])
        for planned in (p for p in due if p.removed):
            if not self.may_apply():
                log.warning("%s: lost leadership, not applying", planned.rendered.target)
                return False, len(due)
            ok = self._apply_target(planned) and ok
        for project, sha in plan.good_revisions.items():
            if sha not in self._memory.good.values():
                pin_revision(self._cache, sha, f"good/{project}")
        self._memory.good = dict(plan.good_revisions)
        self._save()
        return ok, len(due)

    def _unchanged(self, planned: PlannedTarget) -> bool:
        """Whether ``planned`` is what was last applied, successfully (its status is re-dated)."""
        target = planned.rendered.target
        if planned.removed or self._memory.applied.get(target) != planned.desired:
            return False
        status = self.board.get(target)
        if status is None:
            return False
        self.board.put(replace(status, revision=planned.revision))
        return True

    def _apply_together(self, due: list[PlannedTarget]) -> bool:
        """Apply ``due`` in one engine run (one LIST per kind and cluster), status per target.

        An exception (not a per-object failure) falls back to one run per target, so one target
        that trips a bug cannot hide the others' outcomes.
        """
        try:
            changes = self.applier.apply([p.rendered for p in due], ApplyOptions(prune=True))
        except Exception as e:
            log.warning("applying %d targets together raised, one by one now: %s", len(due), e)
            return all([self._apply_target(p) for p in due])
        split = _by_target(changes, [p.rendered.target for p in due])
        return all([self._applied(p, split.get(p.rendered.target, ChangeSet())) for p in due])

    def _apply_target(self, planned: PlannedTarget) -> bool:
        """Apply one target and record its status; never raises for cluster trouble."""
        target = planned.rendered.target
        options = ApplyOptions(prune=True)
        if planned.removed:
            options = ApplyOptions(
                prune=True,
                removed_projects=frozenset({target.project}),
                allow_namespace_deletion=self.options.prune_removed_projects,
            )
        try:
            changes = self.applier.apply([planned.rendered], options)
        except ClusterError as e:
            log.error(
                "%s: apply of %s failed (%s): %s",
                target,
                planned.revision[:12],
                "retrying" if e.retriable else "not retriable",
                e,
            )
            self._record(TargetStatus(target, SyncState.FAILED, planned.revision, str(e)))
            return False
        except Exception as e:  # a bug must not hide the other targets' outcomes
            log.exception("%s: apply of %s raised", target, planned.revision[:12])
            self.metrics.errors.labels("apply").inc()
            error = f"apply raised {type(e).__name__}: {e}"[:2000]
            self._record(TargetStatus(target, SyncState.FAILED, planned.revision, error))
            return False
        return self._applied(planned, changes)

    def _applied(self, planned: PlannedTarget, changes: ChangeSet) -> bool:
        """Record what applying one target did; False when something failed."""
        target = planned.rendered.target
        failed = changes.failed
        state, error = _outcome(planned, changes)
        counts = {k: v for k, v in changes.summary().items() if v}
        entries = tuple(
            (str(e.action), str(e.ref), e.reason)
            for e in changes.entries
            if e.action != Action.UNCHANGED
        )[:MAX_CHANGES]
        self._count(planned, changes, drift=self._memory.applied.get(target) == planned.desired)
        if failed:
            self._memory.applied.pop(target, None)
        else:
            self._memory.applied[target] = planned.desired
        self._record(
            TargetStatus(
                target,
                state,
                planned.revision,
                error,
                planned.problems,
                counts,
                changes=entries,
            )
        )
        log.info("%s: %s at %s %s", target, state, planned.revision[:12], counts)
        return not failed

    def _count(self, planned: PlannedTarget, changes: ChangeSet, *, drift: bool) -> None:
        applied = len(changes.with_action(*APPLIED))
        self.metrics.objects_applied.inc(applied)
        self.metrics.objects_pruned.inc(len(changes.with_action(Action.DELETED)))
        if drift and applied:
            log.info("%s: corrected drift on %d object(s)", planned.rendered.target, applied)
            self.metrics.drift_corrections.labels(planned.rendered.target.project).inc(applied)

    def _record(self, status: TargetStatus) -> None:
        self.board.put(status)
        self.metrics.reconcile_results.labels(status.state).inc()
        if self.on_result is not None:
            try:
                self.on_result(status)
            except Exception as e:  # events are best effort; status is already recorded
                log.warning("%s: cannot record event: %s", status.target, e)

    def wait_ready(self, timeout: float) -> bool:
        """Block until the first successful pass, or a pass that found us standing by."""
        return self.ready.wait(timeout)


def _by_target(changes: ChangeSet, targets: Sequence[Target]) -> dict[Target, ChangeSet]:
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


def _outcome(planned: PlannedTarget, changes: ChangeSet) -> tuple[SyncState, str]:
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
