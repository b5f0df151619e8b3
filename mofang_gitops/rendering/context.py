"""Typed context the templates are fed: one target, and the pods of its workloads.

All decisions (placement, scheduling, mounts, names) are made here in Python, where they are
typed and testable; templates only lay the values out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from mofang_gitops.models import Environment, Platform, Project, Quota
from mofang_gitops.models.base import MountTier, Resources
from mofang_gitops.models.naming import queue_name, user_claim
from mofang_gitops.models.platform import Cluster, ResourceGroup
from mofang_gitops.models.workloads import Workload
from mofang_gitops.rendering.templating import Emitter, SpecEmitter
from mofang_gitops.validation.placement import workload_environments
from mofang_gitops.validation.workloads import ResolvedProject

SCHEDULER = "volcano"
QUEUE_ANNOTATION = "scheduling.volcano.sh/queue-name"
JOB_LABEL = "mofang.io/job"
ROLE_LABEL = "mofang.io/role"
SERVICE_ACCOUNT = "mofang-workload"
CONTAINER_SECURITY: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
"""Every container we render: what Pod Security ``restricted`` asks of each container."""


@dataclass(frozen=True)
class Mount:
    """One volume mount of a container."""

    name: str
    path: str
    read_only: bool


@dataclass(frozen=True)
class Volume:
    """One PVC-backed pod volume."""

    name: str
    claim: str
    read_only: bool


@dataclass
class Container:
    """One container, with every value already decided."""

    name: str
    image: str
    command: list[str]
    args: list[str] = field(default_factory=list)
    env: list[tuple[str, str]] = field(default_factory=list)
    requests: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)
    volume_mounts: list[Mount] = field(default_factory=list)
    ports: list[tuple[str, int]] = field(default_factory=list)
    security_context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Pod:
    """A pod template: scheduling, placement, identity, containers and volumes."""

    labels: dict[str, str]
    annotations: dict[str, str]
    service_account: str
    node_selector: dict[str, str]
    tolerations: list[dict[str, Any]]
    containers: list[Container]
    volumes: list[Volume] = field(default_factory=list)
    affinity: dict[str, Any] | None = None
    restart_policy: str | None = None
    scheduler_name: str = SCHEDULER
    security_context: dict[str, Any] = field(default_factory=dict)


@dataclass
class TargetContext:
    """Everything known about one (environment, cluster, project) while rendering it."""

    platform: Platform
    environment: Environment
    cluster: Cluster
    project: Project
    quota: Quota
    resolved: ResolvedProject
    """The project's specs as validation resolved them (clamped requests applied)."""
    namespace: str
    emitter: Emitter

    def spec_emitter(self, source: str, source_path: str, name: str = "") -> SpecEmitter:
        """An emitter for the objects of one spec in this target's namespace."""
        return SpecEmitter(
            emitter=self.emitter,
            namespace=self.namespace,
            source=source,
            source_path=source_path,
            name=name,
        )

    @property
    def queue(self) -> str:
        """Volcano queue of this project in this environment (cluster-scoped, so per namespace)."""
        return queue_name(self.namespace)

    @property
    def host(self) -> str:
        """Notebook host of this environment."""
        return self.environment.spec.host or self.platform.spec.ingress.host

    def groups_here(self) -> list[ResourceGroup]:
        """The project's quota'd resource groups that live on this cluster."""
        groups = []
        for name in self.quota.spec.resourceGroups:
            group = self.platform.resource_group(name)
            if group is not None and group.cluster == self.cluster.name:
                groups.append(group)
        return groups

    def lands_here(self, workload: Workload, group_name: str) -> bool:
        """Whether a workload whose main resource group is ``group_name`` renders in this target."""
        if self.environment.name not in workload_environments(workload, self.project):
            return False
        group = self.platform.resource_group(group_name)
        return group is not None and group.cluster == self.cluster.name

    def group(self, name: str) -> ResourceGroup:
        """A resource group that validation already proved exists."""
        group = self.platform.resource_group(name)
        assert group is not None, name
        return group

    def image(self, image: str) -> str:
        """Resolve a platform image name to its full reference."""
        known = self.platform.spec.images.get(image)
        return known.image if known else image

    def resources(
        self, resources: Resources, group: ResourceGroup
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Requests and limits; GPUs use the group's resource name with requests = limits."""
        requests = {"cpu": resources.cpu, "memory": resources.memory}
        limits = {"memory": resources.memory}
        if resources.gpu and group.gpu is not None:
            requests[group.gpu.resource] = str(resources.gpu)
            limits[group.gpu.resource] = str(resources.gpu)
        return requests, limits

    def mounts(self, tiers: list[MountTier], owner: str | None) -> tuple[list[Volume], list[Mount]]:
        """Volumes and mounts of the storage tiers asked for."""
        paths = self.platform.spec.storage.mounts
        volumes, mounts = [], []
        for tier in tiers:
            if tier == "user":
                if owner is None:
                    continue
                volumes.append(Volume("user", user_claim(owner), False))
                mounts.append(Mount("user", paths.user, False))
            elif tier == "project":
                volumes.append(Volume("project", "project", False))
                mounts.append(Mount("project", paths.project, False))
            else:
                volumes.append(Volume("global", "global", True))
                mounts.append(Mount("global", paths.global_, True))
        return volumes, mounts

    def pod(
        self,
        group: ResourceGroup,
        containers: list[Container],
        *,
        job: str,
        role: str,
        volumes: list[Volume],
        pack_gpus: bool = False,
        restart_policy: str | None = None,
    ) -> Pod:
        """A pod template placed on ``group``, scheduled by Volcano in the project queue."""
        labels = {JOB_LABEL: job, ROLE_LABEL: role}
        affinity = None
        if pack_gpus:
            # Preferred, not required: packing GPU workers of one job on the same nodes speeds up
            # all-reduce, but must never keep a job from starting.
            affinity = {
                "podAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 100,
                            "podAffinityTerm": {
                                "labelSelector": {"matchLabels": {JOB_LABEL: job}},
                                "topologyKey": "kubernetes.io/hostname",
                            },
                        }
                    ]
                }
            }
        tolerations = [
            t.model_dump(exclude_none=True, exclude_defaults=True) | {"key": t.key}
            for t in group.tolerations
        ]
        for container in containers:
            container.security_context = dict(CONTAINER_SECURITY)
        return Pod(
            labels=labels,
            annotations={QUEUE_ANNOTATION: self.queue},
            service_account=SERVICE_ACCOUNT,
            node_selector=dict(group.nodeSelector),
            tolerations=tolerations,
            containers=containers,
            volumes=volumes,
            affinity=affinity,
            restart_policy=restart_policy,
            security_context=self.pod_security_context(),
        )

    def pod_security_context(self) -> dict[str, Any]:
        """Pod-level settings Pod Security ``restricted`` asks for: never root, default seccomp.

        The user is the platform's (``policies.podSecurity``), numeric so the kubelet can verify
        ``runAsNonRoot`` for images whose USER is a name.
        """
        policy = self.platform.spec.policies.podSecurity
        return {
            "runAsNonRoot": True,
            "runAsUser": policy.runAsUser,
            "runAsGroup": policy.runAsGroup,
            "seccompProfile": {"type": "RuntimeDefault"},
        }


def run_suffix(*parts: Any) -> str:
    """A short stable hash of a spec: a changed spec gives a new run name, an unchanged one never.

    One-shot runs (Training jobs, Katib experiments) are named ``<name>-<suffix>`` so a finished
    run is never re-created by reconcile; a new run needs a spec change (DESIGN.md section 4).
    """
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
    return digest.hexdigest()[:6]
