"""The leader's lease is checked before every batch of writes, not only between targets.

``ApplyOptions.may_write`` stands for "do we still hold the lease?" (the controller passes its
elector's check); here it turns False after two batches, mid-run, against the real API server.
"""

from __future__ import annotations

import pytest

from mofang_gitops.engine import Action, ApplyOptions, ResourceManager, applying
from mofang_gitops.engine.applying import NOT_WRITTEN
from mofang_gitops.engine.inventory import inventory_name
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import SYSTEM_NAMESPACE
from tests.engine.builders import project_bodies, target

pytestmark = pytest.mark.cluster


def test_writes_stop_at_the_first_batch_after_the_lease_is_lost(
    cluster: Cluster, unique_name: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(applying, "WRITE_BATCH", 2)
    checks: list[bool] = []

    def may_write() -> bool:
        checks.append(len(checks) < 2)  # the lease is lost after two batches
        return checks[-1]

    bodies = project_bodies(unique_name, notebooks=["nb-a", "nb-b", "nb-c"])
    options = ApplyOptions(prune=True, may_write=may_write)
    changes = ResourceManager({"test-a": cluster}).apply([target(unique_name, bodies)], options)

    inventory = inventory_name("dev", unique_name)
    created = changes.with_action(Action.CREATED)
    refused = [e for e in changes.failed if e.reason == NOT_WRITTEN]
    assert 0 < len(created) <= 2 * 2
    assert len(created) + len([e for e in refused if e.ref.name != inventory]) == len(bodies)
    assert inventory in {e.ref.name for e in refused}
    assert cluster.stats.writes == len(created)  # nothing else was sent, inventory included
    assert cluster.get("v1", "ConfigMap", SYSTEM_NAMESPACE, inventory) is None
    for entry in refused:
        if entry.ref.kind == "StatefulSet":
            assert cluster.get("apps/v1", "StatefulSet", unique_name, entry.ref.name) is None


def test_a_plan_never_asks_for_the_lease(cluster: Cluster, unique_name: str):
    def may_write() -> bool:
        raise AssertionError("a dry run writes nothing")

    bodies = project_bodies(unique_name)
    options = ApplyOptions(prune=True, may_write=may_write)
    changes = ResourceManager({"test-a": cluster}).plan([target(unique_name, bodies)], options)
    assert {e.action for e in changes} == {Action.CREATED}
