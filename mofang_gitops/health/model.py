"""Health results: plain frozen values with stable field names (``as_dict`` is the JSON form).

These are the public shape of health for the CLI, the controller and any page built on top:

- :class:`Health` — ``Healthy | Progressing | Degraded | Suspended | Missing | Unknown``.
- :class:`PodPlacement` — one pod of a workload: ``name, phase, ready, node, resourceGroup,
  startedAt, durationSeconds, reason``.
- :class:`Run` — one pipeline run (Workflow): ``name, phase, startedAt, finishedAt``.
- :class:`QuotaUse` — one resource of a ResourceQuota: ``resource, used, hard``.
- :class:`ObjectHealth` — one rendered object: ``cluster, environment, project, apiVersion, kind,
  namespace, name, source, health, reason, phase, url, startedAt, finishedAt, pods, runs, nextRuns,
  quota, details`` (``details``: extra ``{name: text}`` facts: Katib's ``trials``, ``best``).
- :class:`EventNote` — one recent Event of the target's namespace: ``type, reason, object,
  message, count, time``.
- :class:`GroupUse` — what the target's live pods request on one resource group: ``group,
  requests`` (``{resource: amount}``: cores, bytes, device counts).
- :class:`TargetHealth` — every object of one (environment, cluster, project): ``environment,
  cluster, project, health, objects, counts, events, usage`` (``health`` is the worst of its
  objects; ``events`` Warning first, then newest).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Health(StrEnum):
    """How a live object is doing (the value is what every output shows)."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    SUSPENDED = "Suspended"
    MISSING = "Missing"
    UNKNOWN = "Unknown"


SEVERITY = {
    Health.HEALTHY: 0,
    Health.SUSPENDED: 1,
    Health.PROGRESSING: 2,
    Health.UNKNOWN: 3,
    Health.MISSING: 4,
    Health.DEGRADED: 5,
}
"""Order used to summarise many objects into one: the worst wins."""


def worst(healths: Iterable[Health]) -> Health:
    """The most severe of ``healths`` (Healthy when there are none)."""
    return max(healths, key=SEVERITY.__getitem__, default=Health.HEALTHY)


@dataclass(frozen=True, slots=True)
class PodPlacement:
    """Where one pod of a workload landed and how it is doing."""

    name: str
    phase: str
    ready: bool = False
    node: str = ""
    resource_group: str = ""
    started_at: str = ""
    duration_seconds: float | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form (camelCase keys, like the Kubernetes objects it summarises)."""
        return {
            "name": self.name,
            "phase": self.phase,
            "ready": self.ready,
            "node": self.node,
            "resourceGroup": self.resource_group,
            "startedAt": self.started_at,
            "durationSeconds": self.duration_seconds,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Run:
    """One run of a pipeline (an Argo Workflow)."""

    name: str
    phase: str
    started_at: str = ""
    finished_at: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "name": self.name,
            "phase": self.phase,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
        }


@dataclass(frozen=True, slots=True)
class QuotaUse:
    """Used against hard for one resource of a ResourceQuota (as the API server writes them)."""

    resource: str
    used: str
    hard: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"resource": self.resource, "used": self.used, "hard": self.hard}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a rule says about one object, before it is placed in its target."""

    health: Health
    reason: str
    phase: str = ""
    url: str = ""
    started_at: str = ""
    finished_at: str = ""
    pods: tuple[PodPlacement, ...] = ()
    runs: tuple[Run, ...] = ()
    next_runs: tuple[str, ...] = ()
    quota: tuple[QuotaUse, ...] = ()
    details: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ObjectHealth:
    """The health of one rendered object in one cluster.

    Every model here is slotted: the controller keeps one per rendered object between passes
    and a second set while the next read is judged (an instance dict each: ~9 MB a set at
    1,000 projects).
    """

    cluster: str
    environment: str
    project: str
    kind: str
    namespace: str
    name: str
    source: str
    """``<Kind>.<name>`` of the spec it was rendered from (``Training.resnet50``)."""
    verdict: Verdict
    api_version: str = ""

    @property
    def health(self) -> Health:
        """The object's health."""
        return self.verdict.health

    @property
    def reason(self) -> str:
        """One line a person can act on."""
        return self.verdict.reason

    @property
    def object_id(self) -> str:
        """``Kind/namespace/name``."""
        return (
            f"{self.kind}/{self.namespace}/{self.name}"
            if self.namespace
            else (f"{self.kind}/{self.name}")
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON form; the keys are documented in the module docstring."""
        v = self.verdict
        return {
            "cluster": self.cluster,
            "environment": self.environment,
            "project": self.project,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "source": self.source,
            "health": str(v.health),
            "reason": v.reason,
            "phase": v.phase,
            "url": v.url,
            "startedAt": v.started_at,
            "finishedAt": v.finished_at,
            "pods": [p.as_dict() for p in v.pods],
            "runs": [r.as_dict() for r in v.runs],
            "nextRuns": list(v.next_runs),
            "quota": [q.as_dict() for q in v.quota],
            "details": dict(v.details),
        }


@dataclass(frozen=True, slots=True)
class EventNote:
    """One Event of a target's namespace, as a person reads it."""

    type: str
    reason: str
    object: str
    """``Kind/name`` the Event is about."""
    message: str
    count: int = 1
    time: str = ""
    """When it last happened (RFC 3339)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "type": self.type,
            "reason": self.reason,
            "object": self.object,
            "message": self.message,
            "count": self.count,
            "time": self.time,
        }


@dataclass(frozen=True, slots=True)
class GroupUse:
    """What a target's ResourceQuota counts, split by resource group.

    The requests of its pods still holding resources (not Succeeded or Failed).
    """

    group: str
    requests: tuple[tuple[str, float], ...]
    """``(resource, amount)`` sorted: cores for cpu, bytes for memory, devices for the rest."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"group": self.group, "requests": dict(self.requests)}


@dataclass(frozen=True, slots=True)
class TargetHealth:
    """Health of every object of one (environment, cluster, project)."""

    environment: str
    cluster: str
    project: str
    objects: tuple[ObjectHealth, ...]
    error: str = ""
    """Why the target could not be read at all (then ``objects`` is empty and health Unknown)."""
    events: tuple[EventNote, ...] = ()
    """Recent Events of its namespace, Warning first, then newest (at most ``MAX_EVENTS``)."""
    usage: tuple[GroupUse, ...] = ()
    """Requests of its live pods per resource group (pods outside every group are left out)."""

    @property
    def health(self) -> Health:
        """The worst health of its objects (Unknown when it could not be read)."""
        return Health.UNKNOWN if self.error else worst(o.health for o in self.objects)

    def counts(self) -> dict[str, int]:
        """Objects per health value."""
        return dict(sorted(Counter(str(o.health) for o in self.objects).items()))

    def head_dict(self) -> dict[str, Any]:
        """JSON form without ``objects``."""
        return {
            "environment": self.environment,
            "cluster": self.cluster,
            "project": self.project,
            "health": str(self.health),
            "error": self.error,
            "counts": self.counts(),
            "events": [e.as_dict() for e in self.events],
            "usage": [u.as_dict() for u in self.usage],
        }

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {**self.head_dict(), "objects": [o.as_dict() for o in self.objects]}
