"""Acceptance tests for the real control plane and the `dev` cluster built on it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.cli import main
from mofang_gitops.devtools.controlplane import (
    ControlPlane,
    api_call,
    find_binaries,
    find_crds_dir,
    pid_alive,
    start_control_plane,
    write_kubeconfig,
)
from mofang_gitops.devtools.devcluster import dev_down, dev_status, dev_up
from mofang_gitops.errors import MofangError, UsageError

QUEUES = "/apis/scheduling.volcano.sh/v1beta1/queues"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def queue(name: str, weight: Any) -> bytes:
    body = {
        "apiVersion": "scheduling.volcano.sh/v1beta1",
        "kind": "Queue",
        "metadata": {"name": name},
        "spec": {"weight": weight, "capability": {"cpu": "4"}},
    }
    return json.dumps(body).encode()


def kubectl(
    binaries: Path, kubeconfig: Path, context: str, *args: str
) -> subprocess.CompletedProcess[str]:
    argv = [str(binaries / "kubectl"), "--kubeconfig", str(kubeconfig), "--context", context, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


# --- the session control plane -------------------------------------------------------------------


def test_api_server_answers_version(control_plane: ControlPlane) -> None:
    status, version = api_call(control_plane, "GET", "/version")
    assert status == 200
    assert version["gitVersion"] == "v1.36.3"


def test_every_crd_in_the_crds_dir_is_established(
    control_plane: ControlPlane, crds_dir: Path
) -> None:
    # The CRD README guarantees file name == metadata.name + ".yaml".
    # Count what the folder holds (upstream adds CRDs over time), never a fixed number or path.
    expected = {path.name.removesuffix(".yaml") for path in crds_dir.rglob("*.yaml")}
    assert expected, f"no CRDs under {crds_dir}"
    status, listed = api_call(control_plane, "GET", CRDS)
    assert status == 200
    assert expected <= {item["metadata"]["name"] for item in listed["items"]}
    for name in sorted(expected):
        status, crd = api_call(control_plane, "GET", f"{CRDS}/{name}")
        assert status == 200, name
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions.get("Established") == "True", name


def test_admin_token_can_create_a_namespace(control_plane: ControlPlane, unique_name: str) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": unique_name}})
    status, created = api_call(control_plane, "POST", "/api/v1/namespaces", body.encode())
    assert status == 201, created
    assert api_call(control_plane, "GET", f"/api/v1/namespaces/{unique_name}")[0] == 200


def test_unprivileged_token_is_refused_with_403(
    control_plane: ControlPlane, unique_name: str
) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": unique_name}})
    token = control_plane.user_token
    status, answer = api_call(
        control_plane, "POST", "/api/v1/namespaces", body.encode(), token=token
    )
    assert status == 403, answer
    assert control_plane.user_name in answer["message"]  # authenticated, then denied by RBAC
    assert api_call(control_plane, "GET", "/api/v1/namespaces", token=token)[0] == 403


def test_server_side_dry_run_accepts_a_valid_volcano_queue(
    control_plane: ControlPlane, unique_name: str
) -> None:
    status, answer = api_call(control_plane, "POST", f"{QUEUES}?dryRun=All", queue(unique_name, 1))
    assert status == 201, answer
    assert answer["spec"]["weight"] == 1
    assert api_call(control_plane, "GET", f"{QUEUES}/{unique_name}")[0] == 404  # nothing stored


def test_crd_schema_rejects_a_queue_with_a_wrongly_typed_field(
    control_plane: ControlPlane, unique_name: str
) -> None:
    status, answer = api_call(
        control_plane, "POST", f"{QUEUES}?dryRun=All", queue(unique_name, "heavy")
    )
    assert status == 422, answer
    assert "spec.weight" in answer["message"]


def test_kubeconfig_works_with_kubectl_for_admin_and_user(
    control_plane: ControlPlane, binaries: Path, tmp_path: Path
) -> None:
    admin = kubectl(binaries, control_plane.kubeconfig, "test-a", "get", "namespace", "default")
    assert admin.returncode == 0, admin.stderr
    user_config = write_kubeconfig(
        tmp_path / "user", [("u", control_plane)], control_plane.user_token
    )
    user = kubectl(binaries, user_config, "u", "get", "namespaces")
    assert user.returncode != 0
    assert "forbidden" in user.stderr.lower()


def test_two_planes_are_independent_clusters_in_one_kubeconfig(
    control_plane: ControlPlane,
    second_control_plane: ControlPlane,
    binaries: Path,
    unique_name: str,
    tmp_path: Path,
) -> None:
    config = write_kubeconfig(
        tmp_path / "both", [("a", control_plane), ("b", second_control_plane)]
    )
    created = kubectl(binaries, config, "a", "create", "namespace", unique_name)
    assert created.returncode == 0, created.stderr
    assert kubectl(binaries, config, "a", "get", "namespace", unique_name).returncode == 0
    assert kubectl(binaries, config, "b", "get", "namespace", unique_name).returncode != 0
    crds = kubectl(binaries, config, "b", "get", "crds", "-o", "name").stdout.split()
    assert "customresourcedefinition.apiextensions.k8s.io/workflows.argoproj.io" in crds


# --- lifecycle (own planes, no CRDs, so they start in seconds) ------------------------------------


def test_stop_leaves_no_process_is_idempotent_and_the_workdir_can_be_reused(
    binaries: Path, tmp_path: Path
) -> None:
    plane = start_control_plane("life", tmp_path, crds_dir=None, binaries=binaries)
    plane.stop()
    plane.stop()
    assert not pid_alive(plane.apiserver_pid) and not pid_alive(plane.etcd_pid)
    again = start_control_plane("life", tmp_path, crds_dir=None, binaries=binaries)
    try:
        assert again.is_ready()
    finally:
        again.stop()


def test_missing_binaries_name_the_build_script(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    monkeypatch.setenv("MOFANG_CACHE_DIR", str(tmp_path))
    with pytest.raises(MofangError, match="control-plane-binaries"):
        find_binaries()


def test_mofang_crds_env_wins_and_must_exist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MOFANG_CRDS", str(tmp_path))
    assert find_crds_dir() == tmp_path
    monkeypatch.setenv("MOFANG_CRDS", str(tmp_path / "missing"))
    with pytest.raises(MofangError, match="MOFANG_CRDS"):
        find_crds_dir()


# --- dev cluster ---------------------------------------------------------------------------------


def _check_status_command(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``dev status`` is a table for people, JSON with ``--format json``."""
    assert main(["dev", "status", "--state-dir", str(state_dir)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["CLUSTER", "CONTEXT", "SERVER", "HEALTH"]
    assert [row.split()[:2] for row in table[1:3]] == [["alpha", "ctx-alpha"], ["beta", "ctx-beta"]]
    assert all(row.endswith("ok") for row in table[1:3])
    assert table[3].startswith("dev clusters ready") and "KUBECONFIG=" in table[3]
    assert main(["dev", "status", "--state-dir", str(state_dir), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["running"] is True


def test_dev_up_serves_two_clusters_and_dev_down_leaves_no_process(
    binaries: Path, crds_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state_dir = tmp_path / "dev"
    clusters = [("alpha", "ctx-alpha"), ("beta", "ctx-beta")]
    volcano = crds_dir / "volcano"  # three small CRDs: the full set is covered by control_plane
    try:
        config = dev_up(state_dir, clusters, crds_dir=volcano)
        status = dev_status(state_dir)
        assert status["running"] and status["ready"]
        assert [c["healthy"] for c in status["clusters"]] == [True, True]
        _check_status_command(state_dir, capsys)
        for _, context in clusters:
            listed = kubectl(binaries, config, context, "get", "crds", "-o", "name")
            assert listed.returncode == 0, listed.stderr
            assert (
                "customresourcedefinition.apiextensions.k8s.io/queues.scheduling.volcano.sh"
                in listed.stdout
            )
        assert (
            dev_up(state_dir, clusters, crds_dir=volcano) == config
        )  # idempotent: same planes, no restart
        assert dev_status(state_dir)["pid"] == status["pid"]
        with pytest.raises(UsageError):
            dev_up(state_dir, [("gamma", "ctx-gamma")])
    finally:
        dev_down(state_dir)
    pids = [status["pid"]] + [
        c[k] for c in status["clusters"] for k in ("etcd_pid", "apiserver_pid")
    ]
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert not dev_status(state_dir)["running"]
    dev_down(state_dir)  # idempotent
