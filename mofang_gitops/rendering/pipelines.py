"""Render pipelines into Argo Workflows objects on the one cluster each pipeline runs on.

Per pipeline: a ``WorkflowTemplate`` holding the DAG (``pipeline_dag``); with a schedule also a
semaphore ``ConfigMap``, a ``CronWorkflow`` and one ``Workflow`` per backfill scheduled time. Per
target with pipelines: the ServiceAccount the Argo executor runs as (see below).

Concurrency: the WorkflowTemplate takes a workflow-level semaphore from ``<pipeline>-semaphore``
(key ``limit`` = ``schedule.concurrency``). Every run references the template, so cron runs,
backfill runs and manual submissions share one limit; extra runs wait in Argo's queue (backfill
runs get negative priorities, earliest time first, so cron runs go before them).

Skipping: ``startingDeadline`` becomes ``startingDeadlineSeconds``: a cron run the controller
could not start within it is skipped, never started late. With ``concurrency: 1`` the policy is
``Forbid``, so a fire while the previous run is still active counts as not startable and is
skipped once the deadline passes; above 1 it is ``Allow`` and the semaphore does the limiting.

Backfill: one ``Workflow`` per time the cron fires on the backfill's dates (``pipeline_runs``),
marked as a run (``meta["run"]``) so reconcile creates it once and never again, even after it
finished; re-running a time means deleting its run. It carries Argo's ``scheduled-time``
annotation, so ``{{workflow.scheduledTime}}`` means the same in cron and backfill runs.

dependsOn: every run is labelled ``mofang.io/pipeline`` and ``mofang.io/scheduled-time`` (unix
seconds; cron runs get it from an Argo ``labelsFrom`` expression). A run scheduled at T waits for
the upstream run scheduled at the latest time at or before T that the upstream's cron fires, in
the upstream's time zone. Which time that is needs the cron evaluated, and Argo's expression
language has no cron (only date arithmetic and sprig): with different schedules (an hourly job at
minute 40 after an import at minute 10, an hourly job after a daily one) no fixed offset works,
and the DST rules of the upstream's zone matter. So the wait is a small step in the tool's own
image (``platform.spec.toolImage``): ``mofang-gitops wait-upstream`` computes that time with the
same cron library validation and backfill use, lists the upstream's runs by those two labels
(finding cron and backfill runs alike), and polls until one succeeded, failing with the run's
name when it failed, or when none succeeded within the dependency's ``timeout``. It runs as the
executor account, whose Role already reads Workflows. A backfill run computes the upstream time
here in Python and passes it as the workflow parameter ``after-<upstream>`` (so the rendered run
shows what it waits for); a cron run leaves that empty and passes its own scheduled time. A manual
run of a dependent pipeline must pass that parameter.

Executor: pods run as the project ServiceAccount, which mounts no token; Argo's executor runs
as its own account with just the rights it needs (``pipeline_executor``).
"""

from __future__ import annotations

from collections.abc import Mapping

from mofang_gitops.models import Pipeline
from mofang_gitops.models.quantities import duration_seconds
from mofang_gitops.rendering import trainings
from mofang_gitops.rendering.context import SERVICE_ACCOUNT, TargetContext
from mofang_gitops.rendering.pipeline_dag import build_dag, wait_parameter
from mofang_gitops.rendering.pipeline_executor import EXECUTOR_ACCOUNT, render_executor
from mofang_gitops.rendering.pipeline_runs import (
    PIPELINE_LABEL,
    SCHEDULED_LABEL,
    SCHEDULED_TIME_ANNOTATION,
    backfill_name,
    backfill_times,
    cron_name,
    fires_daily,
    rfc3339,
    scheduled_label_expression,
    unix,
    upstream_time,
)
from mofang_gitops.rendering.templating import SpecEmitter
from mofang_gitops.rendering.trainings import TrainingRun
from mofang_gitops.sources.loading import Loaded
from mofang_gitops.validation.placement import pipeline_cluster, workload_environments

ARGO = "argoproj.io/v1alpha1"
ENTRYPOINT = "main"
SEMAPHORE_KEY = "limit"


def render(ctx: TargetContext) -> None:
    """Render every pipeline that runs on this target's cluster, in name order."""
    here = [
        ctx.resolved.pipelines[name]
        for name in sorted(ctx.resolved.pipelines)
        if lands_here(ctx, ctx.resolved.pipelines[name].model)
    ]
    if not here:
        return
    render_executor(ctx)
    runs = trainings.build_runs(ctx)
    for loaded in here:
        _render_pipeline(ctx, loaded, runs)


def lands_here(ctx: TargetContext, pipeline: Pipeline) -> bool:
    """Whether the pipeline deploys to this environment and runs on this cluster."""
    if ctx.environment.name not in workload_environments(pipeline, ctx.project):
        return False
    models = {name: loaded.model for name, loaded in ctx.resolved.trainings.items()}
    return pipeline_cluster(ctx.platform, ctx.project, pipeline, models) == ctx.cluster.name


def _render_pipeline(
    ctx: TargetContext, loaded: Loaded[Pipeline], runs: Mapping[str, TrainingRun]
) -> None:
    """The pipeline's semaphore, template, cron and backfill runs."""
    pipeline = loaded.model
    schedule = pipeline.spec.schedule
    semaphore = f"{pipeline.name}-semaphore" if schedule else ""
    if schedule:
        _emitter(ctx, loaded).emit(
            "pipeline/semaphore.yaml.j2",
            "v1",
            "ConfigMap",
            semaphore,
            key=SEMAPHORE_KEY,
            limit=str(schedule.concurrency),
        )
    _emitter(ctx, loaded).emit(
        "pipeline/workflowtemplate.yaml.j2",
        ARGO,
        "WorkflowTemplate",
        pipeline.name,
        dag=build_dag(ctx, pipeline, runs),
        entrypoint=ENTRYPOINT,
        service_account=SERVICE_ACCOUNT,
        executor_account=EXECUTOR_ACCOUNT,
        semaphore=semaphore,
        semaphore_key=SEMAPHORE_KEY,
        run_labels={PIPELINE_LABEL: pipeline.name},
        labels_from={SCHEDULED_LABEL: scheduled_label_expression()} if schedule else {},
    )
    if schedule:
        _render_cron(ctx, loaded)
        _render_backfill(ctx, loaded)


def _render_cron(ctx: TargetContext, loaded: Loaded[Pipeline]) -> None:
    schedule = loaded.model.spec.schedule
    assert schedule is not None
    deadline = schedule.startingDeadline
    _emitter(ctx, loaded).emit(
        "pipeline/cronworkflow.yaml.j2",
        ARGO,
        "CronWorkflow",
        cron_name(loaded.name),
        schedule=schedule,
        concurrency_policy="Forbid" if schedule.concurrency == 1 else "Allow",
        deadline_seconds=duration_seconds(deadline) if deadline else None,
        run_labels={PIPELINE_LABEL: loaded.name},
        workflow_template=loaded.name,
    )


def _render_backfill(ctx: TargetContext, loaded: Loaded[Pipeline]) -> None:
    """One run per scheduled time of the backfill, earliest first (and first in Argo's queue).

    Validation refused a backfill over the cap, so the list here is the whole range.
    """
    pipeline = loaded.model
    schedule = pipeline.spec.schedule
    if schedule is None or schedule.backfill is None:
        return
    times = backfill_times(schedule)
    daily = fires_daily(times)
    upstreams = [ctx.resolved.pipelines[name].model for name in pipeline.upstreams]
    emit = _emitter(ctx, loaded).emit
    for index, moment in enumerate(times):
        arguments = [
            (wait_parameter(up.name), rfc3339(upstream_time(up, moment))) for up in upstreams
        ]
        emit(
            "pipeline/workflow.yaml.j2",
            ARGO,
            "Workflow",
            backfill_name(pipeline.name, moment, daily=daily),
            labels={PIPELINE_LABEL: pipeline.name, SCHEDULED_LABEL: unix(moment)},
            annotations={SCHEDULED_TIME_ANNOTATION: rfc3339(moment)},
            meta={"run": True},
            workflow_template=pipeline.name,
            priority=-(index + 1),
            arguments=arguments,
        )


def _emitter(ctx: TargetContext, loaded: Loaded[Pipeline]) -> SpecEmitter:
    return ctx.spec_emitter(f"Pipeline.{loaded.name}", loaded.doc.path)
