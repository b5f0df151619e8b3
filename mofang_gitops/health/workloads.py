"""Health rules of workloads: notebooks and every training kind the platform renders.

Each rule reads one live object (a plain dict, as listed) and :class:`Related` (its pods, the
Events of its namespace) and returns a :class:`Verdict`. Trainings are one-shot: Succeeded is
Healthy and Failed is Degraded, so nothing finished is ever "progressing"; a running training is
Progressing (``apply --wait`` waits for it to succeed). Conditions are read as the operators
write them: the Kubeflow training operator and MPI operator keep a list whose last True entry
is the current state (Created, Running, Restarting, Succeeded, Failed, Suspended).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from mofang_gitops.health.below import (
    Problem,
    condition,
    event_problem,
    is_true,
    one_line,
    placement,
    pod_problem,
    worst_problem,
)
from mofang_gitops.health.model import SEVERITY, Health, Verdict

Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Related:
    """What a rule may look at besides the object: its pods, Events, runs, placement facts."""

    pods: Sequence[Obj] = ()
    events: Sequence[Obj] = ()
    workflows: Sequence[Obj] = ()
    """Workflows of the namespace (a CronWorkflow's runs are among them)."""
    groups: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Resource group name -> node selector, to say which group a pod landed in."""
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    url: str = ""
    """Where the object is reached (a notebook's URL), from its rendered VirtualService."""


def _name(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def below(obj: Obj, related: Related) -> Problem | None:
    """The most pressing reason from the object's pods or the Events about it.

    Refusal Events linger after the pod was created at last, so they count only while the
    object has fewer pods than it asks for: none running, or (a job of several roles) some
    still missing, as when one worker fits the quota and the next is refused.
    """
    pods = worst_problem(pod_problem(p) for p in related.pods)
    events = None
    running = any((p.get("status") or {}).get("phase") == "Running" for p in related.pods)
    expected = expected_pods(obj)
    if not running or (expected is not None and len(related.pods) < expected):
        events = event_problem(related.events, [_name(obj)])
    return worst_problem([pods, events])


def expected_pods(obj: Obj) -> int | None:
    """How many pods a Kubeflow job's replica specs ask for (``None`` for other kinds)."""
    spec = obj.get("spec") or {}
    roles = [
        role
        for key, specs in spec.items()
        if key.endswith("ReplicaSpecs") and isinstance(specs, Mapping)
        for role in specs.values()
    ]
    if not roles:
        return None
    return sum(int((role or {}).get("replicas", 1) or 0) for role in roles)


def with_below(verdict: Verdict, obj: Obj, related: Related) -> Verdict:
    """Add pods placed, and let a worse reason from below replace a waiting one."""
    pods = tuple(placement(p, related.groups, related.now) for p in related.pods)
    verdict = replace(verdict, pods=pods)
    problem = below(obj, related)
    if problem is None:
        return verdict
    if SEVERITY[problem.health] > SEVERITY[verdict.health]:
        return replace(verdict, health=problem.health, reason=problem.reason)
    if verdict.health is Health.PROGRESSING:
        return replace(verdict, reason=f"{verdict.reason}: {problem.reason}")
    return verdict


def timed(verdict: Verdict, status: Mapping[str, Any], start: str, end: str) -> Verdict:
    """The verdict with the run's start and end times (``status[start]``, ``status[end]``)."""
    return replace(
        verdict, started_at=str(status.get(start) or ""), finished_at=str(status.get(end) or "")
    )


def _timed(verdict: Verdict, obj: Obj) -> Verdict:
    return timed(verdict, obj.get("status") or {}, "startTime", "completionTime")


def kubeflow_job(obj: Obj, related: Related) -> Verdict:
    """TFJob, PyTorchJob, XGBoostJob (training operator) and MPIJob v2beta1 (MPI operator)."""
    for kind, health in (("Succeeded", Health.HEALTHY), ("Failed", Health.DEGRADED)):
        cond = condition(obj, kind)
        if cond is not None and cond.get("status") == "True":
            message = one_line(cond.get("message"))
            reason = kind if health is Health.HEALTHY else f"Failed: {message}"
            pods = tuple(placement(p, related.groups, related.now) for p in related.pods)
            return _timed(Verdict(health, reason, phase=kind, pods=pods), obj)
    if is_true(obj, "Suspended"):
        return _timed(Verdict(Health.SUSPENDED, "Suspended", phase="Suspended"), obj)
    if is_true(obj, "Restarting"):
        cond = condition(obj, "Restarting") or {}
        verdict = Verdict(
            Health.PROGRESSING,
            f"Restarting: {one_line(cond.get('message'))}",
            phase="Restarting",
        )
    elif is_true(obj, "Running"):
        running = sum(1 for p in related.pods if (p.get("status") or {}).get("phase") == "Running")
        verdict = Verdict(Health.PROGRESSING, f"Running ({running} pods)", phase="Running")
    elif is_true(obj, "Created"):
        verdict = Verdict(Health.PROGRESSING, "Created, pods not running yet", phase="Created")
    else:
        verdict = Verdict(Health.PROGRESSING, "waiting for the operator", phase="Pending")
    return with_below(_timed(verdict, obj), obj, related)


RAY_OVER = ("Complete", "Failed", "ValidationFailed")
"""Final ``jobDeploymentStatus`` values of KubeRay v1.5.0; ``Retrying`` keeps the failed attempt's
``jobStatus: FAILED`` until the next attempt starts, so jobStatus alone never says it is over."""


def ray_job(obj: Obj, related: Related) -> Verdict:
    """RayJob: ``jobDeploymentStatus`` (the RayJob) first, then ``jobStatus`` (the Ray job)."""
    status = obj.get("status") or {}
    job = str(status.get("jobStatus") or "")
    deployment = str(status.get("jobDeploymentStatus") or "")
    phase = job or deployment or "Pending"
    message = one_line(status.get("message") or status.get("reason"))
    if deployment == "Complete" and job == "SUCCEEDED":
        verdict = Verdict(Health.HEALTHY, "Succeeded", phase=job)
    elif deployment in RAY_OVER or job == "STOPPED":
        what = "Stopped" if job == "STOPPED" else "Failed"
        reason = f"{what}: {message}".rstrip(": ")
        verdict = Verdict(Health.DEGRADED, reason, phase=job or deployment)
    elif deployment in ("Suspended", "Suspending"):
        verdict = Verdict(Health.SUSPENDED, deployment, phase=deployment)
    elif deployment == "Retrying":
        reason = f"Retrying after a failed attempt: {message}".rstrip(": ")
        verdict = with_below(Verdict(Health.PROGRESSING, reason, phase=deployment), obj, related)
    else:
        reason = f"{deployment or 'New'}, job {job or 'not submitted'}"
        verdict = with_below(Verdict(Health.PROGRESSING, reason, phase=phase), obj, related)
    return timed(verdict, status, "startTime", "endTime")


VOLCANO_DONE = {
    "Completed": Health.HEALTHY,
    "Failed": Health.DEGRADED,
    "Aborted": Health.DEGRADED,
    "Terminated": Health.DEGRADED,
}


def volcano_job(obj: Obj, related: Related) -> Verdict:
    """Volcano ``batch.volcano.sh`` Job: ``status.state.phase``."""
    state = (obj.get("status") or {}).get("state") or {}
    phase = str(state.get("phase") or "Pending")
    if phase in VOLCANO_DONE:
        health = VOLCANO_DONE[phase]
        detail = one_line(state.get("message") or state.get("reason"))
        reason = "Succeeded" if health is Health.HEALTHY else f"{phase}: {detail}".rstrip(": ")
        return Verdict(health, reason, phase=phase)
    return with_below(Verdict(Health.PROGRESSING, phase, phase=phase), obj, related)


def experiment(obj: Obj, related: Related) -> Verdict:
    """Katib Experiment: conditions, trials so far, the best trial's metrics."""
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    trials = (
        f"{status.get('trialsSucceeded', 0)} succeeded, {status.get('trialsFailed', 0)} failed, "
        f"{status.get('trialsRunning', 0)} running of {spec.get('maxTrialCount', '?')}"
    )
    details = [("trials", trials)]
    optimal = status.get("currentOptimalTrial") or {}
    metrics = (optimal.get("observation") or {}).get("metrics") or ()
    if metrics:
        best = ", ".join(f"{m.get('name')}={m.get('latest')}" for m in metrics)
        details.append(("best", f"{optimal.get('bestTrialName', '')} {best}".strip()))
    for kind, health in (("Succeeded", Health.HEALTHY), ("Failed", Health.DEGRADED)):
        cond = condition(obj, kind)
        if cond is not None and cond.get("status") == "True":
            reason = f"{kind}: {one_line(cond.get('message'))}".rstrip(": ")
            return _timed(Verdict(health, reason, phase=kind, details=tuple(details)), obj)
    phase = "Running" if is_true(obj, "Running") else "Created" if status else "Pending"
    verdict = Verdict(Health.PROGRESSING, f"{phase}: {trials}", phase=phase, details=tuple(details))
    return with_below(_timed(verdict, obj), obj, related)


def rollout(obj: Obj, wanted: int) -> str:
    """Why the ready pods of a StatefulSet or Deployment may be of an older spec ("" if not).

    Ready replicas alone are stale right after a change: until the controller has seen the new
    generation (``status.observedGeneration``) and replaced the pods (``updatedReplicas``, and a
    StatefulSet's ``currentRevision`` reaching ``updateRevision``), the ready pod is the old one.
    A wait that trusted it would end before the new pod was even refused.
    """
    status = obj.get("status") or {}
    generation = (obj.get("metadata") or {}).get("generation")
    seen = status.get("observedGeneration")
    if generation is not None and (seen is None or int(seen) < int(generation)):
        return f"change not yet seen by the controller (generation {generation}, seen {seen})"
    updated = int(status.get("updatedReplicas") or 0)
    revision = status.get("updateRevision")
    if ("updatedReplicas" in status and updated < wanted) or (
        revision and status.get("currentRevision") not in (None, revision)
    ):
        return f"rolling out: {updated}/{wanted} pods on the new spec"
    return ""


def notebook(obj: Obj, related: Related) -> Verdict:
    """A notebook's StatefulSet: ready replicas, pod conditions, the URL once Ready."""
    wanted = int((obj.get("spec") or {}).get("replicas", 1) or 0)
    ready = int((obj.get("status") or {}).get("readyReplicas") or 0)
    if wanted == 0:
        return Verdict(Health.SUSPENDED, "stopped (0 replicas)", phase="Stopped")
    updating = rollout(obj, wanted) if ready >= wanted else ""
    if updating:
        return with_below(Verdict(Health.PROGRESSING, updating, phase="Updating"), obj, related)
    if ready >= wanted:
        verdict = Verdict(Health.HEALTHY, "Ready", phase="Ready", url=related.url)
        return replace(
            verdict, pods=tuple(placement(p, related.groups, related.now) for p in related.pods)
        )
    pending = Verdict(Health.PROGRESSING, f"{ready}/{wanted} ready", phase="Starting")
    return with_below(pending, obj, related)


def tensorboard(obj: Obj, related: Related) -> Verdict:
    """A training's TensorBoard (its one Deployment): Ready with its URL once the pod is."""
    wanted = int((obj.get("spec") or {}).get("replicas", 1) or 0)
    ready = int((obj.get("status") or {}).get("readyReplicas") or 0)
    updating = rollout(obj, wanted) if wanted and ready >= wanted else ""
    if updating:
        return with_below(Verdict(Health.PROGRESSING, updating, phase="Updating"), obj, related)
    if wanted and ready >= wanted:
        return Verdict(Health.HEALTHY, "Ready", phase="Ready", url=related.url)
    pending = Verdict(Health.PROGRESSING, f"{ready}/{wanted} ready", phase="Starting")
    return with_below(pending, obj, related)


def spark_application(obj: Obj, related: Related) -> Verdict:
    """SparkApplication: ``status.applicationState.state`` (COMPLETED / FAILED are final)."""
    state = (obj.get("status") or {}).get("applicationState") or {}
    phase = str(state.get("state") or "SUBMITTING")
    if phase == "COMPLETED":
        return Verdict(Health.HEALTHY, "Succeeded", phase=phase)
    if phase in ("FAILED", "SUBMISSION_FAILED"):
        detail = one_line(state.get("errorMessage"))
        return Verdict(Health.DEGRADED, f"Failed: {detail}".rstrip(": "), phase=phase)
    return with_below(Verdict(Health.PROGRESSING, phase.title(), phase=phase), obj, related)
