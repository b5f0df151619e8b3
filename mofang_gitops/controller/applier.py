"""Adapts the apply engine's ResourceManager to the controller's ``Applier`` and keeps clusters.

One :class:`~mofang_gitops.k8s.cluster.Cluster` per cluster name for the controller's lifetime, so
discovery and connection pools are reused across passes. The applier also reads the inventories
each cluster holds (how the controller finds projects deleted from git), and
:class:`ConfigMapState` keeps the last good revision per project in the cluster, so a restarted
controller (whose git cache is gone) still knows it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from mofang_gitops.controller.plans import ControllerState
from mofang_gitops.engine import (
    LABEL_INVENTORY,
    ApplyOptions,
    ChangeSet,
    Inventory,
    ResourceManager,
    find_inventories,
)
from mofang_gitops.errors import NotFoundError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.k8s.retrying import DEFAULT_BURST, DEFAULT_QPS, DEFAULT_RETRY_BUDGET
from mofang_gitops.manifests import (
    LABEL_MANAGED_BY,
    MANAGER,
    SYSTEM_NAMESPACE,
    RenderedTarget,
    Target,
)

log = logging.getLogger(__name__)

STATE_CONFIGMAP = "mofang-controller-state"
PAGE_SIZE = 100
"""Objects per LIST page of the controller's reads (engine and health).

The CLI lists a kind in one request up to 5,000 objects (DESIGN: one LIST per kind); a
long-running controller pays more requests per pass to hold less at once. What a read holds is
its pages in flight (eight kinds listed at a time, each page decoded whole before it is
reduced), and the process keeps that high-water mark as RSS: at 1,000 projects the peak was
546 MB with pages of 5,000, 413 MB with 500 (client-go's default) and 337 MB with 100, for
about 600 LISTs per full pass instead of 120 and no slower pass (issue 19,
benchmarks/README.md)."""


class EngineApplier:
    """Applies targets with ``engine.manager.ResourceManager`` (imported when first needed)."""

    def __init__(
        self,
        kubeconfig: Path | None,
        context: str | None,
        *,
        qps: float = DEFAULT_QPS,
        burst: int = DEFAULT_BURST,
        retry_budget: int = DEFAULT_RETRY_BUDGET,
        may_write: Callable[[], bool] | None = None,
    ) -> None:
        self.kubeconfig = kubeconfig
        self.may_write = may_write
        """Asked by the engine before each batch of writes (the leader's lease check)."""
        self.context = context
        self.limits = {"qps": qps, "burst": burst, "retry_budget": retry_budget}
        self._clusters: dict[str, Cluster] = {}
        self._contexts: dict[str, str] = {}
        self._lock = threading.Lock()

    def cluster(self, name: str, kube_context: str = "") -> Cluster:
        """The cluster called ``name`` (``--context`` wins over the platform's context)."""
        with self._lock:
            if name not in self._clusters:
                context = self.context or kube_context or self._contexts.get(name) or None
                self._clusters[name] = Cluster(
                    name,
                    self.kubeconfig,
                    context,
                    qps=float(self.limits["qps"]),
                    burst=int(self.limits["burst"]),
                    retry_budget=int(self.limits["retry_budget"]),
                )
            return self._clusters[name]

    def start_pass(self) -> None:
        """Give every cluster its whole retry budget for the pass that starts."""
        with self._lock:
            for cluster in self._clusters.values():
                cluster.start_pass()

    def cluster_of(self, target: Target) -> Cluster:
        """The cluster of ``target`` (for Events)."""
        return self.cluster(target.cluster, self._contexts.get(target.cluster, ""))

    def apply(self, targets: Sequence[RenderedTarget], options: ApplyOptions) -> ChangeSet:
        """Apply ``targets`` with the engine; per-object failures come back as entries."""
        for rendered in targets:
            self._contexts[rendered.target.cluster] = rendered.kube_context
            self.cluster(rendered.target.cluster, rendered.kube_context)
        options = replace(options, page_size=PAGE_SIZE)
        if self.may_write is not None:
            options = replace(options, may_write=self.may_write)
        return ResourceManager(dict(self._clusters)).apply(list(targets), options)

    def inventories(self, cluster: str, kube_context: str = "") -> list[Inventory]:
        """Every inventory stored in ``cluster`` (one LIST of ``mofang-system`` ConfigMaps).

        Raises:
            ClusterError: the cluster could not be read.
        """
        found = self.cluster(cluster, kube_context).list(
            "v1", "ConfigMap", [SYSTEM_NAMESPACE], f"{LABEL_INVENTORY}=true"
        )
        return sorted(find_inventories(found).values(), key=lambda i: i.name)

    def forget_inventory(self, cluster: str, inventory: Inventory, kube_context: str = "") -> None:
        """Delete an inventory that lists nothing any more (its project is gone for good)."""
        self.cluster(cluster, kube_context).delete(
            "v1", "ConfigMap", SYSTEM_NAMESPACE, inventory.name
        )
        log.info(
            "%s:ConfigMap/%s/%s: empty inventory deleted", cluster, SYSTEM_NAMESPACE, inventory.name
        )

    def close(self) -> None:
        """Release every cluster's connections."""
        with self._lock:
            for cluster in self._clusters.values():
                cluster.close()


class ConfigMapState:
    """The controller's state in ConfigMap ``mofang-system/mofang-controller-state``.

    That is the last good revision per project and the projects deleted from git still being
    pruned (whose inventories only this controller may act on).

    One data key per followed (repository, branch), so controllers following other branches can
    share the ConfigMap; each writes its own key with a JSON merge patch, never the others'.
    """

    def __init__(self, cluster: Cluster, repo_url: str, branch: str) -> None:
        self.cluster = cluster
        self.branch = branch
        self.key = hashlib.sha256(f"{repo_url}\n{branch}".encode()).hexdigest()[:16]
        self._path = f"/api/v1/namespaces/{SYSTEM_NAMESPACE}/configmaps"
        self.subject = f"{cluster.name}:ConfigMap/{SYSTEM_NAMESPACE}/{STATE_CONFIGMAP}"

    def start_pass(self) -> None:
        """Give the state's cluster its whole retry budget for the pass that starts."""
        self.cluster.start_pass()

    def load(self) -> ControllerState:
        """The stored state (empty when nothing is stored yet).

        Raises:
            ClusterError: the cluster could not be read.
        """
        obj = self.cluster.get("v1", "ConfigMap", SYSTEM_NAMESPACE, STATE_CONFIGMAP)
        raw = ((obj or {}).get("data") or {}).get(self.key)
        if not raw:
            return ControllerState()
        try:
            data = json.loads(raw)
            good = {str(p): str(sha) for p, sha in dict(data["goodRevisions"]).items()}
            removing = frozenset(str(p) for p in data.get("removedProjects", ()))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            log.warning("%s: key %s unreadable, ignored: %s", self.subject, self.key, e)
            return ControllerState()
        return ControllerState(good, removing)

    def save(self, state: ControllerState) -> None:
        """Store ``state`` under this controller's key (creating the ConfigMap if needed).

        Raises:
            ClusterError: the write failed.
        """
        value = json.dumps(
            {
                "branch": self.branch,
                "goodRevisions": dict(sorted(state.good.items())),
                "removedProjects": sorted(state.removing),
            }
        )
        patch = {"data": {self.key: value}}
        try:
            self.cluster.request(
                "PATCH",
                f"{self._path}/{STATE_CONFIGMAP}",
                subject=self.subject,
                verb="patch",
                body=patch,
                content_type="application/merge-patch+json",
            )
        except NotFoundError:
            self._create(patch["data"])

    def _create(self, data: dict[str, str]) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": STATE_CONFIGMAP, "labels": {LABEL_MANAGED_BY: MANAGER}},
            "data": data,
        }
        try:
            self.cluster.request("POST", self._path, subject=self.subject, verb="create", body=body)
        except NotFoundError:  # a fresh cluster: no mofang-system yet
            self.cluster.ensure_namespace(SYSTEM_NAMESPACE, {LABEL_MANAGED_BY: MANAGER})
            self.cluster.request("POST", self._path, subject=self.subject, verb="create", body=body)
