"""What the reconcile loop needs from the outside, as ports: appliers, state stores, health.

The loop is tested with recording fakes of these and run with the engine's ResourceManager,
the state ConfigMap and ``health.read_clusters`` (``controller.applier``, ``commands``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from mofang_gitops.controller.plans import ControllerState
from mofang_gitops.engine import ApplyOptions, ChangeSet, Inventory
from mofang_gitops.health import TargetHealth
from mofang_gitops.manifests import RenderedTarget

HealthReader = Callable[[Sequence[RenderedTarget]], Sequence[TargetHealth]]
"""Reads the live health of rendered targets (``health.read_clusters`` on the applier's
clusters), a port so the loop is tested without a cluster."""


class Applier(Protocol):
    """Applies rendered targets to their clusters (the engine's ResourceManager, adapted)."""

    def apply(self, targets: Sequence[RenderedTarget], options: ApplyOptions) -> ChangeSet:
        """Apply (and prune) ``targets``; per-object failures are entries, not exceptions."""
        ...


@runtime_checkable
class InventoryReader(Protocol):
    """Reads the inventories a cluster holds (an ``Applier`` that can is asked for removals)."""

    def inventories(self, cluster: str, kube_context: str = "") -> list[Inventory]:
        """Every inventory in ``cluster``; raises ``ClusterError`` when it cannot be read."""
        ...

    def forget_inventory(self, cluster: str, inventory: Inventory, kube_context: str = "") -> None:
        """Delete an inventory that lists nothing any more."""
        ...


@runtime_checkable
class PassAware(Protocol):
    """An applier or state store whose API clients keep a retry budget per pass."""

    def start_pass(self) -> None:
        """Reset what is counted per pass."""
        ...


class StateStore(Protocol):
    """Where the controller's state outlives the process."""

    def load(self) -> ControllerState:
        """The stored state (empty when none); raises ``ClusterError`` when unreadable."""
        ...

    def save(self, state: ControllerState) -> None:
        """Store ``state``; raises ``ClusterError`` when the write fails."""
        ...
