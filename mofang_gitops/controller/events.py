"""Kubernetes Events on the project namespace, one per reconcile result that people should see.

Written through the cluster adapter's raw request (no new Kubernetes import). Only a change of
state or revision makes an Event, so a quiet interval costs no write.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from mofang_gitops.controller.statuses import SyncState, TargetStatus
from mofang_gitops.errors import ClusterError
from mofang_gitops.health import Health, ObjectHealth, TargetHealth
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import Target

log = logging.getLogger(__name__)

COMPONENT = "mofang-gitops-controller"


def event_body(status: TargetStatus, namespace: str) -> dict[str, Any]:
    """The ``v1`` Event for ``status`` on the project's namespace."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    message = f"{status.target}: {status.state} at {status.revision[:12]}"
    detail = status.last_error or "; ".join(status.problems)
    if detail:
        message += f": {detail}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"mofang-{uuid.uuid4().hex[:12]}", "namespace": namespace},
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Namespace",
            "name": namespace,
            "namespace": namespace,
        },
        "reason": status.state,
        "message": message[:1024],
        "type": "Normal" if status.state is SyncState.SYNCED else "Warning",
        "source": {"component": COMPONENT},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class EventRecorder:
    """Posts an Event when a target's state or revision changes."""

    def __init__(self, clusters: Callable[[Target], Cluster], namespaces: Mapping[Target, str]):
        self.clusters = clusters
        self.namespaces = namespaces
        self._last: dict[Target, tuple[str, str, str]] = {}

    def record(self, status: TargetStatus) -> None:
        """Post an Event for ``status`` unless it repeats the last one for its target."""
        key = (status.state, status.revision, status.last_error)
        namespace = self.namespaces.get(status.target)
        if namespace is None or self._last.get(status.target) == key:
            return
        cluster = self.clusters(status.target)
        path = f"/api/v1/namespaces/{namespace}/events"
        cluster.request(
            "POST",
            path,
            subject=f"{status.target}",
            verb="create",
            body=event_body(status, namespace),
        )
        self._last[status.target] = key
        log.info("%s: event %s recorded in %s", status.target, status.state, namespace)


def degraded_event(obj: ObjectHealth, api_version: str) -> dict[str, Any]:
    """A Warning Event on the object itself, saying why it is Degraded."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"mofang-{uuid.uuid4().hex[:12]}", "namespace": obj.namespace},
        "involvedObject": {
            "apiVersion": api_version,
            "kind": obj.kind,
            "name": obj.name,
            "namespace": obj.namespace,
        },
        "reason": str(Health.DEGRADED),
        "message": f"{obj.source or obj.object_id}: {obj.reason}"[:1024],
        "type": "Warning",
        "source": {"component": COMPONENT},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


class HealthEventRecorder:
    """Posts an Event whenever an object becomes Degraded (not again while it stays so)."""

    def __init__(self, clusters: Callable[[Target], Cluster]) -> None:
        self.clusters = clusters
        self._degraded: set[tuple[str, str, str, str]] = set()
        self._versions: dict[tuple[str, str], str] = {}

    def record(self, targets: Sequence[TargetHealth]) -> None:
        """Compare with the last read; post one Event per new Degraded object."""
        now: set[tuple[str, str, str, str]] = set()
        for target in targets:
            for obj in target.objects:
                if obj.health is not Health.DEGRADED or not obj.namespace:
                    continue
                key = (obj.cluster, obj.kind, obj.namespace, obj.name)
                now.add(key)
                if key not in self._degraded:
                    self._post(Target(target.environment, target.cluster, target.project), obj)
        self._degraded = now

    def _post(self, target: Target, obj: ObjectHealth) -> None:
        cluster = self.clusters(target)
        path = f"/api/v1/namespaces/{obj.namespace}/events"
        api_version = obj.api_version or "v1"
        try:
            cluster.request(
                "POST",
                path,
                subject=obj.object_id,
                verb="create",
                body=degraded_event(obj, api_version),
            )
        except ClusterError as e:
            log.warning("%s: cannot record Degraded event: %s", obj.object_id, e)
            return
        log.info("%s:%s: Degraded event recorded: %s", obj.cluster, obj.object_id, obj.reason)
