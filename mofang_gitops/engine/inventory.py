"""The inventory: what we applied, kept in the cluster itself.

Prune must know what *we* put there, not what happens to match a label: git forgets a deleted
file, and labels can be copied. One ConfigMap per (environment, cluster, project) in
``mofang-system`` lists every object applied for it, one ``Kind/namespace/name apiVersion`` per
line, sorted so an unchanged inventory is an unchanged object (and costs no write). It lives in
the cluster it describes, so every cluster answers for itself and a fresh checkout of the
repository needs no state. It is written with server-side apply like everything else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mofang_gitops.errors import NotFoundError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import (
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_PROJECT,
    MANAGER,
    SYSTEM_NAMESPACE,
    ObjectRef,
    api_group,
)

log = logging.getLogger(__name__)

LABEL_INVENTORY = "mofang.io/inventory"
_OBJECTS_KEY = "objects"


@dataclass(frozen=True, order=True, slots=True)
class InventoryEntry:
    """One applied object: its reference and the API version it was applied with."""

    ref: ObjectRef
    api_version: str

    def __str__(self) -> str:
        return f"{self.ref} {self.api_version}"

    @classmethod
    def parse(cls, line: str) -> InventoryEntry:
        """Read ``Kind/namespace/name apiVersion`` (``Kind/name apiVersion`` cluster-scoped)."""
        ident, api_version = line.split()
        parts = ident.split("/")
        if len(parts) == 2:
            kind, namespace, name = parts[0], "", parts[1]
        elif len(parts) == 3:
            kind, namespace, name = parts
        else:
            raise ValueError(f"not an inventory line: {line!r}")
        ref = ObjectRef(group=api_group(api_version), kind=kind, namespace=namespace, name=name)
        return cls(ref, api_version)


def inventory_name(environment: str, project: str) -> str:
    """ConfigMap name of the inventory of one (environment, project) on a cluster."""
    return f"inventory-{environment}-{project}"


@dataclass(frozen=True)
class Inventory:
    """The objects applied for one (environment, project) on one cluster."""

    environment: str
    project: str
    entries: frozenset[InventoryEntry] = frozenset()

    @property
    def name(self) -> str:
        """The ConfigMap name."""
        return inventory_name(self.environment, self.project)

    @cached_property
    def refs(self) -> frozenset[ObjectRef]:
        """References of every entry."""
        return frozenset(e.ref for e in self.entries)

    def replace(self, entries: Iterable[InventoryEntry]) -> Inventory:
        """The same inventory with other entries."""
        return Inventory(self.environment, self.project, frozenset(entries))

    def to_configmap(self, cluster: str) -> dict[str, Any]:
        """The ConfigMap that stores this inventory."""
        lines = "".join(f"{entry}\n" for entry in sorted(self.entries))
        labels = {
            LABEL_MANAGED_BY: MANAGER,
            LABEL_PROJECT: self.project,
            LABEL_ENVIRONMENT: self.environment,
            LABEL_INVENTORY: "true",
        }
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.name, "namespace": SYSTEM_NAMESPACE, "labels": labels},
            "data": {"cluster": cluster, _OBJECTS_KEY: lines},
        }

    @classmethod
    def from_configmap(cls, obj: dict[str, Any]) -> Inventory:
        """Read an inventory ConfigMap; malformed lines are logged and left out."""
        labels = obj.get("metadata", {}).get("labels") or {}
        entries = set()
        for line in str((obj.get("data") or {}).get(_OBJECTS_KEY, "")).splitlines():
            if not line.strip():
                continue
            try:
                entries.add(InventoryEntry.parse(line))
            except ValueError:
                name = obj["metadata"]["name"]
                log.warning("ConfigMap/%s/%s: bad line %r", SYSTEM_NAMESPACE, name, line)
        return cls(
            labels.get(LABEL_ENVIRONMENT, ""), labels.get(LABEL_PROJECT, ""), frozenset(entries)
        )


def is_inventory(obj: dict[str, Any]) -> bool:
    """Whether a live ConfigMap is one of our inventories."""
    meta = obj.get("metadata", {})
    labels = meta.get("labels") or {}
    return meta.get("namespace") == SYSTEM_NAMESPACE and labels.get(LABEL_INVENTORY) == "true"


def find_inventories(objects: Iterable[dict[str, Any]]) -> dict[tuple[str, str], Inventory]:
    """Inventories among listed ConfigMaps, by ``(environment, project)``."""
    found: dict[tuple[str, str], Inventory] = {}
    for obj in objects:
        if obj.get("kind") == "ConfigMap" and is_inventory(obj):
            inventory = Inventory.from_configmap(obj)
            found[(inventory.environment, inventory.project)] = inventory
    return found


def write_inventory(cluster: Cluster, inventory: Inventory) -> None:
    """Store ``inventory`` (creating ``mofang-system`` on first use).

    Raises:
        ClusterError: the write failed.
    """
    body = inventory.to_configmap(cluster.name)
    try:
        cluster.apply(body, force=True)
    except NotFoundError:
        cluster.ensure_namespace(SYSTEM_NAMESPACE, {LABEL_MANAGED_BY: MANAGER})
        cluster.apply(body, force=True)
    log.info(
        "%s:ConfigMap/%s/%s: inventory of %d objects",
        cluster.name,
        SYSTEM_NAMESPACE,
        inventory.name,
        len(inventory.entries),
    )
