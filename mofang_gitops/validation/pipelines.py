"""Pipeline rules: step references and placement, and dependencies between pipelines."""

from __future__ import annotations

from typing import Any

from mofang_gitops.models import Pipeline
from mofang_gitops.models.workloads import describe_cycle, find_cycle
from mofang_gitops.sources.loading import Loaded
from mofang_gitops.validation.context import (
    RuleContext,
    check_fits_quota,
    check_gpu_group,
    check_image,
    check_placement,
)
from mofang_gitops.validation.placement import (
    pipeline_cluster,
    pipeline_group,
    workload_environments,
)


def check_pipeline(ctx: RuleContext, loaded: Loaded[Pipeline]) -> None:
    """Check dependencies, steps and their placement on one cluster."""
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
        check_placement(ctx, loaded, spec.resourceGroup, ("spec", "resourceGroup"))
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
            check_image(ctx, loaded, task.image, (*at, "image"))
            group = pipeline_group(ctx.platform, ctx.project, loaded.model, task.name)
            if task.resourceGroup:
                check_placement(ctx, loaded, task.resourceGroup, (*at, "resourceGroup"))
            if task.resources is not None:
                check_gpu_group(ctx, loaded, group, task.resources, (*at, "resources"))
                check_fits_quota(ctx, loaded, {group: [(task.resources, 1)]}, (*at, "resources"))
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
    ctx: RuleContext, loaded: Loaded[Pipeline], upstream: Loaded[Pipeline], at: tuple[Any, ...]
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


def _check_pipeline_cycles(ctx: RuleContext, loaded: Loaded[Pipeline]) -> None:
    graph = {n: list(p.model.spec.dependsOn) for n, p in ctx.specs.pipelines.items()}
    cycle = find_cycle(graph)
    if cycle is not None and loaded.name in cycle:
        message = describe_cycle(cycle, "pipeline")
        ctx.error(loaded, ("spec", "dependsOn"), message, "remove one of the dependencies")
