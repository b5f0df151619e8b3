"""Plan and apply on the real API server: stages, no-op cost, changes, drift, replace, runs."""

from __future__ import annotations

import copy
from typing import Any

from mofang_gitops.engine import Action, ApplyOptions, ResourceManager
from mofang_gitops.engine.inventory import inventory_name
from mofang_gitops.engine.sorting import Stage, stage_of
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import SYSTEM_NAMESPACE, ObjectRef
from tests.engine.builders import apply_as, labels, merge_patch_as, project_bodies, target

QUEUE = "scheduling.volcano.sh/queue-name"
"""A field the renderer sets on every workload pod template: ours to own, others to drift."""


def find(bodies: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(b for b in bodies if b["kind"] == kind and b["metadata"]["name"] == name)


def live_of(cluster: Cluster, body: dict[str, Any]) -> dict[str, Any]:
    meta = body["metadata"]
    obj = cluster.get(body["apiVersion"], body["kind"], meta.get("namespace", ""), meta["name"])
    assert obj is not None, meta
    return obj


def test_apply_into_empty_namespace_creates_every_object_in_stage_order(
    cluster: Cluster, unique_name: str
):
    bodies = project_bodies(unique_name)
    changes = ResourceManager({"test-a": cluster}).apply([target(unique_name, bodies)])
    assert changes.summary()["created"] == len(bodies), changes.failed
    assert [stage_of(e.ref) for e in changes] == sorted(stage_of(e.ref) for e in changes)
    versions = {
        ObjectRef.from_object(b): int(live_of(cluster, b)["metadata"]["resourceVersion"])
        for b in bodies
    }
    for stage in list(Stage)[1:]:  # every object of a stage was written after the previous stage
        earlier = [v for r, v in versions.items() if stage_of(r) < stage]
        later = [v for r, v in versions.items() if stage_of(r) == stage]
        assert max(earlier) < min(later), stage
    inventory = cluster.get("v1", "ConfigMap", SYSTEM_NAMESPACE, inventory_name("dev", unique_name))
    assert inventory is not None
    assert len(inventory["data"]["objects"].splitlines()) == len(bodies)


def test_immediate_plan_and_apply_report_unchanged_with_zero_writes_and_dry_runs(
    cluster: Cluster, unique_name: str
):
    targets = [target(unique_name, project_bodies(unique_name))]
    # The inventory is a ConfigMap: it is read by that kind's LIST, which it adds if need be.
    kinds = {(m.api_version, m.ref.kind) for m in targets[0].manifests} | {("v1", "ConfigMap")}
    manager = ResourceManager({"test-a": cluster})
    manager.apply(targets, ApplyOptions(prune=True))
    cluster.stats.reset()
    plan = manager.plan(targets)
    assert not plan.has_changes and plan.summary()["unchanged"] == len(targets[0].manifests)
    assert cluster.stats.by_verb() == {"list": len(kinds)}  # one LIST per kind, nothing else
    cluster.stats.reset()
    applied = manager.apply(targets, ApplyOptions(prune=True))
    assert not applied.has_changes, applied.changes
    assert cluster.stats.writes == 0 and cluster.stats.dry_runs == 0
    assert cluster.stats.by_verb() == {"list": len(kinds)}


def test_changing_one_field_changes_exactly_that_object(cluster: Cluster, unique_name: str):
    manager = ResourceManager({"test-a": cluster})
    bodies = project_bodies(unique_name)
    manager.apply([target(unique_name, bodies)])
    changed = project_bodies(unique_name)
    container = find(changed, "StatefulSet", "nb-a")["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["requests"]["cpu"] = container["resources"]["limits"]["cpu"] = "2"
    plan = manager.plan([target(unique_name, changed)])
    assert [(e.ref.kind, e.ref.name) for e in plan.changes] == [("StatefulSet", "nb-a")]
    entry = plan.changes[0]
    assert "resources.limits.cpu" in entry.reason
    assert "-            cpu: '1'\n" in entry.diff and "+            cpu: '2'\n" in entry.diff
    assert "memory" not in "".join(
        line
        for line in entry.diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )
    cluster.stats.reset()
    applied = manager.apply([target(unique_name, changed)])
    assert [(e.ref.kind, e.action) for e in applied.changes] == [("StatefulSet", Action.CONFIGURED)]
    assert cluster.stats.writes == 1
    live = live_of(cluster, find(changed, "StatefulSet", "nb-a"))
    assert live["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] == "2"


def test_drift_by_another_field_manager_shows_in_plan_and_apply_corrects_it(
    cluster: Cluster, unique_name: str
):
    manager = ResourceManager({"test-a": cluster})
    bodies = project_bodies(unique_name)
    targets = [target(unique_name, bodies)]
    manager.apply(targets)
    sts, quota = find(bodies, "StatefulSet", "nb-a"), find(bodies, "ResourceQuota", "mofang")
    # kubectl-edit style: an Update (merge patch) by another manager on a field we own.
    merge_patch_as(
        cluster,
        "kubectl-edit",
        "apps/v1",
        "StatefulSet",
        unique_name,
        "nb-a",
        {"spec": {"template": {"metadata": {"annotations": {QUEUE: "someone-elses"}}}}},
    )
    # Another applier forcing a field of ours.
    other = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "mofang", "namespace": unique_name},
        "spec": {"hard": {"requests.cpu": "999"}},
    }
    apply_as(cluster, "helm", other, force=True)
    plan = manager.plan(targets)
    drift = {e.ref.kind: e for e in plan.changes}
    assert set(drift) == {"StatefulSet", "ResourceQuota"}
    assert "drift by kubectl-edit" in drift["StatefulSet"].reason
    assert ".spec.template.metadata.annotations" in drift["StatefulSet"].reason
    assert "drift by helm" in drift["ResourceQuota"].reason
    assert "someone-elses" in drift["StatefulSet"].diff
    applied = manager.apply(targets)
    assert {e.ref.kind: e.action for e in applied.changes} == {
        "StatefulSet": Action.CONFIGURED,
        "ResourceQuota": Action.CONFIGURED,
    }
    annotations = live_of(cluster, sts)["spec"]["template"]["metadata"]["annotations"]
    assert annotations[QUEUE] == unique_name
    assert (
        live_of(cluster, quota)["spec"]["hard"]["requests.cpu"]
        == quota["spec"]["hard"]["requests.cpu"]
    )
    assert not manager.plan(targets).has_changes


def test_conflicts_are_reported_with_the_other_managers_name_when_not_forcing(
    cluster: Cluster, unique_name: str
):
    manager = ResourceManager({"test-a": cluster})
    bodies = project_bodies(unique_name, notebooks=["nb-a"])
    manager.apply([target(unique_name, bodies)])
    merge_patch_as(
        cluster,
        "kubectl-edit",
        "apps/v1",
        "StatefulSet",
        unique_name,
        "nb-a",
        {"spec": {"template": {"metadata": {"annotations": {QUEUE: "someone-elses"}}}}},
    )
    changes = manager.apply([target(unique_name, bodies)], ApplyOptions(force_conflicts=False))
    [failed] = changes.failed
    assert failed.ref.kind == "StatefulSet"
    assert 'conflict with "kubectl-edit"' in failed.reason
    assert ".spec.template.metadata.annotations" in failed.reason


def test_immutable_field_change_is_replaced_only_with_allow_replace(
    cluster: Cluster, unique_name: str
):
    manager = ResourceManager({"test-a": cluster})
    bodies = project_bodies(unique_name, notebooks=["nb-a"])
    first, second = _free_cluster_ips(cluster, 2)
    find(bodies, "Service", "nb-a")["spec"]["clusterIP"] = first
    manager.apply([target(unique_name, bodies)])
    before = live_of(cluster, find(bodies, "Service", "nb-a"))["metadata"]["uid"]
    find(bodies, "Service", "nb-a")["spec"]["clusterIP"] = second
    targets = [target(unique_name, bodies)]
    refused = manager.apply(targets)
    [failed] = refused.failed
    assert failed.ref.kind == "Service" and failed.reason.startswith(
        "immutable field changed; use --allow-replace"
    )
    assert live_of(cluster, find(bodies, "Service", "nb-a"))["metadata"]["uid"] == before
    planned = manager.plan(targets, ApplyOptions(prune=True, allow_replace=True))
    assert [(e.ref.kind, e.action) for e in planned.changes] == [("Service", Action.REPLACED)]
    replaced = manager.apply(targets, ApplyOptions(allow_replace=True))
    assert [(e.ref.kind, e.action) for e in replaced.changes] == [("Service", Action.REPLACED)]
    live = live_of(cluster, find(bodies, "Service", "nb-a"))
    assert live["metadata"]["uid"] != before and live["spec"]["clusterIP"] == second


def _free_cluster_ips(cluster: Cluster, count: int) -> list[str]:
    """Addresses of the 10.0.0.0/16 service range no Service of this session holds yet."""
    taken = {s["spec"].get("clusterIP") for s in cluster.list("v1", "Service")}
    free = [f"10.0.0.{n}" for n in range(200, 250) if f"10.0.0.{n}" not in taken]
    return free[:count]


def test_finished_run_is_never_recreated(cluster: Cluster, unique_name: str):
    manager = ResourceManager({"test-a": cluster})
    run = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "name": "daily-2026-11-01",
            "namespace": unique_name,
            "labels": labels(unique_name, source="Pipeline.daily"),
        },
        "spec": {
            "workflowTemplateRef": {"name": "daily"},
            "arguments": {"parameters": [{"name": "date", "value": "2026-11-01"}]},
        },
    }
    bodies = [*project_bodies(unique_name, notebooks=[]), run]
    targets = [target(unique_name, bodies, runs=["daily-2026-11-01"])]
    first = manager.apply(targets)
    assert first.get(f"test-a:Workflow/{unique_name}/daily-2026-11-01").action is Action.CREATED
    # The run's controller changes it, then its TTL removes it: neither brings it back.
    changed = copy.deepcopy(bodies)
    changed[-1]["spec"]["arguments"]["parameters"][0]["value"] = "edited"
    again = manager.apply([target(unique_name, changed, runs=["daily-2026-11-01"])])
    assert again.get(f"test-a:Workflow/{unique_name}/daily-2026-11-01").action is Action.SKIPPED
    assert cluster.delete("argoproj.io/v1alpha1", "Workflow", unique_name, "daily-2026-11-01")
    cluster.stats.reset()
    after_ttl = manager.apply(targets, ApplyOptions(prune=True))
    entry = after_ttl.get(f"test-a:Workflow/{unique_name}/daily-2026-11-01")
    assert entry.action is Action.SKIPPED and "new run needs a spec change" in entry.reason
    assert cluster.get("argoproj.io/v1alpha1", "Workflow", unique_name, "daily-2026-11-01") is None
    assert cluster.stats.writes == 0
