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

from mofang_gitops.models import Training
from mofang_gitops.rendering import katib
from mofang_gitops.rendering.context import TargetContext, run_suffix
from mofang_gitops.rendering.jobs import build_job
from mofang_gitops.sources.loading import Loaded


def render(ctx: TargetContext) -> None:
    """Render every training whose resource group lives on this target's cluster."""
    for name in sorted(ctx.specs.trainings):
        loaded = ctx.specs.trainings[name]
        if ctx.lands_here(loaded.model, loaded.model.spec.resourceGroup):
            _render_training(ctx, loaded)


def run_name(training: Training) -> str:
    """``<training>-<hash of its spec>``: the one-shot run's name (see the module docstring)."""
    spec = training.spec.model_dump(mode="json", by_alias=True, exclude={"environments"})
    return f"{training.name}-{run_suffix(json.dumps(spec, sort_keys=True))}"


def _render_training(ctx: TargetContext, loaded: Loaded[Training]) -> None:
    """Emit the run of one training: its job, or the Experiment whose trials are that job."""
    training = loaded.model
    name = run_name(training)
    search = training.spec.search
    # The model refuses a search over a framework Katib cannot run as a trial.
    assert search is None or training.spec.framework in katib.TRIAL_FRAMEWORKS
    job = build_job(ctx, training, name, katib.trial_args(search) if search else ())
    labels = dict(training.metadata.labels)
    if search is not None:
        katib.render_experiment(ctx, loaded, name, job, labels)
        return
    ctx.emitter.emit(
        "training/job.yaml.j2",
        api_version=job.api_version,
        kind=job.kind,
        name=name,
        namespace=ctx.namespace,
        source=f"Training.{training.name}",
        source_path=loaded.doc.path,
        labels={**labels, **job.labels},
        meta={"run": True},
        job=job,
    )
