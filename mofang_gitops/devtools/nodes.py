"""kwok nodes for the resource groups of platform.yaml: placement tested against the real thing.

Every resource group of a cluster becomes a few fake nodes carrying the group's ``nodeSelector``
labels, a taint for each toleration the group declares (what keeps other pods off its nodes in
production), and its GPU resource. The group's capacity is split exactly over the nodes: the sum
of the nodes' capacities equals the group's, so a quota that fits the group fits the nodes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mofang_gitops.devtools.controlplane import ControlPlane, api_call
from mofang_gitops.devtools.runtime import KWOK_NODE_ANNOTATION, wait_for
from mofang_gitops.errors import MofangError
from mofang_gitops.models.platform import PlatformSpec, ResourceGroup
from mofang_gitops.models.quantities import parse_quantity

GPUS_PER_NODE = 8
"""A DGX-like node: 8 GPUs (or vGPU slices) each."""
CPUS_PER_NODE = 128
"""A large CPU node; a CPU group of 1024 cores becomes 8 of them."""
PODS_PER_NODE = 110
GROUP_LABEL = "mofang.io/resource-group"
CLUSTER_LABEL = "mofang.io/cluster"
TYPE_LABEL = ("type", "kwok")
EPHEMERAL_STORAGE = "200Gi"
"""Local disk every kubelet reports; Katib's suggestion pods request some (500Mi by default),
so without it they never schedule."""


@dataclass(frozen=True)
class NodePlan:
    """One fake node: which group it belongs to and what it offers."""

    name: str
    cluster: str
    group: str
    labels: dict[str, str]
    taints: list[dict[str, str]]
    capacity: dict[str, str]


def plan_nodes(spec: PlatformSpec, cluster: str) -> list[NodePlan]:
    """Return the nodes of every resource group of ``cluster``, in platform.yaml order."""
    return [
        node for group in spec.resourceGroups if group.cluster == cluster for node in _group(group)
    ]


def _group(group: ResourceGroup) -> list[NodePlan]:
    cpu = parse_quantity(group.capacity.cpu)
    memory = parse_quantity(group.capacity.memory)
    gpus = int(group.capacity.gpu or 0)
    count = max(1, math.ceil(gpus / GPUS_PER_NODE), math.ceil(cpu / CPUS_PER_NODE))
    cpu_parts = _split(int(cpu * 1000), count)  # millicores
    memory_parts = _split(int(memory), count)  # bytes
    gpu_parts = _split(gpus, count)
    labels = {**group.nodeSelector, CLUSTER_LABEL: group.cluster, TYPE_LABEL[0]: TYPE_LABEL[1]}
    labels.setdefault(GROUP_LABEL, group.name)
    plans = []
    for index in range(count):
        name = f"{group.name}-{index}"
        capacity = {
            "cpu": _millis(cpu_parts[index]),
            "memory": str(memory_parts[index]),
            "pods": str(PODS_PER_NODE),
            "ephemeral-storage": EPHEMERAL_STORAGE,
        }
        if group.gpu is not None and gpu_parts[index]:
            capacity[group.gpu.resource] = str(gpu_parts[index])
        plans.append(
            NodePlan(
                name=name,
                cluster=group.cluster,
                group=group.name,
                labels={**labels, "kubernetes.io/hostname": name},
                taints=[_taint(t.model_dump(exclude_none=True)) for t in group.tolerations],
                capacity=capacity,
            )
        )
    return plans


def _split(total: int, count: int) -> list[int]:
    """Split ``total`` into ``count`` integers that differ by at most one and sum to it."""
    base, extra = divmod(total, count)
    return [base + (1 if i < extra else 0) for i in range(count)]


def _millis(value: int) -> str:
    return str(value // 1000) if value % 1000 == 0 else f"{value}m"


def _taint(toleration: dict[str, Any]) -> dict[str, str]:
    """The taint a toleration is written for (``Equal`` keeps its value; no effect: NoSchedule)."""
    taint = {"key": str(toleration["key"]), "effect": str(toleration.get("effect") or "NoSchedule")}
    if toleration.get("operator", "Equal") == "Equal" and toleration.get("value"):
        taint["value"] = str(toleration["value"])
    return taint


def node_manifest(plan: NodePlan) -> dict[str, Any]:
    """Return the Node object kwok will play (capacity set at creation is kept by our stages)."""
    key, value = KWOK_NODE_ANNOTATION
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": plan.name, "labels": plan.labels, "annotations": {key: value}},
        "spec": {"taints": plan.taints},
        "status": {"capacity": plan.capacity, "allocatable": plan.capacity},
    }


def create_nodes(plane: ControlPlane, plans: Sequence[NodePlan], timeout: float = 180) -> None:
    """Create the nodes (or keep existing ones) and wait until each is Ready and schedulable.

    Schedulable means the ``node.kubernetes.io/not-ready`` taint the API server adds on creation
    is gone, which needs kube-controller-manager's node-lifecycle controller and kwok running.

    Raises:
        MofangError: the server refused a node, or the nodes did not become ready in time.
    """
    for plan in plans:
        status, answer = api_call(
            plane, "POST", "/api/v1/nodes", json.dumps(node_manifest(plan)).encode()
        )
        if status not in (201, 409):
            raise MofangError(f"node {plan.name}: the API server answered {status}: {answer}")
    names = {plan.name for plan in plans}

    def ready() -> bool:
        status, found = api_call(plane, "GET", "/api/v1/nodes")
        if status != 200:
            return False
        good = {
            item["metadata"]["name"]
            for item in found.get("items", [])
            if _ready(item)
            and not any(
                t.get("key", "").startswith("node.kubernetes.io/")
                for t in item.get("spec", {}).get("taints") or []
            )
        }
        return names <= good

    wait_for(f"nodes {sorted(names)} to be Ready and untainted", ready, timeout)


def _ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def list_nodes(plane: ControlPlane) -> list[dict[str, Any]]:
    """Describe the nodes of ``plane``: group, readiness, capacity, GPU and pods placed on each.

    ``gpuResource`` is the node's extended resource (``nvidia.com/gpu``, ``volcano.sh/vgpu-number``)
    and ``gpu`` its capacity; a CPU node has ``""`` and ``"0"``.
    """
    status, found = api_call(plane, "GET", "/api/v1/nodes")
    if status != 200:
        raise MofangError(f"{plane.name}: listing nodes answered {status}")
    status, pods = api_call(plane, "GET", "/api/v1/pods")
    placed: dict[str, int] = {}
    for pod in pods.get("items", []) if status == 200 else []:
        node = pod.get("spec", {}).get("nodeName")
        if node and pod.get("status", {}).get("phase") in ("Pending", "Running"):
            placed[node] = placed.get(node, 0) + 1
    described = []
    for item in found.get("items", []):
        capacity = item.get("status", {}).get("capacity", {})
        gpu = sorted(r for r in capacity if r not in _BASE_RESOURCES and "/" in r)
        described.append(
            {
                "name": item["metadata"]["name"],
                "group": item["metadata"].get("labels", {}).get(GROUP_LABEL),
                "ready": _ready(item),
                "capacity": capacity,
                "gpuResource": gpu[0] if gpu else "",
                "gpu": capacity[gpu[0]] if gpu else "0",
                "pods": placed.get(item["metadata"]["name"], 0),
            }
        )
    return described


_BASE_RESOURCES = frozenset({"cpu", "memory", "pods", "ephemeral-storage"})
"""What every node offers; an extended resource with a domain (``nvidia.com/gpu``) is the GPU."""


def total(plans: Sequence[NodePlan], resource: str) -> Decimal:
    """Sum one resource over ``plans`` (what a group's capacity must equal)."""
    return sum((parse_quantity(p.capacity.get(resource, "0")) for p in plans), Decimal(0))
