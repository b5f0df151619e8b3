"""Every target of a project gets its Namespace, RBAC, quota, queue and storage (DESIGN.md 3)."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.manifests import (
    ANNOTATION_SOURCE_PATH,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_PROJECT,
    LABEL_SOURCE,
    Manifest,
    RenderedTarget,
)
from mofang_gitops.models.quantities import parse_quantity
from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir

PROJECT_KINDS = [
    "Namespace",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "AuthorizationPolicy",
    "ResourceQuota",
    "LimitRange",
    "Queue",
    "PersistentVolume",
    "PersistentVolumeClaim",
]


def _targets(
    tmp_path: Path, scenario: str | None = None, files: dict[str, str] | None = None
) -> dict[str, RenderedTarget]:
    root = build_repo(tmp_path, scenario)
    for relative, text in (files or {}).items():
        (root / relative).write_text(text)
    validation = validate_dir(root)
    assert validation.errors == [], "\n".join(str(p) for p in validation.errors)
    return {str(t.target): t for t in render_repo(validation)}


def _project_objects(target: RenderedTarget) -> list[Manifest]:
    """The objects every target has: the leading run sourced from project.yaml or quota.yaml.

    Workload renderers may add project-wide helpers of their own later in the target (the
    pipeline executor's account); those are tested with their workloads.
    """
    leading = itertools.takewhile(
        lambda m: m.source.split(".")[0] in ("Project", "Quota"), target.manifests
    )
    return list(leading)


def _bodies(target: RenderedTarget, kind: str) -> list[dict[str, Any]]:
    manifests = target.manifests if kind == "StatefulSet" else _project_objects(target)
    return [m.body for m in manifests if m.ref.kind == kind]


def _one(target: RenderedTarget, kind: str) -> dict[str, Any]:
    (body,) = _bodies(target, kind)
    return body


@pytest.fixture
def central(tmp_path: Path) -> RenderedTarget:
    return _targets(tmp_path)["prod/central/vision"]


def test_project_objects_come_first_in_a_stable_order(central: RenderedTarget) -> None:
    kinds = [m.ref.kind for m in _project_objects(central)]
    assert kinds[0] == "Namespace"
    assert sorted(set(kinds), key=PROJECT_KINDS.index) == PROJECT_KINDS
    first_workload = next(
        i for i, m in enumerate(central.manifests) if m.source.split(".")[0] == "Notebook"
    )
    assert first_workload == len(_project_objects(central))


def test_every_object_carries_the_ownership_labels(central: RenderedTarget) -> None:
    for manifest in central.manifests:
        meta = manifest.body["metadata"]
        assert meta["labels"][LABEL_MANAGED_BY] == "mofang-gitops", manifest.ref
        assert meta["labels"][LABEL_PROJECT] == "vision"
        assert meta["labels"][LABEL_ENVIRONMENT] == "prod"
        assert meta["labels"][LABEL_SOURCE] == manifest.source
        assert meta["annotations"][ANNOTATION_SOURCE_PATH] == manifest.source_path
        assert manifest.source_path.startswith("projects/vision/")


def test_namespace_follows_the_environment_pattern(tmp_path: Path) -> None:
    env = (
        "apiVersion: mofang.io/v1alpha1\nkind: Environment\nmetadata: {name: prod}\n"
        'spec: {clusters: [central], namespace: "team-{project}-{environment}"}\n'
    )
    target = _targets(tmp_path, files={"environments/prod.yaml": env})["prod/central/vision"]
    assert target.namespace == "team-vision-prod"
    assert _one(target, "Namespace")["metadata"]["name"] == "team-vision-prod"
    namespaced = [m for m in target.manifests if m.ref.namespace]
    assert {m.ref.namespace for m in namespaced} == {"team-vision-prod"}
    assert _one(target, "Queue")["metadata"]["name"] == "team-vision-prod"


def test_everyone_gets_the_read_only_member_role_and_no_cluster_role(
    central: RenderedTarget,
) -> None:
    (binding,) = _bodies(central, "RoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "mofang-member",
    }
    assert [s["name"] for s in binding["subjects"]] == ["alice", "bob", "carol"]
    assert {s["kind"] for s in binding["subjects"]} == {"User"}
    (role,) = _bodies(central, "Role")
    assert role["metadata"]["name"] == "mofang-member"
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert ("", "pods/log", "get") in granted
    assert ("argoproj.io", "workflows", "list") in granted
    assert {verb for _, _, verb in granted} == {"get", "list", "watch"}
    assert not {r for _, r, _ in granted} & {"secrets", "pods/exec", "pods/portforward", "*"}


def test_the_platform_may_grant_cluster_roles_by_member_role(tmp_path: Path) -> None:
    platform = (build_repo(tmp_path / "x") / "platform.yaml").read_text()
    platform = platform.replace(
        "  policies:\n", "  policies:\n    access: {clusterRoles: [view, edit]}\n"
    )
    central = _targets(tmp_path, files={"platform.yaml": platform})["prod/central/vision"]
    refs = {
        b["metadata"]["name"]: (
            b["roleRef"]["kind"],
            b["roleRef"]["name"],
            b["subjects"][0]["name"],
        )
        for b in _bodies(central, "RoleBinding")
    }
    # alice owns the project (admin, not allowed here); bob is edit, carol view.
    assert refs == {
        "mofang-member": ("Role", "mofang-member", "alice"),
        "mofang-edit-bob": ("ClusterRole", "edit", "bob"),
        "mofang-view-carol": ("ClusterRole", "view", "carol"),
    }


def test_workloads_get_one_service_account(central: RenderedTarget) -> None:
    account = _one(central, "ServiceAccount")
    assert account["metadata"]["name"] == "mofang-workload"
    assert account["automountServiceAccountToken"] is False


def test_resource_quota_sums_the_clusters_groups_with_the_gpu_resource_name(
    central: RenderedTarget,
) -> None:
    hard = {k: parse_quantity(v) for k, v in _one(central, "ResourceQuota")["spec"]["hard"].items()}
    assert hard["requests.cpu"] == Decimal(32 + 16)
    assert hard["requests.memory"] == parse_quantity("256Gi") + parse_quantity("64Gi")
    assert hard["requests.nvidia.com/gpu"] == 8
    # The project volume, the homes of alice (resnet50) and bob (bob-dev) and the global one:
    # our own claims always fit. carol mounts nothing here, so she has no volume.
    assert hard["requests.storage"] == sum(
        parse_quantity(q) for q in ("1Ti", "100Gi", "100Gi", "10Ti")
    )


def test_limit_range_gives_containers_defaults(central: RenderedTarget) -> None:
    (limits,) = _one(central, "LimitRange")["spec"]["limits"]
    assert limits["type"] == "Container"
    assert set(limits["defaultRequest"]) == {"cpu", "memory"}
    # No default CPU limit: it would fall below the CPU requests we render without limits.
    assert set(limits["default"]) == {"memory"}


def test_queue_capability_weight_and_reclaim_come_from_the_quota(central: RenderedTarget) -> None:
    queue = _one(central, "Queue")
    assert queue["apiVersion"] == "scheduling.volcano.sh/v1beta1"
    assert "namespace" not in queue["metadata"]
    assert queue["spec"]["weight"] == 2
    assert queue["spec"]["reclaimable"] is True
    capability = {k: parse_quantity(v) for k, v in queue["spec"]["capability"].items()}
    assert capability == {
        "cpu": Decimal(48),
        "memory": parse_quantity("320Gi"),
        "nvidia.com/gpu": Decimal(8),
    }
    pod_queues = {
        m.body["spec"]["template"]["metadata"]["annotations"]["scheduling.volcano.sh/queue-name"]
        for m in central.manifests
        if m.ref.kind == "StatefulSet"
    }
    assert pod_queues == {queue["metadata"]["name"]}


@pytest.mark.parametrize(
    ("claim", "ceph_path", "size", "read_only"),
    [
        ("project", "/mofang/project/vision", "1Ti", False),
        ("user-alice", "/mofang/user/alice", "100Gi", False),
        ("user-bob", "/mofang/user/bob", "100Gi", False),
        ("global", "/mofang/global", "10Ti", True),
    ],
)
def test_each_storage_tier_is_a_cephfs_volume_bound_to_its_claim(
    central: RenderedTarget, claim: str, ceph_path: str, size: str, read_only: bool
) -> None:
    pvc = next(
        b for b in _bodies(central, "PersistentVolumeClaim") if b["metadata"]["name"] == claim
    )
    pv = next(
        b
        for b in _bodies(central, "PersistentVolume")
        if b["metadata"]["name"] == pvc["spec"]["volumeName"]
    )
    access = ["ReadOnlyMany"] if read_only else ["ReadWriteMany"]
    assert pvc["spec"]["accessModes"] == pv["spec"]["accessModes"] == access
    assert pvc["spec"]["storageClassName"] == pv["spec"]["storageClassName"]
    assert pvc["spec"]["resources"]["requests"]["storage"] == size
    assert pv["spec"]["capacity"]["storage"] == size
    assert pv["spec"]["claimRef"] == {"namespace": "vision", "name": claim}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    csi = pv["spec"]["csi"]
    assert csi["volumeAttributes"]["rootPath"] == ceph_path
    assert csi["readOnly"] is read_only
    # The project's own Ceph identity, its key in the project's namespace (never in git).
    assert csi["nodeStageSecretRef"] == {"name": "ceph-vision", "namespace": "vision"}
    assert "namespace" not in pv["metadata"]


def test_homes_exist_only_for_people_whose_own_workloads_here_mount_them(
    central: RenderedTarget,
) -> None:
    claims = {b["metadata"]["name"] for b in _bodies(central, "PersistentVolumeClaim")}
    assert claims == {"project", "global", "user-alice", "user-bob"}
    mounted = {
        volume["persistentVolumeClaim"]["claimName"]
        for m in central.manifests
        if m.ref.kind == "StatefulSet"
        for volume in m.body["spec"]["template"]["spec"]["volumes"]
    }
    assert mounted == {"project", "global", "user-bob"}


def test_edge_cluster_gets_only_its_groups(tmp_path: Path) -> None:
    targets = _targets(tmp_path, "render-edge")
    assert set(targets) == {"prod/central/vision", "prod/edge-sg/vision"}
    edge, central = targets["prod/edge-sg/vision"], targets["prod/central/vision"]
    assert edge.kube_context == "edge-sg"
    edge_hard = _one(edge, "ResourceQuota")["spec"]["hard"]
    assert {k: v for k, v in edge_hard.items() if k != "requests.storage"} == {
        "requests.cpu": "8",
        "requests.memory": "32Gi",
        "requests.volcano.sh/vgpu-number": "4",
    }
    assert _one(edge, "Queue")["spec"]["capability"] == {
        "cpu": "8",
        "memory": "32Gi",
        "volcano.sh/vgpu-number": "4",
    }
    assert "requests.volcano.sh/vgpu-number" not in _one(central, "ResourceQuota")["spec"]["hard"]
    # The project's own objects exist in both clusters; workloads only where their group lives.
    # (Homes differ: carol's notebook is on the edge, bob's and alice's workloads central.)
    for target in (edge, central):
        assert list(dict.fromkeys(m.ref.kind for m in _project_objects(target))) == PROJECT_KINDS
    edge_workloads = {m.source for m in edge.manifests if m.source.startswith("Notebook.")}
    central_workloads = {m.source for m in central.manifests if m.source.startswith("Notebook.")}
    assert edge_workloads == {"Notebook.carol-edge"}
    assert central_workloads == {"Notebook.bob-dev"}
    assert not any(m.source.startswith(("Training.", "Pipeline.")) for m in edge.manifests)


def test_edge_notebook_uses_the_vgpu_resource_and_group_tolerations(tmp_path: Path) -> None:
    edge = _targets(tmp_path, "render-edge")["prod/edge-sg/vision"]
    pod = _one(edge, "StatefulSet")["spec"]["template"]["spec"]
    (toleration,) = pod["tolerations"]
    assert (
        toleration.items()
        >= {
            "key": "volcano.sh/vgpu",
            "operator": "Exists",
            "effect": "NoSchedule",
        }.items()
    )
    resources = pod["containers"][0]["resources"]
    assert resources["requests"]["volcano.sh/vgpu-number"] == "2"
    assert resources["limits"]["volcano.sh/vgpu-number"] == "2"


def test_edge_scenario_project_and_notebook_objects_pass_server_dry_run(
    tmp_path: Path, server_dry_run: Any
) -> None:
    edge = _targets(tmp_path, "render-edge")["prod/edge-sg/vision"]
    manifests = [
        m for m in edge.manifests if m.source.split(".")[0] in ("Project", "Quota", "Notebook")
    ]
    assert server_dry_run(manifests) == []
