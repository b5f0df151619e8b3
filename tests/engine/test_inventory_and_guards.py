"""Inventory format and the prune guards, decided without a cluster."""

from __future__ import annotations

from typing import Any

from mofang_gitops.engine import ApplyOptions
from mofang_gitops.engine.changesets import Action
from mofang_gitops.engine.inventory import Inventory, InventoryEntry, find_inventories
from mofang_gitops.engine.livestate import LiveState
from mofang_gitops.engine.pruning import plan_prune
from mofang_gitops.manifests import ANNOTATION_CREATED_BY, MANAGER, ObjectRef, Target
from tests.engine.builders import labels

TARGET = Target("dev", "c", "vision")


def entry(
    kind: str, name: str, namespace: str = "vision", api_version: str = "v1"
) -> InventoryEntry:
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return InventoryEntry(ObjectRef(group, kind, namespace, name), api_version)


def live_of(
    entries: list[InventoryEntry], project: str = "vision", marked: bool = True, **overrides: Any
) -> LiveState:
    """Live objects for ``entries``; Namespaces carry the creation marker unless not ``marked``."""
    state = LiveState()
    state.add(
        {
            "apiVersion": e.api_version,
            "kind": e.ref.kind,
            "metadata": {
                "name": e.ref.name,
                "namespace": e.ref.namespace,
                "uid": "u",
                "labels": labels(project),
                "annotations": {ANNOTATION_CREATED_BY: MANAGER} if marked else {},
            },
        }
        for e in entries
    )
    return state


ENTRIES = [
    entry("Namespace", "vision", ""),
    entry("ConfigMap", "a"),
    entry("ConfigMap", "b"),
    entry("Service", "nb"),
    entry("StatefulSet", "nb", api_version="apps/v1"),
    entry("PersistentVolume", "vision-project", ""),
]
INVENTORY = Inventory("dev", "vision", frozenset(ENTRIES))


def test_inventory_round_trips_through_its_configmap():
    cm = INVENTORY.to_configmap("central")
    assert (
        cm["metadata"]["name"] == "inventory-dev-vision"
        and cm["metadata"]["namespace"] == "mofang-system"
    )
    assert cm["data"]["objects"].splitlines()[0] == "ConfigMap/vision/a v1"
    cm["metadata"]["labels"] = cm["metadata"]["labels"]
    found = find_inventories([cm | {"kind": "ConfigMap"}])
    assert found[("dev", "vision")] == INVENTORY


def test_prune_deletes_only_stale_entries_that_are_live_and_ours():
    desired = frozenset(e.ref for e in ENTRIES if e.ref.name != "b")
    plan = plan_prune("c", TARGET, INVENTORY, desired, live_of(ENTRIES), ApplyOptions())
    assert [c.entry.ref.name for c in plan.delete] == ["b"]
    assert not plan.skipped


def test_prune_leaves_objects_whose_labels_say_another_project():
    desired = frozenset(e.ref for e in ENTRIES if e.ref.name != "b")
    plan = plan_prune(
        "c", TARGET, INVENTORY, desired, live_of(ENTRIES, project="other"), ApplyOptions()
    )
    assert not plan.delete
    assert [e.action for e in plan.skipped] == [Action.SKIPPED]
    assert plan.forget == {entry("ConfigMap", "b")}


def test_mass_prune_guard_refuses_more_than_half_unless_allowed():
    desired = frozenset({ENTRIES[0].ref, ENTRIES[5].ref})  # 4 of 6 would go
    plan = plan_prune("c", TARGET, INVENTORY, desired, live_of(ENTRIES), ApplyOptions())
    assert not plan.delete and len(plan.skipped) == 4
    assert (
        "more than half" in plan.skipped[0].reason
        and "--allow-mass-prune" in plan.skipped[0].reason
    )
    allowed = plan_prune(
        "c", TARGET, INVENTORY, desired, live_of(ENTRIES), ApplyOptions(allow_mass_prune=True)
    )
    assert len(allowed.delete) == 4


def test_empty_render_guard_refuses_unless_allowed_or_project_removed():
    plan = plan_prune(
        "c", TARGET, INVENTORY, frozenset(), live_of(ENTRIES), ApplyOptions(allow_mass_prune=True)
    )
    assert not plan.delete and "render of project vision is empty" in plan.skipped[0].reason
    allowed = plan_prune(
        "c",
        TARGET,
        INVENTORY,
        frozenset(),
        live_of(ENTRIES),
        ApplyOptions(allow_empty_prune=True, allow_mass_prune=True),
    )
    assert {c.entry.ref.kind for c in allowed.delete} == {"ConfigMap", "Service", "StatefulSet"}
    assert {e.ref.kind for e in allowed.skipped} == {"Namespace", "PersistentVolume"}


def test_namespace_and_pv_go_only_when_project_removed_and_deletion_allowed():
    removed = ApplyOptions(removed_projects=frozenset({TARGET.project}))
    plan = plan_prune("c", TARGET, INVENTORY, frozenset(), live_of(ENTRIES), removed)
    assert "Namespace" not in {c.entry.ref.kind for c in plan.delete}
    everything = ApplyOptions(
        removed_projects=frozenset({TARGET.project}), allow_namespace_deletion=True
    )
    plan = plan_prune("c", TARGET, INVENTORY, frozenset(), live_of(ENTRIES), everything)
    assert len(plan.delete) == len(ENTRIES)


def test_a_namespace_without_the_creation_marker_is_never_pruned():
    everything = ApplyOptions(
        removed_projects=frozenset({TARGET.project}), allow_namespace_deletion=True
    )
    live = live_of(ENTRIES, marked=False)
    plan = plan_prune("c", TARGET, INVENTORY, frozenset(), live, everything)
    assert "Namespace" not in {c.entry.ref.kind for c in plan.delete}
    (skipped,) = [e for e in plan.skipped if e.ref.kind == "Namespace"]
    assert "not created by mofang-gitops" in skipped.reason
    assert len(plan.delete) == len(ENTRIES) - 1


def test_prune_leaves_objects_labelled_for_another_environment():
    desired = frozenset(e.ref for e in ENTRIES if e.ref.name != "b")
    live = live_of(ENTRIES)
    for obj in live.objects.values():
        obj["metadata"]["labels"] = labels("vision", "prod")
    assert TARGET.environment != "prod"
    plan = plan_prune("c", TARGET, INVENTORY, desired, live, ApplyOptions())
    assert not plan.delete and plan.forget == {entry("ConfigMap", "b")}


def test_mass_prune_guard_counts_the_objects_before_the_run_so_renaming_all_is_refused():
    renamed = [entry("ConfigMap", "a2"), entry("ConfigMap", "b2")]
    old = Inventory("dev", "vision", frozenset(ENTRIES[1:3]))
    kept = old.replace({*old.entries, *renamed})  # after apply: old and new together
    desired = frozenset(e.ref for e in renamed)
    plan = plan_prune("c", TARGET, kept, desired, live_of(ENTRIES), ApplyOptions(), before=2)
    assert not plan.delete and "would delete 2 of 2" in plan.skipped[0].reason
