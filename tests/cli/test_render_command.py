"""`mofang-gitops render`: a YAML stream for kubectl, or one file per target under --out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mofang_gitops.cli import main
from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir


def _render(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _headers(stream: str) -> list[str]:
    return [line[2:] for line in stream.splitlines() if line.startswith("# ")]


def _files(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()
    }


def test_stream_holds_every_object_after_its_target_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path)
    code, out, err = _render(capsys, "--repo", root, "render")
    assert (code, err) == (0, "")
    assert out.startswith("# prod/central/vision\n---\napiVersion: ")
    documents = [d for d in yaml.safe_load_all(out) if d is not None]
    expected = [m for t in render_repo(validate_dir(root)) for m in t.manifests]
    assert [(d["kind"], d["metadata"]["name"]) for d in documents] == [
        (m.ref.kind, m.ref.name) for m in expected
    ]


def test_stream_is_identical_on_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path, "render-edge")
    first = _render(capsys, "--repo", root, "render")
    second = _render(capsys, "--repo", root, "render")
    assert first == second
    assert _headers(first[1]) == ["prod/central/vision", "prod/edge-sg/vision"]


@pytest.mark.parametrize(
    ("filters", "targets"),
    [
        (["--cluster", "edge-sg"], ["prod/edge-sg/vision"]),
        (["-c", "central", "-e", "prod", "-p", "vision"], ["prod/central/vision"]),
        (["--project", "vision"], ["prod/central/vision", "prod/edge-sg/vision"]),
    ],
)
def test_filters_select_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], filters: list[str], targets: list[str]
) -> None:
    root = build_repo(tmp_path, "render-edge")
    code, out, _ = _render(capsys, "--repo", root, "render", *filters)
    assert code == 0
    assert _headers(out) == targets


def test_a_filter_that_names_nothing_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _render(capsys, "--repo", build_repo(tmp_path), "render", "-p", "nope")
    assert (code, out) == (2, "")
    assert "unknown project ['nope']" in err


def test_invalid_project_is_reported_and_the_others_still_render(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path, "invalid-one-project")
    code, out, err = _render(capsys, "--repo", root, "render")
    assert code == 1
    assert "projects/zeta/notebooks/x.yaml:5" in err
    assert _headers(out) == ["prod/central/vision"]
    assert "zeta" not in out


def test_invalid_project_outside_the_filter_does_not_fail_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path, "invalid-one-project")
    code, out, err = _render(capsys, "--repo", root, "render", "--project", "vision")
    assert (code, err) == (0, "")
    assert _headers(out) == ["prod/central/vision"]


def test_invalid_platform_renders_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path)
    platform = root / "platform.yaml"
    platform.write_text(platform.read_text().replace("  registries:", "  registry:"))
    code, out, err = _render(capsys, "--repo", root, "render")
    assert (code, out) == (1, "")
    assert "platform.yaml" in err
    assert "nothing rendered" in err


def test_out_writes_one_file_per_target_with_the_stream_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path, "render-edge")
    _, stream, _ = _render(capsys, "--repo", root, "render")
    out = tmp_path / "rendered"
    code, stdout, err = _render(capsys, "--repo", root, "render", "--out", out)
    assert (code, stdout) == (0, "")
    assert "wrote 2 file(s)" in err
    files = _files(out)
    assert set(files) == {".mofang-render", "prod/central/vision.yaml", "prod/edge-sg/vision.yaml"}
    assert files["prod/central/vision.yaml"] + files["prod/edge-sg/vision.yaml"] == stream
    again = _render(capsys, "--repo", root, "render", "--out", out)
    assert again[0] == 0
    assert _files(out) == files


def test_out_removes_only_files_an_earlier_render_wrote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rendered"
    (out / "prod" / "edge-sg").mkdir(parents=True)
    (out / "notes.txt").write_text("mine")
    (out / "prod" / "edge-sg" / "other.yaml").write_text("mine too")
    edge = build_repo(tmp_path / "edge", "render-edge")
    assert _render(capsys, "--repo", edge, "render", "--out", out)[0] == 0
    assert "prod/edge-sg/vision.yaml" in _files(out)
    # The same directory rendered from a platform without the edge cluster.
    minimal = build_repo(tmp_path / "minimal")
    code, _, err = _render(capsys, "--repo", minimal, "render", "--out", out)
    assert code == 0
    assert "removed 1 stale file(s)" in err
    files = _files(out)
    assert set(files) == {
        ".mofang-render",
        "notes.txt",
        "prod/central/vision.yaml",
        "prod/edge-sg/other.yaml",
    }
    assert files[".mofang-render"] == "prod/central/vision.yaml\n"


def test_out_with_a_filter_keeps_the_other_targets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path, "render-edge")
    out = tmp_path / "rendered"
    assert _render(capsys, "--repo", root, "render", "--out", out)[0] == 0
    before = _files(out)
    code, _, err = _render(capsys, "--repo", root, "render", "--out", out, "-c", "central")
    assert code == 0
    assert "removed 0 stale file(s)" in err
    assert _files(out) == before


def test_out_keeps_the_file_of_a_project_that_became_invalid(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path)
    out = tmp_path / "rendered"
    assert _render(capsys, "--repo", root, "render", "--out", out)[0] == 0
    before = _files(out)
    notebook = root / "projects/vision/notebooks/bob-dev.yaml"
    notebook.write_text(notebook.read_text().replace("owner: bob", "owner: mallory"))
    code, _, err = _render(capsys, "--repo", root, "render", "--out", out)
    assert code == 1
    assert "mallory" in err
    assert _files(out) == before


def test_out_must_be_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("")
    code, _, err = _render(capsys, "--repo", build_repo(tmp_path), "render", "--out", target)
    assert code == 2
    assert "not a directory" in err


def test_console_script_renders(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "mofang-gitops"
    root = build_repo(tmp_path)
    done = subprocess.run(
        [str(script), "--repo", str(root), "render", "--project", "vision"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("# prod/central/vision\n---\n")


def test_stream_pipes_into_kubectl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], control_plane: ControlPlane, binaries: Path
) -> None:
    code, out, _ = _render(capsys, "--repo", build_repo(tmp_path), "render")
    assert code == 0
    done = subprocess.run(
        [
            str(binaries / "kubectl"),
            "--kubeconfig",
            str(control_plane.kubeconfig),
            # create, not apply: client-side apply warns about objects other tests created.
            "create",
            "--dry-run=client",
            "-o",
            "name",
            "-f",
            "-",
        ],
        input=out,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    documents: list[Any] = [d for d in yaml.safe_load_all(out) if d is not None]
    assert len(done.stdout.splitlines()) == len(documents)
