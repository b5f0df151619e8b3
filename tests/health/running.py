"""A small running cluster for health tests: kube-scheduler, kube-controller-manager, kwok.

Issue 15's ``running_cluster`` fixture landed only as these tests were finished (moving them
onto it, and adding trainings run by its operators, is the next step), so this
starts the three components the way docs/runtime-components.md says, on a control plane of its
own (pods scheduled on the shared plane would disturb other tests). No operators: trainings do
not run here (their health rules are tested on recorded status documents instead).
Nodes are kwok Nodes for each resource group of the minimal platform; the apiserver's not-ready
taint is lifted by hand (no node-lifecycle-controller, so no heartbeats are needed).
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.k8s.cluster import Cluster

REPO = Path(__file__).resolve().parents[2]
STAGES = REPO / "mofang_gitops" / "devtools" / "kwok-stages.yaml"
CONTROLLERS = (
    "statefulset-controller,resourcequota-controller,persistentvolume-binder-controller,"
    "garbage-collector-controller,job-controller,serviceaccount-controller"
)
NODES = {"gpu-a100": {"cpu": "32", "memory": "256Gi", "nvidia.com/gpu": "8", "pods": "110"}}
"""Only the GPU group gets a node: a workload on ``cpu-general`` stays unschedulable, which is
how the tests see the scheduler's reason."""


def find_runtime_binaries() -> Path | None:
    """``$MOFANG_RUNTIME_ASSETS`` or the newest built runtime directory in the cache."""
    wanted = ("kube-scheduler", "kube-controller-manager", "kwok")
    env = os.environ.get("MOFANG_RUNTIME_ASSETS")
    cache = os.environ.get("MOFANG_CACHE_DIR") or str(Path.home() / ".cache" / "mofang-gitops")
    candidates = [env] if env else sorted(glob.glob(f"{cache}/bin/runtime-k8s-*"), reverse=True)
    for directory in candidates:
        if all((Path(directory) / name).is_file() for name in wanted):
            return Path(directory)
    return None


@dataclass
class Runtime:
    """The processes started for one plane; ``stop`` ends exactly those."""

    plane: ControlPlane
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[BinaryIO] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()


def _spawn(runtime: Runtime, name: str, argv: list[str]) -> None:
    log = (runtime.plane.workdir / f"{name}.log").open("wb")
    runtime.logs.append(log)
    runtime.processes.append(
        subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    )


def start_runtime(plane: ControlPlane, binaries: Path) -> Runtime:
    """Start scheduler (second profile ``volcano``), controller-manager and kwok on ``plane``."""
    runtime = Runtime(plane)
    work = plane.workdir
    config = work / "scheduler.yaml"
    config.write_text(
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
        f"clientConnection: {{kubeconfig: {plane.kubeconfig}}}\n"
        "leaderElection: {leaderElect: false}\n"
        "profiles:\n- schedulerName: default-scheduler\n- schedulerName: volcano\n"
    )
    _spawn(runtime, "kube-scheduler", [
        str(binaries / "kube-scheduler"), f"--config={config}", "--leader-elect=false",
        "--secure-port=0",
    ])  # fmt: skip
    _spawn(runtime, "kube-controller-manager", [
        str(binaries / "kube-controller-manager"), f"--kubeconfig={plane.kubeconfig}",
        "--leader-elect=false", "--secure-port=0", f"--controllers={CONTROLLERS}",
        f"--service-account-private-key-file={work / 'sa.key'}", f"--root-ca-file={plane.ca_file}",
    ])  # fmt: skip
    _spawn(runtime, "kwok", [
        str(binaries / "kwok"), f"--kubeconfig={plane.kubeconfig}", f"--config={STAGES}",
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
    ])  # fmt: skip
    cluster = Cluster(plane.name, plane.kubeconfig, plane.name)
    try:
        for group, capacity in NODES.items():
            _add_node(cluster, f"{group}-0", group, capacity)
    except BaseException:
        runtime.stop()
        raise
    finally:
        cluster.close()
    return runtime


def _add_node(cluster: Cluster, name: str, group: str, capacity: dict[str, str]) -> None:
    body = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"mofang.io/resource-group": group, "type": "kwok"},
            "annotations": {"kwok.x-k8s.io/node": "fake"},
        },
        "status": {"capacity": capacity, "allocatable": capacity},
    }
    cluster.request("POST", "/api/v1/nodes", subject=name, verb="create", body=body)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # lift the admission plugin's not-ready taint once Ready
        node = cluster.get("v1", "Node", "", name) or {}
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in node.get("status", {}).get("conditions") or ()
        )
        if ready:
            cluster.request(
                "PATCH", f"/api/v1/nodes/{name}", subject=name, verb="patch",
                body={"spec": {"taints": None}},
                content_type="application/merge-patch+json",
            )  # fmt: skip
            return
        time.sleep(0.5)
    raise AssertionError(f"kwok node {name} never became Ready")
