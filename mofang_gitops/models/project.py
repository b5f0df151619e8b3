"""What an algorithm team owns at the top of ``projects/<team>/``: the project and its quota."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from mofang_gitops.models.base import (
    ByteQuantity,
    CpuQuantity,
    GpuCount,
    Name,
    SpecDocument,
    StrictModel,
    UserName,
    register,
)
from mofang_gitops.models.text import MultiLine


class Member(StrictModel):
    """A person with access to the project's namespaces."""

    user: UserName
    """User name as the cluster's authenticator reports it."""
    role: Literal["admin", "edit", "view"] = "edit"
    """Kubernetes ClusterRole bound in the project namespaces, only where the platform's
    ``policies.access.clusterRoles`` allows it; everyone gets the read-only member Role."""


class ProjectSpec(StrictModel):
    """Owners, members, environments and allowed resource groups of a team."""

    owners: list[UserName] = Field(min_length=1, max_length=100)
    """People who own the project (required reviewers of its files; ``admin`` where the platform
    allows that ClusterRole; at most 100)."""
    members: list[Member] = Field(default_factory=list, max_length=1000)
    """Other people and their roles (at most 1000)."""
    environments: list[Name] = Field(min_length=1, max_length=64)
    """Environments the project's workloads deploy to (at most 64)."""
    resourceGroups: list[Name] = Field(min_length=1, max_length=256)
    """Resource groups the project may use (at most 256)."""
    description: Annotated[str, MultiLine, Field(max_length=500)] = ""
    """For people; several lines allowed, at most 500 characters."""


@register
class Project(SpecDocument):
    """A team's project (``projects/<project>/project.yaml``)."""

    KIND: ClassVar[str] = "Project"
    kind: Literal["Project"]
    """Always ``Project``."""
    spec: ProjectSpec
    """The project definition."""

    def users(self) -> dict[str, str]:
        """Return every user with access and their role; owners are admins."""
        roles: dict[str, str] = {m.user: m.role for m in self.spec.members}
        roles.update({owner: "admin" for owner in self.spec.owners})
        return roles


class GroupQuota(StrictModel):
    """The share of one resource group a project may request per environment namespace."""

    cpu: CpuQuantity
    """CPU cores; at most 10000000."""
    memory: ByteQuantity
    """Memory; at most 1Ei."""
    gpu: GpuCount = 0
    """GPUs; at most 1000000."""


class QueueSpec(StrictModel):
    """The project's Volcano queue."""

    weight: int = Field(default=1, ge=1, le=65535)
    """Share of the cluster when queues compete."""
    reclaimable: bool = True
    """Whether other queues may reclaim resources this queue borrowed."""


class QuotaSpec(StrictModel):
    """Per resource group CPU/memory/GPU, storage, and the Volcano queue."""

    resourceGroups: dict[Name, GroupQuota] = Field(min_length=1, max_length=256)
    """Quota per resource group."""
    storage: ByteQuantity = "0"
    """Total storage requests (also the project volume size); at most 1Ei."""
    queue: QueueSpec = Field(default_factory=QueueSpec)
    """Volcano queue settings."""


@register
class Quota(SpecDocument):
    """A team's quota (``projects/<project>/quota.yaml``)."""

    KIND: ClassVar[str] = "Quota"
    kind: Literal["Quota"]
    """Always ``Quota``."""
    spec: QuotaSpec
    """The quota definition."""
