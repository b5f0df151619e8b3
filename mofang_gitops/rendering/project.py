"""Project-wide objects of a target: Namespace, RBAC, ServiceAccount, quota, queue, storage."""

from __future__ import annotations

from decimal import Decimal

from mofang_gitops.models.identities import safe_name
from mofang_gitops.models.naming import user_claim, volume_name
from mofang_gitops.models.quantities import format_bytes, format_cpu, parse_quantity
from mofang_gitops.rendering.context import SERVICE_ACCOUNT, TargetContext

ROLE_CLUSTER_ROLES = {"admin": "admin", "edit": "edit", "view": "view"}
STORAGE_CLASS = "mofang-cephfs-static"
"""Class name that only pairs our static CephFS PVs with our PVCs (no provisioner behind it)."""


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
    for user, role in sorted(ctx.project.users().items()):
        emit(
            "project/rolebinding.yaml.j2",
            api_version="rbac.authorization.k8s.io/v1",
            kind="RoleBinding",
            name=f"mofang-{role}-{safe_name(user)}",
            namespace=ctx.namespace,
            source=source,
            source_path=path,
            user=user,
            cluster_role=ROLE_CLUSTER_ROLES[role],
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
    for user in sorted(ctx.project.users()):
        sizes[user_claim(user)] = storage.userCapacity
    sizes["global"] = storage.globalCapacity
    return sizes


def _render_storage(ctx: TargetContext, source: str, path: str) -> None:
    """A static CephFS PV per tier, each bound to its PVC by ``volumeName``.

    PVs are cluster-scoped, so their names carry the namespace (unique per cluster).
    """
    cephfs = ctx.platform.spec.storage.cephfs
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
