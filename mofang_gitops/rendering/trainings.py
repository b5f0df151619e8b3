"""Render trainings: one job per Training run (``jobs.py``), or a Katib Experiment around it.

With ``search`` the job becomes the trial template of a Katib Experiment (``katib.py``) and is not
rendered on its own as well.

Naming and lifecycle: a training run is one-shot. Its job (or Experiment) is named
``<training>-<hash>``, the hash taken over the Training ``spec`` alone (canonical JSON without
``environments``), never over platform, environment or cluster details. Consequences:

- an unchanged spec keeps its name forever, so reconcile recognises the run it already started
  (the manifest carries ``meta["run"]``) and never re-creates it after it finished or its TTL
  removed it;
- any change to the spec is a new name, hence a new run (the old name leaves the desired set);
- a platform change alone (say a new nodeSelector) never starts a run;
- listing one more environment starts the run there without re-running it anywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mofang_gitops.models import Training
from mofang_gitops.rendering import katib, spark
from mofang_gitops.rendering.context import TargetContext, run_suffix
from mofang_gitops.rendering.jobs import Job, build_job
from mofang_gitops.sources.loading import Loaded

JOB_TEMPLATE = "training/job.yaml.j2"


@dataclass(frozen=True)
class TrainingRun:
    """A Training's one-shot run in one target: the typed job, or the Experiment around it.

    Built once and handed on: the trainings renderer writes it out, and a pipeline step that runs
    the Training creates the same object from the same value (never from re-read output).
    """

    training: Loaded[Training]
    name: str
    api_version: str
    kind: str
    template: str
    labels: Mapping[str, str]
    values: Mapping[str, Any] = field(default_factory=dict)
    """What the template lays out besides the object header."""


def render(ctx: TargetContext) -> None:
    """Render every training whose resource group lives on this target's cluster."""
    runs = build_runs(ctx)
    if any(run.kind == spark.KIND for run in runs.values()):
        render_spark_driver_identity(ctx)
    for run in runs.values():
        ctx.emitter.emit(
            run.template,
            api_version=run.api_version,
            kind=run.kind,
            name=run.name,
            namespace=ctx.namespace,
            source=f"Training.{run.training.name}",
            source_path=run.training.doc.path,
            labels=dict(run.labels),
            meta={"run": True},
            **run.values,
        )


def build_runs(ctx: TargetContext) -> dict[str, TrainingRun]:
    """The run of every training that lands on this target, by training name, in name order."""
    runs = {}
    for name in sorted(ctx.resolved.trainings):
        loaded = ctx.resolved.trainings[name]
        if ctx.lands_here(loaded.model, loaded.model.spec.resourceGroup):
            runs[name] = build_run(ctx, loaded)
    return runs


def run_name(training: Training) -> str:
    """``<training>-<hash of its spec>``: the one-shot run's name (see the module docstring)."""
    # Fields added later are left out while unset, so existing runs keep their names.
    # A TensorBoard only reads the run's logs: adding or moving one never starts the run again.
    unset_later = {"spark"} if training.spec.spark is None else set()
    spec = training.spec.model_dump(
        mode="json", by_alias=True, exclude={"environments", "tensorboard", *unset_later}
    )
    return f"{training.name}-{run_suffix(json.dumps(spec, sort_keys=True))}"


def build_run(ctx: TargetContext, loaded: Loaded[Training]) -> TrainingRun:
    """The run of one training: its job, or the Experiment whose trials are that job."""
    training = loaded.model
    name = run_name(training)
    search = training.spec.search
    # The model refuses a search over a framework Katib cannot run as a trial.
    assert search is None or training.spec.framework in katib.TRIAL_FRAMEWORKS
    job: Job = build_job(ctx, training, name, katib.trial_args(search) if search else ())
    labels = dict(training.metadata.labels)
    if search is not None:
        return TrainingRun(
            training=loaded,
            name=name,
            api_version=katib.EXPERIMENT_API_VERSION,
            kind="Experiment",
            template=katib.EXPERIMENT_TEMPLATE,
            labels=labels,
            values=katib.experiment_values(search, job),
        )
    return TrainingRun(
        training=loaded,
        name=name,
        api_version=job.api_version,
        kind=job.kind,
        template=JOB_TEMPLATE,
        labels={**labels, **job.labels},
        values={"job": job},
    )


def render_spark_driver_identity(ctx: TargetContext) -> None:
    """ServiceAccount, Role and RoleBinding the Spark drivers of this namespace run as."""
    rbac = "rbac.authorization.k8s.io/v1"
    parts: list[tuple[str, str, str, dict[str, Any]]] = [
        ("training/driver-serviceaccount.yaml.j2", "v1", "ServiceAccount", {}),
        ("pipeline/executor-role.yaml.j2", rbac, "Role", {"rules": spark.DRIVER_RULES}),
        (
            "pipeline/executor-rolebinding.yaml.j2",
            rbac,
            "RoleBinding",
            {"role": spark.DRIVER_ACCOUNT, "account": spark.DRIVER_ACCOUNT},
        ),
    ]
    for template, api_version, kind, values in parts:
        ctx.emitter.emit(
            template,
            api_version=api_version,
            kind=kind,
            name=spark.DRIVER_ACCOUNT,
            namespace=ctx.namespace,
            source=f"Project.{ctx.project.name}",
            source_path=f"projects/{ctx.project.name}/project.yaml",
            **values,
        )
