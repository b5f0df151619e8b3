"""Katib Experiments: a hyper-parameter search whose trials are each one training job.

Katib copies the job into every trial, replacing ``${trialParameters.<name>}``; the training
command receives each parameter as ``--<name>=<value>``. Katib then needs three facts about the
job: the status condition that means success or failure, the pods that print the metric
(``primaryPodLabels``) and the container there (``primaryContainerName``); its StdOut collector
reads ``<metric>=<value>`` lines from that container.

Only the Kubeflow jobs can be trials: their operators report ``Succeeded``/``Failed`` conditions
and label the pod that drives training with ``training.kubeflow.org/job-role`` (``master`` for the
Chief/Master of TFJob/PyTorchJob/XGBoostJob, ``launcher`` for MPIJob v2). A RayJob prints its
metrics in the submitter and reports ``jobStatus`` instead of conditions, and a Volcano Job has no
role that drives the others, so a search over those is refused, never rendered half-working.

Cluster requirement: Katib's default trial resources include the training-operator's MPIJob
``v1``; the platform's Katib must list ``MPIJob.v2beta1.kubeflow.org`` for horovod searches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mofang_gitops.models.workloads import Parameter, Search
from mofang_gitops.rendering.jobs import Job

TRIAL_FRAMEWORKS = frozenset({"horovod", "tensorflow", "pytorch", "xgboost"})
JOB_ROLE_LABEL = "training.kubeflow.org/job-role"
SUCCEEDED = 'status.conditions.#(type=="Succeeded")#|#(status=="True")#'
FAILED = 'status.conditions.#(type=="Failed")#|#(status=="True")#'
"""Katib's own defaults for Kubeflow jobs (GJSON), written out so no webhook has to fill them."""


@dataclass(frozen=True)
class TrialTemplate:
    """How Katib watches one trial job."""

    container: str
    pod_labels: dict[str, str]
    parameters: list[str]
    success_condition: str = SUCCEEDED
    failure_condition: str = FAILED


def trial_args(search: Search) -> list[str]:
    """Arguments every training command of a trial gets, one per searched parameter."""
    return [f"--{p.name}=${{trialParameters.{p.name}}}" for p in search.parameters]


EXPERIMENT_API_VERSION = "kubeflow.org/v1beta1"
EXPERIMENT_TEMPLATE = "training/experiment.yaml.j2"


def experiment_values(search: Search, job: Job) -> dict[str, Any]:
    """What the Experiment template lays out; ``job`` already carries the trial args."""
    return {
        "objective": _objective(search),
        "algorithm": search.algorithm,
        "max_trials": search.maxTrials,
        "parallel_trials": search.parallelTrials,
        "max_failed_trials": search.maxFailedTrials,
        "parameters": [_parameter(p) for p in search.parameters],
        "trial": trial_template(job, search),
        "job": job,
    }


def trial_template(job: Job, search: Search) -> TrialTemplate:
    """Where Katib finds the metric of a trial: the launcher of an MPIJob, else the master."""
    if job.kind == "MPIJob":
        return TrialTemplate("launcher", {JOB_ROLE_LABEL: "launcher"}, _names(search))
    container = job.replicas[0].pod.containers[0].name
    return TrialTemplate(container, {JOB_ROLE_LABEL: "master"}, _names(search))


def _names(search: Search) -> list[str]:
    return [p.name for p in search.parameters]


def _objective(search: Search) -> dict[str, Any]:
    objective = search.objective
    spec: dict[str, Any] = {"type": objective.type, "objectiveMetricName": objective.metric}
    if objective.goal is not None:
        spec["goal"] = objective.goal
    if objective.additionalMetrics:
        spec["additionalMetricNames"] = list(objective.additionalMetrics)
    return spec


def _parameter(parameter: Parameter) -> dict[str, Any]:
    """A Katib parameter; its feasible space is strings, as the Katib API takes them."""
    space: dict[str, Any]
    if parameter.min is not None and parameter.max is not None:
        space = {"min": _number(parameter.min), "max": _number(parameter.max)}
        if parameter.step is not None:
            space["step"] = _number(parameter.step)
    else:
        space = {"list": list(parameter.values)}
    return {"name": parameter.name, "parameterType": parameter.type, "feasibleSpace": space}


def _number(value: float) -> str:
    """``3`` for whole numbers (an int parameter's bounds), else the shortest exact decimal."""
    return str(int(value)) if value.is_integer() else repr(value)
