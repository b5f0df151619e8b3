"""Prometheus metrics of the controller, in a registry of its own.

A registry per controller (not the process-global default) lets tests run several controllers in
one process and keeps library imports free of side effects.
"""

from __future__ import annotations

from collections import Counter as Counter_
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from mofang_gitops.health import Health, TargetHealth

CONTENT_TYPE = str(CONTENT_TYPE_LATEST)


class ControllerMetrics:
    """Reconcile duration and results, objects applied/pruned, drift fixes, webhooks, replays."""

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
        self.projects_rendered = Counter(
            "mofang_projects_rendered",
            "Projects rendered (only those whose files or the shared inputs changed)",
            registry=self.registry,
        )
        self.targets_planned = Counter(
            "mofang_targets_planned",
            "Targets compared with their clusters (every target on a full pass, else the changed)",
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
        self.webhook_replays = Counter(
            "mofang_webhook_replays",
            "Verified webhook deliveries refused because they were received before",
            ["provider"],
            registry=self.registry,
        )

        # Per target without the kind: a series per project, environment, cluster and kind was
        # about 38 per project (38,000 series and 14 MB of label sets at 1,000 projects); the
        # kind is counted over the whole platform, and /status names the kind per target.
        self.health = Gauge(
            "mofang_health_objects",
            "Rendered objects by health, per project, environment and cluster",
            ["project", "environment", "cluster", "health"],
            registry=self.registry,
        )
        self.health_by_kind = Gauge(
            "mofang_health_objects_by_kind",
            "Rendered objects by health and kind over every target",
            ["kind", "health"],
            registry=self.registry,
        )
        self.health_totals = Gauge(
            "mofang_health_objects_total",
            "Rendered objects by health over every target",
            ["health"],
            registry=self.registry,
        )

    def set_health(self, targets: Iterable[TargetHealth]) -> None:
        """Replace the health gauges with the counts of the latest read."""
        per: Counter_[tuple[str, str, str, str]] = Counter_()
        kinds: Counter_[tuple[str, str]] = Counter_()
        totals: Counter_[str] = Counter_({str(h): 0 for h in Health})
        for target in targets:
            for obj in target.objects:
                health = str(obj.health)
                per[(target.project, target.environment, target.cluster, health)] += 1
                kinds[(obj.kind, health)] += 1
                totals[health] += 1
        self.health.clear()
        for labels, count in per.items():
            self.health.labels(*labels).set(count)
        self.health_by_kind.clear()
        for (kind, health), count in kinds.items():
            self.health_by_kind.labels(kind, health).set(count)
        for health, count in totals.items():
            self.health_totals.labels(health).set(count)

    def render(self) -> bytes:
        """The text exposition format served on ``/metrics``."""
        data: bytes = generate_latest(self.registry)
        return data
