"""A project deleted from git is pruned through its inventory, end to end on the real cluster.

Its Namespace and PersistentVolumes (the data) go only with --prune-removed-projects; without it
they stay and the target is reported OutOfSync with what was kept. The other project is untouched.
"""

from __future__ import annotations

import pytest

from mofang_gitops.controller.applier import ConfigMapState
from mofang_gitops.engine.inventory import inventory_name
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import SYSTEM_NAMESPACE
from tests.controller.harness import IsolatedRemote, checker, start_controller, wait_for

PROTECTED = {"Namespace", "PersistentVolume"}


def inventory_kinds(cluster, project):
    obj = cluster.get("v1", "ConfigMap", SYSTEM_NAMESPACE, inventory_name("prod", project))
    if obj is None:
        return None
    return {line.split("/")[0] for line in obj["data"]["objects"].splitlines()}


def gone(obj) -> bool:
    """Deleted, or being deleted (this control plane runs no controllers to finish the job)."""
    return obj is None or bool(obj["metadata"].get("deletionTimestamp"))


@pytest.fixture
def setup(control_plane, tmp_path, unique_name):
    remote = IsolatedRemote(tmp_path, unique_name, workloads=False)
    remote.notebook(remote.nlp, "nlp-nb")
    remote.push("two projects")
    cluster = checker(control_plane)
    started = []

    def start(cache="cache", **options):
        running = start_controller(control_plane, remote, tmp_path / cache, interval=1.0, **options)
        started.append(running)
        assert running.controller.wait_ready(120), running.controller.board.snapshot()
        return running

    yield remote, cluster, start
    for running in started:
        running.stop()
    cluster.close()


def test_removed_project_is_pruned_but_keeps_namespace_and_volumes_by_default(setup):
    remote, cluster, start = setup
    running = start()
    vision_before = inventory_kinds(cluster, remote.vision)
    assert cluster.get("apps/v1", "StatefulSet", remote.nlp, "nlp-nb") is not None
    remote.remove(f"projects/{remote.nlp}")
    remote.push("delete the nlp project")

    assert wait_for(lambda: inventory_kinds(cluster, remote.nlp) == PROTECTED, 60), inventory_kinds(
        cluster, remote.nlp
    )
    for kind, api_version, name in (
        ("StatefulSet", "apps/v1", "nlp-nb"), ("Service", "v1", "nlp-nb"),
        ("ResourceQuota", "v1", "mofang"), ("ServiceAccount", "v1", "mofang-workload"),
    ):  # fmt: skip
        assert gone(cluster.get(api_version, kind, remote.nlp, name)), kind
    assert gone(cluster.get("scheduling.volcano.sh/v1beta1", "Queue", "", remote.nlp))
    namespace = cluster.get("v1", "Namespace", "", remote.nlp)
    assert namespace is not None and not gone(namespace)
    assert not gone(cluster.get("v1", "PersistentVolume", "", f"{remote.nlp}-project"))

    assert wait_for(lambda: running.targets()[remote.nlp]["state"] == "OutOfSync", 30)
    error = running.targets()[remote.nlp]["lastError"]
    assert "deleted from git" in error and f"Namespace/{remote.nlp}" in error
    assert "--prune-removed-projects" in error
    vision = running.targets()[remote.vision]
    assert vision["state"] == "Synced" and "deleted" not in vision["objects"]
    assert inventory_kinds(cluster, remote.vision) == vision_before


def test_prune_removed_projects_deletes_everything_and_forgets_the_project(setup):
    remote, cluster, start = setup
    running = start(prune_removed_projects=True)
    remote.remove(f"projects/{remote.nlp}")
    remote.push("delete the nlp project")

    assert wait_for(lambda: inventory_kinds(cluster, remote.nlp) is None, 60), inventory_kinds(
        cluster, remote.nlp
    )
    assert gone(cluster.get("v1", "Namespace", "", remote.nlp))
    for tier in ("project", "global", "user-alice"):
        assert gone(cluster.get("v1", "PersistentVolume", "", f"{remote.nlp}-{tier}")), tier
    assert wait_for(lambda: set(running.targets()) == {remote.vision}, 30), running.targets()
    assert running.metric("mofang_objects_pruned_total") >= 10
    assert running.targets()[remote.vision]["state"] == "Synced"
    assert not gone(cluster.get("v1", "Namespace", "", remote.vision))


def test_project_deleted_while_the_controller_was_down_is_pruned_after_restart(
    setup, control_plane, unique_name
):
    remote, cluster, start = setup
    home = Cluster("home", control_plane.kubeconfig, control_plane.name)
    state = ConfigMapState(home, remote.url, "main")
    try:
        first = start(state=state)
        assert wait_for(lambda: remote.nlp in state.load().good, 30)
        first.stop()
        remote.remove(f"projects/{remote.nlp}")
        remote.push("delete the nlp project while no controller runs")
        second = start(state=state, cache=f"cache-{unique_name}")
        assert wait_for(lambda: inventory_kinds(cluster, remote.nlp) == PROTECTED, 60)
        assert gone(cluster.get("apps/v1", "StatefulSet", remote.nlp, "nlp-nb"))
        assert wait_for(lambda: state.load().removing == {remote.nlp}, 30), state.load()
        assert remote.nlp not in state.load().good
        assert second.targets()[remote.nlp]["state"] == "OutOfSync"
    finally:
        home.close()
