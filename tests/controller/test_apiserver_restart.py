"""The API server dies in the middle of a reconcile and comes back: the controller converges.

A dedicated control plane (only the Volcano Queue and Istio VirtualService CRDs the notebooks
need) whose kube-apiserver is killed right after the config stage of the pass that applies a new
commit, stays down through a few failing passes, then starts again on the same etcd data. The
controller must end Synced at the new head with every object present, the removed notebook pruned
and a no-op plan: nothing lost, nothing left over.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from mofang_gitops.controller.applier import EngineApplier
from mofang_gitops.devtools.controlplane import (
    ControlPlane,
    api_call,
    start_control_plane,
    stop_pid,
)
from mofang_gitops.engine import ApplyOptions, ChangeSet, Progress, ResourceManager
from mofang_gitops.engine.inventory import inventory_name
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import SYSTEM_NAMESPACE, RenderedTarget
from mofang_gitops.rendering import render_repo
from tests.controller.harness import IsolatedRemote, start_controller, statefulsets, wait_for
from tests.scenarios import validate_dir

CRDS = (
    "volcano/queues.scheduling.volcano.sh.yaml",
    "istio/virtualservices.networking.istio.io.yaml",
    "istio/authorizationpolicies.security.istio.io.yaml",  # notebooks' access policies
)


class ApiServer:
    """Stop and start the plane's kube-apiserver (same flags, same etcd, same port and certs)."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        cmdline = Path(f"/proc/{plane.apiserver_pid}/cmdline").read_bytes()
        self.argv = cmdline.decode().split("\0")[:-1]
        self.restarted: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        if self.restarted is None:
            stop_pid(self.plane.apiserver_pid, str(self.plane.workdir))
        else:
            self.restarted.terminate()
            self.restarted.wait(30)

    def start(self) -> None:
        with (self.plane.workdir / "apiserver-restarted.log").open("ab") as out:
            self.restarted = subprocess.Popen(
                self.argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

        def ready() -> bool:
            try:
                return api_call(self.plane, "GET", "/readyz", timeout=5)[0] == 200
            except OSError:
                return False

        assert wait_for(ready, 90, 0.5), "kube-apiserver did not come back"


class KillingApplier(EngineApplier):
    """The real engine; the first apply that carries ``trigger`` kills the API server mid-way."""

    def __init__(self, plane: ControlPlane, apiserver: ApiServer, trigger: str) -> None:
        super().__init__(plane.kubeconfig, plane.name)
        self.apiserver = apiserver
        self.trigger = trigger
        self.killed = threading.Event()

    def apply(self, targets: Sequence[RenderedTarget], options: ApplyOptions) -> ChangeSet:
        names = {m.ref.name for t in targets for m in t.manifests}
        if self.trigger not in names or self.killed.is_set():
            return super().apply(targets, options)
        for rendered in targets:
            self.cluster(rendered.target.cluster, rendered.kube_context)

        def kill_after_config(progress: Progress) -> None:
            if progress.stage == "config" and not self.killed.is_set():
                self.apiserver.stop()
                self.killed.set()

        manager = ResourceManager(dict(self._clusters), progress=kill_after_config)
        return manager.apply(list(targets), options)


@pytest.fixture
def plane(tmp_path, binaries, crds_dir):
    subset = tmp_path / "crds"
    for name in CRDS:
        (subset / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(crds_dir / name, subset / name)
    plane = start_control_plane(
        "ctl-restart", tmp_path / "plane", crds_dir=subset, binaries=binaries
    )
    apiserver = ApiServer(plane)
    yield plane, apiserver
    if apiserver.restarted is not None and apiserver.restarted.poll() is None:
        apiserver.restarted.terminate()
        apiserver.restarted.wait(30)
    plane.stop()


def test_api_server_restart_mid_reconcile_ends_converged_with_nothing_lost(plane, tmp_path):
    plane, apiserver = plane
    remote = IsolatedRemote(tmp_path, "r", workloads=False)
    remote.push("initial")
    applier = KillingApplier(plane, apiserver, trigger="nb-new")
    running = start_controller(
        plane, remote, tmp_path / "cache", interval=1.0, applier=applier,
        backoff_base=0.2, backoff_max=2.0,
    )  # fmt: skip
    check = Cluster("check", plane.kubeconfig, plane.name)
    try:
        assert running.controller.wait_ready(120), running.controller.board.snapshot()
        assert statefulsets(check, remote.vision) == {"bob-dev"}
        remote.notebook(remote.nlp, "nb-new")
        remote.remove(f"projects/{remote.vision}/notebooks/bob-dev.yaml")
        head = remote.push("add one notebook, remove another")

        assert applier.killed.wait(60), "the pass applying the new commit never ran"
        failed = lambda: any(t["state"] == "Failed" for t in running.targets().values())  # noqa: E731
        assert wait_for(failed, 60), running.targets()
        time.sleep(3)  # a few more passes against a dead server
        apiserver.start()

        def converged() -> bool:
            found = running.targets().values()
            return all(t["state"] == "Synced" and t["revision"] == head for t in found)

        assert wait_for(converged, 120, 0.5), running.targets()
        assert_converged(plane, remote)
    finally:
        running.stop()
        check.close()


def assert_converged(plane: ControlPlane, remote: IsolatedRemote) -> None:
    """Every object of the head present and unchanged, bob-dev pruned, inventory exact."""
    cluster = Cluster("central", plane.kubeconfig, plane.name)
    try:
        targets = render_repo(validate_dir(remote.work))
        assert "nb-new" in statefulsets(cluster, remote.nlp)
        assert statefulsets(cluster, remote.vision) == set()
        for kind, api_version in (("Service", "v1"), ("VirtualService", "networking.istio.io/v1")):
            assert cluster.get(api_version, kind, remote.vision, "bob-dev") is None
        plan = ResourceManager({"central": cluster}).plan(targets)
        assert not plan.has_changes, [str(e) for e in plan.entries if e.action.value != "unchanged"]
        assert cluster.stats.writes == 0
        for rendered in targets:
            name = inventory_name(rendered.target.environment, rendered.target.project)
            inventory = cluster.get("v1", "ConfigMap", SYSTEM_NAMESPACE, name)
            listed = {line.split()[0] for line in inventory["data"]["objects"].splitlines()}
            rendered_refs = {str(m.ref) for m in rendered.manifests}
            assert rendered_refs <= listed
            # bob's home volume went with his notebook from the render; a PersistentVolume is
            # never pruned while its project exists, so it stays listed for the project's removal.
            home = f"PersistentVolume/{rendered.target.project}-user-bob"
            assert listed - rendered_refs <= {home}
    finally:
        cluster.close()
