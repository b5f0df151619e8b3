"""The last good revision per project survives a controller restart (and an emptied git cache).

Kept in ConfigMap mofang-system/mofang-controller-state on the real control plane: a controller
started afresh while a project is invalid at the head keeps that project at its last good
revision (enforced, reported Invalid) instead of dropping it.
"""

from __future__ import annotations

import json

import pytest

from mofang_gitops.controller.applier import STATE_CONFIGMAP, ConfigMapState
from mofang_gitops.controller.plans import ControllerState
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import SYSTEM_NAMESPACE
from tests.controller.harness import IsolatedRemote, checker, start_controller, wait_for
from tests.controller.test_reconcile_loop import BROKEN


@pytest.fixture
def home(control_plane):
    cluster = Cluster("home", control_plane.kubeconfig, control_plane.name)
    yield cluster
    cluster.close()


def test_state_keys_of_other_branches_are_left_alone(home, unique_name):
    main = ConfigMapState(home, f"file:///{unique_name}.git", "main")
    other = ConfigMapState(home, f"file:///{unique_name}.git", "release/1")
    main.save(ControllerState({"vision": "a" * 40}))
    other.save(ControllerState({"nlp": "b" * 40}, frozenset({"old"})))
    main.save(ControllerState({"vision": "c" * 40, "nlp": "d" * 40}))
    assert main.load() == ControllerState({"vision": "c" * 40, "nlp": "d" * 40})
    assert other.load() == ControllerState({"nlp": "b" * 40}, frozenset({"old"}))
    stored = home.get("v1", "ConfigMap", SYSTEM_NAMESPACE, STATE_CONFIGMAP)["data"][other.key]
    assert json.loads(stored)["branch"] == "release/1"


def test_restarted_controller_keeps_an_invalid_project_at_its_last_good_revision(
    control_plane, home, tmp_path, unique_name
):
    remote = IsolatedRemote(tmp_path, unique_name, workloads=False)
    good = remote.push("good")
    state = ConfigMapState(home, remote.url, "main")
    first = start_controller(control_plane, remote, tmp_path / "cache-1", interval=1.0, state=state)
    cluster = checker(control_plane)
    try:
        assert first.controller.wait_ready(120)
        remote.write(f"projects/{remote.vision}/notebooks/broken.yaml", BROKEN)
        remote.notebook(remote.nlp, "after-restart")
        head = remote.push("vision broken, nlp fine")
        assert wait_for(lambda: first.targets()[remote.nlp]["revision"] == head, 30)
        expected = {remote.vision: good, remote.nlp: head}
        assert wait_for(lambda: state.load().good == expected, 30), (
            state.load()
        )  # saved after the pass
    finally:
        first.stop()

    # A fresh process: new cache directory (an emptyDir after a pod restart), empty memory.
    second = start_controller(
        control_plane, remote, tmp_path / "cache-2", interval=1.0, state=state
    )
    try:
        assert second.controller.wait_ready(120), second.controller.board.snapshot()
        found = second.targets()
        assert found[remote.vision]["state"] == "Invalid", found
        assert found[remote.vision]["revision"] == good
        assert any("broken.yaml" in p for p in found[remote.vision]["problems"])
        assert found[remote.nlp]["state"] == "Synced" and found[remote.nlp]["revision"] == head
        # Enforced, not just reported: drift on the invalid project is still healed.
        cluster.delete("v1", "Service", remote.vision, "bob-dev")
        assert wait_for(lambda: cluster.get("v1", "Service", remote.vision, "bob-dev"), 30)
    finally:
        second.stop()
        cluster.close()


def test_without_the_state_a_restart_would_drop_the_invalid_project(
    control_plane, tmp_path, unique_name
):
    """The contrast that makes the test above meaningful."""
    remote = IsolatedRemote(tmp_path, unique_name, workloads=False)
    remote.write(f"projects/{remote.vision}/notebooks/broken.yaml", BROKEN)
    remote.push("vision broken from this controller's point of view")
    running = start_controller(control_plane, remote, tmp_path / "cache", interval=1.0)
    try:
        assert running.controller.wait_ready(120)
        assert set(running.targets()) == {remote.nlp}
    finally:
        running.stop()
