"""`plan` and `apply` from the command line against the real control plane."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from mofang_gitops.cli import main
from mofang_gitops.devtools.controlplane import ControlPlane
from tests.scenarios import build_repo


def _repo(tmp_path: Path, project: str) -> Path:
    """The minimal repo with its project renamed, so every test owns its namespace."""
    root = build_repo(tmp_path)
    (root / "projects/vision").rename(root / f"projects/{project}")
    for path in root.rglob("*.yaml"):
        path.write_text(path.read_text().replace("vision", project))
    return root


def _cli(root: Path, plane: ControlPlane, *args: str) -> int:
    return main(
        ["--repo", str(root), "--kubeconfig", str(plane.kubeconfig), "--context", plane.name, *args]
    )


def test_apply_then_plan_finds_nothing_to_change(
    tmp_path: Path,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _repo(tmp_path, unique_name)
    assert _cli(root, control_plane, "apply", "--prune") == 0
    assert "created" in capsys.readouterr().out
    assert _cli(root, control_plane, "plan", "--format", "json") == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert {e["action"] for e in entries} <= {"unchanged", "skipped"}


def test_plan_exits_1_on_a_change_and_apply_converges(
    tmp_path: Path,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _repo(tmp_path, unique_name)
    assert _cli(root, control_plane, "apply") == 0
    notebook = root / f"projects/{unique_name}/notebooks/bob-dev.yaml"
    notebook.write_text(notebook.read_text().replace('cpu: "4"', 'cpu: "6"'))
    capsys.readouterr()
    assert _cli(root, control_plane, "plan") == 1
    out = capsys.readouterr().out
    assert f"configured  central:StatefulSet/{unique_name}/bob-dev" in out
    added = [line for line in out.splitlines() if line.startswith("+") and "cpu" in line]
    assert added and all("6" in line for line in added), out
    assert _cli(root, control_plane, "apply") == 0
    assert _cli(root, control_plane, "plan") == 0


def test_plan_against_an_unreachable_cluster_exits_2(
    tmp_path: Path,
    control_plane: ControlPlane,
    unique_name: str,
) -> None:
    root = _repo(tmp_path, unique_name)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        control_plane.kubeconfig.read_text().replace(control_plane.server, "https://127.0.0.1:9")
    )
    assert (
        main(
            [
                "--repo",
                str(root),
                "--kubeconfig",
                str(kubeconfig),
                "--context",
                control_plane.name,
                "plan",
            ]
        )
        == 2
    )


def test_after_apply_plan_calls_created_runs_created_not_finished(
    tmp_path: Path,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _repo(tmp_path, unique_name)
    assert _cli(root, control_plane, "apply") == 0
    capsys.readouterr()
    assert _cli(root, control_plane, "plan") == 0
    out = capsys.readouterr().out
    # Nothing ran the training job or the backfill runs: they were only created.
    assert "one-shot run(s) already created, never re-applied" in out
    assert "finished" not in out


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_an_unreachable_cluster_is_reported_once_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    root = build_repo(tmp_path)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {"name": "gone", "cluster": {"server": f"https://127.0.0.1:{_closed_port()}"}}
                ],
                "users": [{"name": "u", "user": {"token": "x"}}],
                "contexts": [{"name": "central", "context": {"cluster": "gone", "user": "u"}}],
                "current-context": "central",
            }
        )
    )
    code = main(["--repo", str(root), "--kubeconfig", str(kubeconfig), command])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.out.splitlines()
    unreachable = [line for line in lines if "unreachable" in line]
    assert len(unreachable) == 1 and unreachable[0].startswith("cluster central unreachable (")
    assert "dev up" in captured.out and "--kubeconfig" in captured.out
    assert "--context" in captured.out
    assert lines[-1].startswith("Summary: ") and "failed" in lines[-1]
    assert not any(line.startswith("failed ") for line in lines)
    assert "unreachable" not in captured.err and "Traceback" not in captured.err
