"""Project-wide objects of a target: Namespace, RBAC, ServiceAccount, quota, queue, storage.

Tenancy (README, Security model): the Namespace carries the platform's Pod Security levels; people
get the read-only ``mofang-member`` Role (no Secrets, no writes: workloads change through git),
and a Kubernetes ClusterRole only where the platform allows it; an Istio allow-nothing policy
makes every mesh workload of the namespace deny by default (each notebook allows its people).
Storage: the project volume, the read-only global volume, and a home volume only for the people
whose own workloads here mount it (validation proved they agreed). Every CephFS volume uses the
project's own Ceph identity, whose key the platform keeps in the project's namespace.
"""

from __future__ import annotations

from decimal import Decimal

from mofang_gitops.models import Notebook, Training
from mofang_gitops.models.identities import safe_name
from mofang_gitops.models.naming import user_claim, volume_name
from mofang_gitops.models.quantities import format_bytes, format_cpu, parse_quantity
from mofang_gitops.rendering import pipelines
from mofang_gitops.rendering.context import SERVICE_ACCOUNT, TargetContext
from mofang_gitops.validation.placement import home_owner

RBAC = "rbac.authorization.k8s.io/v1"
MEMBER_ROLE = "mofang-member"
STORAGE_CLASS = "mofang-cephfs-static"
"""Class name that only pairs our static CephFS PVs with our PVCs (no provisioner behind it)."""
DEFAULT_DENY = "mofang-default-deny"
PSA_PREFIX = "pod-security.kubernetes.io/"
READ = ["get", "list", "watch"]
MEMBER_RULES: list[tuple[str, list[str], list[str]]] = [
    (
        "",
        [
            "pods", "pods/log", "services", "endpoints", "configmaps", "events",
            "persistentvolumeclaims", "resourcequotas", "limitranges", "serviceaccounts",
        ],
        READ,
    ),
    ("apps", ["statefulsets", "deployments", "replicasets"], READ),
    ("batch", ["jobs", "cronjobs"], READ),
    ("events.k8s.io", ["events"], READ),
    ("networking.k8s.io", ["networkpolicies"], READ),
    ("rbac.authorization.k8s.io", ["roles", "rolebindings"], READ),
    (
        "kubeflow.org",
        ["mpijobs", "tfjobs", "pytorchjobs", "xgboostjobs", "experiments", "trials", "suggestions"],
        READ,
    ),
    ("ray.io", ["rayjobs", "rayclusters"], READ),
    ("batch.volcano.sh", ["jobs"], READ),
    ("scheduling.volcano.sh", ["podgroups"], READ),
    ("argoproj.io", ["workflows", "workflowtemplates", "cronworkflows"], READ),
    ("networking.istio.io", ["virtualservices"], READ),
    ("security.istio.io", ["authorizationpolicies", "requestauthentications"], READ),
]  # fmt: skip
"""What every owner and member may do: read the project's objects and logs. No Secrets (the Ceph
key and the pipeline executor's token live there), no writes, no exec (granted per notebook to
its owner by the notebooks renderer)."""


def render(ctx: TargetContext) -> None:
    """Render the objects every target of a project has."""
    source = f"Project.{ctx.project.name}"
    path = f"projects/{ctx.project.name}/project.yaml"
    quota_source = f"Quota.{ctx.project.name}"
    quota_path = f"projects/{ctx.project.name}/quota.yaml"
    emit = ctx.emitter.emit
    emit(
        "project/namespace.yaml.j2",
        api_version="v1",
        kind="Namespace",
        name=ctx.namespace,
        namespace="",
        source=source,
        source_path=path,
        labels=pod_security_labels(ctx),
    )
    emit(
        "project/serviceaccount.yaml.j2",
        api_version="v1",
        kind="ServiceAccount",
        name=SERVICE_ACCOUNT,
        namespace=ctx.namespace,
        source=source,
        source_path=path,
    )
    _render_rbac(ctx, source, path)
    emit(
        "project/authorizationpolicy.yaml.j2",
        api_version="security.istio.io/v1",
        kind="AuthorizationPolicy",
        name=DEFAULT_DENY,
        namespace=ctx.namespace,
        source=source,
        source_path=path,
        policy=None,
    )
    hard = _hard_limits(ctx)
    emit(
        "project/resourcequota.yaml.j2",
        api_version="v1",
        kind="ResourceQuota",
        name="mofang",
        namespace=ctx.namespace,
        source=quota_source,
        source_path=quota_path,
        hard=hard,
    )
    emit(
        "project/limitrange.yaml.j2",
        api_version="v1",
        kind="LimitRange",
        name="mofang",
        namespace=ctx.namespace,
        source=quota_source,
        source_path=quota_path,
    )
    capability = {
        k.removeprefix("requests."): v for k, v in hard.items() if k != "requests.storage"
    }
    queue = ctx.quota.spec.queue
    emit(
        "project/queue.yaml.j2",
        api_version="scheduling.volcano.sh/v1beta1",
        kind="Queue",
        name=ctx.queue,
        namespace="",
        source=quota_source,
        source_path=quota_path,
        capability=capability,
        weight=queue.weight,
        reclaimable=queue.reclaimable,
    )
    _render_storage(ctx, source, path)


def pod_security_labels(ctx: TargetContext) -> dict[str, str]:
    """Pod Security Admission labels from the platform's policy (never from a team's spec)."""
    policy = ctx.platform.spec.policies.podSecurity
    labels = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"{PSA_PREFIX}{mode}"] = getattr(policy, mode)
        labels[f"{PSA_PREFIX}{mode}-version"] = "latest"
    return labels


def _render_rbac(ctx: TargetContext, source: str, path: str) -> None:
    """The member Role bound to everyone; a ClusterRole per person only where the platform allows.

    Owners count as ``admin``, members as their ``role``. Without the platform's consent nobody
    gets a ClusterRole, so nobody can create a pod, read a Secret or bypass git.
    """
    users = ctx.project.users()
    allowed = set(ctx.platform.spec.policies.access.clusterRoles)
    emit = ctx.spec_emitter(source, path).emit
    member_rules: list[tuple[str, list[str], list[str], list[str]]] = [
        (g, r, v, []) for g, r, v in MEMBER_RULES
    ]
    emit("project/role.yaml.j2", RBAC, "Role", MEMBER_ROLE, rules=member_rules)
    emit(
        "project/rolebinding.yaml.j2", RBAC, "RoleBinding", MEMBER_ROLE,
        role_kind="Role", role=MEMBER_ROLE, users=sorted(users),
    )  # fmt: skip
    for user, role in sorted(users.items()):
        if role in allowed:
            emit(
                "project/rolebinding.yaml.j2", RBAC, "RoleBinding",
                f"mofang-{role}-{safe_name(user)}",
                role_kind="ClusterRole", role=role, users=[user],
            )  # fmt: skip


def home_owners(ctx: TargetContext) -> list[str]:
    """People whose home a workload rendered in this target mounts (sorted, no duplicates).

    The same workloads the renderers place here: notebooks and trainings on this cluster's
    groups, pipelines running on this cluster (a training step runs a training placed here).
    """
    owners: set[str | None] = set()
    placed: list[Notebook | Training] = [
        *(loaded.model for loaded in ctx.resolved.notebooks.values()),
        *(loaded.model for loaded in ctx.resolved.trainings.values()),
    ]
    for workload in placed:
        if ctx.lands_here(workload, workload.spec.resourceGroup):
            owners.add(home_owner(workload, ctx.project))
    for loaded in ctx.resolved.pipelines.values():
        if pipelines.lands_here(ctx, loaded.model):
            owners.add(home_owner(loaded.model, ctx.project))
    return sorted(owner for owner in owners if owner is not None)


def _hard_limits(ctx: TargetContext) -> dict[str, str]:
    """ResourceQuota ``hard``: the quota of the groups on this cluster, summed per resource.

    Storage counts the project volume plus the user and global volumes we create ourselves, so
    our own PVCs always fit and ``quota.storage`` stays what teams may add on top.
    """
    cpu, memory = Decimal(0), Decimal(0)
    gpus: dict[str, int] = {}
    for group in ctx.groups_here():
        amount = ctx.quota.spec.resourceGroups[group.name]
        cpu += parse_quantity(amount.cpu)
        memory += parse_quantity(amount.memory)
        if group.gpu is not None and amount.gpu:
            gpus[group.gpu.resource] = gpus.get(group.gpu.resource, 0) + amount.gpu
    hard = {"requests.cpu": format_cpu(cpu), "requests.memory": format_bytes(memory)}
    for resource, count in sorted(gpus.items()):
        hard[f"requests.{resource}"] = str(count)
    storage = _storage_sizes(ctx)
    hard["requests.storage"] = format_bytes(
        sum((parse_quantity(s) for s in storage.values()), Decimal(0))
    )
    return hard


def _storage_sizes(ctx: TargetContext) -> dict[str, str]:
    """Size of each PVC we create, by claim name."""
    storage = ctx.platform.spec.storage
    sizes = {"project": ctx.quota.spec.storage if parse_quantity(ctx.quota.spec.storage) else "1Gi"}
    for user in home_owners(ctx):
        sizes[user_claim(user)] = storage.userCapacity
    sizes["global"] = storage.globalCapacity
    return sizes


def _render_storage(ctx: TargetContext, source: str, path: str) -> None:
    """A static CephFS PV per tier, each bound to its PVC by ``volumeName``.

    PVs are cluster-scoped, so their names carry the namespace (unique per cluster). Each mounts
    only its own directory (``rootPath``) with the project's own Ceph identity: the key is read
    from a Secret in the project's namespace, which the platform writes and no member can read.
    """
    cephfs = ctx.platform.spec.storage.cephfs
    secret = cephfs.secret_for(ctx.project.name)
    for claim, size in _storage_sizes(ctx).items():
        if claim == "project":
            ceph_path, read_only = f"{cephfs.rootPath}/project/{ctx.project.name}", False
        elif claim == "global":
            ceph_path, read_only = f"{cephfs.rootPath}/global", True
        else:
            ceph_path, read_only = f"{cephfs.rootPath}/user/{claim.removeprefix('user-')}", False
        pv_name = volume_name(ctx.namespace, claim)
        access = "ReadOnlyMany" if read_only else "ReadWriteMany"
        ctx.emitter.emit(
            "project/persistentvolume.yaml.j2",
            api_version="v1",
            kind="PersistentVolume",
            name=pv_name,
            namespace="",
            source=source,
            source_path=path,
            size=size,
            cephfs=cephfs,
            ceph_path=ceph_path.replace("//", "/"),
            read_only=read_only,
            access=access,
            storage_class=STORAGE_CLASS,
            claim=claim,
            claim_namespace=ctx.namespace,
            secret=secret,
        )
        ctx.emitter.emit(
            "project/persistentvolumeclaim.yaml.j2",
            api_version="v1",
            kind="PersistentVolumeClaim",
            name=claim,
            namespace=ctx.namespace,
            source=source,
            source_path=path,
            size=size,
            access=access,
            storage_class=STORAGE_CLASS,
            volume_name=pv_name,
        )
