"""Pipeline rules: step references and placement, components, dependencies between pipelines."""

from __future__ import annotations

import difflib
from typing import Any

from mofang_gitops.models import Component, Pipeline
from mofang_gitops.models.components import value_fits
from mofang_gitops.models.schedules import BACKFILL_CAP, count_fires, day_window, fires_on
from mofang_gitops.models.workloads import Task, describe_cycle, find_cycle
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
    pipeline_default_group,
    workload_environments,
)


def check_pipeline(
    ctx: RuleContext, loaded: Loaded[Pipeline], components: dict[str, Loaded[Component]]
) -> None:
    """Check dependencies, steps (``components`` are those it may call) and their cluster."""
    spec = loaded.model.spec
    pipelines = ctx.specs.pipelines
    for i, dependency in enumerate(spec.dependsOn):
        at = ("spec", "dependsOn", i)
        dep = dependency.pipeline
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
    _check_backfill(ctx, loaded)
    if spec.resourceGroup:
        check_placement(ctx, loaded, spec.resourceGroup, ("spec", "resourceGroup"))
    trainings = {n: t.model for n, t in ctx.specs.trainings.items()}
    cluster = pipeline_cluster(ctx.platform, ctx.project, loaded.model, trainings)
    default_group = pipeline_default_group(ctx.platform, ctx.project, loaded.model)
    for i, task in enumerate(spec.tasks):
        at = ("spec", "tasks", i)
        if task.component is not None:
            component = _check_component_task(ctx, loaded, task, at, components)
            if component is None:
                continue
            group = task.resourceGroup or default_group
            if task.resourceGroup:
                check_placement(ctx, loaded, task.resourceGroup, (*at, "resourceGroup"))
            resources = task.resources or component.model.spec.resources
            where = (*at, "resources") if task.resources else (*at, "component")
            check_gpu_group(ctx, loaded, group, resources, where)
            check_fits_quota(ctx, loaded, {group: [(resources, 1)]}, where)
        elif task.training is not None:
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
            group = task.resourceGroup or default_group
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


def usable_components(ctx: RuleContext) -> dict[str, Loaded[Component]]:
    """The components a pipeline of this project may call: the platform's and its own.

    A project component may not take a platform component's name: a task would silently run
    something other than what the platform team reviewed. Checked (with the image) here, once
    per project, so a broken component fails only the projects that can call it.
    """
    usable = dict(ctx.repo.components)
    for name, own in ctx.specs.components.items():
        if name in ctx.repo.components:
            ctx.error(
                own,
                ("metadata", "name"),
                f"component {name!r} is also a platform component (components/{name}.yaml)",
                "rename the project's component",
            )
            continue
        usable[name] = own
    return usable


def _check_component_task(
    ctx: RuleContext,
    loaded: Loaded[Pipeline],
    task: Task,
    at: tuple[Any, ...],
    components: dict[str, Loaded[Component]],
) -> Loaded[Component] | None:
    """The component exists (at the pinned version) and the inputs fit its declared types."""
    assert task.component is not None
    component = components.get(task.component)
    if component is None:
        broken = any(
            p.location.path.startswith(f"components/{task.component}.") for p in ctx.repo.problems
        )
        ctx.error(
            loaded,
            (*at, "component"),
            f"unknown component {task.component!r}" + (" (its file has errors)" if broken else ""),
            f"components: {sorted(components)}",
        )
        return None
    spec = component.model.spec
    if task.version is not None and task.version != spec.version:
        ctx.error(
            loaded,
            (*at, "version"),
            f"component {task.component!r} is at version {spec.version}, not {task.version}",
            f"pin version {spec.version!r} after checking what changed",
        )
    check_image(ctx, component, spec.image, ("spec", "image"))
    declared = [i.name for i in spec.inputs]
    for name, value in task.inputs.items():
        where = (*at, "inputs", name)
        declared_input = spec.input(name)
        if declared_input is None:
            close = difflib.get_close_matches(name, declared, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"inputs: {declared}"
            ctx.error(loaded, where, f"component {task.component!r} has no input {name!r}", hint)
        elif not value_fits(value, declared_input.type):
            ctx.error(
                loaded,
                where,
                f"input {name!r} takes a {declared_input.type}, not {value!r}",
                "quote strings; write numbers and true/false unquoted",
            )
    missing = [i.name for i in spec.inputs if i.default is None and i.name not in task.inputs]
    if missing:
        ctx.error(
            loaded,
            (*at, "inputs") if task.inputs else (*at, "component"),
            f"component {task.component!r} needs inputs {missing}",
            "add them under inputs:",
        )
    return component


def _check_dependency(
    ctx: RuleContext, loaded: Loaded[Pipeline], upstream: Loaded[Pipeline], at: tuple[Any, ...]
) -> None:
    """What cannot work: no scheduled upstream runs, or none where this run waits for them.

    Crons and time zones may differ: a run waits for the upstream's latest run at or before its
    own scheduled time (``rendering.pipelines``).
    """
    mine, theirs = loaded.model.spec.schedule, upstream.model.spec.schedule
    if mine is None or theirs is None:
        ctx.error(
            loaded,
            at,
            "dependsOn needs both pipelines to have a schedule",
            "runs are matched by their scheduled time",
        )
        return
    if theirs.suspend:
        ctx.error(
            loaded,
            at,
            f"pipeline {upstream.name!r} is suspended: it starts no runs to wait for",
            f"resume it (spec.schedule.suspend in {upstream.doc.path}) or drop the dependency",
        )
    if ctx.platform.spec.toolImage is None:
        ctx.error(
            loaded,
            at,
            "waiting for an upstream run needs the platform's toolImage",
            "set spec.toolImage in platform.yaml to the mofang-gitops image (controller/)",
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


def _check_backfill(ctx: RuleContext, loaded: Loaded[Pipeline]) -> None:
    """A backfill creates one run per scheduled time in its range: at most ``BACKFILL_CAP``."""
    schedule = loaded.model.spec.schedule
    if schedule is None or schedule.backfill is None:
        return
    backfill = schedule.backfill
    if len(fires_on(schedule.cron, schedule.timezone, backfill.from_, backfill.to)) <= BACKFILL_CAP:
        return
    start, end = day_window(schedule.timezone, backfill.from_, backfill.to)
    total = count_fires(schedule.cron, schedule.timezone, start, end)
    ctx.error(
        loaded,
        ("spec", "schedule", "backfill"),
        f"backfill from {schedule.backfill.from_} to {schedule.backfill.to} on "
        f"'{schedule.cron}' would create {total:,} runs, more than the {BACKFILL_CAP:,} allowed",
        "shorten the range or split it into several changes",
    )


def _check_pipeline_cycles(ctx: RuleContext, loaded: Loaded[Pipeline]) -> None:
    graph = {n: p.model.upstreams for n, p in ctx.specs.pipelines.items()}
    cycle = find_cycle(graph)
    if cycle is not None and loaded.name in cycle:
        message = describe_cycle(cycle, "pipeline")
        ctx.error(loaded, ("spec", "dependsOn"), message, "remove one of the dependencies")
