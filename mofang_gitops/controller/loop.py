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
from dataclasses import dataclass, replace
from pathlib import Path

from mofang_gitops.controller.facts import node_selectors, platform_facts, project_facts
from mofang_gitops.controller.memory import Memory
from mofang_gitops.controller.metrics import ControllerMetrics
from mofang_gitops.controller.outcomes import APPLIED, by_target, change_entries, outcome
from mofang_gitops.controller.planner import HeadPlanner
from mofang_gitops.controller.plans import (
    RENDER_BUDGET,
    ControllerState,
    Plan,
    PlannedTarget,
    forget_bodies,
    gone_projects,
    removed_targets,
)
from mofang_gitops.controller.ports import (
    Applier,
    HealthReader,
    PassAware,
    StateStore,
)
from mofang_gitops.controller.removals import stored_targets
from mofang_gitops.controller.statuses import StatusBoard, SyncState, TargetStatus
from mofang_gitops.engine import Action, ApplyOptions, ChangeSet
from mofang_gitops.errors import ClusterError, GitError
from mofang_gitops.health import TargetHealth
from mofang_gitops.manifests import Target
from mofang_gitops.sources.git import (
    cache_path,
    fetch_branch,
    is_ancestor,
    mask_url,
    pin_revisions,
    read_commit,
)
from mofang_gitops.sources.loading import internal_stage
from mofang_gitops.validation.repository import Validation

log = logging.getLogger(__name__)

__all__ = ["Applier", "Controller", "ControllerOptions", "HealthReader", "StateStore"]


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
        self._memory = Memory()
        self._planner = HeadPlanner(self._cache, options.render_budget)
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
        if not head or not self._memory.restore(self.state, self.board):
            return False
        if full:
            self._memory.last_full = started
        planner = self._planner
        renders, validated = planner.renders.renders, planner.validated
        plan = self._plan(head)
        rendered = planner.renders.renders - renders
        self.metrics.projects_rendered.inc(rendered)
        ok, due = self._apply_plan(plan, full)
        forget_bodies(plan.targets)  # before the health read: a pass' peak is both at once
        self.metrics.targets_planned.inc(len(due))
        self._record_commits(head, plan)
        health = [p for p in (plan.targets if full else due) if not p.removed]
        read = self._observe_health(health, [p.rendered.target for p in plan.targets])
        self.board.set_fact(
            "lastPass",
            {
                "full": full,
                "projectsValidated": planner.validated - validated,
                "projectsRendered": rendered,
                "targetsPlanned": len(due),
                "targetsHealthRead": read,
                "targets": len(plan.targets),
                "seconds": round(time.monotonic() - started, 3),
                "finished": round(time.time(), 3),  # two passes can be alike in all else
            },
        )
        return ok

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

    def _observe_health(self, due: Sequence[PlannedTarget], planned: Sequence[Target]) -> int:
        """Read the health of ``due`` (best effort: status is already known); how many read.

        A full pass reads every target; a webhook pass only what it applied, the others keep
        their last read (``planned``: the targets that still exist, the others are forgotten).
        """
        kept = self._memory.health
        for gone in set(kept) - set(planned):
            del kept[gone]
        if self.read_health is None or not due or not self.may_apply():
            return 0
        try:
            health = self.read_health([p.rendered for p in due])
        except Exception as e:  # health is information; it must never fail a pass
            log.warning("health read failed: %s", e)
            self.metrics.errors.labels("health").inc()
            return 0
        for target in health:
            self.board.put_health(target)
            kept[Target(target.environment, target.cluster, target.project)] = target
        self.metrics.set_health(list(kept.values()))
        if self.on_health is not None:
            try:
                self.on_health(health)
            except Exception as e:  # events are best effort
                log.warning("cannot record health events: %s", e)
        return len(health)

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

    def _plan(self, head: str) -> Plan:
        validation = self._planner.validate_head(head, self._memory.good)
        plan = self._planner.plan(validation, head, self._memory.good)
        for project, problems in plan.stranded.items():
            log.warning(
                "project %s: invalid at %s with no good revision: %s",
                project,
                head[:12],
                "; ".join(problems),
            )
        self._report(validation, plan)
        removed = self._removed(validation, head)
        return Plan(plan.targets + removed, plan.good_revisions, plan.stranded, plan.failed)

    def _report(self, validation: Validation, plan: Plan) -> None:
        """What /status and the metrics say of the head's projects."""
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

    def _removed(self, head: Validation, sha: str) -> tuple[PlannedTarget, ...]:
        """Targets of known projects deleted from git that still have objects in a cluster."""
        memory = self._memory
        gone = gone_projects(head, ControllerState(memory.good, memory.removing))
        if gone is None:
            return ()  # a broken head decides nothing; keep what is being removed
        stored, complete = stored_targets(self.applier, head, gone) if gone else ([], True)
        found = {s.target.project for s in stored}
        memory.removing = frozenset(found if complete else found | gone)
        for s in stored:
            log.warning("%s: project deleted from git, pruning its objects", s.target)
        return removed_targets(sha, stored)

    def _apply_plan(self, plan: Plan, full: bool) -> tuple[bool, list[PlannedTarget]]:
        """Apply what is due; (False when something is to be retried, the targets due)."""
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
            return False, []
        together = [p for p in due if not p.removed]
        if len(together) > 1:
            ok = self._apply_together(together)
        else:
            ok = all([self._apply_target(p) for p in together])
        for planned in (p for p in due if p.removed):
            if not self.may_apply():
                log.warning("%s: lost leadership, not applying", planned.rendered.target)
                return False, due
            ok = self._apply_target(planned) and ok
        # One pin per good revision (not per project): a push moves every project's good
        # revision to the new head, and a ref per project cost a ref write per project.
        before, after = set(self._memory.good.values()), set(plan.good_revisions.values())
        pin_revisions(
            self._cache,
            {f"good/{sha}": sha for sha in after - before},
            drop=[f"good/{sha}" for sha in before - after],
        )
        self._memory.good = dict(plan.good_revisions)
        self._memory.save(self.state)
        return ok, due

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
        split = by_target(changes, [p.rendered.target for p in due])
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
        state, error = outcome(planned, changes)
        counts = {k: v for k, v in changes.summary().items() if v}
        entries = change_entries(changes)
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
