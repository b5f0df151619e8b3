"""The DAG of a pipeline's WorkflowTemplate: one Argo template per step, plus upstream waits.

A container step is an Argo ``container`` template placed like every workload pod (Volcano, the
project queue, the step's resource group, mounts, the project ServiceAccount). A component step is
the same, with the component's image, command and resources and its ``{{inputs.x}}`` placeholders
replaced by the task's values in Python (see ``models.components``): the template gets plain
strings, inlined per pipeline (docs/decisions.md says why not ``templateRef``). A training step is a
``resource`` template that creates the Training's run object, the very manifest the trainings
renderer produces, renamed per workflow run. A wait is a ``resource`` ``get`` of the upstream run
(see ``pipelines`` for why), retried while that run does not exist yet.

Argo evaluates ``successCondition``/``failureCondition`` as Kubernetes label selectors over GJSON
paths, so they can only name plain fields (no array queries) and the failure requirements are OR-ed.
Operators that report conditions (Kubeflow jobs, Katib) keep them in a short list whose order we do
not know: a Failed condition is looked for in each of the first positions, and ``completionTime``
(set once the job finished either way) means success when none failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from mofang_gitops.manifests import ANNOTATION_SOURCE_PATH, LABEL_MANAGED_BY
from mofang_gitops.models import Pipeline
from mofang_gitops.models.components import substitute_inputs
from mofang_gitops.models.quantities import duration_seconds
from mofang_gitops.models.workloads import Retry, Task
from mofang_gitops.rendering.context import Container, Pod, TargetContext
from mofang_gitops.rendering.pipeline_runs import PIPELINE_LABEL, upstream_run_expression
from mofang_gitops.rendering.templating import ObjectHeader, render_object
from mofang_gitops.rendering.trainings import TrainingRun
from mofang_gitops.validation.placement import cpu_group_for, pipeline_group

WAIT_TEMPLATE = "wait-for-run"
HELPER_ROLE = "argo"
"""Role label of the pods Argo runs for resource and wait steps."""
RUN_PARAMETER = "run"
CREATED_BY = "argo-workflows"
"""managed-by of objects a step creates: runs are Argo's, never ours to diff or prune."""
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
_CONDITION_SLOTS = 8
_FAILED_CONDITION = ", ".join(
    f"status.conditions.{i}.type = Failed" for i in range(_CONDITION_SLOTS)
)
_BY_CONDITIONS = ("status.completionTime", _FAILED_CONDITION)
RUN_CONDITIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("kubeflow.org/v2beta1", "MPIJob"): _BY_CONDITIONS,
    ("kubeflow.org/v1", "TFJob"): _BY_CONDITIONS,
    ("kubeflow.org/v1", "PyTorchJob"): _BY_CONDITIONS,
    ("kubeflow.org/v1", "XGBoostJob"): _BY_CONDITIONS,
    ("kubeflow.org/v1beta1", "Experiment"): _BY_CONDITIONS,
    ("ray.io/v1", "RayJob"): (
        "status.jobStatus = SUCCEEDED",
        "status.jobStatus in (FAILED, STOPPED), status.jobDeploymentStatus = Failed",
    ),
    ("batch.volcano.sh/v1alpha1", "Job"): (
        "status.state.phase = Completed",
        "status.state.phase in (Failed, Aborted, Terminated)",
    ),
    # spark-operator's final states (api/v1beta2 ApplicationStateType). SUBMISSION_FAILED is not
    # final: its reconciler resubmits while onSubmissionFailureRetries last, then writes FAILED;
    # FAILING likewise becomes PENDING_RERUN or FAILED. So only FAILED fails the step.
    ("sparkoperator.k8s.io/v1beta2", "SparkApplication"): (
        "status.applicationState.state = COMPLETED",
        "status.applicationState.state = FAILED",
    ),
}
"""(apiVersion, kind) of a run object -> Argo (successCondition, failureCondition)."""
WAIT_CONDITIONS = ("status.phase == Succeeded", "status.phase in (Failed, Error)")
_WAIT_MANIFEST = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"name": f"{{{{inputs.parameters.{RUN_PARAMETER}}}}}"},
}


@dataclass(frozen=True)
class RetryStrategy:
    """Argo ``retryStrategy``: ``Always`` also retries pods lost to preemption or eviction."""

    limit: int
    backoff: str | None = None
    cap: str | None = None
    factor: int = 2
    policy: str = "Always"


@dataclass(frozen=True)
class Resource:
    """Argo ``resource`` template body."""

    action: str
    manifest: str
    success: str
    failure: str
    set_owner: bool = False


@dataclass
class StepTemplate:
    """One Argo template: a placed container, or a resource action."""

    name: str
    retry: RetryStrategy | None
    pod: Pod | None = None
    resource: Resource | None = None
    inputs: list[str] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    """Output parameters (name, file path) of a component step."""


@dataclass
class DagTask:
    """One task of the entrypoint DAG."""

    name: str
    template: str
    dependencies: list[str]
    arguments: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Dag:
    """The DAG, its templates and the workflow parameters (name, default) it reads.

    ``pod`` (no containers) places the pods Argo runs itself for resource and wait steps.
    """

    tasks: list[DagTask]
    templates: list[StepTemplate]
    parameters: list[tuple[str, str]]
    pod: Pod


WAIT_RETRY = RetryStrategy(limit=10, backoff="60s", cap="600s")
"""An upstream run may be created a little later than ours: look again for about an hour."""


def build_dag(ctx: TargetContext, pipeline: Pipeline, runs: Mapping[str, TrainingRun]) -> Dag:
    """Tasks in spec order, each waiting for every upstream run when it has no dependencies."""
    spec = pipeline.spec
    retry = retry_strategy(spec.retry)
    waits = _wait_tasks(pipeline)
    tasks, templates = [task for task, _ in waits], []
    wait_names = [task.name for task in tasks]
    for step in spec.tasks:
        if step.training:
            template = _training_template(ctx, pipeline, step, retry, runs)
        elif step.component:
            template = _component_template(ctx, pipeline, step, retry)
        else:
            template = _container_template(ctx, pipeline, step, retry)
        templates.append(template)
        dependencies = list(step.dependencies or wait_names)
        tasks.append(DagTask(step.name, template.name, dependencies))
    if waits:
        templates.append(wait_template())
    parameters = [(parameter, "") for _, parameter in waits]
    return Dag(tasks, templates, parameters, _helper_pod(ctx, pipeline))


def _helper_pod(ctx: TargetContext, pipeline: Pipeline) -> Pod:
    """Placement of the pods Argo runs itself: a CPU group (the pipeline's when it is one).

    Written at workflow level, so resource and wait steps also go through Volcano in the project
    queue and stay off GPU machines; container steps override it with their own group.
    """
    own = ctx.group(pipeline.spec.resourceGroup) if pipeline.spec.resourceGroup else None
    cpu = cpu_group_for(ctx.platform, ctx.project, ctx.cluster.name)
    if own is not None and not own.capacity.gpu:
        cpu = own
    group = cpu or own or ctx.groups_here()[0]
    return ctx.pod(group, [], job=pipeline.name, role=HELPER_ROLE, volumes=[])


def retry_strategy(retry: Retry) -> RetryStrategy | None:
    """The spec's retries; the backoff doubles each time (Argo durations take no days)."""
    if not retry.limit:
        return None
    backoff = f"{duration_seconds(retry.backoff)}s" if retry.backoff else None
    return RetryStrategy(retry.limit, backoff)


def wait_parameter(upstream: str) -> str:
    """Workflow parameter through which a backfill run names the upstream run to wait for."""
    return f"after-{upstream}"


def _wait_tasks(pipeline: Pipeline) -> list[tuple[DagTask, str]]:
    """One wait per upstream pipeline, named so it cannot clash with a step."""
    taken = {step.name for step in pipeline.spec.tasks}
    waits = []
    for upstream in pipeline.spec.dependsOn:
        name = f"wait-{upstream}"
        while name in taken:
            name = f"{name}-upstream"
        taken.add(name)
        parameter = wait_parameter(upstream)
        argument = (RUN_PARAMETER, upstream_run_expression(upstream, parameter))
        waits.append((DagTask(name, WAIT_TEMPLATE, [], [argument]), parameter))
    return waits


def _container_template(
    ctx: TargetContext, pipeline: Pipeline, step: Task, retry: RetryStrategy | None
) -> StepTemplate:
    """A container step, placed on its resource group and scheduled by Volcano."""
    assert step.image is not None and step.command is not None
    group = ctx.group(pipeline_group(ctx.platform, ctx.project, pipeline, step.name))
    requests, limits = ctx.resources(step.resources, group) if step.resources else ({}, {})
    # Pipelines have no owner: a ``user`` mount means the first project owner, as for trainings.
    volumes, mounts = ctx.mounts(pipeline.spec.mounts, ctx.project.spec.owners[0])
    container = Container(
        "main",
        ctx.image(step.image),
        list(step.command),
        list(step.args),
        list(step.env.items()),
        requests,
        limits,
        mounts,
    )
    pod = ctx.pod(group, [container], job=pipeline.name, role=step.name, volumes=volumes)
    return StepTemplate(f"step-{step.name}", retry, pod=pod)


def _component_template(
    ctx: TargetContext, pipeline: Pipeline, step: Task, retry: RetryStrategy | None
) -> StepTemplate:
    """A component step: the component's container with the task's inputs substituted."""
    assert step.component is not None
    component = ctx.resolved.components[step.component].model.spec
    values = {i.name: i.default for i in component.inputs if i.default is not None}
    values.update(step.inputs)
    group = ctx.group(pipeline_group(ctx.platform, ctx.project, pipeline, step.name))
    requests, limits = ctx.resources(step.resources or component.resources, group)
    volumes, mounts = ctx.mounts(pipeline.spec.mounts, ctx.project.spec.owners[0])
    container = Container(
        "main",
        ctx.image(component.image),
        [substitute_inputs(part, values) for part in component.command],
        [substitute_inputs(part, values) for part in component.args],
        [(name, substitute_inputs(text, values)) for name, text in component.env.items()],
        requests,
        limits,
        mounts,
    )
    pod = ctx.pod(group, [container], job=pipeline.name, role=step.name, volumes=volumes)
    outputs = [(output.name, output.path) for output in component.outputs]
    return StepTemplate(f"step-{step.name}", retry, pod=pod, outputs=outputs)


def _training_template(
    ctx: TargetContext,
    pipeline: Pipeline,
    step: Task,
    retry: RetryStrategy | None,
    runs: Mapping[str, TrainingRun],
) -> StepTemplate:
    """A training step: create the Training's run object and wait until it finished.

    Validation guarantees the Training lands wherever the pipeline runs, so its run is here.
    """
    assert step.training is not None
    run = runs[step.training]
    success, failure = RUN_CONDITIONS[(run.api_version, run.kind)]
    manifest = step_run_manifest(ctx, run, pipeline.name, step.name)
    resource = Resource("create", manifest, success, failure, set_owner=True)
    return StepTemplate(f"step-{step.name}", retry, resource=resource)


def step_run_manifest(ctx: TargetContext, run: TrainingRun, pipeline: str, step: str) -> str:
    """The Training's run object, named per workflow run (and per retry), for ``manifest``.

    Laid out by the run's own template from the same typed value the trainings renderer writes.
    ``generateName`` gives every attempt its own object; the owner reference Argo adds removes it
    with the workflow run. It is labelled as Argo's so our diff and prune never see it.
    """
    source = f"Training.{run.training.name}"
    labels = {
        **run.labels,
        **ctx.emitter.labels(source),
        LABEL_MANAGED_BY: CREATED_BY,
        PIPELINE_LABEL: pipeline,
        WORKFLOW_LABEL: "{{workflow.name}}",
    }
    header = ObjectHeader(
        api_version=run.api_version,
        kind=run.kind,
        name="",
        namespace=ctx.namespace,
        labels=labels,
        annotations={ANNOTATION_SOURCE_PATH: run.training.doc.path},
        generate_name=f"{{{{workflow.name}}}}-{step}-",
    )
    return render_object(run.template, header, **run.values)


def wait_template() -> StepTemplate:
    """Wait until the run named by the ``run`` input succeeded; fail when it failed."""
    success, failure = WAIT_CONDITIONS
    manifest = json.dumps(_WAIT_MANIFEST, sort_keys=True)
    resource = Resource("get", manifest, success, failure)
    return StepTemplate(WAIT_TEMPLATE, WAIT_RETRY, resource=resource, inputs=[RUN_PARAMETER])
