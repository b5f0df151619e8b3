"""Stage order, change-set ids and summaries, and the text/json formats (no cluster)."""

from __future__ import annotations

import json

from mofang_gitops.engine.changesets import (
    Action,
    ChangeSet,
    ChangeSetEntry,
    format_json,
    format_text,
)
from mofang_gitops.engine.sorting import Stage, group_by_stage, stage_of
from mofang_gitops.manifests import ObjectRef


def ref(kind: str, namespace: str = "p", group: str = "") -> ObjectRef:
    return ObjectRef(group, kind, namespace, "x")


def test_stages_put_namespaces_and_cluster_objects_first_and_routes_last():
    assert stage_of(ref("Namespace", "")) is Stage.CLUSTER
    assert stage_of(ref("Queue", "", "scheduling.volcano.sh")) is Stage.CLUSTER
    assert stage_of(ref("PersistentVolume", "")) is Stage.CLUSTER
    for kind in (
        "ServiceAccount",
        "Role",
        "ResourceQuota",
        "LimitRange",
        "PersistentVolumeClaim",
        "ConfigMap",
        "NetworkPolicy",
        "AuthorizationPolicy",
        "RequestAuthentication",
    ):
        assert stage_of(ref(kind)) is Stage.CONFIG
    assert stage_of(ref("RoleBinding")) is Stage.BINDINGS
    # A service-account-token Secret made before its ServiceAccount is deleted by the token
    # controller: Secrets come a stage after ServiceAccounts.
    assert stage_of(ref("Secret")) is Stage.BINDINGS > stage_of(ref("ServiceAccount"))
    assert Stage.CONFIG < Stage.BINDINGS < Stage.SERVICES
    assert stage_of(ref("Service")) is Stage.SERVICES
    for kind in (
        "StatefulSet",
        "MPIJob",
        "TFJob",
        "PyTorchJob",
        "Job",
        "Experiment",
        "WorkflowTemplate",
        "CronWorkflow",
        "Workflow",
    ):
        assert stage_of(ref(kind)) is Stage.WORKLOADS
    assert stage_of(ref("VirtualService")) is Stage.ROUTING


def test_group_by_stage_keeps_order_inside_a_stage_and_reverses_for_prune():
    refs = [
        ref("VirtualService"),
        ref("ConfigMap"),
        ref("Namespace", ""),
        ObjectRef("", "ConfigMap", "p", "y"),
    ]
    grouped = group_by_stage(refs, lambda r: r)
    assert [s for s, _ in grouped] == [Stage.CLUSTER, Stage.CONFIG, Stage.ROUTING]
    assert [r.name for r in grouped[1][1]] == ["x", "y"]
    assert [s for s, _ in group_by_stage(refs, lambda r: r, reverse=True)] == [
        Stage.ROUTING,
        Stage.CONFIG,
        Stage.CLUSTER,
    ]


def test_change_set_ids_summary_and_formats():
    changes = ChangeSet.of(
        [
            ChangeSetEntry(
                "central",
                ObjectRef("apps", "StatefulSet", "vision", "nb"),
                Action.CONFIGURED,
                ".spec.replicas",
                "--- a\n+++ b\n-  replicas: 1\n+  replicas: 2\n",
                "apps/v1",
            ),
            ChangeSetEntry(
                "central",
                ObjectRef("", "Namespace", "", "vision"),
                Action.UNCHANGED,
                api_version="v1",
            ),
            ChangeSetEntry(
                "edge",
                ObjectRef("", "Service", "vision", "nb"),
                Action.FAILED,
                "cluster unreachable",
            ),
        ]
    )
    assert [e.id for e in changes] == [
        "central:StatefulSet/vision/nb",
        "central:Namespace/vision",
        "edge:Service/vision/nb",
    ]
    assert changes.summary()["configured"] == 1 and changes.summary()["deleted"] == 0
    assert changes.has_changes and len(changes.failed) == 1
    text = format_text(changes)
    assert "central:Namespace/vision" not in text  # unchanged entries are hidden by default
    assert "configured  central:StatefulSet/vision/nb" in text and "+  replicas: 2" in text
    assert text.rstrip().endswith("Summary: 1 configured, 1 unchanged, 1 failed")
    assert "\x1b[32m" in format_text(changes, colour=True)
    data = json.loads(format_json(changes))
    assert data["entries"][2] | {"diff": ""} == data["entries"][2]
    assert data["entries"][0]["action"] == "configured" and data["summary"]["failed"] == 1


def test_empty_change_set_has_no_changes():
    assert not ChangeSet().has_changes
    assert "nothing to do" in format_text(ChangeSet())


def test_a_deferred_diff_is_made_once_when_first_read_and_reported_like_a_plain_one():
    made: list[int] = []

    def dump() -> str:
        made.append(1)
        return "+apiVersion: v1\n+kind: Namespace\n"

    entry = ChangeSetEntry(
        "central",
        ObjectRef("", "Namespace", "", "vision"),
        Action.CREATED,
        diff_source=dump,
        api_version="v1",
    )
    assert made == []  # an apply that prints no diffs never pays for the dump
    assert entry.diff == "+apiVersion: v1\n+kind: Namespace\n"
    assert entry.as_dict()["diff"] == entry.diff
    assert "+kind: Namespace" in format_text(ChangeSet.of([entry]))
    assert made == [1]
