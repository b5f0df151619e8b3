"""The resource manager: plan and apply rendered targets on many clusters, prune what git dropped.

One run per cluster, clusters in parallel; inside a cluster: read live state and inventories
(one LIST per kind), apply stage by stage, record the inventory, then prune. A cluster that does
not answer fails its own targets' entries and nothing else. ``plan`` is ``apply`` with
``dry_run``: the same decisions, no writes, server-side dry runs only for objects that change.

The inventory is written twice at most per target and only when it changes: after apply with
old and new entries together (so a run killed before prune leaves the stale entries listed and
the next run prunes them), then after prune without what was deleted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mofang_gitops.engine.applying import (
    NOT_WRITTEN,
    RUN_SKIPPED,
    Work,
    apply_stage,
    unchanged_on_read,
)
from mofang_gitops.engine.changesets import Action, ChangeSet, ChangeSetEntry
from mofang_gitops.engine.inventory import (
    Inventory,
    InventoryEntry,
    find_inventories,
    write_inventory,
)
from mofang_gitops.engine.livestate import (
    MAX_SELECTED_PROJECTS,
    PAGE_SIZE,
    LiveState,
    Settle,
    check_reachable,
    desired_once,
    read_by_name,
    read_live,
    selector_for,
    wanted_kinds,
)
from mofang_gitops.engine.options import ApplyOptions
from mofang_gitops.engine.ownership import REFUSED
from mofang_gitops.engine.pruning import Candidate, delete_stale, plan_prune
from mofang_gitops.engine.sorting import Stage, group_by_stage
from mofang_gitops.engine.waiting import wait_established
from mofang_gitops.errors import ClusterError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.k8s.decoding import gc_paused
from mofang_gitops.k8s.retrying import RetryPolicy
from mofang_gitops.manifests import (
    LABEL_PROJECT,
    SYSTEM_NAMESPACE,
    ObjectRef,
    RenderedTarget,
    Target,
    api_group,
)

log = logging.getLogger(__name__)

_KEPT = frozenset({Action.CREATED, Action.CONFIGURED, Action.UNCHANGED, Action.REPLACED})


@dataclass(frozen=True)
class Progress:
    """Reported after each stage of each cluster (and after prune)."""

    cluster: str
    stage: str
    done: int
    total: int


ProgressCallback = Callable[[Progress], None]


class ResourceManager:
    """Plans and applies rendered targets on the clusters it is given, by cluster name."""

    def __init__(
        self, clusters: Mapping[str, Cluster], *, progress: ProgressCallback | None = None
    ) -> None:
        self.clusters = dict(clusters)
        self.progress = progress

    def plan(
        self, targets: Iterable[RenderedTarget], options: ApplyOptions | None = None
    ) -> ChangeSet:
        """What ``apply`` would do (prune included unless ``options.prune`` is False)."""
        return self._run(targets, replace(options or ApplyOptions(prune=True), dry_run=True))

    def apply(
        self, targets: Iterable[RenderedTarget], options: ApplyOptions | None = None
    ) -> ChangeSet:
        """Make the clusters match ``targets``; every object gets an entry, failures included."""
        return self._run(targets, options or ApplyOptions())

    def _run(self, targets: Iterable[RenderedTarget], options: ApplyOptions) -> ChangeSet:
        by_cluster: dict[str, list[RenderedTarget]] = {}
        for rendered in targets:
            by_cluster.setdefault(rendered.target.cluster, []).append(rendered)
        if not by_cluster:
            return ChangeSet()
        with ThreadPoolExecutor(max_workers=len(by_cluster)) as pool:
            runs = [pool.submit(self._run_cluster, n, t, options) for n, t in by_cluster.items()]
            results = [run.result() for run in runs]
        return ChangeSet.of(entry for entries in results for entry in entries)

    def _run_cluster(
        self, name: str, targets: list[RenderedTarget], options: ApplyOptions
    ) -> list[ChangeSetEntry]:
        cluster = self.clusters.get(name)
        if cluster is None:
            return _fail_all(
                name,
                targets,
                f"{UNREACHABLE}: no cluster {name!r} configured (kubeconfig context?)",
            )
        try:
            # A run builds millions of acyclic dicts (live objects, bodies); full collections
            # rescanning them cost a no-op plan of 26,000 objects a third of its time.
            with gc_paused():
                return _ClusterRun(cluster, targets, options, self.progress).execute()
        except ClusterError as err:
            # Said once per cluster by whoever reports the change set (CLI, controller status).
            log.info("%s: cluster unreachable: %s", name, err)
            return _fail_all(name, targets, f"{UNREACHABLE}: {err}")


def connect(
    targets: Iterable[RenderedTarget],
    kubeconfig: str | Path | None = None,
    *,
    context: str | None = None,
    retry: RetryPolicy | None = None,
) -> dict[str, Cluster]:
    """One :class:`Cluster` per cluster name of ``targets``, through its kubeconfig context.

    ``context`` overrides every target's own context (``--context``).
    """
    clusters: dict[str, Cluster] = {}
    for rendered in targets:
        name = rendered.target.cluster
        if name not in clusters:
            ctx = context or rendered.kube_context or name
            clusters[name] = Cluster(name, kubeconfig, ctx, retry=retry)
    return clusters


class _ClusterRun:
    """Everything done on one cluster in one run."""

    def __init__(
        self,
        cluster: Cluster,
        targets: list[RenderedTarget],
        options: ApplyOptions,
        progress: ProgressCallback | None,
    ) -> None:
        self.cluster = cluster
        self.targets = targets
        self.options = options
        self.progress = progress
        self.live = LiveState()
        self.inventories: dict[Target, Inventory] = {}

    def execute(self) -> list[ChangeSetEntry]:
        self.read()
        works = [
            Work(
                rt.target,
                m,
                self.live.get(m.ref),
                m.ref in self.inventories[rt.target].refs,
                self.live.error(m.ref),
                settled=self.live.is_settled(m.ref),
            )
            for rt in self.targets
            for m in rt.manifests
        ]
        entries = self.apply_stages(works)
        return entries + self.record_and_prune(entries)

    def read(self) -> None:
        """LIST desired kinds (and inventories) once; then kinds only the inventories name."""
        check_reachable(self.cluster)
        pairs = [(m.api_version, m.ref) for rt in self.targets for m in rt.manifests]
        pairs.append(("v1", ObjectRef("", "ConfigMap", SYSTEM_NAMESPACE, "inventory")))
        wanted = wanted_kinds(pairs)
        covered = {key: (None if ns is None or len(ns) > 1 else ns) for key, ns in wanted.items()}
        selector = selector_for(self._projects())
        concurrency = self.options.concurrency
        read_live(
            self.cluster,
            covered,
            into=self.live,
            concurrency=concurrency,
            selector=selector,
            settle=self._settle(),
            page_size=self.options.page_size or PAGE_SIZE,
        )
        found = find_inventories(self.live.objects.values())
        for rt in self.targets:
            t = rt.target
            self.inventories[t] = found.get((t.environment, t.project)) or Inventory(
                t.environment, t.project
            )
        extra = [
            (e.api_version, e.ref)
            for inventory in self.inventories.values()
            for e in inventory.entries
            if not _covered(covered, e.api_version, e.ref)
        ]
        if extra:
            read_live(
                self.cluster,
                wanted_kinds(extra),
                into=self.live,
                selector=selector,
                page_size=self.options.page_size or PAGE_SIZE,
            )
        every = pairs + [
            (e.api_version, e.ref) for inv in self.inventories.values() for e in inv.entries
        ]
        read_by_name(self.cluster, self.live, every, concurrency=concurrency)

    def _settle(self) -> Settle:
        """Settle on read each live object that is desired once and that our apply leaves as is.

        An object desired by two targets is left whole: which of them wins is the apply's
        business (and its failure's), not the read's. A settled object's parsed desired body
        is dropped as well (it is parsed again only if something reads it after the run).
        """
        desired = desired_once(self.targets)

        def settle(ref: ObjectRef, live: dict[str, Any]) -> bool:
            found = desired.get(ref)
            if found is None or not unchanged_on_read(found[0].target, found[1], live):
                return False
            found[1].forget_body()  # decided: this run reads it no more
            return True

        return settle

    def _projects(self) -> set[str] | None:
        """Project labels of everything desired; None if any object lacks one (read all).

        Beyond ``MAX_SELECTED_PROJECTS`` targets the selector names no project anyway, so no
        body is parsed here for it (the live read parses, and drops, each settled one).
        """
        projects = {rt.target.project for rt in self.targets}
        if len(projects) > MAX_SELECTED_PROJECTS:
            return None
        for rt in self.targets:
            for m in rt.manifests:
                label = (m.body.get("metadata", {}).get("labels") or {}).get(LABEL_PROJECT)
                if not label:
                    return None
                projects.add(str(label))
        return projects

    def apply_stages(self, works: list[Work]) -> list[ChangeSetEntry]:
        entries: list[ChangeSetEntry] = []
        fresh: set[str] = set()
        refused: dict[str, str] = {}
        for stage, group in group_by_stage(works, lambda w: w.manifest.ref):
            group = [_scoped(w, fresh, refused) for w in group]
            done = apply_stage(self.cluster, group, self.options)
            for e in done:
                if e.ref.kind == "Namespace" and e.action is Action.CREATED:
                    fresh.add(e.ref.name)
                elif (
                    e.ref.kind == "Namespace" and e.action is Action.FAILED and REFUSED in e.reason
                ):
                    refused[e.ref.name] = e.reason
            entries.extend(done)
            crds = [
                e.ref.name
                for e in done
                if e.ref.kind == "CustomResourceDefinition" and e.action in _KEPT
            ]
            if stage is Stage.CLUSTER and crds and not self.options.dry_run:
                wait_established(self.cluster, crds)
            self._report(str(stage), len(entries), len(works))
        return entries

    def record_and_prune(self, applied: list[ChangeSetEntry]) -> list[ChangeSetEntry]:
        entries: list[ChangeSetEntry] = []
        kept: dict[Target, Inventory] = {}
        by_target: dict[Target | None, list[ChangeSetEntry]] = {}
        for entry in applied:
            by_target.setdefault(entry.target, []).append(entry)
        for rt in self.targets:
            kept[rt.target] = self._kept(rt.target, by_target.get(rt.target, []))
            entries.extend(self._store(self.inventories[rt.target], kept[rt.target]))
        if not self.options.prune:
            return entries
        plans = {
            rt.target: plan_prune(
                self.cluster.name,
                rt.target,
                kept[rt.target],
                frozenset(m.ref for m in rt.manifests),
                self.live,
                self.options,
                before=len(self.inventories[rt.target].entries),
            )
            for rt in self.targets
        }
        candidates = [c for plan in plans.values() for c in plan.delete]
        deleted = self._delete(candidates)
        entries.extend(e for plan in plans.values() for e in plan.skipped)
        entries.extend(deleted)
        gone = {(e.target, e.ref) for e in deleted if e.action is Action.DELETED}
        for target, plan in plans.items():
            final = kept[target].replace(
                e
                for e in kept[target].entries
                if e not in plan.forget and (target, e.ref) not in gone
            )
            entries.extend(self._store(kept[target], final))
        self._report("prune", len(deleted), len(candidates))
        return entries

    def _kept(self, target: Target, mine: list[ChangeSetEntry]) -> Inventory:
        """Old entries plus every desired object now in the cluster (latest apiVersion wins)."""
        old = self.inventories[target]
        applied = {
            InventoryEntry(e.ref, e.api_version)
            for e in mine
            if e.action in _KEPT or (e.action is Action.SKIPPED and e.reason == RUN_SKIPPED)
        }
        refs = {e.ref for e in applied}
        return old.replace({e for e in old.entries if e.ref not in refs} | applied)

    def _store(self, before: Inventory, after: Inventory) -> list[ChangeSetEntry]:
        if after.entries == before.entries or self.options.dry_run:
            return []
        ref = ObjectRef(group="", kind="ConfigMap", namespace=SYSTEM_NAMESPACE, name=after.name)
        if not self.options.writes_allowed():
            reason = NOT_WRITTEN
        else:
            try:
                write_inventory(self.cluster, after)
                return []
            except ClusterError as err:
                reason = f"inventory: {err}"
        return [
            ChangeSetEntry(cluster=self.cluster.name, ref=ref, action=Action.FAILED, reason=reason)
        ]

    def _delete(self, candidates: list[Candidate]) -> list[ChangeSetEntry]:
        if self.options.dry_run:  # no request: a planned deletion is reported as such
            return [
                ChangeSetEntry(
                    cluster=self.cluster.name,
                    ref=c.entry.ref,
                    action=Action.DELETED,
                    reason="removed from git",
                    api_version=c.entry.api_version,
                    target=c.target,
                )
                for _, group in group_by_stage(candidates, lambda c: c.entry.ref, reverse=True)
                for c in group
            ]
        if candidates and not self.options.writes_allowed():  # the prune is one more batch
            return [
                ChangeSetEntry(
                    cluster=self.cluster.name,
                    ref=c.entry.ref,
                    action=Action.FAILED,
                    reason=NOT_WRITTEN,
                    api_version=c.entry.api_version,
                    target=c.target,
                )
                for c in candidates
            ]
        return delete_stale(self.cluster, candidates, self.options)

    def _report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(Progress(self.cluster.name, stage, done, total))


def _scoped(work: Work, fresh: set[str], refused: Mapping[str, str]) -> Work:
    """Tell a namespaced object whether its namespace was just created, or refused as not ours."""
    namespace = work.manifest.ref.namespace
    if namespace in refused:
        return replace(work, blocked=f"Namespace {namespace} is not ours: {refused[namespace]}")
    if namespace in fresh:
        return replace(work, fresh_namespace=True)
    return work


def _covered(
    covered: Mapping[tuple[str, str], set[str] | None], api_version: str, ref: ObjectRef
) -> bool:
    """Whether the first read already listed where ``ref`` would be."""
    for (listed_version, kind), namespaces in covered.items():
        if kind == ref.kind and api_group(listed_version) == api_group(api_version):
            return namespaces is None or ref.namespace in namespaces
    return False


UNREACHABLE = "cluster unreachable"
"""Reason prefix of every entry of a cluster that could not be reached at all."""


def _fail_all(cluster: str, targets: list[RenderedTarget], reason: str) -> list[ChangeSetEntry]:
    return [
        ChangeSetEntry(
            cluster=cluster,
            ref=m.ref,
            action=Action.FAILED,
            reason=reason,
            api_version=m.api_version,
            target=rt.target,
        )
        for rt in targets
        for m in rt.manifests
    ]
