"""Health of rendered targets from the live cluster, read as cheaply as ``plan`` reads it.

One LIST per rendered kind (the engine's ``read_live``, label-selected), plus three LISTs for
the namespaces involved, each made once per cluster: Pods carrying the workload label, Events,
and Workflows carrying the pipeline label (rendered backfill runs and the runs a CronWorkflow
creates alike, so Workflow is not listed twice). Never a GET per object: the request count of a
status run does not grow with the number of objects.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mofang_gitops.engine.livestate import (
    PAGE_SIZE,
    LiveState,
    Settle,
    check_reachable,
    desired_once,
    drop_field_sets,
    no_stub,
    read_live,
    selector_for,
    wanted_kinds,
)
from mofang_gitops.errors import ClusterError
from mofang_gitops.health.below import JOB_LABEL, NOTEBOOK_LABEL
from mofang_gitops.health.events import recent_events
from mofang_gitops.health.model import Health, ObjectHealth, TargetHealth, Verdict
from mofang_gitops.health.platform import PIPELINE_LABEL
from mofang_gitops.health.rules import ONE_SHOT, judge
from mofang_gitops.health.usage import group_usage
from mofang_gitops.health.workloads import Related
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.k8s.decoding import gc_paused
from mofang_gitops.manifests import Manifest, ObjectRef, RenderedTarget, api_group

log = logging.getLogger(__name__)

WORKFLOW_VERSION = "argoproj.io/v1alpha1"
Obj = dict[str, Any]


@dataclass
class Below:
    """Pods, Events and Workflows of the namespaces involved, indexed for the rules."""

    pods: dict[str, list[Obj]] = field(default_factory=dict)
    """By namespace."""
    events: dict[str, list[Obj]] = field(default_factory=dict)
    workflows: dict[str, list[Obj]] = field(default_factory=dict)
    errors: dict[str, ClusterError] = field(default_factory=dict)
    """By what could not be listed (``Pod``, ``Event``, ``Workflow``)."""

    def pods_of(self, namespace: str, name: str, *, notebook: bool) -> list[Obj]:
        """Pods of the workload ``name`` (its own label, or a ``name-`` prefixed one: trials)."""
        label = NOTEBOOK_LABEL if notebook else JOB_LABEL
        found = []
        for pod in self.pods.get(namespace, ()):
            value = (pod.get("metadata", {}).get("labels") or {}).get(label, "")
            if value == name or (not notebook and value.startswith(f"{name}-")):
                found.append(pod)
        return sorted(found, key=lambda p: str(p.get("metadata", {}).get("name", "")))


def _by_namespace(items: list[Obj]) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for item in items:
        out.setdefault(str(item.get("metadata", {}).get("namespace", "")), []).append(item)
    return out


def read_below(
    cluster: Cluster, namespaces: set[str], *, workflows: bool, page_size: int = PAGE_SIZE
) -> Below:
    """LIST Pods, Events (and Workflows) of ``namespaces`` once each, concurrently."""
    wanted: list[tuple[str, str, str]] = [("v1", "Pod", JOB_LABEL), ("v1", "Event", "")]
    if workflows:
        wanted.append((WORKFLOW_VERSION, "Workflow", PIPELINE_LABEL))

    def read(item: tuple[str, str, str]) -> tuple[str, list[Obj] | ClusterError]:
        api_version, kind, selector = item
        try:
            found = cluster.list(
                api_version, kind, namespaces, selector, page_size=page_size, keep=drop_field_sets
            )
            return kind, found
        except ClusterError as err:
            return kind, err

    below = Below()
    with ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        for kind, result in pool.map(read, wanted):
            if isinstance(result, ClusterError):
                if result.status == 0:
                    raise result
                below.errors[kind] = result
            elif kind == "Pod":
                below.pods = _by_namespace(result)
            elif kind == "Event":
                below.events = _by_namespace(result)
            else:
                below.workflows = _by_namespace(result)
    return below


def notebook_urls(manifests: Sequence[Manifest]) -> dict[str, str]:
    """``source -> https://host/prefix/`` from the rendered VirtualServices (a notebook's URL)."""
    urls: dict[str, str] = {}
    for manifest in manifests:
        if manifest.ref.kind != "VirtualService":
            continue
        spec = manifest.body.get("spec") or {}
        hosts = spec.get("hosts") or []
        for route in spec.get("http") or ():
            for match in route.get("match") or ():
                prefix = (match.get("uri") or {}).get("prefix")
                if hosts and prefix:
                    urls[manifest.source] = f"https://{hosts[0]}{prefix}"
    return urls


def read_health(
    cluster: Cluster,
    targets: Sequence[RenderedTarget],
    groups: Mapping[str, Mapping[str, str]],
    *,
    now: datetime | None = None,
    concurrency: int = 8,
    page_size: int = PAGE_SIZE,
) -> list[TargetHealth]:
    """Health of every object of ``targets`` (all on ``cluster``); unreachable: one error each."""
    now = now or datetime.now(UTC)
    try:
        check_reachable(cluster)
        with gc_paused():  # millions of acyclic dicts: full collections would rescan them all
            return _judged(cluster, targets, groups, now, concurrency, page_size)
    except ClusterError as err:
        log.error("%s: cannot read health: %s", cluster.name, err)
        return [
            TargetHealth(
                environment=rt.target.environment,
                cluster=rt.target.cluster,
                project=rt.target.project,
                objects=(),
                error=f"cluster unreachable: {err}",
            )
            for rt in targets
        ]


@dataclass(frozen=True)
class _Context:
    """What judging one object needs besides the object itself."""

    below: Below
    workflows: Mapping[ObjectRef, Obj]
    groups: Mapping[str, Mapping[str, str]]
    now: datetime


def _judged(
    cluster: Cluster,
    targets: Sequence[RenderedTarget],
    groups: Mapping[str, Mapping[str, str]],
    now: datetime,
    concurrency: int,
    page_size: int,
) -> list[TargetHealth]:
    """Read what is below first, then judge each live object as its LIST page arrives.

    Only the verdict of a judged object is kept (and a stub of the object), so the health
    read never holds every live object at once: it follows the apply in every controller
    pass, whose memory peaks on reads like it (docs/decisions.md, "Controller memory").
    """
    namespaces = {rt.namespace for rt in targets if rt.namespace}
    pipelines = any(m.ref.group == "argoproj.io" for rt in targets for m in rt.manifests)
    below = read_below(cluster, namespaces, workflows=pipelines, page_size=page_size)
    workflows = {ObjectRef.from_object(w): w for ws in below.workflows.values() for w in ws}
    context = _Context(below, workflows, groups, now)
    urls = {rt.target: notebook_urls(rt.manifests) for rt in targets}
    desired = desired_once(targets)
    verdicts: dict[ObjectRef, Verdict] = {}

    def settle(ref: ObjectRef, obj: Obj) -> bool:
        found = desired.get(ref)
        if found is None:
            return False
        rt, manifest = found
        verdicts[ref] = _judge(manifest, obj, context, urls[rt.target])
        return True

    live = _read_live(cluster, targets, concurrency, settle, page_size)
    return [
        _target_health(cluster.name, rt, live, verdicts, context, urls[rt.target]) for rt in targets
    ]


def _read_live(
    cluster: Cluster,
    targets: Sequence[RenderedTarget],
    concurrency: int,
    settle: Settle,
    page_size: int,
) -> LiveState:
    pairs = [
        (m.api_version, m.ref)
        for rt in targets
        for m in rt.manifests
        if m.ref.kind != "Workflow" or m.ref.group != "argoproj.io"
    ]
    wanted = {
        k: (None if ns is None or len(ns) > 1 else ns) for k, ns in wanted_kinds(pairs).items()
    }
    selector = selector_for({rt.target.project for rt in targets})
    return read_live(
        cluster,
        wanted,
        concurrency=concurrency,
        selector=selector,
        settle=settle,
        settled_form=no_stub,
        field_sets=False,
        page_size=page_size,
    )


def _target_health(
    cluster: str,
    rendered: RenderedTarget,
    live: LiveState,
    verdicts: Mapping[ObjectRef, Verdict],
    context: _Context,
    urls: Mapping[str, str],
) -> TargetHealth:
    objects = []
    for manifest in rendered.manifests:
        ref = manifest.ref
        objects.append(
            ObjectHealth(
                cluster=cluster,
                environment=rendered.target.environment,
                project=rendered.target.project,
                kind=ref.kind,
                namespace=ref.namespace,
                name=ref.name,
                source=manifest.source,
                verdict=_verdict(manifest, live, verdicts, context, urls),
                api_version=manifest.api_version,
            )
        )
    namespace = rendered.namespace
    below = context.below
    return TargetHealth(
        environment=rendered.target.environment,
        cluster=rendered.target.cluster,
        project=rendered.target.project,
        objects=tuple(objects),
        events=recent_events(below.events.get(namespace, ())) if namespace else (),
        usage=group_usage(below.pods.get(namespace, ()), context.groups) if namespace else (),
    )


def _verdict(
    manifest: Manifest,
    live: LiveState,
    verdicts: Mapping[ObjectRef, Verdict],
    context: _Context,
    urls: Mapping[str, str],
) -> Verdict:
    """The verdict given on read, else judged now (an absent object, a Workflow)."""
    ref = manifest.ref
    is_workflow = ref.group == "argoproj.io" and ref.kind == "Workflow"
    error = context.below.errors.get("Workflow") if is_workflow else live.error(ref)
    if error is not None:
        return Verdict(Health.UNKNOWN, f"cannot list {ref.kind}: {error}")
    if not is_workflow and live.is_settled(ref):
        return verdicts[ref]
    obj = context.workflows.get(ref) if is_workflow else live.get(ref)
    return _judge(manifest, obj, context, urls)


def _judge(
    manifest: Manifest, obj: Obj | None, context: _Context, urls: Mapping[str, str]
) -> Verdict:
    ref = manifest.ref
    ns = ref.namespace
    below = context.below
    related = Related(
        pods=below.pods_of(ns, ref.name, notebook=ref.kind == "StatefulSet") if obj else (),
        events=below.events.get(ns, ()),
        workflows=below.workflows.get(ns, ()),
        groups=context.groups,
        now=context.now,
        url=urls.get(manifest.source, ""),
    )
    return judge(ref.group, ref.kind, obj, related, run=(ref.group, ref.kind) in ONE_SHOT)


def kinds_of(targets: Sequence[RenderedTarget]) -> set[tuple[str, str]]:
    """``(group, kind)`` of everything rendered (to say which kinds a run covers)."""
    return {(api_group(m.api_version), m.ref.kind) for rt in targets for m in rt.manifests}


def read_clusters(
    clusters: Mapping[str, Cluster],
    targets: Sequence[RenderedTarget],
    groups: Mapping[str, Mapping[str, str]],
    *,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
) -> list[TargetHealth]:
    """Health of every target on its cluster, clusters read in parallel, in target order."""
    by_cluster: dict[str, list[RenderedTarget]] = {}
    for rendered in targets:
        by_cluster.setdefault(rendered.target.cluster, []).append(rendered)
    if not by_cluster:
        return []

    def one(name: str) -> list[TargetHealth]:
        cluster = clusters.get(name)
        if cluster is None:
            return [
                TargetHealth(
                    environment=rt.target.environment,
                    cluster=name,
                    project=rt.target.project,
                    objects=(),
                    error=f"no cluster {name!r} configured (kubeconfig context?)",
                )
                for rt in by_cluster[name]
            ]
        return read_health(cluster, by_cluster[name], groups, now=now, page_size=page_size)

    with ThreadPoolExecutor(max_workers=len(by_cluster)) as pool:
        results = [t for ts in pool.map(one, sorted(by_cluster)) for t in ts]
    return sorted(results, key=lambda t: (t.project, t.environment, t.cluster))
