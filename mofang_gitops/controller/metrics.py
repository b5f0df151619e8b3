"""Prometheus metrics of the controller, in a registry of its own.

A registry per controller (not the process-global default) lets tests run several controllers in
one process and keeps library imports free of side effects.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = str(CONTENT_TYPE_LATEST)


class ControllerMetrics:
    """Reconcile duration and results, objects applied/pruned, drift fixes, webhook requests."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.reconcile_duration = Histogram(
            "mofang_reconcile_duration_seconds",
            "Duration of one reconcile of every target",
            registry=self.registry,
            buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )
        self.reconcile_results = Counter(
            "mofang_reconcile_results",
            "Target reconciles by resulting state",
            ["state"],
            registry=self.registry,
        )
        self.objects_applied = Counter(
            "mofang_objects_applied",
            "Objects created, configured or replaced",
            registry=self.registry,
        )
        self.objects_pruned = Counter(
            "mofang_objects_pruned", "Objects deleted by prune", registry=self.registry
        )
        self.drift_corrections = Counter(
            "mofang_drift_corrections",
            "Objects changed back to git's state without a new commit",
            ["project"],
            registry=self.registry,
        )
        self.errors = Counter(
            "mofang_errors",
            "Exceptions caught so that one project, or one pass, does not stop the others",
            ["stage"],
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "mofang_webhook_requests",
            "Webhook requests by provider and HTTP status",
            ["provider", "code"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition format served on ``/metrics``."""
        data: bytes = generate_latest(self.registry)
        return data
