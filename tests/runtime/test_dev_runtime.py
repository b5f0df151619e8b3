"""``dev up --runtime``: the user-facing local path runs the running clusters (issue 15).

One test on the real components (it starts two running clusters, a few minutes on this machine):
the CLI starts one per cluster of the example's platform.yaml, ``dev status`` lists their nodes,
a GPU pod is placed and run on the edge cluster's GPU node, and ``dev down`` leaves no process.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mofang_gitops.cli import main
from mofang_gitops.devtools.controlplane import pid_alive
from mofang_gitops.devtools.devcluster import dev_down, dev_status
from mofang_gitops.devtools.nodes import plan_nodes
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from tests.runtime.kube import eventually

REPO_ROOT = Path(__file__).resolve().parents[2]

GPU_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "gpu-smoke", "namespace": "default"},
    "spec": {
        "nodeSelector": {"mofang.io/resource-group": "edge-gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [
            {"name": "main", "image": "busybox", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
        ],
    },
}


def kubectl(binaries: Path, kubeconfig: Path, context: str, *args: str, stdin: str = "") -> str:
    argv = [str(binaries / "kubectl"), "--kubeconfig", str(kubeconfig), "--context", context]
    done = subprocess.run(
        [*argv, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_dev_up_runtime_runs_every_platform_cluster_with_its_nodes_and_dev_down_stops_all(
    binaries: Path,
    runtime_binaries: Path,
    crds_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The training operator's CRDs only: enough for one operator to start, and quick to install.
    crds = tmp_path / "crds"
    shutil.copytree(crds_dir / "training-operator", crds / "training-operator")
    monkeypatch.setenv("MOFANG_CRDS", str(crds))
    monkeypatch.setenv("MOFANG_RUNTIME_ASSETS", str(runtime_binaries))
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(binaries))
    state_dir = tmp_path / "dev"
    platform = load_repo(DirectoryTree(REPO_ROOT)).platform
    assert platform is not None
    spec = platform.model.spec
    dev = ["--repo", str(REPO_ROOT), "dev"]
    status: dict = {}
    try:
        assert main([*dev, "up", "--runtime", "--state-dir", str(state_dir)]) == 0
        kubeconfig = Path(capsys.readouterr().out.strip().removeprefix("export KUBECONFIG="))
        status = dev_status(state_dir)
        assert status["running"] and status["ready"] and status["runtime"]
        assert [c["name"] for c in status["clusters"]] == ["central", "edge-sg"]
        for cluster in status["clusters"]:
            planned = plan_nodes(spec, cluster["name"])
            nodes = {n["name"]: n for n in cluster["nodes"]}
            assert sorted(nodes) == sorted(p.name for p in planned)
            for plan in planned:
                node = nodes[plan.name]
                assert node["ready"] and node["group"] == plan.group
                gpu = [r for r in plan.capacity if "/" in r]
                assert node["gpuResource"] == (gpu[0] if gpu else "")
                assert node["gpu"] == (plan.capacity[gpu[0]] if gpu else "0")
            components = cluster["components"]
            for name in ("kube-scheduler", "kube-controller-manager", "kwok", "training-operator"):
                assert components[name]["running"], (cluster["name"], name, components)
            assert "mpi-operator" in cluster["skipped"]  # its CRD was left out

        kubectl(binaries, kubeconfig, "edge-sg", "apply", "-f", "-", stdin=json.dumps(GPU_POD))
        jsonpath = "-o=jsonpath={.spec.nodeName} {.status.phase}"
        placed = eventually(
            "the GPU pod Running on the edge GPU node",
            lambda: (
                kubectl(binaries, kubeconfig, "edge-sg", "get", "pod", "gpu-smoke", jsonpath)
                == "edge-gpu-0 Running"
            ),
        )
        assert placed

        assert main([*dev, "status", "--state-dir", str(state_dir)]) == 0
        table = capsys.readouterr().out
        row = next(line.split() for line in table.splitlines() if "edge-gpu-0" in line)
        assert row == ["edge-gpu-0", "edge-gpu", "nvidia.com/gpu", "8", "1", "Ready"]
        assert "central: kube-scheduler, kube-controller-manager, kwok" in table
        assert main([*dev, "status", "--state-dir", str(state_dir), "--format", "json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert len(listed["clusters"][0]["nodes"]) == len(plan_nodes(spec, "central"))

        # Idempotent with the same mode; the other mode is refused until `dev down`.
        assert main([*dev, "up", "--runtime", "--state-dir", str(state_dir)]) == 0
        assert dev_status(state_dir)["pid"] == status["pid"]
        assert main([*dev, "up", "--state-dir", str(state_dir)]) == 2
        assert "dev down" in capsys.readouterr().err
    finally:
        dev_down(state_dir)
    pids = [status["pid"]]
    for cluster in status["clusters"]:
        pids += [cluster["etcd_pid"], cluster["apiserver_pid"]]
        pids += [c["pid"] for c in cluster["components"].values()]
    assert [p for p in pids if pid_alive(p)] == []
    assert len(pids) >= 1 + 2 * 2 + 2 * 4  # serve, 2 planes, 4 components each at least
    assert not dev_status(state_dir)["running"]
