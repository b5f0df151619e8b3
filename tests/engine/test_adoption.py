"""The engine never adopts what it did not create, and prune never deletes it (issue 12, item 5).

Against the real API server: objects made by someone else (unlabelled) or labelled for another
project stand where the render wants to create them.
"""

from __future__ import annotations

from mofang_gitops.engine import Action, ApplyOptions, ResourceManager
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import ANNOTATION_CREATED_BY, LABEL_MANAGED_BY, MANAGER
from tests.engine.builders import apply_as, labels, merge_patch_as, project_bodies, target

REMOVE = ApplyOptions(prune=True, allow_namespace_deletion=True)


def _removed(project: str) -> ApplyOptions:
    return ApplyOptions(
        prune=True, removed_projects=frozenset({project}), allow_namespace_deletion=True
    )


def _hand_made_namespace(cluster: Cluster, name: str) -> None:
    """A namespace and a ConfigMap in it, as an administrator makes them by hand."""
    namespace = {"name": name, "labels": {"team": "theirs"}}
    apply_as(cluster, "kubectl", {"apiVersion": "v1", "kind": "Namespace", "metadata": namespace})
    config = {"name": "settings", "namespace": name}
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": config, "data": {"owner": "them"}}
    apply_as(cluster, "kubectl", body)


def test_a_pre_existing_namespace_is_not_taken_over_and_survives_the_projects_removal(
    cluster: Cluster, unique_name: str
) -> None:
    _hand_made_namespace(cluster, unique_name)
    manager = ResourceManager({"test-a": cluster})
    result = manager.apply([target(unique_name, project_bodies(unique_name, notebooks=["a"]))])
    by_ref = {str(e.ref): e for e in result.entries}
    refusal = by_ref[f"Namespace/{unique_name}"]
    assert refusal.action is Action.FAILED
    assert "not managed by mofang-gitops" in refusal.reason and "take it over" in refusal.reason
    inside = [e for e in result.entries if e.ref.namespace == unique_name]
    assert inside and all(e.action is Action.FAILED for e in inside)
    assert all(f"Namespace {unique_name} is not ours" in e.reason for e in inside)
    # The rest of the project goes on: its (cluster-scoped) queue is not in that namespace.
    assert by_ref[f"Queue/{unique_name}"].action is Action.CREATED
    live = cluster.get("v1", "Namespace", "", unique_name)
    assert live is not None and LABEL_MANAGED_BY not in live["metadata"].get("labels", {})
    config = cluster.get("v1", "ConfigMap", unique_name, "settings")
    assert config is not None and config["data"] == {"owner": "them"}

    gone = manager.apply([target(unique_name, [])], _removed(unique_name))
    assert not [e for e in gone.with_action(Action.DELETED) if e.ref.kind == "Namespace"]
    survivor = cluster.get("v1", "Namespace", "", unique_name)
    assert survivor is not None and survivor["status"]["phase"] == "Active"
    assert cluster.get("v1", "ConfigMap", unique_name, "settings") is not None


def test_a_plan_reports_the_refusal_without_writing(cluster: Cluster, unique_name: str) -> None:
    _hand_made_namespace(cluster, unique_name)
    manager = ResourceManager({"test-a": cluster})
    plan = manager.plan([target(unique_name, project_bodies(unique_name, notebooks=[]))])
    (refusal,) = [e for e in plan.entries if e.ref.kind == "Namespace"]
    assert refusal.action is Action.FAILED and "take it over" in refusal.reason
    assert cluster.get("scheduling.volcano.sh/v1beta1", "Queue", "", unique_name) is None


def test_an_object_labelled_for_another_project_is_never_overwritten(
    cluster: Cluster, unique_name: str
) -> None:
    manager = ResourceManager({"test-a": cluster})
    owner = unique_name
    manager.apply([target(owner, project_bodies(owner, notebooks=[]))])
    intruder = unique_name + "-x"
    # The intruder's render wants the owner's ResourceQuota (and its own namespace).
    (quota,) = [b for b in project_bodies(owner, notebooks=[]) if b["kind"] == "ResourceQuota"]
    stolen = {**quota, "metadata": {**quota["metadata"], "labels": labels(intruder)},
              "spec": {"hard": {"requests.cpu": "1"}}}  # fmt: skip
    before = cluster.get("v1", "ResourceQuota", owner, quota["metadata"]["name"])
    result = manager.apply([target(intruder, [*project_bodies(intruder, notebooks=[]), stolen])])
    (refusal,) = [e for e in result.entries if e.ref.namespace == owner]
    assert refusal.action is Action.FAILED
    assert f"belongs to project {owner!r}" in refusal.reason
    after = cluster.get("v1", "ResourceQuota", owner, quota["metadata"]["name"])
    assert (
        after["spec"] == before["spec"]
        and after["metadata"]["labels"] == quota["metadata"]["labels"]
    )
    assert cluster.get("v1", "Namespace", "", intruder) is not None  # the rest went on
    # Another project's own objects in the same run: live-read, labelled for the owner.
    both = manager.apply(
        [target(owner, project_bodies(owner, notebooks=[])), target(intruder, [stolen])]
    )
    (again,) = [e for e in both.entries if e.target and e.target.project == intruder]
    assert again.action is Action.FAILED and "take it over" in again.reason


def test_prune_deletes_a_namespace_only_with_the_creation_marker(
    cluster: Cluster, unique_name: str
) -> None:
    manager = ResourceManager({"test-a": cluster})
    manager.apply([target(unique_name, project_bodies(unique_name, notebooks=[]))])
    live = cluster.get("v1", "Namespace", "", unique_name)
    assert live is not None
    assert live["metadata"]["annotations"][ANNOTATION_CREATED_BY] == MANAGER
    # A namespace adopted by an older version: our labels, no marker.
    patch = {"metadata": {"annotations": {ANNOTATION_CREATED_BY: None}}}
    merge_patch_as(cluster, "kubectl", "v1", "Namespace", "", unique_name, patch)
    gone = manager.apply([target(unique_name, [])], _removed(unique_name))
    (kept,) = [e for e in gone.entries if e.ref.kind == "Namespace"]
    assert kept.action is Action.SKIPPED and "not created by mofang-gitops" in kept.reason
    survivor = cluster.get("v1", "Namespace", "", unique_name)
    assert survivor is not None and survivor["status"]["phase"] == "Active"


def test_a_namespace_the_tool_created_keeps_its_marker_and_is_deleted_on_removal(
    cluster: Cluster, unique_name: str
) -> None:
    manager = ResourceManager({"test-a": cluster})
    manager.apply([target(unique_name, project_bodies(unique_name, notebooks=[]))])
    again = manager.apply([target(unique_name, project_bodies(unique_name, notebooks=[]))])
    assert not again.changes  # the marker is part of what we apply: no diff on the next run
    gone = manager.apply([target(unique_name, [])], _removed(unique_name))
    assert ("Namespace", Action.DELETED) in [(e.ref.kind, e.action) for e in gone.entries]
