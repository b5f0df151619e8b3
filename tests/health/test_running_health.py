"""Health seen happening on the shared running cluster (scheduler, controllers, kwok, operators).

Every workload here is a spec file rendered by the tool and applied with ``mofang-gitops apply``:
a notebook goes Progressing -> Healthy with its URL and node; a training runs and Succeeds,
another Fails, another is refused by the project's quota; ``apply --wait`` exits 0 when what it
changed gets there and 1 with the reason when it does not. With ``MOFANG_RECORD_STATUS=1`` the
states seen are recorded for the pure rule tests (tests/health/recording.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.health import Health
from tests.health.recording import record_status
from tests.health.running import (
    Watcher,
    add_training,
    admin,
    cli,
    delete_namespaces,
    project_repo,
)
from tests.runtime.kube import node_group

PYTORCH = """\
  framework: pytorch
  image: registry.example.com/vision/resnet:1.3
  command: [python, train.py]
  resourceGroup: cpu-general
  roles:
    master: {replicas: 1, resources: {cpu: "1", memory: 2Gi}}
    worker: {replicas: 1, resources: {cpu: "1", memory: 2Gi}}
  runPolicy: {backoffLimit: 0}
"""
TENSORFLOW_OVER_DEADLINE = """\
  framework: tensorflow
  image: registry.example.com/vision/resnet:1.3
  command: [python, train.py]
  resourceGroup: cpu-general
  roles:
    worker: {replicas: 2, resources: {cpu: "1", memory: 2Gi}}
  runPolicy: {backoffLimit: 0, activeDeadline: 2s}
"""
"""Its pods would succeed after kwok's 5 s; the operator fails the job at its 2 s deadline."""
PYTORCH_ALL_GPUS = """\
  framework: pytorch
  image: registry.example.com/vision/resnet:1.3
  command: [python, train.py]
  resourceGroup: gpu-a100
  roles:
    master: {replicas: 1, resources: {cpu: "8", memory: 64Gi, gpu: 8}}
  runPolicy: {backoffLimit: 0}
"""
"""Fits the project's 8-GPU quota alone, not beside the notebook's GPU."""


@pytest.fixture
def project(running_cluster: RunningCluster, unique_name: str) -> Iterator[str]:
    """A project (and namespace) of its own, deleted afterwards so its pods free the nodes."""
    yield unique_name
    delete_namespaces(running_cluster, [unique_name])


def _status(root: Path, running: RunningCluster, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    cli(root, running, "status", "-o", "json")
    return json.loads(capsys.readouterr().out)


def _one(data: Any, kind: str) -> dict[str, Any]:
    (found,) = [o for t in data["targets"] for o in t["objects"] if o["kind"] == kind]
    return dict(found)


def test_a_notebook_goes_progressing_then_healthy_with_its_url_and_node(
    tmp_path: Path,
    running_cluster: RunningCluster,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project_repo(tmp_path, project)
    assert cli(root, running_cluster, "apply") == 0
    seen = [_one(_status(root, running_cluster, capsys), "StatefulSet")]
    watcher = Watcher(root, running_cluster)
    try:
        watcher.until("StatefulSet", lambda o: o.health is Health.HEALTHY)
    finally:
        watcher.close()
    seen.append(_one(_status(root, running_cluster, capsys), "StatefulSet"))
    assert seen[0]["health"] == "Progressing", seen[0]["reason"]
    last = seen[-1]
    assert last["health"] == "Healthy", last
    assert last["url"] == f"https://ml.example.com/notebook/{project}/bob-dev/"
    (pod,) = last["pods"]
    assert (pod["resourceGroup"], pod["ready"]) == ("gpu-a100", True)
    assert node_group(running_cluster.plane, pod["node"]) == "gpu-a100"


def test_apply_wait_exits_0_once_what_changed_is_healthy(
    tmp_path: Path,
    running_cluster: RunningCluster,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project_repo(tmp_path, project)
    assert cli(root, running_cluster, "apply", "--wait", "--timeout", "3m") == 0
    err = capsys.readouterr().err
    assert "healthy" in err and f"StatefulSet/{project}/bob-dev: Healthy" in err


def test_apply_wait_exits_1_with_the_quota_refusal_as_reason(
    tmp_path: Path,
    running_cluster: RunningCluster,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project_repo(tmp_path, project)
    assert cli(root, running_cluster, "apply", "--wait", "--timeout", "3m") == 0
    cluster = admin(running_cluster)
    tight = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "tight", "namespace": project},
        "spec": {"hard": {"pods": "0"}},
    }
    cluster.request(
        "POST", f"/api/v1/namespaces/{project}/resourcequotas", subject="tight",
        verb="create", body=tight,
    )  # fmt: skip
    cluster.close()
    notebook = root / f"projects/{project}/notebooks/bob-dev.yaml"
    notebook.write_text(notebook.read_text().replace('cpu: "4"', 'cpu: "6"'))
    capsys.readouterr()
    # The running pod is the old spec's: the wait must not take it for the new one.
    assert cli(root, running_cluster, "apply", "--wait", "--timeout", "2m") == 1
    err = capsys.readouterr().err
    print(err)  # the progress lines show what the wait went through (-rA prints them)
    assert "wait: degraded" in err, err
    assert "refused by quota" in err and "exceeded quota: tight" in err, err


def test_apply_wait_times_out_with_the_schedulers_reason(
    tmp_path: Path,
    running_cluster: RunningCluster,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project_repo(tmp_path, project)
    platform = root / "platform.yaml"
    # cpu-general's nodes carry another label on this cluster: no node matches the selector
    platform.write_text(
        platform.read_text().replace(
            "nodeSelector: {mofang.io/resource-group: cpu-general}",
            "nodeSelector: {mofang.io/resource-group: cpu-nowhere}",
        )
    )
    notebook = root / f"projects/{project}/notebooks/bob-dev.yaml"
    text = notebook.read_text().replace("resourceGroup: gpu-a100", "resourceGroup: cpu-general")
    notebook.write_text(text.replace(", gpu: 1}", "}"))
    add_training(root, project, "resnet", PYTORCH)
    assert cli(root, running_cluster, "apply", "--wait", "--timeout", "20s") == 1
    err = capsys.readouterr().err
    assert "wait: timed out" in err, err
    for kind in ("StatefulSet", "PyTorchJob"):
        (line,) = [x for x in err.splitlines() if f":{kind}/" in x and "Progressing:" in x]
        assert "Unschedulable" in line and "didn't match Pod's node affinity/selector" in line
    watcher = Watcher(root, running_cluster)
    cluster = admin(running_cluster)
    try:
        (obj,) = watcher.objects("PyTorchJob")
        record_status(cluster, obj, "pytorchjob-unschedulable")
    finally:
        watcher.close()
        cluster.close()


def test_a_training_goes_running_then_succeeded(
    tmp_path: Path,
    running_cluster: RunningCluster,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project_repo(tmp_path, project, notebook=False)
    add_training(root, project, "resnet", PYTORCH)
    assert cli(root, running_cluster, "apply") == 0
    watcher = Watcher(root, running_cluster)
    recorded: set[str] = set()

    def done(obj: Any) -> bool:
        if obj.verdict.phase == "Running" and "running" not in recorded:
            if record_status(admin_cluster, obj, "pytorchjob-running"):
                recorded.add("running")
        return bool(obj.health is Health.HEALTHY)

    admin_cluster = admin(running_cluster)
    try:
        seen = watcher.until("PyTorchJob", done)
        record_status(admin_cluster, seen[-1], "pytorchjob-succeeded-rendered")
    finally:
        watcher.close()
        admin_cluster.close()
    phases = [o.verdict.phase for o in seen]
    assert "Running" in phases and phases[-1] == "Succeeded", phases
    assert phases.index("Running") < len(phases) - 1
    running = seen[phases.index("Running")]
    assert running.health is Health.PROGRESSING and running.reason.startswith("Running ("), running
    assert [p.resource_group for p in running.verdict.pods] == ["cpu-general"] * 2
    final = _one(_status(root, running_cluster, capsys), "PyTorchJob")
    assert (final["health"], final["reason"], final["phase"]) == (
        "Healthy",
        "Succeeded",
        "Succeeded",
    )
    assert final["startedAt"] and final["finishedAt"]


def test_apply_wait_exits_0_when_a_training_succeeds(
    tmp_path: Path,
    running_cluster: RunningCluster,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project_repo(tmp_path, project, notebook=False)
    add_training(root, project, "resnet", PYTORCH)
    assert cli(root, running_cluster, "apply", "--wait", "--timeout", "3m") == 0
    err = capsys.readouterr().err
    assert "Running (" in err, err  # progress shows the run before its end
    assert "PyTorchJob" in err and ": Healthy Succeeded" in err, err


def test_a_failed_training_is_degraded_and_apply_wait_exits_1_with_the_reason(
    tmp_path: Path,
    running_cluster: RunningCluster,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project_repo(tmp_path, project, notebook=False)
    add_training(root, project, "resnet", TENSORFLOW_OVER_DEADLINE)
    assert cli(root, running_cluster, "apply", "--wait", "--timeout", "3m") == 1
    err = capsys.readouterr().err
    assert "wait: degraded" in err, err
    assert "TFJob" in err and "Degraded: Failed: " in err, err
    assert "active longer than specified deadline" in err, err
    final = _one(_status(root, running_cluster, capsys), "TFJob")
    assert (final["health"], final["phase"]) == ("Degraded", "Failed"), final
    assert final["reason"].startswith("Failed: "), final
    watcher = Watcher(root, running_cluster)
    cluster = admin(running_cluster)
    try:
        (obj,) = watcher.objects("TFJob")
        record_status(cluster, obj, "tfjob-failed-deadline")
    finally:
        watcher.close()
        cluster.close()


def test_a_training_refused_by_quota_is_pending_with_the_refusal(
    tmp_path: Path,
    running_cluster: RunningCluster,
    project: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = project_repo(tmp_path, project)
    assert cli(root, running_cluster, "apply", "--wait", "--timeout", "3m") == 0  # 1 GPU in use
    add_training(root, project, "big", PYTORCH_ALL_GPUS)
    capsys.readouterr()
    assert cli(root, running_cluster, "apply", "--wait", "--timeout", "3m") == 1
    err = capsys.readouterr().err
    assert "wait: degraded" in err, err
    assert "refused by quota" in err and "exceeded quota: mofang" in err, err
    assert "requests.nvidia.com/gpu" in err, err
    final = _one(_status(root, running_cluster, capsys), "PyTorchJob")
    assert final["health"] == "Degraded", final
    assert final["phase"] in ("Pending", "Created"), final
    assert "refused by quota" in final["reason"] and not final["pods"], final
    watcher = Watcher(root, running_cluster)
    cluster = admin(running_cluster)
    try:
        (obj,) = watcher.objects("PyTorchJob")
        record_status(cluster, obj, "pytorchjob-quota")
    finally:
        watcher.close()
        cluster.close()
