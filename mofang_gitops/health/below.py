"""Reasons that come from below a workload: its pods and the Events about it.

A job's own status says "Created" for as long as its pods cannot start; the reason a person can
act on is one level down: the scheduler's message on an unschedulable pod, a ``FailedCreate ...
exceeded quota`` Event on the job, an image that cannot be pulled, a container in
CrashLoopBackOff. These functions read plain dicts (pods and Events as listed) and return that
reason with the health it implies. Waiting for capacity is Progressing (it resolves when other
work finishes); a refusal by quota, a bad image or a crashing container is Degraded (a person
must change something).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mofang_gitops.health.model import Health, PodPlacement

JOB_LABEL = "mofang.io/job"
"""Every pod template we render carries this label with the workload's name."""
NOTEBOOK_LABEL = "mofang.io/notebook"
BROKEN_WAITING = frozenset(
    {
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CrashLoopBackOff",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


@dataclass(frozen=True)
class Problem:
    """A reason from below and the health it implies."""

    health: Health
    reason: str


def parse_time(value: object) -> datetime | None:
    """An RFC 3339 timestamp as the API server writes it, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def one_line(text: object, limit: int = 240) -> str:
    """Messages can span lines (scheduler, kubelet): keep one line a table can show."""
    line = " ".join(str(text or "").split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The status condition of type ``kind``, if any."""
    for cond in (obj.get("status") or {}).get("conditions") or ():
        if isinstance(cond, Mapping) and cond.get("type") == kind:
            return cond
    return None


def is_true(obj: Mapping[str, Any], kind: str) -> bool:
    """Whether condition ``kind`` is True."""
    cond = condition(obj, kind)
    return cond is not None and cond.get("status") == "True"


def resource_group(pod: Mapping[str, Any], groups: Mapping[str, Mapping[str, str]]) -> str:
    """The resource group whose node selector the pod carries (the platform's placement)."""
    selector = (pod.get("spec") or {}).get("nodeSelector") or {}
    for name, labels in groups.items():
        if labels and all(selector.get(k) == v for k, v in labels.items()):
            return name
    return ""


def placement(
    pod: Mapping[str, Any], groups: Mapping[str, Mapping[str, str]], now: datetime
) -> PodPlacement:
    """Where ``pod`` runs, for how long, and what (if anything) holds it back."""
    status = pod.get("status") or {}
    started = parse_time(status.get("startTime"))
    ended = _finished_at(status)
    duration = ((ended or now) - started).total_seconds() if started else None
    problem = pod_problem(pod)
    return PodPlacement(
        name=str(pod.get("metadata", {}).get("name", "")),
        phase=str(status.get("phase") or "Pending"),
        ready=is_true(pod, "Ready"),
        node=str((pod.get("spec") or {}).get("nodeName") or ""),
        resource_group=resource_group(pod, groups),
        started_at=str(status.get("startTime") or ""),
        duration_seconds=round(duration, 1) if duration is not None else None,
        reason=problem.reason if problem else "",
    )


def _finished_at(status: Mapping[str, Any]) -> datetime | None:
    if status.get("phase") not in ("Succeeded", "Failed"):
        return None
    ends = [
        parse_time((c.get("state") or {}).get("terminated", {}).get("finishedAt"))
        for c in status.get("containerStatuses") or ()
    ]
    known = [e for e in ends if e is not None]
    return max(known) if known else None


def pod_problem(pod: Mapping[str, Any]) -> Problem | None:
    """Why this pod is not running as it should, or None."""
    name = pod.get("metadata", {}).get("name", "")
    status = pod.get("status") or {}
    if status.get("phase") == "Failed":
        return Problem(Health.DEGRADED, f"pod {name} failed: {_termination(status)}")
    scheduled = condition(pod, "PodScheduled")
    if scheduled is not None and scheduled.get("status") == "False":
        why = scheduled.get("reason") or "Pending"
        return Problem(
            Health.PROGRESSING, f"pod {name} {why}: {one_line(scheduled.get('message'))}"
        )
    for container in status.get("containerStatuses") or ():
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in BROKEN_WAITING:
            message = one_line(waiting.get("message")) or container.get("image", "")
            return Problem(Health.DEGRADED, f"pod {name} {waiting['reason']}: {message}")
    return None


def _termination(status: Mapping[str, Any]) -> str:
    for container in status.get("containerStatuses") or ():
        term = (container.get("state") or {}).get("terminated") or {}
        if term and term.get("exitCode") not in (None, 0):
            text = f"{container.get('name')} exited {term.get('exitCode')}"
            detail = one_line(term.get("message") or term.get("reason"))
            return f"{text} ({detail})" if detail else text
    return one_line(status.get("message") or status.get("reason") or "Failed")


def worst_problem(problems: Iterable[Problem | None]) -> Problem | None:
    """Degraded before Progressing; the first of each."""
    found = [p for p in problems if p is not None]
    degraded = [p for p in found if p.health is Health.DEGRADED]
    first = degraded or found
    return first[0] if first else None


def event_problem(events: Sequence[Mapping[str, Any]], names: Iterable[str]) -> Problem | None:
    """The latest Warning Event that refused to create a pod of one of ``names`` (quota etc.).

    Events name the object they are about (the job, its launcher Job, the StatefulSet); ours
    are matched by name or by ``<name>-`` prefix, which covers what operators create for a job.
    """
    wanted = tuple(names)
    latest: tuple[str, Mapping[str, Any]] | None = None
    for event in events:
        if event.get("type") != "Warning" or not _about(event, wanted):
            continue
        reason = str(event.get("reason") or "")
        message = str(event.get("message") or "")
        if not (reason.startswith("FailedCreate") or "exceeded quota" in message):
            continue
        when = str(event.get("lastTimestamp") or event.get("eventTime") or "")
        if latest is None or when >= latest[0]:
            latest = (when, event)
    if latest is None:
        return None
    event = latest[1]
    message = one_line(event.get("message"))
    if "status unknown for quota" in message:  # usage not computed yet: resolves by itself
        return Problem(Health.PROGRESSING, f"waiting for quota usage: {message}")
    if "exceeded quota" in message:
        return Problem(Health.DEGRADED, f"refused by quota: {message}")
    return Problem(Health.DEGRADED, f"{event.get('reason')}: {message}")


def _about(event: Mapping[str, Any], names: tuple[str, ...]) -> bool:
    name = str((event.get("involvedObject") or {}).get("name") or "")
    return any(name == n or name.startswith(f"{n}-") for n in names)
