"""Prune against the real API server: only what we applied, still labelled as ours, with guards."""

from __future__ import annotations

from mofang_gitops.engine import PROTECTED_KINDS, Action, ApplyOptions, ResourceManager
from mofang_gitops.engine.inventory import (
    Inventory,
    InventoryEntry,
    inventory_name,
    write_inventory,
)
from mofang_gitops.engine.sorting import stage_of
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import LABEL_MANAGED_BY, LABEL_PROJECT, SYSTEM_NAMESPACE, ObjectRef
from tests.engine.builders import apply_as, merge_patch_as, of_source, project_bodies, refs, target


def exists(cluster: Cluster, api_version: str, kind: str, namespace: str, name: str) -> bool:
    return cluster.get(api_version, kind, namespace, name) is not None


def test_removing_a_notebook_prunes_exactly_its_objects_in_reverse_stage_order(
    cluster: Cluster, unique_name: str
):
    manager = ResourceManager({"test-a": cluster})
    manager.apply(
        [target(unique_name, project_bodies(unique_name, notebooks=["nb-a", "nb-b", "nb-c"]))]
    )
    fewer = [target(unique_name, project_bodies(unique_name, notebooks=["nb-a", "nb-c"]))]
    plan = manager.plan(fewer)
    gone = refs(of_source(project_bodies(unique_name, notebooks=["nb-b"]), "Notebook.nb-b"))
    assert {e.ref for e in plan.changes} == gone
    stages = [stage_of(e.ref) for e in plan.changes]
    assert stages == sorted(stages, reverse=True)  # routes first, the namespace's config last
    expected = [(e.ref.kind, e.ref.name) for e in plan.changes]
    assert exists(cluster, "apps/v1", "StatefulSet", unique_name, "nb-b")  # plan changed nothing
    pruned = manager.apply(fewer, ApplyOptions(prune=True))
    assert [(e.ref.kind, e.ref.name) for e in pruned.changes] == expected
    assert {e.action for e in pruned.changes} == {Action.DELETED}
    assert not exists(cluster, "apps/v1", "StatefulSet", unique_name, "nb-b")
    assert exists(cluster, "apps/v1", "StatefulSet", unique_name, "nb-c")
    inventory = cluster.get("v1", "ConfigMap", SYSTEM_NAMESPACE, inventory_name("dev", unique_name))
    assert "nb-b" not in inventory["data"]["objects"]
    assert not manager.apply(fewer, ApplyOptions(prune=True)).has_changes


def test_prune_never_deletes_objects_without_our_labels(cluster: Cluster, unique_name: str):
    manager = ResourceManager({"test-a": cluster})
    manager.apply(
        [target(unique_name, project_bodies(unique_name, notebooks=["nb-a", "nb-b", "nb-c"]))]
    )
    # Someone's own ConfigMap in the project namespace, never ours.
    mine = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "someones", "namespace": unique_name},
        "data": {"a": "b"},
    }
    apply_as(cluster, "kubectl", mine)
    # A person takes nb-b's StatefulSet over by removing our labels (kubectl label ...-).
    unlabel = {"metadata": {"labels": {LABEL_MANAGED_BY: None, LABEL_PROJECT: None}}}
    merge_patch_as(cluster, "kubectl-label", "apps/v1", "StatefulSet", unique_name, "nb-b", unlabel)
    fewer = [target(unique_name, project_bodies(unique_name, notebooks=["nb-a", "nb-c"]))]
    pruned = manager.apply(fewer, ApplyOptions(prune=True))
    deleted = {e.ref for e in pruned.with_action(Action.DELETED)}
    nb_b = refs(of_source(project_bodies(unique_name, notebooks=["nb-b"]), "Notebook.nb-b"))
    assert deleted == {r for r in nb_b if r.kind != "StatefulSet"}
    [skipped] = pruned.with_action(Action.SKIPPED)
    assert (skipped.ref.kind, skipped.ref.name) == ("StatefulSet", "nb-b")
    assert "no longer labelled as ours" in skipped.reason
    assert exists(cluster, "apps/v1", "StatefulSet", unique_name, "nb-b")
    assert exists(cluster, "v1", "ConfigMap", unique_name, "someones")
    # The disowned object left the inventory: later runs do not mention it again.
    assert not manager.apply(fewer, ApplyOptions(prune=True)).with_action(Action.SKIPPED)


def test_mass_deletion_guard_refuses_pruning_more_than_half_unless_allowed(
    cluster: Cluster, unique_name: str
):
    manager = ResourceManager({"test-a": cluster})
    manager.apply(
        [target(unique_name, project_bodies(unique_name, notebooks=["a", "b", "c", "d", "e", "f"]))]
    )
    all_bodies = project_bodies(unique_name, notebooks=["a", "b", "c", "d", "e", "f"])
    base_bodies = project_bodies(unique_name, notebooks=[])
    going = len(all_bodies) - len(base_bodies)
    assert going > len(all_bodies) / 2  # the premise: six notebooks outweigh the project's base
    only_base = [target(unique_name, base_bodies)]
    refused = manager.apply(only_base, ApplyOptions(prune=True))
    assert not refused.with_action(Action.DELETED)
    skipped = refused.with_action(Action.SKIPPED)
    assert len(skipped) == going and all("more than half" in e.reason for e in skipped)
    assert exists(cluster, "apps/v1", "StatefulSet", unique_name, "a")
    allowed = manager.apply(only_base, ApplyOptions(prune=True, allow_mass_prune=True))
    assert len(allowed.with_action(Action.DELETED)) == going
    assert not exists(cluster, "apps/v1", "StatefulSet", unique_name, "a")


def test_empty_render_guard_refuses_and_namespace_survives_until_project_removal_is_allowed(
    cluster: Cluster, unique_name: str
):
    manager = ResourceManager({"test-a": cluster})
    bodies = project_bodies(unique_name, notebooks=["a"])
    protected = {r for r in refs(bodies) if r.kind in PROTECTED_KINDS}  # Namespace, its PVs
    assert {r.kind for r in protected} == {"Namespace", "PersistentVolume"}
    manager.apply([target(unique_name, bodies)])
    empty = [target(unique_name, [])]
    refused = manager.apply(empty, ApplyOptions(prune=True, allow_mass_prune=True))
    assert not refused.with_action(Action.DELETED)
    assert all("render of project" in e.reason for e in refused.with_action(Action.SKIPPED))
    removed = ApplyOptions(prune=True, removed_projects=frozenset({unique_name}))
    kept_ns = manager.apply(empty, removed)
    assert {e.ref for e in kept_ns.with_action(Action.SKIPPED)} == protected
    assert exists(cluster, "v1", "Namespace", "", unique_name)
    assert not exists(cluster, "apps/v1", "StatefulSet", unique_name, "a")
    assert not exists(cluster, "scheduling.volcano.sh/v1beta1", "Queue", "", unique_name)
    gone = manager.apply(
        empty,
        ApplyOptions(
            prune=True, removed_projects=frozenset({unique_name}), allow_namespace_deletion=True
        ),
    )
    assert {e.ref for e in gone.changes} == protected
    assert {e.action for e in gone.changes} == {Action.DELETED}
    namespace = cluster.get("v1", "Namespace", "", unique_name)
    assert namespace is None or namespace["status"]["phase"] == "Terminating"


def test_prune_never_deletes_another_projects_object_even_when_the_inventory_lists_it(
    cluster: Cluster, unique_name: str
):
    manager = ResourceManager({"test-a": cluster})
    other = unique_name + "-o"
    mine = [target(unique_name, project_bodies(unique_name, notebooks=["a"]))]
    manager.apply([*mine, target(other, project_bodies(other, notebooks=["a"]))])
    # A corrupted (or hand-edited) inventory that names the other project's StatefulSet.
    name = inventory_name("dev", unique_name)
    inventory = Inventory.from_configmap(cluster.get("v1", "ConfigMap", SYSTEM_NAMESPACE, name))
    foreign = InventoryEntry(ObjectRef("apps", "StatefulSet", other, "a"), "apps/v1")
    write_inventory(cluster, inventory.replace({*inventory.entries, foreign}))
    pruned = manager.apply(mine, ApplyOptions(prune=True))
    assert not pruned.with_action(Action.DELETED)
    [skipped] = pruned.with_action(Action.SKIPPED)
    assert skipped.ref == foreign.ref
    assert exists(cluster, "apps/v1", "StatefulSet", other, "a")
