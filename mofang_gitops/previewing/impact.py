"""What a change does to a project's resource use: requests against quota and group capacity.

Requests come from the validated spec models (clamped values included), never from parsing
manifests: a notebook asks for its resources, a training for replicas x resources per role (times
``parallelTrials`` with a search, as that many jobs run at once), a pipeline for its container
steps (summed: an upper bound, as steps of a DAG need not run together). Figures are per
environment and resource group, as quotas are (DESIGN.md section 2).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from mofang_gitops.models import Platform, Project
from mofang_gitops.models.base import Resources
from mofang_gitops.models.quantities import parse_quantity
from mofang_gitops.sources.loading import ProjectSpecs, Repo
from mofang_gitops.validation.placement import (
    TENSORBOARD_REQUESTS,
    pipeline_group,
    role_group,
    tensorboard_group,
    workload_environments,
)
from mofang_gitops.validation.repository import Validation
from mofang_gitops.validation.workloads import ResolvedProject

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Amount:
    """CPU cores, memory bytes and GPUs."""

    cpu: Decimal = _ZERO
    memory: Decimal = _ZERO
    gpu: Decimal = _ZERO

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.cpu + other.cpu, self.memory + other.memory, self.gpu + other.gpu)

    def times(self, factor: int) -> Amount:
        """This amount ``factor`` times."""
        return Amount(self.cpu * factor, self.memory * factor, self.gpu * factor)

    @classmethod
    def of(cls, cpu: str, memory: str, gpu: int) -> Amount:
        """Parse quantities as a spec writes them."""
        return cls(parse_quantity(cpu), parse_quantity(memory), Decimal(gpu))


@dataclass(frozen=True)
class GroupUse:
    """One project's use of one resource group in one environment, and the group's state."""

    requested: Amount
    """What the project's workloads request there."""
    quota: Amount
    """The project's quota there."""
    allocated: Amount
    """Quota of every valid project summed over all its environments on this group."""
    capacity: Amount
    """The group's capacity."""

    @property
    def over_quota(self) -> bool:
        """Whether the requests add up to more than the quota (not everything can run at once)."""
        r, q = self.requested, self.quota
        return r.cpu > q.cpu or r.memory > q.memory or r.gpu > q.gpu


@dataclass(frozen=True)
class Snapshot:
    """A validated revision and its allocated quota per group (summed once, used per project)."""

    validation: Validation
    allocated: dict[str, Amount]

    @classmethod
    def of(
        cls, validation: Validation, others: Mapping[str, Mapping[str, Amount]] | None = None
    ) -> Snapshot:
        """Sum the allocated quota of a validated revision.

        ``others``: valid projects not loaded, by group, as ``project_allocation`` gives them.
        """
        allocated = allocated_amounts(validation)
        if validation.platform_ok:
            for groups in (others or {}).values():
                for group, amount in groups.items():
                    allocated[group] = allocated.get(group, Amount()) + amount
        return cls(validation, allocated)


@dataclass(frozen=True)
class ImpactRow:
    """Before and after for one (environment, resource group); None where it does not exist."""

    environment: str
    cluster: str
    group: str
    before: GroupUse | None
    after: GroupUse | None

    @property
    def changed(self) -> bool:
        """Whether any figure differs."""
        return self.before != self.after


def project_impact(
    before: Snapshot | None,
    after: Snapshot | None,
    project: str,
    environments: Collection[str] = (),
    clusters: Collection[str] = (),
) -> list[ImpactRow]:
    """Rows for every (environment, group) the project uses in either revision, sorted."""
    old = _usage(before, project) if before else {}
    new = _usage(after, project) if after else {}
    rows = []
    for key in sorted(old.keys() | new.keys()):
        env, cluster, group = key
        if (environments and env not in environments) or (clusters and cluster not in clusters):
            continue
        rows.append(ImpactRow(env, cluster, group, old.get(key), new.get(key)))
    return rows


def _usage(snapshot: Snapshot, name: str) -> dict[tuple[str, str, str], GroupUse]:
    repo = snapshot.validation.repo
    specs = repo.projects.get(name)
    if repo.platform is None or specs is None or specs.project is None or specs.quota is None:
        return {}
    platform = repo.platform.model
    # What renders is what counts: the resolved view (clamped requests) when the rules ran.
    workloads = snapshot.validation.resolved.get(name, specs)
    requested = requested_amounts(platform, specs.project.model, workloads)
    quotas = _quota_amounts(repo, specs)
    allocated = snapshot.allocated
    found = {}
    for env, group_name in sorted(requested.keys() | quotas.keys()):
        group = platform.resource_group(group_name)
        if group is None:
            continue
        capacity = Amount.of(group.capacity.cpu, group.capacity.memory, group.capacity.gpu)
        found[(env, group.cluster, group_name)] = GroupUse(
            requested.get((env, group_name), Amount()),
            quotas.get((env, group_name), Amount()),
            allocated.get(group_name, Amount()),
            capacity,
        )
    return found


def requested_amounts(
    platform: Platform, project: Project, specs: ProjectSpecs | ResolvedProject
) -> dict[tuple[str, str], Amount]:
    """What the project's workloads request, per (environment, resource group)."""
    totals: dict[tuple[str, str], Amount] = defaultdict(Amount)

    def add(envs: list[str], group: str, resources: Resources, factor: int = 1) -> None:
        amount = Amount.of(resources.cpu, resources.memory, resources.gpu).times(factor)
        for env in envs:
            totals[(env, group)] += amount

    for notebook in specs.notebooks.values():
        spec = notebook.model.spec
        add(workload_environments(notebook.model, project), spec.resourceGroup, spec.resources)
    for training in specs.trainings.values():
        envs = workload_environments(training.model, project)
        tspec = training.model.spec
        trials = tspec.search.parallelTrials if tspec.search else 1
        for role_name, role in tspec.roles.items():
            group = role_group(platform, project, training.model, role_name)
            add(envs, group, role.resources, role.replicas * trials)
        if tspec.tensorboard is not None:
            group = tensorboard_group(platform, project, training.model)
            add(envs, group, TENSORBOARD_REQUESTS)
    for pipeline in specs.pipelines.values():
        envs = workload_environments(pipeline.model, project)
        for task in pipeline.model.spec.tasks:
            resources = task.resources
            component = specs.components.get(task.component or "")
            if resources is None and component is not None:
                resources = component.model.spec.resources
            if resources is not None:
                add(envs, pipeline_group(platform, project, pipeline.model, task.name), resources)
    return dict(totals)


def _quota_amounts(repo: Repo, specs: ProjectSpecs) -> dict[tuple[str, str], Amount]:
    """The project's quota per (environment, group), where the group's cluster is in the env."""
    assert repo.platform is not None and specs.project is not None and specs.quota is not None
    found = {}
    for env in specs.project.model.spec.environments:
        environment = repo.environments.get(env)
        if environment is None:
            continue
        for group_name, amount in specs.quota.model.spec.resourceGroups.items():
            group = repo.platform.model.resource_group(group_name)
            if group is not None and group.cluster in environment.model.spec.clusters:
                found[(env, group_name)] = Amount.of(amount.cpu, amount.memory, amount.gpu)
    return found


def allocated_amounts(validation: Validation) -> dict[str, Amount]:
    """Quota of every valid project over all its environments, per resource group."""
    totals: dict[str, Amount] = defaultdict(Amount)
    repo = validation.repo
    for name in validation.valid_projects():
        for group, amount in project_allocation(repo, repo.projects[name]).items():
            totals[group] += amount
    return dict(totals)


def sum_allocations(
    allocations: Iterable[Mapping[str, tuple[Decimal, Decimal, Decimal]]],
) -> dict[str, Amount]:
    """Several projects' allocations (cpu, memory, gpu per group) summed once per group."""
    cpu: dict[str, Decimal] = defaultdict(Decimal)
    memory: dict[str, Decimal] = defaultdict(Decimal)
    gpu: dict[str, Decimal] = defaultdict(Decimal)
    for groups in allocations:
        for group, (c, m, g) in groups.items():
            cpu[group] += c
            memory[group] += m
            gpu[group] += g
    return {group: Amount(cpu[group], memory[group], gpu[group]) for group in cpu}


def project_allocation(repo: Repo, specs: ProjectSpecs) -> dict[str, Amount]:
    """One project's quota over all its environments, per resource group (in insertion order)."""
    totals: dict[str, Amount] = defaultdict(Amount)
    if repo.platform is None or specs.project is None or specs.quota is None:
        return {}
    for (_, group), amount in _quota_amounts(repo, specs).items():
        totals[group] += amount
    return dict(totals)
