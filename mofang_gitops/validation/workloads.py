"""Rules for notebooks and trainings: members, placement, images, policy, quota.

With ``onViolation: clamp`` an over-limit request is lowered to the limit: the resolved view
(``ResolvedProject``) holds a corrected copy and a warning names the corrected value, so what
renders is what the warning says. The loaded specs are never changed. Pipelines are checked in
``pipelines``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mofang_gitops.errors import Problem
from mofang_gitops.models import Component, Notebook, Pipeline, Platform, Project, Quota, Training
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
from mofang_gitops.validation.homes import check_homes
from mofang_gitops.validation.pipelines import check_pipeline, usable_components
from mofang_gitops.validation.placement import (
    TENSORBOARD_IMAGE,
    TENSORBOARD_REQUESTS,
    EffectivePolicy,
    role_group,
    tensorboard_group,
)


@dataclass(frozen=True)
class ResolvedProject:
    """One project as it renders: its specs with every policy decision applied.

    ``problems`` are the findings of the workload rules, warnings included: each clamped value in
    ``notebooks`` or ``trainings`` has the warning that names it.
    """

    name: str
    project: Project
    quota: Quota
    notebooks: Mapping[str, Loaded[Notebook]]
    trainings: Mapping[str, Loaded[Training]]
    pipelines: Mapping[str, Loaded[Pipeline]]
    components: Mapping[str, Loaded[Component]]
    """Components the project's pipelines may call (the platform's and its own)."""
    problems: tuple[Problem, ...]


def resolve_project_workloads(
    repo: Repo, specs: ProjectSpecs, platform: Platform
) -> ResolvedProject:
    """Check every workload of one project and decide what renders (clamped where allowed)."""
    assert specs.project is not None and specs.quota is not None
    ctx = RuleContext(repo, specs, platform, specs.project.model, [])
    check_unique_names(ctx)
    notebooks = {name: _check_notebook(ctx, nb) for name, nb in specs.notebooks.items()}
    trainings = {name: _check_training(ctx, tr) for name, tr in specs.trainings.items()}
    components = usable_components(ctx)
    for pipeline in specs.pipelines.values():
        check_pipeline(ctx, pipeline, components)
    check_homes(ctx)
    return ResolvedProject(
        name=specs.name,
        project=specs.project.model,
        quota=specs.quota.model,
        notebooks=notebooks,
        trainings=trainings,
        pipelines=dict(specs.pipelines),
        components=components,
        problems=tuple(ctx.found),
    )


@dataclass(frozen=True)
class Limit:
    """A policy limit on one field: the value as written, the limit, and both as numbers."""

    value: Any
    limit: Any
    numeric: Decimal
    numeric_limit: Decimal
    policy: str
    """The policy field's name, for the message (``maxCpu``)."""

    @classmethod
    def of_quantity(cls, value: str, limit: str, policy: str) -> Limit:
        """A CPU or memory limit (``"500m"``, ``"64Gi"``), compared as numbers."""
        return cls(
            value=value,
            limit=limit,
            numeric=parse_quantity(value),
            numeric_limit=parse_quantity(limit),
            policy=policy,
        )

    @classmethod
    def of_count(cls, value: int, limit: int, policy: str) -> Limit:
        """A limit on a count (GPUs, workers)."""
        return cls(
            value=value,
            limit=limit,
            numeric=Decimal(value),
            numeric_limit=Decimal(limit),
            policy=policy,
        )

    @classmethod
    def of_duration(cls, value: str, limit: str, policy: str) -> Limit:
        """A limit on a duration (``"72h"``), compared in seconds."""
        return cls(
            value=value,
            limit=limit,
            numeric=Decimal(parse_duration(value).total_seconds()),
            numeric_limit=Decimal(parse_duration(limit).total_seconds()),
            policy=policy,
        )


def _clamp_or_reject(
    ctx: RuleContext, loaded: Loaded[Any], at: tuple[Any, ...], bound: Limit, *, clamp: bool
) -> Any:
    """Return the value when within the limit; else the limit (clamp) or the value (rejected)."""
    if bound.numeric <= bound.numeric_limit:
        return bound.value
    over = f"{bound.value} exceeds policy {bound.policy} {bound.limit}"
    if clamp:
        ctx.warn(loaded, at, f"{over}; clamped to {bound.limit}")
        return bound.limit
    ctx.error(loaded, at, over, f"request at most {bound.limit} (platform policy)")
    return bound.value


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
        ctx, loaded, (*at, "cpu"), Limit.of_quantity(res.cpu, limits.maxCpu, "maxCpu"), clamp=clamp
    )
    memory = _clamp_or_reject(
        ctx,
        loaded,
        (*at, "memory"),
        Limit.of_quantity(res.memory, limits.maxMemory, "maxMemory"),
        clamp=clamp,
    )
    gpu = _clamp_or_reject(
        ctx, loaded, (*at, "gpu"), Limit.of_count(res.gpu, limits.maxGpu, "maxGpu"), clamp=clamp
    )
    idle = spec.idleTimeout
    if idle is not None:
        idle = _clamp_or_reject(
            ctx,
            loaded,
            ("spec", "idleTimeout"),
            Limit.of_duration(idle, limits.idleTimeout, "idleTimeout"),
            clamp=clamp,
        )
    resources = res.model_copy(update={"cpu": cpu, "memory": memory, "gpu": gpu})
    check_fits_quota(ctx, loaded, {spec.resourceGroup: [(resources, 1)]}, at)
    if (cpu, memory, gpu, idle) != (res.cpu, res.memory, res.gpu, spec.idleTimeout):
        new_spec = spec.model_copy(update={"resources": resources, "idleTimeout": idle})
        return Loaded(model=loaded.model.model_copy(update={"spec": new_spec}), doc=loaded.doc)
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
    per_group: dict[str, list[tuple[Resources, int]]] = defaultdict(list)
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
            Limit.of_count(role.replicas, limits.maxWorkers, "maxWorkers"),
            clamp=clamp,
        )
        gpu = _clamp_or_reject(
            ctx,
            loaded,
            (*at, "resources", "gpu"),
            Limit.of_count(role.resources.gpu, limits.maxGpuPerWorker, "maxGpuPerWorker"),
            clamp=clamp,
        )
        resources = role.resources.model_copy(update={"gpu": gpu})
        roles[name] = role.model_copy(update={"replicas": replicas, "resources": resources})
        per_group[group].append((resources, replicas))
    if spec.search is not None:
        # Katib runs parallelTrials copies of the job at once; all of them must fit.
        trials = spec.search.parallelTrials
        per_group = {g: [(r, n * trials) for r, n in rs] for g, rs in per_group.items()}
    if spec.tensorboard is not None:
        _check_tensorboard(ctx, loaded)
        group = tensorboard_group(ctx.platform, ctx.project, loaded.model)
        per_group = {**per_group, group: [*per_group.get(group, []), (TENSORBOARD_REQUESTS, 1)]}
    check_fits_quota(ctx, loaded, per_group, ("spec", "roles"))
    if roles != spec.roles:
        new_spec = spec.model_copy(update={"roles": roles})
        return Loaded(model=loaded.model.model_copy(update={"spec": new_spec}), doc=loaded.doc)
    return loaded


def _check_tensorboard(ctx: RuleContext, loaded: Loaded[Training]) -> None:
    """The catalogue has a ``tensorboard`` image; no notebook takes the TensorBoard's names.

    A notebook's Service and VirtualService carry the notebook's name, a TensorBoard's
    ``<training>-tensorboard``: the same name in one namespace would be one object for both.
    """
    taken = f"{loaded.name}-tensorboard"
    if taken in ctx.specs.notebooks:
        ctx.error(
            loaded,
            ("spec", "tensorboard"),
            f"notebook {taken!r} already uses the name of this training's TensorBoard",
            "rename the notebook or the training",
        )
    if TENSORBOARD_IMAGE not in ctx.platform.spec.images:
        ctx.error(
            loaded,
            ("spec", "tensorboard"),
            f"the platform lists no {TENSORBOARD_IMAGE!r} image to run TensorBoard with",
            f"ask the platform team to add images.{TENSORBOARD_IMAGE} to platform.yaml",
        )
