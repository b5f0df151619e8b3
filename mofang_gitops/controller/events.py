"""Kubernetes Events on the project namespace, one per reconcile result that people should see.

Written through the cluster adapter's raw request (no new Kubernetes import). Only a change of
state or revision makes an Event, so a quiet interval costs no write.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mofang_gitops.controller.statuses import SyncState, TargetStatus
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
