"""The DAG of a pipeline's WorkflowTemplate: one Argo template per step, plus upstream waits.

A container step is an Argo ``container`` template placed like every workload pod (Volcano, the
project queue, the step's resource group, mounts, the project ServiceAccount). A component step is
the same, with the component's image, command and resources and its ``{{inputs.x}}`` placeholders
replaced by the task's values in Python (see ``models.components``): the template gets plain
strings, inlined per pipeline (docs/decisions.md says why not ``templateRef``). A training step is a
``resource`` template that creates the Training's run object, the very manifest the trainings
renderer produces, renamed per workflow run. A wait is a container of the tool's own image
(``platform.spec.toolImage``) running ``mofang-gitops wait-upstream`` (see ``pipelines`` for why).

Argo evaluates ``successCondition``/``failureCondition`` as Kubernetes label selectors over GJSON
paths, so they can only name plain fields (no array queries) and the failure requirements are OR-ed.
Operators that report conditions (Kubeflow jobs, Katib) keep them in a short list whose order we do
not know: a Failed condition is looked for in each of the first positions, and ``completionTime``
(set once the job finished either way; present and non-empty, since Katib writes it as null
while running) means success when none of those positions is Failed. The
success condition says so itself rather than relying on Argo checking failure first.
Checked against the status documents the real operators write (tests/testdata/status/*.json)
with Argo v4's own evaluation code (tests/runtime/test_job_status.py,
tests/render/test_run_conditions.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mofang_gitops.manifests import ANNOTATION_SOURCE_PATH, LABEL_MANAGED_BY
from mofang_gitops.models import Pipeline
from mofang_gitops.models.base import Resources
from mofang_gitops.models.components import substitute_inputs
from mofang_gitops.models.quantities import duration_seconds
from mofang_gitops.models.workloads import Retry, Task
from mofang_gitops.rendering.context import Container, Pod, TargetContext
from mofang_gitops.rendering.pipeline_executor import EXECUTOR_ACCOUNT
from mofang_gitops.rendering.pipeline_runs import PIPELINE_LABEL
from mofang_gitops.rendering.templating import ObjectHeader, render_object
from mofang_gitops.rendering.trainings import TrainingRun
from mofang_gitops.validation.placement import cpu_group_for, pipeline_default_group

WAIT_TEMPLATE = "wait-for-run"
WAIT_ROLE = "wait"
HELPER_ROLE = "argo"
"""Role label of the pods Argo runs for resource and wait steps."""
CREATED_BY = "argo-workflows"
"""managed-by of objects a step creates: runs are Argo's, never ours to diff or prune."""
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
_CONDITION_SLOTS = 8
_FAILED_CONDITION = ", ".join(
    f"status.conditions.{i}.type = Failed" for i in range(_CONDITION_SLOTS)
)
_NOT_FAILED = ", ".join(f"status.conditions.{i}.type != Failed" for i in range(_CONDITION_SLOTS))
# ``completionTime`` must exist and be non-empty: Katib v0.19.0 writes ``completionTime: null``
# on a running Experiment, and gjson counts a null as present (the step succeeded at once).
_BY_CONDITIONS = (
    f"status.completionTime, status.completionTime != , {_NOT_FAILED}",
    _FAILED_CONDITION,
)
RUN_CONDITIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("kubeflow.org/v2beta1", "MPIJob"): _BY_CONDITIONS,
    ("kubeflow.org/v1", "TFJob"): _BY_CONDITIONS,
    ("kubeflow.org/v1", "PyTorchJob"): _BY_CONDITIONS,
    ("kubeflow.org/v1", "XGBoostJob"): _BY_CONDITIONS,
    ("kubeflow.org/v1beta1", "Experiment"): _BY_CONDITIONS,
    # KubeRay v1.5.0 keeps jobStatus FAILED while it retries an attempt (jobDeploymentStatus
    # Retrying, backoffLimit): only the deployment status says the RayJob is over. A stopped Ray
    # job ends the RayJob Complete, so STOPPED fails the step on its own.
    ("ray.io/v1", "RayJob"): (
        "status.jobDeploymentStatus = Complete, status.jobStatus = SUCCEEDED",
        "status.jobDeploymentStatus in (Failed, ValidationFailed), status.jobStatus = STOPPED",
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
WAIT_INPUTS = ["pipeline", "cron", "timezone", "timeout", "at"]
"""Inputs of the wait template: the upstream, its schedule, how long, and the time to match."""
WAIT_RESOURCES = Resources(cpu="50m", memory="128Mi")
"""The wait only polls the API server."""
WAIT_GRACE_SECONDS = 300
"""Margin of the wait template's deadline over the wait's own timeout (pod start-up)."""


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
    token: bool = False
    """Mount the pod's ServiceAccount token (only the wait, which reads Workflows)."""
    deadline: int | None = None
    """``activeDeadlineSeconds``: a backstop should the step hang."""


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


def build_dag(ctx: TargetContext, pipeline: Pipeline, runs: Mapping[str, TrainingRun]) -> Dag:
    """Tasks in spec order, each waiting for every upstream run when it has no dependencies."""
    spec = pipeline.spec
    retry = retry_strategy(spec.retry)
    waits = _wait_tasks(ctx, pipeline)
    tasks, templates = [task for task, _ in waits], []
    wait_names = [task.name for task in tasks]
    default_group = pipeline_default_group(ctx.platform, ctx.project, pipeline)
    for step in spec.tasks:
        group = step.resourceGroup or default_group
        if step.training:
            template = _training_template(ctx, pipeline, step, retry, runs)
        elif step.component:
            template = _component_template(ctx, pipeline, step, retry, group)
        else:
            template = _container_template(ctx, pipeline, step, retry, group)
        templates.append(template)
        dependencies = list(step.dependencies or wait_names)
        tasks.append(DagTask(step.name, template.name, dependencies))
    if waits:
        templates.append(wait_template(ctx, pipeline))
    parameters = [(parameter, "") for _, parameter in waits]
    return Dag(tasks, templates, parameters, _helper_pod(ctx, pipeline))


def _helper_pod(ctx: TargetContext, pipeline: Pipeline) -> Pod:
    """Placement of the pods Argo runs itself: a CPU group (the pipeline's when it is one).

    Written at workflow level, so resource and wait steps also go through Volcano in the project
    queue and stay off GPU machines; container steps override it with their own group.
    """
    group = ctx.group(_helper_group(ctx, pipeline))
    return ctx.pod(group, [], job=pipeline.name, role=HELPER_ROLE, volumes=[])


def _helper_group(ctx: TargetContext, pipeline: Pipeline) -> str:
    """The CPU group of Argo's own pods and of waits (the pipeline's group when it has no GPUs)."""
    own = ctx.group(pipeline.spec.resourceGroup) if pipeline.spec.resourceGroup else None
    cpu = cpu_group_for(ctx.platform, ctx.project, ctx.cluster.name)
    if own is not None and not own.capacity.gpu:
        cpu = own
    return (cpu or own or ctx.groups_here()[0]).name


def retry_strategy(retry: Retry) -> RetryStrategy | None:
    """The spec's retries; the backoff doubles each time (Argo durations take no days)."""
    if not retry.limit:
        return None
    backoff = f"{duration_seconds(retry.backoff)}s" if retry.backoff else None
    return RetryStrategy(retry.limit, backoff)


def wait_parameter(upstream: str) -> str:
    """Workflow parameter through which a backfill run names the upstream run to wait for."""
    return f"after-{upstream}"


def _wait_tasks(ctx: TargetContext, pipeline: Pipeline) -> list[tuple[DagTask, str]]:
    """One wait per upstream pipeline, named so it cannot clash with a step.

    ``at`` is the upstream's scheduled time a backfill run names in its parameter, else this
    run's own scheduled time; the wait takes the upstream's latest fire at or before it.
    """
    taken = {step.name for step in pipeline.spec.tasks}
    waits = []
    for dependency in pipeline.spec.dependsOn:
        upstream = ctx.resolved.pipelines[dependency.pipeline].model
        schedule = upstream.spec.schedule
        assert schedule is not None, "validation: an upstream has a schedule"
        name = f"wait-{upstream.name}"
        while name in taken:
            name = f"{name}-upstream"
        taken.add(name)
        parameter = wait_parameter(upstream.name)
        given = f"workflow.parameters['{parameter}']"
        own = "('scheduledTime' in workflow ? workflow.scheduledTime : '')"
        arguments = [
            ("pipeline", upstream.name),
            ("cron", schedule.cron),
            ("timezone", schedule.timezone),
            ("timeout", f"{duration_seconds(dependency.timeout)}s"),
            ("at", f"{{{{={given} != '' ? {given} : {own}}}}}"),
        ]
        waits.append((DagTask(name, WAIT_TEMPLATE, [], arguments), parameter))
    return waits


def _container_template(
    ctx: TargetContext, pipeline: Pipeline, step: Task, retry: RetryStrategy | None, group_name: str
) -> StepTemplate:
    """A container step, placed on its resource group and scheduled by Volcano."""
    assert step.image is not None and step.command is not None
    group = ctx.group(group_name)
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
    ctx: TargetContext, pipeline: Pipeline, step: Task, retry: RetryStrategy | None, group_name: str
) -> StepTemplate:
    """A component step: the component's container with the task's inputs substituted."""
    assert step.component is not None
    component = ctx.resolved.components[step.component].model.spec
    values = {i.name: i.default for i in component.inputs if i.default is not None}
    values.update(step.inputs)
    group = ctx.group(group_name)
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


def wait_template(ctx: TargetContext, pipeline: Pipeline) -> StepTemplate:
    """Wait until the upstream run for ``at`` succeeded; fail naming it if it failed or never came.

    Runs as the executor account (read access to Workflows) with its token mounted, on the CPU
    group Argo's own pods use. Its deadline is the longest timeout of any dependency plus a
    margin: the command's own timeout is what normally ends a wait.
    """
    image = ctx.platform.spec.toolImage
    assert image is not None, "validation: dependsOn needs platform toolImage"
    group = ctx.group(_helper_group(ctx, pipeline))
    requests, limits = ctx.resources(WAIT_RESOURCES, group)
    arguments = [f"--{name}={{{{inputs.parameters.{name}}}}}" for name in WAIT_INPUTS]
    container = Container(
        "main",
        image,
        ["mofang-gitops", "wait-upstream"],
        ["--namespace={{workflow.namespace}}", *arguments],
        [],
        requests,
        limits,
        [],
    )
    pod = ctx.pod(group, [container], job=pipeline.name, role=WAIT_ROLE, volumes=[])
    pod.service_account = EXECUTOR_ACCOUNT
    longest = max(duration_seconds(d.timeout) for d in pipeline.spec.dependsOn)
    return StepTemplate(
        WAIT_TEMPLATE,
        None,
        pod=pod,
        inputs=list(WAIT_INPUTS),
        token=True,
        deadline=longest + WAIT_GRACE_SECONDS,
    )
