"""Projects deleted from git: the targets they still have in a cluster, found by inventory.

Only an applier that can read inventories (``InventoryReader``) is asked; an inventory that
lists nothing any more is deleted on the way, so a removal ends once its objects are gone.
"""

from __future__ import annotations

import logging

from mofang_gitops.controller.plans import StoredTarget, namespace_of
from mofang_gitops.controller.ports import InventoryReader
from mofang_gitops.engine import Inventory
from mofang_gitops.errors import ClusterError
from mofang_gitops.manifests import Target
from mofang_gitops.validation.repository import Validation

log = logging.getLogger(__name__)


def stored_targets(
    reader: object, head: Validation, gone: frozenset[str]
) -> tuple[list[StoredTarget], bool]:
    """Non-empty inventories of ``gone`` projects per cluster; False if a cluster failed."""
    platform = head.repo.platform
    if not isinstance(reader, InventoryReader) or platform is None:
        return [], False
    stored, complete = [], True
    for cluster in platform.model.spec.clusters:
        try:
            found = reader.inventories(cluster.name, cluster.kube_context)
        except ClusterError as e:
            log.warning("%s: cannot read inventories: %s", cluster.name, e)
            complete = False
            continue
        for inventory in (i for i in found if i.project in gone):
            if inventory.entries:
                target = Target(inventory.environment, cluster.name, inventory.project)
                ns = namespace_of(inventory)
                stored.append(StoredTarget(target, ns, cluster.kube_context))
            else:
                _forget(reader, cluster.name, inventory, cluster.kube_context)
    return stored, complete


def _forget(reader: InventoryReader, cluster: str, inventory: Inventory, ctx: str) -> None:
    try:
        reader.forget_inventory(cluster, inventory, ctx)
    except ClusterError as e:
        log.warning("%s: cannot delete empty inventory %s: %s", cluster, inventory.name, e)
