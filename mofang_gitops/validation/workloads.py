"""Rules for notebooks and trainings: members, placement, images, policy, quota.

With ``onViolation: clamp`` an over-limit request is lowered to the limit: the loaded model is
replaced by the corrected one and a warning names the corrected value, so what renders is what
the warning says. Pipelines are checked in ``pipeline_rules``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from mofang_gitops.errors import Problem
from mofang_gitops.models import Notebook, Platform, Training
from mofang_gitops.models.base import Resources
from mofang_gitops.models.quantities import parse_duration, parse_quantity
from mofang_gitops.sources.loading import Loaded, ProjectSpecs, Repo
from mofang_gitops.validation.context import (
    RuleContext,
    check_fits_quota,
    check_gpu_group,
    check_image,
    check_member,
    check_placement,
    check_unique_names,
)
from mofang_gitops.validation.pipelines import check_pipeline
from mofang_gitops.validation.placement import EffectivePolicy, role_group


def check_project_workloads(repo: Repo, specs: ProjectSpecs, platform: Platform) -> list[Problem]:
    """Check (and clamp, where the policy says so) every workload of one project."""
    assert specs.project is not None
    ctx = RuleContext(repo, specs, platform, specs.project.model, [])
    check_unique_names(ctx)
    for name, notebook in list(specs.notebooks.items()):
        specs.notebooks[name] = _check_notebook(ctx, notebook)
    for name, training in list(specs.trainings.items()):
        specs.trainings[name] = _check_training(ctx, training)
    for pipeline in specs.pipelines.values():
        check_pipeline(ctx, pipeline)
    return ctx.found


def _clamp_or_reject(
    ctx: RuleContext,
    loaded: Loaded[Any],
    at: tuple[Any, ...],
    value: Any,
    limit: Any,
    numeric: Decimal,
    numeric_limit: Decimal,
    policy_name: str,
    clamp: bool,
) -> Any:
    """Return ``value`` when within ``limit``; else the limit (clamp) or the value (rejected)."""
    if numeric <= numeric_limit:
        return value
    if clamp:
        ctx.warn(loaded, at, f"{value} exceeds policy {policy_name} {limit}; clamped to {limit}")
        return limit
    ctx.error(
        loaded,
        at,
        f"{value} exceeds policy {policy_name} {limit}",
        f"request at most {limit} (platform policy)",
    )
    return value


def _strictest(policies: list[EffectivePolicy]) -> EffectivePolicy | None:
    if not policies:
        return None

    def key(p: EffectivePolicy) -> tuple[Decimal, Decimal, int]:
        nb = p.notebook
        return (parse_quantity(nb.maxCpu), parse_quantity(nb.maxMemory), nb.maxGpu)

    return min(policies, key=key)


def _check_notebook(ctx: RuleContext, loaded: Loaded[Notebook]) -> Loaded[Notebook]:
    spec = loaded.model.spec
    if not loaded.name[0].isalpha():
        ctx.error(
            loaded,
            ("metadata", "name"),
            f"notebook name {loaded.name!r} starts with a "
            "digit; its Service name must start with a letter",
            "rename the notebook",
        )
    check_member(ctx, loaded, spec.owner)
    check_placement(ctx, loaded, spec.resourceGroup, ("spec", "resourceGroup"))
    check_image(ctx, loaded, spec.image, ("spec", "image"))
    check_gpu_group(ctx, loaded, spec.resourceGroup, spec.resources, ("spec", "resources"))
    policy = _strictest(ctx.policy(loaded))
    if policy is None:
        return loaded
    limits = policy.notebook
    clamp = policy.on_violation == "clamp"
    res = spec.resources
    at = ("spec", "resources")
    cpu = _clamp_or_reject(
        ctx,
        loaded,
        (*at, "cpu"),
        res.cpu,
        limits.maxCpu,
        res.cpu_value,
        parse_quantity(limits.maxCpu),
        "maxCpu",
        clamp,
    )
    memory = _clamp_or_reject(
        ctx,
        loaded,
        (*at, "memory"),
        res.memory,
        limits.maxMemory,
        res.memory_value,
        parse_quantity(limits.maxMemory),
        "maxMemory",
        clamp,
    )
    gpu = _clamp_or_reject(
        ctx,
        loaded,
        (*at, "gpu"),
        res.gpu,
        limits.maxGpu,
        Decimal(res.gpu),
        Decimal(limits.maxGpu),
        "maxGpu",
        clamp,
    )
    idle = spec.idleTimeout
    if idle is not None:
        idle = _clamp_or_reject(
            ctx,
            loaded,
            ("spec", "idleTimeout"),
            idle,
            limits.idleTimeout,
            Decimal(parse_duration(idle).total_seconds()),
            Decimal(parse_duration(limits.idleTimeout).total_seconds()),
            "idleTimeout",
            clamp,
        )
    resources = res.model_copy(update={"cpu": cpu, "memory": memory, "gpu": gpu})
    check_fits_quota(ctx, loaded, {spec.resourceGroup: [resources]}, at)
    if (cpu, memory, gpu, idle) != (res.cpu, res.memory, res.gpu, spec.idleTimeout):
        new_spec = spec.model_copy(update={"resources": resources, "idleTimeout": idle})
        return Loaded(loaded.model.model_copy(update={"spec": new_spec}), loaded.doc)
    return loaded


def _check_training(ctx: RuleContext, loaded: Loaded[Training]) -> Loaded[Training]:
    spec = loaded.model.spec
    if spec.owner is not None:
        check_member(ctx, loaded, spec.owner)
    check_placement(ctx, loaded, spec.resourceGroup, ("spec", "resourceGroup"))
    check_image(ctx, loaded, spec.image, ("spec", "image"))
    policies = ctx.policy(loaded)
    if not policies:
        return loaded
    limits = min((p.training for p in policies), key=lambda t: (t.maxWorkers, t.maxGpuPerWorker))
    clamp = any(p.on_violation == "clamp" for p in policies) and all(
        p.on_violation == "clamp" for p in policies
    )
    roles = dict(spec.roles)
    per_group: dict[str, list[Resources]] = defaultdict(list)
    for name, role in spec.roles.items():
        at = ("spec", "roles", name)
        group = role_group(ctx.platform, ctx.project, loaded.model, name)
        if role.resourceGroup:
            check_placement(ctx, loaded, role.resourceGroup, (*at, "resourceGroup"))
        if role.image:
            check_image(ctx, loaded, role.image, (*at, "image"))
        check_gpu_group(ctx, loaded, group, role.resources, (*at, "resources"))
        replicas = _clamp_or_reject(
            ctx,
            loaded,
            (*at, "replicas"),
            role.replicas,
            limits.maxWorkers,
            Decimal(role.replicas),
            Decimal(limits.maxWorkers),
            "maxWorkers",
            clamp,
        )
        gpu = _clamp_or_reject(
            ctx,
            loaded,
            (*at, "resources", "gpu"),
            role.resources.gpu,
            limits.maxGpuPerWorker,
            Decimal(role.resources.gpu),
            Decimal(limits.maxGpuPerWorker),
            "maxGpuPerWorker",
            clamp,
        )
        resources = role.resources.model_copy(update={"gpu": gpu})
        roles[name] = role.model_copy(update={"replicas": replicas, "resources": resources})
        per_group[group].extend([resources] * replicas)
    if spec.search is not None:
        # Katib runs parallelTrials copies of the job at once; all of them must fit.
        per_group = {g: r * spec.search.parallelTrials for g, r in per_group.items()}
    check_fits_quota(ctx, loaded, per_group, ("spec", "roles"))
    if roles != spec.roles:
        new_spec = spec.model_copy(update={"roles": roles})
        return Loaded(loaded.model.model_copy(update={"spec": new_spec}), loaded.doc)
    return loaded
