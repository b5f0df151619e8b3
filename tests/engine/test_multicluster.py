"""Several clusters in one run: each through its kubeconfig context, failures kept to their own."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane, write_kubeconfig
from mofang_gitops.engine import Action, ResourceManager, connect
from tests.engine.builders import FAST_RETRY, project_bodies, target

pytestmark = pytest.mark.cluster


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_one_unreachable_cluster_fails_only_its_own_targets(
    control_plane: ControlPlane,
    second_control_plane: ControlPlane,
    unique_name: str,
    tmp_path: Path,
):
    gone = dataclasses.replace(control_plane, server=f"https://127.0.0.1:{closed_port()}")
    kubeconfig = write_kubeconfig(
        tmp_path / "kubeconfig",
        [("central", control_plane), ("edge", second_control_plane), ("gone", gone)],
    )
    bodies = project_bodies(unique_name, notebooks=["a"])
    targets = [target(unique_name, bodies, cluster=name) for name in ("central", "edge", "gone")]
    manager = ResourceManager(connect(targets, kubeconfig, retry=FAST_RETRY))
    changes = manager.apply(targets)
    by_cluster = {
        name: [e for e in changes if e.cluster == name] for name in ("central", "edge", "gone")
    }
    assert {e.action for e in by_cluster["central"]} == {Action.CREATED}
    assert {e.action for e in by_cluster["edge"]} == {Action.CREATED}
    assert len(by_cluster["gone"]) == len(bodies)
    assert all(
        e.action is Action.FAILED and "cluster unreachable" in e.reason for e in by_cluster["gone"]
    )
    for name, cluster in manager.clusters.items():
        if name != "gone":
            assert cluster.get("apps/v1", "StatefulSet", unique_name, "a") is not None
    again = manager.plan(targets[:2])
    assert not again.has_changes and len(again) == 2 * len(bodies)


def test_a_cluster_missing_from_the_mapping_fails_its_targets_only(
    control_plane: ControlPlane, unique_name: str
):
    targets = [
        target(unique_name, project_bodies(unique_name, notebooks=[]), cluster=c)
        for c in ("test-a", "nowhere")
    ]
    manager = ResourceManager(connect(targets[:1], control_plane.kubeconfig, retry=FAST_RETRY))
    changes = manager.apply(targets)
    assert {e.action for e in changes if e.cluster == "test-a"} == {Action.CREATED}
    assert {e.action for e in changes if e.cluster == "nowhere"} == {Action.FAILED}
    assert "no cluster 'nowhere' configured" in changes.failed[0].reason
