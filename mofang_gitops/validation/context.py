"""What every workload rule needs: the project being checked and the checks they share.

Split from the rule modules so that notebooks/trainings (``workload_rules``) and pipelines
(``pipeline_rules``) check placement, images, GPUs and quota the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mofang_gitops.errors import Problem, Severity
from mofang_gitops.models import Platform, Project
from mofang_gitops.models.base import Resources
from mofang_gitops.models.platform import IMAGE_REF
from mofang_gitops.models.quantities import format_bytes, format_cpu, parse_quantity
from mofang_gitops.sources.loading import Loaded, ProjectSpecs, Repo
from mofang_gitops.validation.placement import (
    EffectivePolicy,
    effective_policy,
    workload_environments,
)


@dataclass
class RuleContext:
    """The project being checked and the problems found so far."""

    repo: Repo
    specs: ProjectSpecs
    platform: Platform
    project: Project
    found: list[Problem]

    def error(
        self, loaded: Loaded[Any], at: tuple[str | int, ...], message: str, hint: str
    ) -> None:
        """Record an error at a field of a spec."""
        self.found.append(loaded.problem(at, message, subject=self.subject(loaded), hint=hint))

    def warn(self, loaded: Loaded[Any], at: tuple[str | int, ...], message: str) -> None:
        """Record a warning (a clamped request) at a field of a spec."""
        self.found.append(
            loaded.problem(at, message, subject=self.subject(loaded), severity=Severity.WARNING)
        )

    def subject(self, loaded: Loaded[Any]) -> str:
        """``<Kind> <project>/<name>`` of a spec."""
        return f"{loaded.model.KIND} {self.specs.name}/{loaded.name}"

    def policy(self, loaded: Loaded[Any]) -> list[EffectivePolicy]:
        """Effective policies of every environment the workload deploys to."""
        envs = workload_environments(loaded.model, self.project)
        environments = self.repo.environments
        return [
            effective_policy(self.platform, environments[e].model)
            for e in envs
            if e in environments
        ]


def check_unique_names(ctx: RuleContext) -> None:
    """Workload names are unique across kinds within a project."""
    seen: dict[str, str] = {}
    for loaded in ctx.specs.workloads():
        if loaded.name in seen:
            ctx.error(
                loaded,
                ("metadata", "name"),
                f"name {loaded.name!r} is also used by {seen[loaded.name]}",
                "workload names are unique within a project; rename one",
            )
        seen[loaded.name] = f"{loaded.model.KIND} {loaded.name}"


def check_placement(ctx: RuleContext, loaded: Loaded[Any], group: str, at: tuple[Any, ...]) -> None:
    """The group exists, is allowed, and its cluster is in every environment deployed to."""
    platform_group = ctx.platform.resource_group(group)
    if platform_group is None:
        known = sorted(g.name for g in ctx.platform.spec.resourceGroups)
        ctx.error(loaded, at, f"unknown resource group {group!r}", f"known: {known}")
        return
    if group not in ctx.project.spec.resourceGroups:
        ctx.error(
            loaded,
            at,
            f"resource group {group!r} is not allowed for project {ctx.specs.name}",
            f"allowed: {ctx.project.spec.resourceGroups}",
        )
        return
    envs = loaded.model.environments or []
    for i, env in enumerate(envs):
        if env not in ctx.project.spec.environments:
            ctx.error(
                loaded,
                ("spec", "environments", i),
                f"environment {env!r} is not one of the project's",
                f"project environments: {ctx.project.spec.environments}",
            )
    for env in workload_environments(loaded.model, ctx.project):
        environment = ctx.repo.environments.get(env)
        if environment and platform_group.cluster not in environment.model.spec.clusters:
            ctx.error(
                loaded,
                at,
                f"resource group {group!r} lives on cluster "
                f"{platform_group.cluster!r}, which environment {env!r} does not use",
                "list spec.environments with the environments that include that cluster",
            )


def check_member(ctx: RuleContext, loaded: Loaded[Any], user: str) -> None:
    """The owner of a workload must be an owner or member of its project."""
    if user not in ctx.project.users():
        ctx.error(
            loaded,
            ("spec", "owner"),
            f"owner {user!r} is not a member of project {ctx.specs.name}",
            "add them to members in project.yaml or pick a member",
        )


def check_image(ctx: RuleContext, loaded: Loaded[Any], image: str, at: tuple[Any, ...]) -> None:
    """An image is a catalogue name, or a full reference from an allowed registry."""
    spec = ctx.platform.spec
    if "/" not in image and ":" not in image:
        if image not in spec.images:
            ctx.error(
                loaded,
                at,
                f"unknown platform image {image!r}",
                f"use one of {sorted(spec.images)} or a full image from an allowed registry",
            )
        return
    if not any(image.startswith(r) for r in spec.registries):
        ctx.error(
            loaded,
            at,
            f"image {image!r} is not from an allowed registry",
            f"allowed registries: {', '.join(spec.registries)}",
        )
    elif not re.match(IMAGE_REF, image):
        ctx.error(
            loaded, at, f"{image!r} is not a valid image reference", "write registry/path/name:tag"
        )


def check_gpu_group(
    ctx: RuleContext, loaded: Loaded[Any], group: str, resources: Resources, at: tuple[Any, ...]
) -> None:
    """GPUs can only be requested on a resource group that has them."""
    platform_group = ctx.platform.resource_group(group)
    if resources.gpu and platform_group is not None and not platform_group.capacity.gpu:
        ctx.error(
            loaded,
            (*at, "gpu"),
            f"resource group {group!r} has no GPUs",
            "choose a GPU resource group or request gpu: 0",
        )


def check_fits_quota(
    ctx: RuleContext,
    loaded: Loaded[Any],
    per_group: dict[str, list[tuple[Resources, int]]],
    at: tuple[Any, ...],
) -> None:
    """What one workload requests on each group must fit the project's quota there.

    Requests come as ``(resources, count)``: the sum is computed per role, never per replica,
    so a huge replica count costs no more than a small one.
    """
    assert ctx.specs.quota is not None
    quota = ctx.specs.quota.model.spec.resourceGroups
    for group, requests in per_group.items():
        if group not in quota:
            ctx.error(
                loaded,
                at,
                f"project {ctx.specs.name} has no quota on resource group {group!r}",
                f"add {group} to quota.yaml",
            )
            continue
        amount = quota[group]
        totals = _sum(requests)
        limits = (parse_quantity(amount.cpu), parse_quantity(amount.memory), Decimal(amount.gpu))
        for what, total, limit in zip(("cpu", "memory", "gpu"), totals, limits, strict=True):
            if total > limit:
                ctx.error(
                    loaded,
                    at,
                    f"requests {what} {_num(total, what)} on {group!r}, "
                    f"above the project quota {_num(limit, what)}",
                    "lower the request or raise the quota in quota.yaml",
                )


def _sum(requests: list[tuple[Resources, int]]) -> tuple[Decimal, Decimal, Decimal]:
    cpu = sum((r.cpu_value * n for r, n in requests), Decimal(0))
    memory = sum((r.memory_value * n for r, n in requests), Decimal(0))
    gpu = Decimal(sum(r.gpu * n for r, n in requests))
    return cpu, memory, gpu


def _num(value: Decimal, what: str) -> str:

    return format_bytes(value) if what == "memory" else format_cpu(value)
