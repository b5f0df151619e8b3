"""The API server dies between two apply stages; the next apply converges with nothing lost."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from mofang_gitops.devtools.controlplane import (
    ControlPlane,
    api_call,
    start_control_plane,
    stop_pid,
)
from mofang_gitops.engine import Action, ApplyOptions, Progress, ResourceManager
from mofang_gitops.engine.inventory import inventory_name
from mofang_gitops.k8s.cluster import Cluster, RetryPolicy
from mofang_gitops.manifests import SYSTEM_NAMESPACE
from tests.engine.builders import config_objects, namespace, notebook, target

pytestmark = pytest.mark.cluster


def restart_apiserver(plane: ControlPlane, argv: list[str]) -> subprocess.Popen[bytes]:
    """Start kube-apiserver again with the same flags, against the same etcd; wait until ready."""
    with (plane.workdir / "apiserver-restarted.log").open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if api_call(plane, "GET", "/readyz", timeout=5)[0] == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise AssertionError("kube-apiserver did not come back")


def test_apply_converges_after_the_api_server_dies_between_stages(
    tmp_path: Path, binaries: Path, unique_name: str
):
    plane = start_control_plane("restart", tmp_path / "plane", crds_dir=None, binaries=binaries)
    argv = Path(f"/proc/{plane.apiserver_pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    restarted: subprocess.Popen[bytes] | None = None
    bodies = [
        namespace(unique_name),
        *config_objects(unique_name),
        *notebook(unique_name, "nb")[:2],
    ]
    targets = [target(unique_name, bodies, cluster="restart")]
    try:

        def kill_after_config(progress: Progress) -> None:
            if progress.stage == "config":
                stop_pid(plane.apiserver_pid, str(plane.workdir))

        quick = RetryPolicy(attempts=2, base_delay=0.05)
        cluster = Cluster("restart", plane.kubeconfig, "restart", retry=quick)
        first = ResourceManager({"restart": cluster}, progress=kill_after_config).apply(targets)
        assert {e.ref.kind for e in first.with_action(Action.CREATED)} == {
            "Namespace", "ServiceAccount", "ResourceQuota", "ConfigMap",
        }  # fmt: skip
        assert {e.ref.kind for e in first.failed} == {
            "Service",
            "StatefulSet",
            "ConfigMap",
        }  # + inventory

        restarted = restart_apiserver(plane, argv)
        cluster = Cluster("restart", plane.kubeconfig, "restart", retry=quick)
        second = ResourceManager({"restart": cluster}).apply(targets, ApplyOptions(prune=True))
        assert not second.failed, second.failed
        assert {e.ref.kind for e in second.with_action(Action.CREATED)} == {
            "Service",
            "StatefulSet",
        }
        assert len(second.with_action(Action.UNCHANGED)) == 4
        inventory = cluster.get(
            "v1", "ConfigMap", SYSTEM_NAMESPACE, inventory_name("dev", unique_name)
        )
        assert inventory is not None and len(inventory["data"]["objects"].splitlines()) == len(
            bodies
        )
        cluster.stats.reset()
        assert not ResourceManager({"restart": cluster}).plan(targets).has_changes
        assert cluster.stats.writes == cluster.stats.dry_runs == 0
    finally:
        if restarted is not None:
            restarted.terminate()
            restarted.wait(30)
        plane.stop()
