"""Adapts the apply engine's ResourceManager to the controller's ``Applier`` and keeps clusters.

One :class:`~mofang_gitops.cluster.Cluster` per cluster name for the controller's lifetime, so
discovery and connection pools are reused across passes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mofang_gitops.cluster import Cluster
from mofang_gitops.engine.applying import ApplyOptions
from mofang_gitops.engine.changesets import ChangeSet
from mofang_gitops.manifests import RenderedTarget, Target


class EngineApplier:
    """Applies targets with ``engine.manager.ResourceManager`` (imported when first needed)."""

    def __init__(self, kubeconfig: Path | None, context: str | None) -> None:
        self.kubeconfig = kubeconfig
        self.context = context
        self._clusters: dict[str, Cluster] = {}
        self._contexts: dict[str, str] = {}
        self._lock = threading.Lock()

    def cluster(self, name: str, kube_context: str = "") -> Cluster:
        """The cluster called ``name`` (``--context`` wins over the platform's context)."""
        with self._lock:
            if name not in self._clusters:
                context = self.context or kube_context or self._contexts.get(name) or None
                self._clusters[name] = Cluster(name, self.kubeconfig, context)
            return self._clusters[name]

    def cluster_of(self, target: Target) -> Cluster:
        """The cluster of ``target`` (for Events)."""
        return self.cluster(target.cluster, self._contexts.get(target.cluster, ""))

    def apply(self, targets: Sequence[RenderedTarget], options: ApplyOptions) -> ChangeSet:
        """Apply ``targets`` with the engine; per-object failures come back as entries."""
        from mofang_gitops.engine.manager import ResourceManager  # being written alongside

        for rendered in targets:
            self._contexts[rendered.target.cluster] = rendered.kube_context
            self.cluster(rendered.target.cluster, rendered.kube_context)
        manager: Any = ResourceManager(dict(self._clusters))
        changes: ChangeSet = manager.apply(list(targets), options)
        return changes

    def close(self) -> None:
        """Release every cluster's connections."""
        with self._lock:
            for cluster in self._clusters.values():
                cluster.close()
