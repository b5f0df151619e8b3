"""Rules for notebooks, trainings and pipelines: references, placement, images, policy, quota.

With ``onViolation: clamp`` an over-limit request is lowered to the limit: the loaded model is
replaced by the corrected one and a warning names the corrected value, so what renders is what
the warning says.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mofang_gitops.errors import Problem
from mofang_gitops.loading import Loaded, ProjectSpecs, Repo
from mofang_gitops.models import Notebook, Pipeline, Platform, Project, Training
from mofang_gitops.models.base import Resources
from mofang_gitops.models.platform import IMAGE_REF
from mofang_gitops.placement import (
    EffectivePolicy,
    effective_policy,
    pipeline_cluster,
    pipeline_group,
    role_group,
    workload_environments,
)
from mofang_gitops.quantities import parse_duration, parse_quantity


@dataclass
class _Context:
    repo: Repo
    specs: ProjectSpecs
    platform: Platform
    project: Project
    found: list[Problem]

    def error(
        self, loaded: Loaded[Any], at: tuple[str | int, ...], message: str, hint: str
    ) -> None:
        self.found.append(
            Problem(
                loaded.locate(*at),
                self.subject(loaded),
                ".".join(str(p) for p in at),
                message,
                hint,
            )
        )

    def warn(self, loaded: Loaded[Any], at: tuple[str | int, ...], message: str) -> None:
        self.found.append(
            Problem(
                loaded.locate(*at),
                self.subject(loaded),
                ".".join(str(p) for p in at),
                message,
                "",
                "warning",
            )
        )

    def subject(self, loaded: Loaded[Any]) -> str:
        return f"{loaded.model.KIND} {self.specs.name}/{loaded.name}"

    def policy(self, loaded: Loaded[Any]) -> list[EffectivePolicy]:
        envs = workload_environments(loaded.model, self.project)
        environments = self.repo.environments
        return [
            effective_policy(self.platform, environments[e].model)
            for e in envs
            if e in environments
        ]


def check_project_workloads(repo: Repo, specs: ProjectSpecs, platform: Platform) -> list[Problem]:
    """Check (and clamp, where the policy says so) every workload of one project."""
    assert specs.project is not None
    ctx = _Context(repo, specs, platform, specs.project.model, [])
    _check_unique_names(ctx)
    for name, notebook in list(specs.notebooks.items()):
        specs.notebooks[name] = _check_notebook(ctx, notebook)
    for name, training in list(specs.trainings.items()):
        specs.trainings[name] = _check_training(ctx, training)
    for pipeline in specs.pipelines.values():
        _check_pipeline(ctx, pipeline)
    return ctx.found


def _check_unique_names(ctx: _Context) -> None:
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


def _check_environments(
    ctx: _Context, loaded: Loaded[Any], group: str, at: tuple[Any, ...]
) -> None:
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


def _check_image(ctx: _Context, loaded: Loaded[Any], image: str, at: tuple[Any, ...]) -> None:
    import re

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


def _check_gpu_group(
    ctx: _Context, loaded: Loaded[Any], group: str, resources: Resources, at: tuple[Any, ...]
) -> None:
    platform_group = ctx.platform.resource_group(group)
    if resources.gpu and platform_group is not None and not platform_group.capacity.gpu:
        ctx.error(
            loaded,
            (*at, "gpu"),
            f"resource group {group!r} has no GPUs",
            "choose a GPU resource group or request gpu: 0",
        )


def _clamp_or_reject(
    ctx: _Context,
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


def _check_notebook(ctx: _Context, loaded: Loaded[Notebook]) -> Loaded[Notebook]:
    spec = loaded.model.spec
    if spec.owner not in ctx.project.users():
        ctx.error(
            loaded,
            ("spec", "owner"),
            f"owner {spec.owner!r} is not a member of project {ctx.specs.name}",
            "add them to members in project.yaml or pick a member",
        )
    _check_environments(ctx, loaded, spec.resourceGroup, ("spec", "resourceGroup"))
    _check_image(ctx, loaded, spec.image, ("spec", "image"))
    _check_gpu_group(ctx, loaded, spec.resourceGroup, spec.resources, ("spec", "resources"))
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
    _check_fits_quota(ctx, loaded, {spec.resourceGroup: [resources]}, at)
    if (cpu, memory, gpu, idle) != (res.cpu, res.memory, res.gpu, spec.idleTimeout):
        new_spec = spec.model_copy(update={"resources": resources, "idleTimeout": idle})
        return Loaded(loaded.model.model_copy(update={"spec": new_spec}), loaded.doc)
    return loaded


def _check_training(ctx: _Context, loaded: Loaded[Training]) -> Loaded[Training]:
    spec = loaded.model.spec
    if spec.owner is not None and spec.owner not in ctx.project.users():
        ctx.error(
            loaded,
            ("spec", "owner"),
            f"owner {spec.owner!r} is not a member of project {ctx.specs.name}",
            "add them to members in project.yaml or pick a member",
        )
    _check_environments(ctx, loaded, spec.resourceGroup, ("spec", "resourceGroup"))
    _check_image(ctx, loaded, spec.image, ("spec", "image"))
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
            _check_environments(ctx, loaded, role.resourceGroup, (*at, "resourceGroup"))
        if role.image:
            _check_image(ctx, loaded, role.image, (*at, "image"))
        _check_gpu_group(ctx, loaded, group, role.resources, (*at, "resources"))
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
    _check_fits_quota(ctx, loaded, per_group, ("spec", "roles"))
    if roles != spec.roles:
        new_spec = spec.model_copy(update={"roles": roles})
        return Loaded(loaded.model.model_copy(update={"spec": new_spec}), loaded.doc)
    return loaded


def _check_pipeline(ctx: _Context, loaded: Loaded[Pipeline]) -> None:
    spec = loaded.model.spec
    pipelines = ctx.specs.pipelines
    for i, dep in enumerate(spec.dependsOn):
        at = ("spec", "dependsOn", i)
        if dep not in pipelines:
            ctx.error(
                loaded,
                at,
                f"unknown pipeline {dep!r}",
                f"pipelines of this project: {sorted(pipelines)}",
            )
        elif dep == loaded.name:
            ctx.error(loaded, at, "a pipeline cannot depend on itself", "remove it")
        else:
            _check_dependency(ctx, loaded, pipelines[dep], at)
    _check_pipeline_cycles(ctx, loaded)
    if spec.resourceGroup:
        _check_environments(ctx, loaded, spec.resourceGroup, ("spec", "resourceGroup"))
    trainings = {n: t.model for n, t in ctx.specs.trainings.items()}
    cluster = pipeline_cluster(ctx.platform, ctx.project, loaded.model, trainings)
    for i, task in enumerate(spec.tasks):
        at = ("spec", "tasks", i)
        if task.training is not None:
            if task.training not in ctx.specs.trainings:
                ctx.error(
                    loaded,
                    (*at, "training"),
                    f"unknown training {task.training!r}",
                    f"trainings of this project: {sorted(ctx.specs.trainings)}",
                )
                continue
            training = ctx.specs.trainings[task.training].model
            group = training.spec.resourceGroup
            absent = [
                e
                for e in workload_environments(loaded.model, ctx.project)
                if e not in workload_environments(training, ctx.project)
            ]
            if absent:
                ctx.error(
                    loaded,
                    (*at, "training"),
                    f"training {task.training!r} is not deployed to {absent}",
                    "list those environments on the Training too",
                )
        else:
            assert task.image is not None
            _check_image(ctx, loaded, task.image, (*at, "image"))
            group = pipeline_group(ctx.platform, ctx.project, loaded.model, task.name)
            if task.resourceGroup:
                _check_environments(ctx, loaded, task.resourceGroup, (*at, "resourceGroup"))
            if task.resources is not None:
                _check_gpu_group(ctx, loaded, group, task.resources, (*at, "resources"))
                _check_fits_quota(ctx, loaded, {group: [task.resources]}, (*at, "resources"))
        platform_group = ctx.platform.resource_group(group)
        if platform_group is not None and platform_group.cluster != cluster:
            ctx.error(
                loaded,
                at,
                f"step runs on cluster {platform_group.cluster!r} but the "
                f"pipeline runs on {cluster!r}",
                "all steps of a pipeline share a cluster",
            )


def _check_dependency(
    ctx: _Context, loaded: Loaded[Pipeline], upstream: Loaded[Pipeline], at: tuple[Any, ...]
) -> None:
    """A run waits for the upstream run of the same scheduled time, in the same namespace."""
    mine, theirs = loaded.model.spec.schedule, upstream.model.spec.schedule
    if mine is None or theirs is None:
        ctx.error(
            loaded,
            at,
            "dependsOn needs both pipelines to have a schedule",
            "runs are matched by their scheduled time",
        )
        return
    if (mine.cron, mine.timezone) != (theirs.cron, theirs.timezone):
        ctx.error(
            loaded,
            at,
            f"pipeline {upstream.name!r} runs on '{theirs.cron}' "
            f"({theirs.timezone}), this one on '{mine.cron}' ({mine.timezone})",
            "dependent pipelines need the same cron and timezone",
        )
    envs = workload_environments(loaded.model, ctx.project)
    missing = [e for e in envs if e not in workload_environments(upstream.model, ctx.project)]
    if missing:
        ctx.error(
            loaded,
            at,
            f"pipeline {upstream.name!r} is not deployed to {missing}",
            "deploy both pipelines to the same environments",
        )
    trainings = {n: t.model for n, t in ctx.specs.trainings.items()}
    here = pipeline_cluster(ctx.platform, ctx.project, loaded.model, trainings)
    there = pipeline_cluster(ctx.platform, ctx.project, upstream.model, trainings)
    if here != there:
        ctx.error(
            loaded,
            at,
            f"pipeline {upstream.name!r} runs on cluster {there!r}, this one on {here!r}",
            "dependent pipelines must share a cluster",
        )


def _check_pipeline_cycles(ctx: _Context, loaded: Loaded[Pipeline]) -> None:
    from mofang_gitops.models.workloads import check_acyclic

    graph = {n: list(p.model.spec.dependsOn) for n, p in ctx.specs.pipelines.items()}
    try:
        check_acyclic(graph, "pipeline")
    except ValueError as e:
        if loaded.name in str(e).split(": ", 1)[1].split(" -> "):
            ctx.error(loaded, ("spec", "dependsOn"), str(e), "remove one of the dependencies")


def _check_fits_quota(
    ctx: _Context,
    loaded: Loaded[Any],
    per_group: dict[str, list[Resources]],
    at: tuple[Any, ...],
) -> None:
    """What one workload requests on each group must fit the project's quota there."""
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


def _sum(requests: list[Resources]) -> tuple[Decimal, Decimal, Decimal]:
    cpu = sum((r.cpu_value for r in requests), Decimal(0))
    memory = sum((r.memory_value for r in requests), Decimal(0))
    gpu = Decimal(sum(r.gpu for r in requests))
    return cpu, memory, gpu


def _num(value: Decimal, what: str) -> str:
    from mofang_gitops.quantities import format_bytes, format_cpu

    return format_bytes(value) if what == "memory" else format_cpu(value)
