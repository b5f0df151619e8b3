"""The live read on the real API server: pages, objects settled on read, field sets dropped.

A pass' memory peaks on the live read (docs/decisions.md, "Controller memory"), so the read
keeps of an object only what is still needed: a stub of one our apply leaves as is, no field
sets for health. These tests prove the reduction changes no decision.
"""

from __future__ import annotations

from typing import Any

import pytest

from mofang_gitops.engine import ApplyOptions, ResourceManager
from mofang_gitops.engine.applying import unchanged_on_read
from mofang_gitops.engine.changesets import Action
from mofang_gitops.engine.livestate import (
    MAX_SELECTED_PROJECTS,
    SELECTOR,
    read_live,
    wanted_kinds,
)
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import ObjectRef
from tests.engine.builders import labels, manifest, merge_patch_as, project_bodies, target

pytestmark = pytest.mark.cluster
OWNERSHIP = ("app.kubernetes.io/managed-by", "mofang.io/project", "mofang.io/environment")


def _config_map(namespace: str, name: str, project: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels(project)},
        "data": {"key": name},
    }


def _namespaces(cluster: Cluster, *names: str) -> None:
    for name in names:
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def test_a_list_read_in_pages_returns_every_object_once(cluster: Cluster, unique_name: str) -> None:
    first, second, other = unique_name, f"{unique_name}-b", f"{unique_name}-c"
    _namespaces(cluster, first, second, other)
    for namespace, count in ((first, 5), (second, 2), (other, 3)):
        for i in range(count):
            cluster.apply(_config_map(namespace, f"cm-{i}", unique_name))
    selector = f"{SELECTOR},mofang.io/project={unique_name}"
    cluster.stats.reset()
    found = cluster.list("v1", "ConfigMap", [first, second], selector, page_size=3)
    # Ten objects carry the label cluster-wide: four pages of three, filtered to two namespaces.
    assert cluster.stats.by_verb() == {"list": 4}
    names = sorted((o["metadata"]["namespace"], o["metadata"]["name"]) for o in found)
    expected = [(first, f"cm-{i}") for i in range(5)] + [(second, f"cm-{i}") for i in range(2)]
    assert names == sorted(expected)
    assert all(o["kind"] == "ConfigMap" and o["apiVersion"] == "v1" for o in found)

    kept_per_page: list[int] = []

    def keep(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept_per_page.append(len(page))
        return page[:1]

    found = cluster.list("v1", "ConfigMap", [first], selector, page_size=2, keep=keep)
    assert kept_per_page == [2, 2, 1] and len(found) == 3


def test_unchanged_objects_are_kept_as_stubs_and_changed_ones_whole(
    cluster: Cluster, unique_name: str
) -> None:
    bodies = project_bodies(unique_name)
    rendered = target(unique_name, bodies)
    applied = ResourceManager({"test-a": cluster}).apply([rendered], ApplyOptions(prune=True))
    # Written bodies are dropped; a creation's diff is made again from the manifest's text.
    assert not any("body" in vars(m) for m in rendered.manifests)
    quota_created = next(e for e in applied.changes if e.ref.kind == "ResourceQuota")
    assert quota_created.action is Action.CREATED
    assert "+kind: ResourceQuota" in quota_created.diff and "requests.cpu" in quota_created.diff
    merge_patch_as(
        cluster, "kubectl-edit", "v1", "ResourceQuota", unique_name, "mofang",
        {"spec": {"hard": {"requests.cpu": "999"}}},
    )  # fmt: skip
    by_ref = {m.ref: m for m in rendered.manifests}

    def settle(ref: ObjectRef, live: dict[str, Any]) -> bool:
        found = by_ref.get(ref)
        return found is not None and unchanged_on_read(rendered.target, found, live)

    wanted = wanted_kinds((m.api_version, m.ref) for m in rendered.manifests)
    state = read_live(cluster, wanted, settle=settle, page_size=2)
    quota = ObjectRef("", "ResourceQuota", unique_name, "mofang")
    assert set(by_ref) <= set(state.objects)
    assert state.settled == set(by_ref) - {quota}
    drifted = state.objects[quota]
    assert drifted["spec"]["hard"]["requests.cpu"] == "999" and drifted["metadata"]["managedFields"]
    for ref in state.settled:
        kept = state.objects[ref]
        assert set(kept) == {"apiVersion", "kind", "metadata"}, ref
        assert "managedFields" not in kept["metadata"] and kept["metadata"]["uid"]
        wanted = by_ref[ref].body["metadata"]["labels"]
        assert kept["metadata"]["labels"] == {k: wanted[k] for k in OWNERSHIP}
    namespace = state.objects[ObjectRef("", "Namespace", "", unique_name)]
    assert namespace["metadata"]["annotations"] == {"mofang.io/created-by": "mofang-gitops"}

    # The engine's own run settles on read too, and decides exactly as a whole read would.
    plan = ResourceManager({"test-a": cluster}).plan([rendered])
    assert [(e.ref, e.action) for e in plan.changes] == [(quota, Action.CONFIGURED)]
    assert "drift by kubectl-edit" in plan.changes[0].reason
    # In pages of two (as the controller reads, smaller), the same plan in more requests.
    kinds = len(wanted) + 1  # the inventories' ConfigMaps
    cluster.stats.reset()
    paged = ResourceManager({"test-a": cluster}).plan([rendered], ApplyOptions(page_size=2))
    assert [(e.ref, e.action) for e in paged.changes] == [(quota, Action.CONFIGURED)]
    assert cluster.stats.by_verb()["list"] > kinds


def test_an_object_of_another_project_or_a_run_is_never_settled(
    cluster: Cluster, unique_name: str
) -> None:
    _namespaces(cluster, unique_name)
    body = _config_map(unique_name, "shared", unique_name)
    cluster.apply(body)
    live = cluster.get("v1", "ConfigMap", unique_name, "shared")
    assert live is not None
    mine = target(unique_name, [body])
    assert unchanged_on_read(mine.target, manifest(body), live)
    claimed = _config_map(unique_name, "shared", f"{unique_name}-other")
    theirs = target(f"{unique_name}-other", [claimed])
    assert not unchanged_on_read(theirs.target, manifest(claimed), live)
    assert not unchanged_on_read(mine.target, manifest(body, run=True), live)


def test_a_reader_of_status_gets_objects_without_field_sets(
    cluster: Cluster, unique_name: str
) -> None:
    _namespaces(cluster, unique_name)
    cluster.apply(_config_map(unique_name, "cm", unique_name))
    ref = ObjectRef("", "ConfigMap", unique_name, "cm")
    wanted = wanted_kinds([("v1", ref)])
    whole = read_live(cluster, wanted).objects[ref]
    trimmed = read_live(cluster, wanted, field_sets=False).objects[ref]
    assert whole["metadata"]["managedFields"]
    assert "managedFields" not in trimmed["metadata"]
    assert trimmed["data"] == whole["data"] == {"key": "cm"}


def test_planning_creations_for_many_projects_parses_no_body(
    cluster: Cluster, unique_name: str
) -> None:
    # Past MAX_SELECTED_PROJECTS the selector needs no labels, and a creation's body is parsed
    # only when sent: a cold pass must not hold every desired body at once.
    targets = [
        target(
            f"{unique_name}-{i}", [_config_map(f"{unique_name}-{i}", "cm", f"{unique_name}-{i}")]
        )
        for i in range(MAX_SELECTED_PROJECTS + 1)
    ]
    planned = ResourceManager({"test-a": cluster}).plan(targets)
    assert planned.summary()["created"] == len(targets)
    assert not any("body" in vars(m) for t in targets for m in t.manifests)
    assert "+kind: ConfigMap" in planned.changes[0].diff
