"""`status` against the real API server: what it reads, how many requests, what it prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mofang_gitops.cli import main
from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.health import Health, read_health
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo
from tests.scenarios import build_repo


def _repo(tmp_path: Path, project: str) -> Path:
    root = build_repo(tmp_path)
    (root / "projects/vision").rename(root / f"projects/{project}")
    for path in root.rglob("*.yaml"):
        path.write_text(path.read_text().replace("vision", project))
    return root


def _cli(root: Path, plane: ControlPlane, *args: str) -> int:
    return main(
        ["--repo", str(root), "--kubeconfig", str(plane.kubeconfig), "--context", plane.name, *args]
    )


def test_status_reads_one_list_per_kind_and_no_object_by_object_gets(
    tmp_path: Path, control_plane: ControlPlane, unique_name: str
) -> None:
    root = _repo(tmp_path, unique_name)
    assert _cli(root, control_plane, "apply") == 0
    targets = render_repo(validate_repo(load_repo(DirectoryTree(root))))
    cluster = Cluster(control_plane.name, control_plane.kubeconfig, control_plane.name)
    cluster.resource("v1", "Namespace")  # discovery of the core group before counting
    cluster.stats.reset()
    health = read_health(cluster, targets, {})
    counts = cluster.stats.by_verb()
    rendered_kinds = {(m.api_version, m.ref.kind) for t in targets for m in t.manifests}
    # every rendered kind once (Workflows are listed with the runs), plus Pods and Events,
    # plus the reachability check; discovery once per group version at most; nothing else
    assert counts.get("get", 0) == 0
    assert cluster.stats.writes == 0
    assert counts["list"] == len(rendered_kinds) + 2, counts
    objects = [o for t in health for o in t.objects]
    assert len(objects) == sum(len(t.manifests) for t in targets)
    assert all(o.health is not Health.MISSING for o in objects), [
        (o.object_id, o.reason) for o in objects if o.health is Health.MISSING
    ]
    cluster.close()


def test_status_prints_each_workload_with_its_health_and_reason(
    tmp_path: Path,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _repo(tmp_path, unique_name)
    assert _cli(root, control_plane, "apply") == 0
    capsys.readouterr()
    # no scheduler or controllers on this plane: nothing is Degraded, the notebook is starting
    assert _cli(root, control_plane, "status") == 0
    out = capsys.readouterr().out
    # Targets are named by platform.yaml's cluster (central); the kube context only reaches it.
    assert f"{unique_name}  prod / central" in out
    assert "Notebook bob-dev" in out and "0/1 ready" in out
    assert _cli(root, control_plane, "status", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    kinds = {o["kind"]: o["health"] for t in data["targets"] for o in t["objects"]}
    assert kinds["StatefulSet"] == "Progressing"
    assert kinds["PersistentVolumeClaim"] == "Progressing"


def test_status_of_a_project_never_applied_says_missing_and_exits_1(
    tmp_path: Path,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _repo(tmp_path, unique_name)
    assert _cli(root, control_plane, "status", "--format", "markdown") == 1
    out = capsys.readouterr().out
    assert "| Missing | not in the cluster" in out
