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
from mofang_gitops.engine.sorting import Stage, stage_of
from mofang_gitops.k8s.cluster import Cluster, RetryPolicy
from mofang_gitops.manifests import SYSTEM_NAMESPACE, ObjectRef
from tests.engine.builders import project_bodies, target

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
    # This plane has no CRDs: the project's built-in kinds only (no Queue, no VirtualService).
    bodies = [
        b
        for b in project_bodies(unique_name, notebooks=["nb"])
        if b["apiVersion"] in ("v1", "apps/v1") or b["apiVersion"].startswith("rbac.")
    ]
    stages = {b["kind"]: stage_of(ObjectRef.from_object(b)) for b in bodies}
    early = {kind for kind, stage in stages.items() if stage <= Stage.CONFIG}
    late = set(stages) - early
    assert {"Namespace", "ResourceQuota"} <= early and {"Service", "StatefulSet"} <= late
    targets = [target(unique_name, bodies, cluster="restart")]
    try:

        def kill_after_config(progress: Progress) -> None:
            if progress.stage == "config":
                stop_pid(plane.apiserver_pid, str(plane.workdir))

        quick = RetryPolicy(attempts=2, base_delay=0.05)
        cluster = Cluster("restart", plane.kubeconfig, "restart", retry=quick)
        first = ResourceManager({"restart": cluster}, progress=kill_after_config).apply(targets)
        assert {e.ref.kind for e in first.with_action(Action.CREATED)} == early
        assert {e.ref.kind for e in first.failed} == late | {"ConfigMap"}  # + the inventory

        restarted = restart_apiserver(plane, argv)
        cluster = Cluster("restart", plane.kubeconfig, "restart", retry=quick)
        second = ResourceManager({"restart": cluster}).apply(targets, ApplyOptions(prune=True))
        assert not second.failed, second.failed
        assert {e.ref.kind for e in second.with_action(Action.CREATED)} == late
        assert len(second.with_action(Action.UNCHANGED)) == sum(
            1 for b in bodies if b["kind"] in early
        )
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
