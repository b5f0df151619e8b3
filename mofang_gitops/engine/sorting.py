"""Apply order: what must exist before what.

Namespaced objects need their Namespace; workloads need their ServiceAccount, quota, claims and
config; routes point at Services. Applying in stages avoids "namespace not found" and admission
surprises without waiting on anything but the previous stage. Prune walks the stages backwards so
a route disappears before its Service and a Namespace (when deletion is allowed at all) goes last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import TypeVar

from mofang_gitops.manifests import ObjectRef

T = TypeVar("T")


class Stage(IntEnum):
    """Apply stages, in order."""

    CLUSTER = 0
    """Namespaces, CRDs and other cluster-scoped objects (Volcano Queue, PersistentVolume)."""
    CONFIG = 1
    """Namespaced configuration: ServiceAccount, Roles, quota, claims, ConfigMaps, and network
    and mesh access policies."""
    BINDINGS = 2
    """RoleBindings, once the Roles they name exist: binding a Role is checked against the
    rights it grants (RBAC escalation check), which needs the Role. Secrets too, once their
    ServiceAccount exists: kube-controller-manager's token controller deletes a
    ``service-account-token`` Secret whose ServiceAccount is not there yet (seen on the running
    cluster: the next plan wanted to create it again)."""
    SERVICES = 3
    WORKLOADS = 4
    """StatefulSets, training jobs, Katib experiments, Argo templates and runs, and the rest."""
    ROUTING = 5
    """Istio VirtualServices and other routes that point at Services."""

    def __str__(self) -> str:
        return self.name.lower()


_CONFIG_KINDS = frozenset(
    {
        "ServiceAccount",
        "Role",
        "ResourceQuota",
        "LimitRange",
        "PersistentVolumeClaim",
        "ConfigMap",
        "NetworkPolicy",
        "PodDisruptionBudget",
        # Access policies exist before the workloads they protect (and are pruned after them):
        # a notebook never serves a moment without its AuthorizationPolicy.
        "AuthorizationPolicy",
        "RequestAuthentication",
        "PeerAuthentication",
    }
)
_ROUTING_KINDS = frozenset({"VirtualService", "DestinationRule", "Gateway", "Ingress", "HTTPRoute"})


def stage_of(ref: ObjectRef) -> Stage:
    """Return the apply stage of an object (unknown namespaced kinds count as workloads)."""
    if not ref.namespace or ref.kind in ("Namespace", "CustomResourceDefinition"):
        return Stage.CLUSTER
    if ref.kind in _CONFIG_KINDS:
        return Stage.CONFIG
    if ref.kind in ("RoleBinding", "Secret"):
        return Stage.BINDINGS
    if ref.kind == "Service":
        return Stage.SERVICES
    if ref.kind in _ROUTING_KINDS:
        return Stage.ROUTING
    return Stage.WORKLOADS


def group_by_stage(
    items: Iterable[T], ref: Callable[[T], ObjectRef], *, reverse: bool = False
) -> list[tuple[Stage, list[T]]]:
    """Group items by stage, stages in apply order (or prune order with ``reverse``).

    Items keep their relative order inside a stage; empty stages are left out.
    """
    stages: dict[Stage, list[T]] = {}
    for item in items:
        stages.setdefault(stage_of(ref(item)), []).append(item)
    return sorted(stages.items(), key=lambda pair: pair[0], reverse=reverse)
