"""Capacity of resource groups, and which project to blame when it overflows.

Quota is summed over every (project, environment) that lands on a resource group. When the sum
exceeds the group's capacity, the project whose change caused it is refused, never a team that
changed nothing (issue 12, item 6). "Caused" is judged against a baseline: the quotas now in
force (the base revision of a pull request, or each project's last good revision in the
controller). A project whose quota on the group grew in an overflowing dimension, or that is
new, is blamed; every other project stays valid. The blamed projects are counted at their
baseline (what stays applied); if the group still overflows, no project caused it (the capacity
or the environments shrank) and the error is the platform's.

Without a baseline (``validate`` on a checkout) nothing says who changed: every project holding
quota on an overflowing group is refused, and the hint points at ``diff --base``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from mofang_gitops.errors import Problem
from mofang_gitops.models import Platform
from mofang_gitops.models.platform import ResourceGroup
from mofang_gitops.models.quantities import format_bytes, format_cpu, parse_quantity
from mofang_gitops.sources.loading import ProjectSpecs, Repo

DIMENSIONS = ("cpu", "memory", "gpu")
Amount = tuple[Decimal, Decimal, Decimal]
"""cpu, memory, gpu."""
QuotaUsage = dict[str, dict[str, Amount]]
"""Per project, per resource group: its quota summed over the environments on that group."""
ZERO: Amount = (Decimal(0), Decimal(0), Decimal(0))


def quota_usage(repo: Repo) -> QuotaUsage:
    """What each project's quota takes of each resource group, at this revision."""
    usage: QuotaUsage = {}
    if repo.platform is None:
        return usage
    for name in sorted(repo.projects):
        groups = project_usage(repo, repo.projects[name])
        if groups is not None:
            usage[name] = groups
    return usage


def project_usage(repo: Repo, specs: ProjectSpecs) -> dict[str, Amount] | None:
    """What one project's quota takes of each group (None without its project or quota)."""
    if repo.platform is None or specs.project is None or specs.quota is None:
        return None
    platform = repo.platform.model
    groups: dict[str, Amount] = {}
    for group_name, amount in specs.quota.model.spec.resourceGroups.items():
        group = platform.resource_group(group_name)
        if group is None:
            continue
        copies = _copies(repo, specs, group)
        per_env = (parse_quantity(amount.cpu), parse_quantity(amount.memory), amount.gpu)
        groups[group_name] = (
            per_env[0] * copies,
            per_env[1] * copies,
            Decimal(per_env[2] * copies),
        )
    return groups


def _copies(repo: Repo, specs: ProjectSpecs, group: ResourceGroup) -> int:
    """How many environment namespaces of the project land on the group's cluster."""
    assert specs.project is not None
    return sum(
        1
        for env in specs.project.model.spec.environments
        if env in repo.environments and group.cluster in repo.environments[env].model.spec.clusters
    )


def check_capacity(
    repo: Repo,
    platform: Platform,
    baseline: Mapping[str, Mapping[str, Amount]] | None,
    others: Mapping[str, Mapping[str, Amount]] | None = None,
) -> list[tuple[str | None, Problem]]:
    """Overflowing groups as ``(project to refuse, problem)``; None for a platform error.

    ``others`` is the usage of projects not loaded (a preview's summaries of unchanged ones):
    they count in every sum, and as they are in the baseline too they are never blamed.
    """
    usage = {**quota_usage(repo), **(others or {})}
    base = baseline if baseline is not None else {}
    found: list[tuple[str | None, Problem]] = []
    for index, group in enumerate(platform.spec.resourceGroups):
        holders = {p: groups[group.name] for p, groups in usage.items() if group.name in groups}
        capacity = _capacity(group)
        total = _sum(holders.values())
        over = [d for d in range(3) if total[d] > capacity[d]]
        if not over:
            continue
        before = {p: base.get(p, {}).get(group.name, ZERO) for p in holders}
        blamed: dict[str, int] = {}
        for d in over:
            for project in sorted(holders):
                if holders[project][d] > before[project][d]:
                    blamed.setdefault(project, d)
        for project, d in sorted(blamed.items()):
            rest = total[d] - holders[project][d]
            figures = (total[d], capacity[d], rest, before[project][d])
            found.append((project, _blame(repo, project, group, d, figures, baseline is not None)))
        kept = _sum(before[p] if p in blamed else holders[p] for p in holders)
        for d in range(3):
            if kept[d] > capacity[d]:
                found.append((None, _platform_overflow(repo, index, group, d, kept[d], holders)))
    return found


def _capacity(group: ResourceGroup) -> Amount:
    c = group.capacity
    return (parse_quantity(c.cpu), parse_quantity(c.memory), Decimal(c.gpu))


def _sum(amounts: Iterable[Amount]) -> Amount:
    total = [Decimal(0), Decimal(0), Decimal(0)]
    for amount in amounts:
        for d in range(3):
            total[d] += amount[d]
    return (total[0], total[1], total[2])


def _blame(
    repo: Repo,
    project: str,
    group: ResourceGroup,
    d: int,
    figures: tuple[Decimal, Decimal, Decimal, Decimal],
    has_baseline: bool,
) -> Problem:
    """A blamed project's error; ``figures``: total, capacity, others' share, its own before."""
    total, capacity, others, before = figures
    specs = repo.projects[project]
    assert specs.quota is not None and specs.project is not None
    what = DIMENSIONS[d]
    copies = _copies(repo, specs, group)
    if has_baseline:
        cause = f"raised from {_fmt(what, before)}" if before else "new on this group"
        hint = "lower the quota, or ask the platform team for capacity"
    else:
        cause = "no earlier revision to compare"
        hint = (
            "lower the quota, or ask the platform team for capacity; every project on the group "
            "is refused here: `mofang-gitops diff --base REF` names the change that caused it"
        )
    return specs.quota.problem(
        ("spec", "resourceGroups", group.name, what),
        f"{what} quota over {copies} environment(s) brings resource group "
        f"{group.name!r} to {_fmt(what, total)} of its capacity {_fmt(what, capacity)} "
        f"({cause}; other projects hold {_fmt(what, others)})",
        subject=f"Quota {project}",
        hint=hint,
    )


def _platform_overflow(
    repo: Repo,
    index: int,
    group: ResourceGroup,
    d: int,
    kept: Decimal,
    holders: Mapping[str, Amount],
) -> Problem:
    assert repo.platform is not None
    what = DIMENSIONS[d]
    shares = ", ".join(f"{p} {_fmt(what, a[d])}" for p, a in sorted(holders.items()) if a[d])
    return repo.platform.problem(
        ("spec", "resourceGroups", index, "capacity", what),
        f"resource group {group.name!r} {what} capacity "
        f"{_fmt(what, _capacity(group)[d])} is below the quota already granted "
        f"({_fmt(what, kept)}: {shares}); no project raised its quota",
        subject=f"Platform {repo.platform.model.name}",
        hint="keep the capacity until quotas are lowered, or lower them in the same change",
    )


def _fmt(what: str, value: Decimal) -> str:
    if what == "memory":
        return format_bytes(value)
    return format_cpu(value)
