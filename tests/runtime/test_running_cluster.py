"""The running cluster schedules and runs pods on the platform's kwok nodes (issue 15)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from mofang_gitops.devtools.nodes import list_nodes
from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.models.quantities import parse_quantity
from tests.runtime.kube import condition, create, eventually, get, namespace, node_group


def pod(name: str, group: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"mofang.io/resource-group": group},
            "containers": [{"name": "main", "image": "busybox"}],
            **spec,
        },
    }


def test_every_central_group_becomes_nodes_whose_capacity_sums_to_the_group(
    running_cluster: RunningCluster,
) -> None:
    sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for node in list_nodes(running_cluster.plane):
        assert node["ready"], node
        for resource, value in node["capacity"].items():
            sums[node["group"]][resource] += parse_quantity(value)
    assert set(sums) == {"gpu-a100", "gpu-t4-vgpu", "cpu-general"}
    assert sums["gpu-a100"]["nvidia.com/gpu"] == 64
    assert sums["gpu-a100"]["cpu"] == 512
    assert sums["gpu-a100"]["memory"] == parse_quantity("4Ti")
    assert sums["gpu-t4-vgpu"]["volcano.sh/vgpu-number"] == 64
    assert sums["cpu-general"]["cpu"] == 1024
    assert "nvidia.com/gpu" not in sums["cpu-general"]


def test_the_runtime_runs_every_required_component_and_says_what_it_skipped(
    running_cluster: RunningCluster,
) -> None:
    running = running_cluster.runtime.running()
    assert running["kube-scheduler"] and running["kube-controller-manager"] and running["kwok"]
    for operator in ("training-operator", "mpi-operator", "ray-operator"):
        assert running.get(operator) or operator in running_cluster.runtime.skipped


def test_a_pod_runs_and_is_ready_on_a_node_of_its_group(running_cluster: RunningCluster) -> None:
    plane = running_cluster.plane
    ns = namespace(plane, "smoke-pod")
    gpu = pod(
        "gpu",
        "gpu-a100",
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    )
    gpu["spec"]["containers"][0]["resources"] = {"limits": {"nvidia.com/gpu": "8"}}
    create(plane, f"/api/v1/namespaces/{ns}/pods", gpu)
    running = eventually(
        "the GPU pod Running and Ready",
        lambda: (
            (p := get(plane, f"/api/v1/namespaces/{ns}/pods/gpu"))["status"].get("phase")
            == "Running"
            and condition(p, "Ready") == "True"
            and p
        ),
    )
    assert node_group(plane, running["spec"]["nodeName"]) == "gpu-a100"


def test_gpu_nodes_refuse_pods_without_the_groups_toleration(
    running_cluster: RunningCluster,
) -> None:
    plane = running_cluster.plane
    ns = namespace(plane, "smoke-taint")
    create(plane, f"/api/v1/namespaces/{ns}/pods", pod("untolerated", "gpu-a100"))
    message = eventually(
        "the scheduler to report the untolerated taint",
        lambda: next(
            (
                c.get("message", "")
                for c in get(plane, f"/api/v1/namespaces/{ns}/pods/untolerated")["status"].get(
                    "conditions", []
                )
                if c.get("type") == "PodScheduled" and c.get("status") == "False"
            ),
            None,
        ),
    )
    assert "untolerated taint" in message


def test_pods_for_volcano_are_placed_by_the_second_scheduler_profile(
    running_cluster: RunningCluster,
) -> None:
    # Gang admission is not simulated: the volcano profile places pods one by one.
    plane = running_cluster.plane
    ns = namespace(plane, "smoke-volcano")
    create(plane, f"/api/v1/namespaces/{ns}/pods", pod("v", "cpu-general", schedulerName="volcano"))
    placed = eventually(
        "the volcano pod bound",
        lambda: get(plane, f"/api/v1/namespaces/{ns}/pods/v")["spec"].get("nodeName"),
    )
    assert node_group(plane, placed) == "cpu-general"


def test_a_batch_job_completes_through_the_job_controller_and_kwok(
    running_cluster: RunningCluster,
) -> None:
    plane = running_cluster.plane
    ns = namespace(plane, "smoke-job")
    template = pod("x", "cpu-general", restartPolicy="Never")
    del template["metadata"]
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j"},
        "spec": {"template": template, "backoffLimit": 0},
    }
    create(plane, f"/apis/batch/v1/namespaces/{ns}/jobs", job)
    eventually(
        "the Job Complete",
        lambda: (
            condition(get(plane, f"/apis/batch/v1/namespaces/{ns}/jobs/j"), "Complete") == "True"
        ),
    )
