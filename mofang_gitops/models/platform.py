"""What the platform team owns: ``platform.yaml`` and ``environments/<env>.yaml``."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from mofang_gitops.models.base import (
    DNS1123_LABEL,
    Duration,
    LabelKey,
    LabelValue,
    Name,
    Quantity,
    SpecDocument,
    StrictModel,
    register,
)

HOSTNAME = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
IMAGE_REF = (
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
ABS_PATH = r"^/([A-Za-z0-9._-]+/?)*$"


class Cluster(StrictModel):
    """A Kubernetes cluster of the platform."""

    name: Name
    """Cluster name used by resource groups and environments."""
    role: Literal["central", "edge"] = "central"
    """``central`` runs the platform; ``edge`` clusters compute where the data lives."""
    region: str = Field(default="", max_length=63)
    """Free-form region, for people."""
    context: str = Field(default="", max_length=253, pattern=r"^[A-Za-z0-9@:._/-]*$")
    """kubeconfig context used to reach it; defaults to the cluster name."""

    @property
    def kube_context(self) -> str:
        """The kubeconfig context name to use."""
        return self.context or self.name


class Toleration(StrictModel):
    """A taint toleration added to pods placed on a resource group."""

    key: LabelKey
    """Taint key."""
    operator: Literal["Equal", "Exists"] = "Equal"
    """``Equal`` (with value) or ``Exists``."""
    value: LabelValue = ""
    """Taint value for ``Equal``."""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    """Taint effect; empty tolerates all effects."""


class Capacity(StrictModel):
    """What a resource group can hand out in total."""

    cpu: Quantity
    """CPU cores."""
    memory: Quantity
    """Memory."""
    gpu: int = Field(default=0, ge=0)
    """GPUs (or vGPU units)."""


class GpuSpec(StrictModel):
    """The GPUs of a resource group."""

    type: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9._-]+$")
    """Model, for people and labels: ``A100``, ``T4``."""
    resource: LabelKey = "nvidia.com/gpu"
    """Extended resource name pods request; a vGPU resource such as ``volcano.sh/vgpu-number``
    is allowed."""


class ResourceGroup(StrictModel):
    """A pool of nodes (GPU or CPU) in one cluster that projects are allowed to use."""

    name: Name
    """Resource group name."""
    cluster: Name
    """The cluster whose nodes form this group."""
    nodeSelector: dict[LabelKey, LabelValue] = Field(min_length=1)
    """Node labels that select the group's nodes."""
    tolerations: list[Toleration] = Field(default_factory=list)
    """Tolerations for the group's taints."""
    capacity: Capacity
    """Total capacity; quotas summed over projects and environments must fit in it."""
    gpu: GpuSpec | None = None
    """GPU description; absent for CPU-only groups."""

    @model_validator(mode="after")
    def _gpu_needs_type(self) -> ResourceGroup:
        if self.capacity.gpu and self.gpu is None:
            raise ValueError("capacity.gpu is set but gpu (type, resource) is missing")
        return self


class CephFS(StrictModel):
    """The CephFS cluster that backs every storage tier."""

    monitors: list[str] = Field(min_length=1)
    """Monitor addresses ``host:port``."""
    user: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9._-]+$")
    """Ceph user."""
    secretRef: Name
    """Name of the Secret holding the Ceph key."""
    secretNamespace: Name = "mofang-system"
    """Namespace of that Secret."""
    rootPath: str = Field(pattern=ABS_PATH)
    """CephFS directory under which ``user/``, ``project/`` and ``global`` live."""
    driver: str = Field(default="cephfs.csi.ceph.com", pattern=r"^[a-z0-9.-]+$", max_length=63)
    """CSI driver serving CephFS (the in-tree cephfs plugin stopped working in Kubernetes 1.31)."""
    clusterID: str = Field(default="ceph", pattern=r"^[A-Za-z0-9._-]+$", max_length=63)
    """ceph-csi cluster ID (the entry of its config map that lists these monitors)."""
    fsName: str = Field(default="cephfs", pattern=r"^[A-Za-z0-9._-]+$", max_length=63)
    """CephFS file system name."""


class Mounts(StrictModel):
    """Where each storage tier is mounted inside containers."""

    user: str = Field(default="/home/jovyan/work", pattern=ABS_PATH)
    """The owner's personal directory."""
    project: str = Field(default="/mnt/project", pattern=ABS_PATH)
    """The project's shared directory."""
    global_: str = Field(default="/mnt/global", pattern=ABS_PATH, alias="global")
    """Platform-wide read-only data."""


class Storage(StrictModel):
    """Storage tiers on CephFS."""

    cephfs: CephFS
    """CephFS connection."""
    mounts: Mounts = Field(default_factory=Mounts)
    """Mount paths per tier."""
    userCapacity: Quantity = "100Gi"
    """Size of each user volume."""
    globalCapacity: Quantity = "10Ti"
    """Size of the global volume."""


class Ingress(StrictModel):
    """How notebooks are reached: an Istio gateway and a host."""

    gateway: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    """``namespace/name`` of the Istio Gateway."""
    host: str = Field(pattern=HOSTNAME, max_length=253)
    """Host name of the platform."""


class Image(StrictModel):
    """A curated image people can name instead of writing a full reference."""

    image: str = Field(pattern=IMAGE_REF, max_length=255)
    """Full image reference; must come from an allowed registry."""
    description: str = Field(default="", max_length=200)
    """For people."""


class NotebookPolicy(StrictModel):
    """Limits for one notebook."""

    maxCpu: Quantity = "16"
    """Most CPU a notebook may request."""
    maxMemory: Quantity = "64Gi"
    """Most memory a notebook may request."""
    maxGpu: int = Field(default=2, ge=0)
    """Most GPUs a notebook may request."""
    idleTimeout: Duration = "72h"
    """Longest idle timeout; also the default."""


class TrainingPolicy(StrictModel):
    """Limits for one training job."""

    maxWorkers: int = Field(default=64, ge=1)
    """Most replicas of any one role."""
    maxGpuPerWorker: int = Field(default=8, ge=0)
    """Most GPUs per replica."""


NamespacePattern = Annotated[str, Field(pattern=r"^[a-z0-9*?-]+$", max_length=63)]
"""A namespace name or shell pattern (``*``, ``?``)."""
DEFAULT_RESERVED_NAMESPACES = (
    "istio-*",
    "knative-*",
    "kubeflow",
    "kubeflow-*",
    "volcano-*",
    "argo",
    "argo-*",
    "cert-manager",
    "monitoring",
    "ceph-csi*",
    "rook-ceph*",
    "ray-system",
)
"""Namespaces of the platform's own components (shell patterns), refused as project namespaces."""


class Policies(StrictModel):
    """Platform policies and what happens to requests that break them."""

    reservedNamespaces: list[NamespacePattern] = Field(
        default_factory=lambda: list(DEFAULT_RESERVED_NAMESPACES),
        max_length=200,
    )
    """Namespaces no project may get (shell patterns such as ``istio-*``), in addition to
    ``kube-*``, ``default``, ``mofang-system`` and the ingress gateway's namespace, which are
    always reserved. A project whose namespace matches one is refused: its owners would become
    admins of a namespace the platform runs in."""

    notebook: NotebookPolicy = Field(default_factory=NotebookPolicy)
    """Notebook limits."""
    training: TrainingPolicy = Field(default_factory=TrainingPolicy)
    """Training limits."""
    onViolation: Literal["reject", "clamp"] = "reject"
    """``reject`` fails validation; ``clamp`` lowers the request to the limit and warns."""


class PlatformSpec(StrictModel):
    """Clusters, resource groups, storage, ingress, images, registries and policies."""

    clusters: list[Cluster] = Field(min_length=1)
    """Every cluster of the platform."""
    resourceGroups: list[ResourceGroup] = Field(min_length=1)
    """Node pools projects can be given."""
    storage: Storage
    """CephFS storage tiers."""
    ingress: Ingress
    """Istio ingress for notebooks."""
    images: dict[str, Image] = Field(default_factory=dict)
    """Curated images by short name."""
    registries: list[str] = Field(min_length=1)
    """Allowed image registry prefixes, e.g. ``registry.example.com/``."""
    policies: Policies = Field(default_factory=Policies)
    """Platform policies."""


@register
class Platform(SpecDocument):
    """The platform itself (``platform.yaml``), owned by the platform team."""

    KIND: ClassVar[str] = "Platform"
    kind: Literal["Platform"]
    """Always ``Platform``."""
    spec: PlatformSpec
    """The platform definition."""

    def cluster(self, name: str) -> Cluster | None:
        """Return the named cluster."""
        return next((c for c in self.spec.clusters if c.name == name), None)

    def resource_group(self, name: str) -> ResourceGroup | None:
        """Return the named resource group."""
        return next((g for g in self.spec.resourceGroups if g.name == name), None)


class NotebookPolicyOverride(StrictModel):
    """Per-environment override of notebook limits; unset fields keep the platform value."""

    maxCpu: Quantity | None = None
    """Most CPU."""
    maxMemory: Quantity | None = None
    """Most memory."""
    maxGpu: int | None = Field(default=None, ge=0)
    """Most GPUs."""
    idleTimeout: Duration | None = None
    """Longest idle timeout."""


class TrainingPolicyOverride(StrictModel):
    """Per-environment override of training limits."""

    maxWorkers: int | None = Field(default=None, ge=1)
    """Most replicas of any one role."""
    maxGpuPerWorker: int | None = Field(default=None, ge=0)
    """Most GPUs per replica."""


class PolicyOverrides(StrictModel):
    """Per-environment policy overrides."""

    notebook: NotebookPolicyOverride | None = None
    """Notebook limits."""
    training: TrainingPolicyOverride | None = None
    """Training limits."""
    onViolation: Literal["reject", "clamp"] | None = None
    """Violation handling."""


class EnvironmentSpec(StrictModel):
    """Where an environment runs and how its namespaces are named."""

    clusters: list[Name] = Field(min_length=1)
    """Clusters of the environment."""
    namespace: str = Field(default="{project}", pattern=r"^[a-z0-9{}-]+$", max_length=63)
    """Namespace pattern; ``{project}`` and ``{environment}`` are replaced."""
    host: str | None = Field(default=None, pattern=HOSTNAME, max_length=253)
    """Notebook host for this environment; defaults to the platform ingress host."""
    policies: PolicyOverrides | None = None
    """Policy overrides for this environment."""

    @model_validator(mode="after")
    def _pattern_has_project(self) -> EnvironmentSpec:
        if "{project}" not in self.namespace:
            raise ValueError("namespace must contain {project} so projects do not share one")
        rest = self.namespace.replace("{project}", "").replace("{environment}", "")
        if "{" in rest or "}" in rest:
            raise ValueError("namespace may only use {project} and {environment}")
        return self


@register
class Environment(SpecDocument):
    """A deployment environment (``environments/<env>.yaml``)."""

    KIND: ClassVar[str] = "Environment"
    kind: Literal["Environment"]
    """Always ``Environment``."""
    spec: EnvironmentSpec
    """The environment definition."""

    def namespace_for(self, project: str) -> str:
        """Return the namespace a project gets in this environment."""
        return self.spec.namespace.replace("{project}", project).replace("{environment}", self.name)


__all__ = ["DNS1123_LABEL", "Environment", "Platform"]
