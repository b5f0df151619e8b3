"""What the platform team owns: ``platform.yaml`` and ``environments/<env>.yaml``."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from mofang_gitops.models.base import (
    DNS1123_LABEL,
    MAX_REPLICAS,
    ByteQuantity,
    CpuQuantity,
    Duration,
    GpuCount,
    LabelKey,
    LabelValue,
    Name,
    SpecDocument,
    StrictModel,
    register,
)
from mofang_gitops.models.text import Address, ImageKey, RegistryPrefix, SingleLine, Text

HOSTNAME = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)*[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
IMAGE_REF = (
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
ABS_PATH = r"^/([A-Za-z0-9._-]+/?)*$"
AbsPath = Annotated[str, SingleLine, Field(pattern=ABS_PATH, max_length=1024)]
"""An absolute path of letters, digits, ``.``, ``_`` and ``-`` (at most 1024 characters)."""
HostName = Annotated[str, SingleLine, Field(pattern=HOSTNAME, max_length=253)]
"""A DNS host name."""


class Cluster(StrictModel):
    """A Kubernetes cluster of the platform."""

    name: Name
    """Cluster name used by resource groups and environments."""
    role: Literal["central", "edge"] = "central"
    """``central`` runs the platform; ``edge`` clusters compute where the data lives."""
    region: Annotated[str, SingleLine, Field(max_length=63)] = ""
    """Free-form region, for people (one line, at most 63 characters)."""
    context: Annotated[str, SingleLine, Field(max_length=253, pattern=r"^[A-Za-z0-9@:._/-]*$")] = ""
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

    cpu: CpuQuantity
    """CPU cores; at most 10000000."""
    memory: ByteQuantity
    """Memory; at most 1Ei."""
    gpu: GpuCount = 0
    """GPUs (or vGPU units); at most 1000000."""


class GpuSpec(StrictModel):
    """The GPUs of a resource group."""

    type: Annotated[
        str, SingleLine, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9._-]+$")
    ]
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
    nodeSelector: dict[LabelKey, LabelValue] = Field(min_length=1, max_length=64)
    """Node labels that select the group's nodes (at most 64)."""
    tolerations: list[Toleration] = Field(default_factory=list, max_length=64)
    """Tolerations for the group's taints (at most 64)."""
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

    monitors: list[Address] = Field(min_length=1, max_length=16)
    """Monitor addresses ``host:port`` (at most 16)."""
    user: Annotated[
        str, SingleLine, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9._{}-]+$")
    ] = "mofang-{project}"
    """CephX user of each project (``{project}`` is replaced): the platform gives it access to
    that project's directories only and stores its key in the project's namespaces."""
    secretRef: Annotated[
        str, SingleLine, Field(max_length=63, pattern=r"^[a-z0-9{]([-a-z0-9{}]*[a-z0-9}])?$")
    ] = "ceph-{project}"
    """Name of the Secret holding that user's key (``userID``/``userKey``) in each namespace of
    the project (``{project}`` is replaced). The tool only references it; the platform writes it.
    """
    rootPath: AbsPath
    """CephFS directory under which ``user/``, ``project/`` and ``global`` live."""
    driver: Annotated[str, SingleLine, Field(pattern=r"^[a-z0-9.-]+$", max_length=63)] = (
        "cephfs.csi.ceph.com"
    )
    """CSI driver serving CephFS (the in-tree cephfs plugin stopped working in Kubernetes 1.31)."""
    clusterID: Annotated[str, SingleLine, Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=63)] = (
        "ceph"
    )
    """ceph-csi cluster ID (the entry of its config map that lists these monitors)."""
    fsName: Annotated[str, SingleLine, Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=63)] = (
        "cephfs"
    )
    """CephFS file system name."""

    @model_validator(mode="after")
    def _per_project_credentials(self) -> CephFS:
        for field_name in ("user", "secretRef"):
            value = getattr(self, field_name)
            if "{project}" not in value:
                raise ValueError(
                    f"{field_name} must contain {{project}}: one Ceph identity per project, so "
                    "a project's key never reaches another project's directories"
                )
            if "{" in value.replace("{project}", "") or "}" in value.replace("{project}", ""):
                raise ValueError(f"{field_name} may only use {{project}}")
        return self

    def user_for(self, project: str) -> str:
        """The CephX user (without ``client.``) of ``project``."""
        return self.user.replace("{project}", project)

    def secret_for(self, project: str) -> str:
        """The name of the Secret holding ``project``'s Ceph key, in each of its namespaces."""
        return self.secretRef.replace("{project}", project)


class Mounts(StrictModel):
    """Where each storage tier is mounted inside containers."""

    user: AbsPath = "/home/jovyan/work"
    """The owner's personal directory."""
    project: AbsPath = "/mnt/project"
    """The project's shared directory."""
    global_: AbsPath = Field(default="/mnt/global", alias="global")
    """Platform-wide read-only data."""


class Storage(StrictModel):
    """Storage tiers on CephFS."""

    cephfs: CephFS
    """CephFS connection."""
    mounts: Mounts = Field(default_factory=Mounts)
    """Mount paths per tier."""
    userCapacity: ByteQuantity = "100Gi"
    """Size of each user volume; at most 1Ei."""
    globalCapacity: ByteQuantity = "10Ti"
    """Size of the global volume; at most 1Ei."""


class GatewayWorkload(StrictModel):
    """The ingress gateway's pods: the only peers allowed to reach a notebook."""

    namespace: Name = "istio-system"
    """Namespace the gateway pods run in."""
    serviceAccount: HostName = "istio-ingressgateway-service-account"
    """Their ServiceAccount: its mesh identity is the one source principal notebooks accept."""
    labels: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"istio": "ingressgateway"}, min_length=1
    )
    """Labels of the gateway pods (the NetworkPolicy admits only these pods)."""


HEADER_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
URI_LIKE = r"^[!#-\[\]-~]+$"
"""Printable ASCII without space, ``"`` and ``\\``: safe inside a policy and a YAML scalar."""
IdentityPrefix = Annotated[str, SingleLine, Field(max_length=100, pattern=r"^[A-Za-z0-9@:._/+-]*$")]
"""What an auth proxy or token puts before the user name (``accounts.google.com:``)."""


class HeaderAuth(StrictModel):
    """Identity from a header that the auth proxy at the gateway sets (and strips from clients)."""

    mode: Literal["header"]
    """``header``: trust the header, because only the gateway's own identity may send it."""
    header: Annotated[str, SingleLine, Field(max_length=100, pattern=HEADER_NAME)] = (
        "kubeflow-userid"
    )
    """Lower-case header name, as Kubeflow's ``kubeflow-userid``."""
    prefix: IdentityPrefix = ""
    """Prefix the proxy writes before the user name (Kubeflow's ``userid-prefix``)."""


class JwtAuth(StrictModel):
    """Identity from a JWT that each notebook's sidecar verifies itself (RequestAuthentication)."""

    mode: Literal["jwt"]
    """``jwt``: verify the token at the notebook against the issuer's keys."""
    issuer: Annotated[str, SingleLine, Field(min_length=1, max_length=253, pattern=URI_LIKE)]
    """Issuer (``iss``) of accepted tokens."""
    jwksUri: Annotated[str, SingleLine, Field(max_length=253, pattern=r"^https://[!#-\[\]-~]+$")]
    """HTTPS URL of the issuer's public keys."""
    audiences: list[
        Annotated[str, SingleLine, Field(min_length=1, max_length=253, pattern=URI_LIKE)]
    ] = Field(default_factory=list, max_length=32)
    """Accepted audiences (``aud``); empty accepts any."""
    claim: Annotated[str, SingleLine, Field(max_length=63, pattern=r"^[A-Za-z0-9_.:/-]+$")] = "sub"
    """Claim that holds the user name."""
    prefix: IdentityPrefix = ""
    """Prefix before the user name in that claim."""


def _header_auth() -> HeaderAuth:
    return HeaderAuth(mode="header")


class Ingress(StrictModel):
    """How notebooks are reached: an Istio gateway and a host, and who people are behind it."""

    gateway: Annotated[
        str,
        SingleLine,
        Field(
            max_length=253,
            pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        ),
    ]
    """``namespace/name`` of the Istio Gateway."""
    host: HostName
    """Host name of the platform."""
    gatewayWorkload: GatewayWorkload = Field(default_factory=GatewayWorkload)
    """The gateway's pods and identity."""
    trustDomain: HostName = "cluster.local"
    """Istio trust domain of the mesh (first part of every principal)."""
    auth: Annotated[HeaderAuth | JwtAuth, Field(discriminator="mode")] = Field(
        default_factory=_header_auth
    )
    """How a request names its person: ``header`` (trusted proxy header) or ``jwt``."""

    @property
    def gateway_principal(self) -> str:
        """The gateway's mesh identity, as AuthorizationPolicy ``principals`` spell it."""
        workload = self.gatewayWorkload
        return f"{self.trustDomain}/ns/{workload.namespace}/sa/{workload.serviceAccount}"


class Image(StrictModel):
    """A curated image people can name instead of writing a full reference."""

    image: Annotated[str, SingleLine, Field(pattern=IMAGE_REF, max_length=255)]
    """Full image reference; must come from an allowed registry."""
    description: Text = ""
    """For people (one line, at most 200 characters)."""


class NotebookPolicy(StrictModel):
    """Limits for one notebook."""

    maxCpu: CpuQuantity = "16"
    """Most CPU a notebook may request (at most 10000000)."""
    maxMemory: ByteQuantity = "64Gi"
    """Most memory a notebook may request (at most 1Ei)."""
    maxGpu: GpuCount = 2
    """Most GPUs a notebook may request (at most 1000000)."""
    idleTimeout: Duration = "72h"
    """Longest idle timeout; also the default (at most 366d)."""


class TrainingPolicy(StrictModel):
    """Limits for one training job."""

    maxWorkers: int = Field(default=64, ge=1, le=MAX_REPLICAS)
    """Most replicas of any one role (at most 10000)."""
    maxGpuPerWorker: GpuCount = 8
    """Most GPUs per replica (at most 1000000)."""


NamespacePattern = Annotated[str, SingleLine, Field(pattern=r"^[a-z0-9*?-]+$", max_length=63)]
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


PodSecurityLevel = Literal["restricted", "baseline"]


class PodSecurity(StrictModel):
    """Pod Security Admission levels of every namespace the tool owns, and the pods' user."""

    enforce: PodSecurityLevel = "restricted"
    """Level the API server enforces: ``restricted`` where every operator and sidecar injector of
    the platform produces compliant pods, else ``baseline`` (still no privileged pods, host
    namespaces or hostPath)."""
    audit: PodSecurityLevel = "restricted"
    """Level whose violations are written to the audit log."""
    warn: PodSecurityLevel = "restricted"
    """Level whose violations are returned to clients as warnings."""
    runAsUser: int = Field(default=1000, ge=1, le=2147483647)
    """User ID every rendered container runs as (never root); Jupyter images use 1000."""
    runAsGroup: int = Field(default=100, ge=0, le=2147483647)
    """Group ID every rendered container runs as."""


class Access(StrictModel):
    """What people get in a project's namespaces beyond reading them."""

    clusterRoles: list[Literal["view", "edit", "admin"]] = Field(default_factory=list)
    """Kubernetes ClusterRoles a project member's ``role`` may bind (owners: ``admin``). Empty:
    everyone gets the read-only member Role, so workloads change only through git. ``edit`` and
    ``admin`` let people create pods and read Secrets: see README, Security model."""


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
    podSecurity: PodSecurity = Field(default_factory=PodSecurity)
    """Pod Security Admission levels and the user pods run as (the platform's, never a team's)."""
    access: Access = Field(default_factory=Access)
    """Kubernetes rights of project members."""


class PlatformSpec(StrictModel):
    """Clusters, resource groups, storage, ingress, images, registries and policies."""

    clusters: list[Cluster] = Field(min_length=1, max_length=256)
    """Every cluster of the platform (at most 256)."""
    resourceGroups: list[ResourceGroup] = Field(min_length=1, max_length=1000)
    """Node pools projects can be given (at most 1000)."""
    storage: Storage
    """CephFS storage tiers."""
    ingress: Ingress
    """Istio ingress for notebooks."""
    images: dict[ImageKey, Image] = Field(default_factory=dict, max_length=1000)
    """Curated images by short name (at most 1000)."""
    toolImage: Annotated[str, SingleLine, Field(pattern=IMAGE_REF, max_length=255)] | None = None
    """The mofang-gitops image (``controller/Dockerfile``). Needed when a pipeline uses
    ``dependsOn``: the step that waits for an upstream run runs this tool."""
    registries: list[RegistryPrefix] = Field(min_length=1, max_length=256)
    """Allowed image registry prefixes, e.g. ``registry.example.com/`` (at most 256)."""
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

    maxCpu: CpuQuantity | None = None
    """Most CPU (at most 10000000)."""
    maxMemory: ByteQuantity | None = None
    """Most memory (at most 1Ei)."""
    maxGpu: GpuCount | None = None
    """Most GPUs (at most 1000000)."""
    idleTimeout: Duration | None = None
    """Longest idle timeout (at most 366d)."""


class TrainingPolicyOverride(StrictModel):
    """Per-environment override of training limits."""

    maxWorkers: int | None = Field(default=None, ge=1, le=MAX_REPLICAS)
    """Most replicas of any one role (at most 10000)."""
    maxGpuPerWorker: GpuCount | None = None
    """Most GPUs per replica (at most 1000000)."""


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

    clusters: list[Name] = Field(min_length=1, max_length=256)
    """Clusters of the environment."""
    namespace: Annotated[str, SingleLine, Field(pattern=r"^[a-z0-9{}-]+$", max_length=63)] = (
        "{project}"
    )
    """Namespace pattern; ``{project}`` and ``{environment}`` are replaced."""
    host: HostName | None = None
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
