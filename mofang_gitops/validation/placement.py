"""Where each part of a workload runs: environments, clusters, resource groups, policies.

Validation and rendering both ask these questions; answering them in one place keeps the quota
checks and the rendered nodeSelectors in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass

from mofang_gitops.models import Environment, Pipeline, Platform, Project, Training
from mofang_gitops.models.base import Resources
from mofang_gitops.models.platform import NotebookPolicy, Policies, ResourceGroup, TrainingPolicy
from mofang_gitops.models.workloads import Workload

TENSORBOARD_IMAGE = "tensorboard"
"""The platform image (``platform.yaml`` ``images``) every TensorBoard runs."""
TENSORBOARD_REQUESTS = Resources(cpu="500m", memory="1Gi")
"""What one TensorBoard requests; counted against the project quota like any pod."""
COORDINATOR_ROLES = ("launcher", "ps", "chief", "head", "driver")
"""Roles that coordinate rather than compute; without GPUs they belong on CPU nodes."""


def workload_environments(workload: Workload, project: Project) -> list[str]:
    """Environments a workload deploys to: its own list, else all of its project's."""
    return list(workload.environments or project.spec.environments)


def cpu_group_for(platform: Platform, project: Project, cluster: str) -> ResourceGroup | None:
    """The first CPU-only resource group allowed for the project on ``cluster``."""
    for name in project.spec.resourceGroups:
        group = platform.resource_group(name)
        if group and group.cluster == cluster and not group.capacity.gpu:
            return group
    return None


def role_group(platform: Platform, project: Project, training: Training, role: str) -> str:
    """Resource group of a training role (DESIGN.md section 2, placement)."""
    spec = training.spec
    chosen = spec.roles[role]
    if chosen.resourceGroup:
        return chosen.resourceGroup
    own = platform.resource_group(spec.resourceGroup)
    if role in COORDINATOR_ROLES and chosen.resources.gpu == 0 and own is not None:
        cpu = cpu_group_for(platform, project, own.cluster)
        if cpu is not None:
            return cpu.name
    return spec.resourceGroup


def tensorboard_group(platform: Platform, project: Project, training: Training) -> str:
    """A training's TensorBoard serves files: a CPU group on the training's cluster if any."""
    own = platform.resource_group(training.spec.resourceGroup)
    cpu = cpu_group_for(platform, project, own.cluster) if own is not None else None
    return cpu.name if cpu is not None else training.spec.resourceGroup


def pipeline_group(platform: Platform, project: Project, pipeline: Pipeline, task: str) -> str:
    """Resource group of a container step: the step's, the pipeline's, else a CPU group."""
    step = next(t for t in pipeline.spec.tasks if t.name == task)
    return step.resourceGroup or pipeline_default_group(platform, project, pipeline)


def pipeline_default_group(platform: Platform, project: Project, pipeline: Pipeline) -> str:
    """Group of the steps that name none: the pipeline's, else a CPU group on its cluster.

    It scans every step: callers looping over steps compute it once (per step it made a
    2,000-step pipeline quadratic).
    """
    if pipeline.spec.resourceGroup:
        return pipeline.spec.resourceGroup
    cluster = pipeline_cluster(platform, project, pipeline, {})
    cpu = cpu_group_for(platform, project, cluster) if cluster else None
    return cpu.name if cpu else project.spec.resourceGroups[0]


def pipeline_cluster(
    platform: Platform, project: Project, pipeline: Pipeline, trainings: dict[str, Training]
) -> str:
    """The one cluster a pipeline runs on (Argo runs a workflow in one cluster)."""
    names = [pipeline.spec.resourceGroup] + [t.resourceGroup for t in pipeline.spec.tasks]
    names += [
        trainings[t.training].spec.resourceGroup
        for t in pipeline.spec.tasks
        if t.training and t.training in trainings
    ]
    for name in names:
        group = platform.resource_group(name) if name else None
        if group is not None:
            return group.cluster
    for name in project.spec.resourceGroups:
        group = platform.resource_group(name)
        if group is not None:
            return group.cluster
    return platform.spec.clusters[0].name


@dataclass(frozen=True)
class EffectivePolicy:
    """Platform policies with one environment's overrides applied."""

    notebook: NotebookPolicy
    training: TrainingPolicy
    on_violation: str


def effective_policy(platform: Platform, environment: Environment | None) -> EffectivePolicy:
    """Merge an environment's policy overrides over the platform's."""
    base: Policies = platform.spec.policies
    overrides = environment.spec.policies if environment else None
    if overrides is None:
        return EffectivePolicy(base.notebook, base.training, base.onViolation)
    notebook = base.notebook
    if overrides.notebook:
        notebook = notebook.model_copy(update=overrides.notebook.model_dump(exclude_none=True))
    training = base.training
    if overrides.training:
        training = training.model_copy(update=overrides.training.model_dump(exclude_none=True))
    return EffectivePolicy(notebook, training, overrides.onViolation or base.onViolation)


def home_owner(workload: Workload, project: Project) -> str | None:
    """Whose home the workload's ``user`` mount is, or None when it mounts no home.

    A notebook mounts its owner's; a training its ``owner``'s, else the first project owner's; a
    pipeline (no owner field) the first project owner's. Rendering mounts exactly this person's
    volume, and validation refuses it unless that person agreed (``validation.homes``).
    """
    spec = getattr(workload, "spec", None)
    if spec is None or "user" not in spec.mounts:
        return None
    owner: str | None = getattr(spec, "owner", None)
    return owner or project.spec.owners[0]
