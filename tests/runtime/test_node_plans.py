"""kwok node plans from platform.yaml: labels, taints and capacity summing to each group's."""

from __future__ import annotations

from pathlib import Path

from mofang_gitops.devtools.nodes import node_manifest, plan_nodes, total
from mofang_gitops.models.quantities import parse_quantity
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC = load_repo(DirectoryTree(REPO_ROOT)).platform.model.spec  # type: ignore[union-attr]


def test_each_groups_nodes_sum_exactly_to_its_capacity() -> None:
    for cluster in ("central", "edge-sg"):
        plans = plan_nodes(SPEC, cluster)
        for group in (g for g in SPEC.resourceGroups if g.cluster == cluster):
            mine = [p for p in plans if p.group == group.name]
            assert mine, group.name
            assert total(mine, "cpu") == parse_quantity(group.capacity.cpu)
            assert total(mine, "memory") == parse_quantity(group.capacity.memory)
            gpu = group.gpu.resource if group.gpu else "nvidia.com/gpu"
            assert total(mine, gpu) == group.capacity.gpu


def test_nodes_carry_the_group_selector_and_a_taint_per_toleration() -> None:
    for plan in plan_nodes(SPEC, "central") + plan_nodes(SPEC, "edge-sg"):
        group = next(g for g in SPEC.resourceGroups if g.name == plan.group)
        assert group.nodeSelector.items() <= plan.labels.items()
        assert [t["key"] for t in plan.taints] == [t.key for t in group.tolerations]
        assert plan.cluster == group.cluster


def test_edge_nodes_exist_only_in_the_edge_cluster() -> None:
    central = {p.group for p in plan_nodes(SPEC, "central")}
    edge = {p.group for p in plan_nodes(SPEC, "edge-sg")}
    assert central == {"gpu-a100", "gpu-t4-vgpu", "cpu-general"}
    assert edge == {"edge-gpu", "edge-cpu"}


def test_a_node_manifest_is_kwok_managed_and_keeps_its_capacity() -> None:
    plan = plan_nodes(SPEC, "central")[0]
    node = node_manifest(plan)
    assert node["metadata"]["annotations"] == {"kwok.x-k8s.io/node": "fake"}
    assert node["status"]["capacity"] == node["status"]["allocatable"] == plan.capacity
    assert int(plan.capacity["nvidia.com/gpu"]) <= 8
