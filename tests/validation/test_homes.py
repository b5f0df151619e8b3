"""A person's home is mounted only in projects that person's own file allows."""

from __future__ import annotations

from pathlib import Path

from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir


def test_a_home_without_its_persons_file_is_refused_at_the_mount(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    (root / "people/bob.yaml").unlink()
    validation = validate_dir(root)
    (problem,) = validation.errors
    assert str(problem).startswith("projects/vision/notebooks/bob-dev.yaml:9:")
    assert "mounts the home of bob" in str(problem)
    assert "there is no people/bob.yaml" in str(problem)
    assert validation.valid_projects() == []


def test_a_broken_persons_file_refuses_only_the_workloads_mounting_that_home(
    tmp_path: Path,
) -> None:
    root = build_repo(tmp_path)
    (root / "people/bob.yaml").write_text(
        "apiVersion: mofang.io/v1alpha1\nkind: Person\nmetadata: {name: bob}\n"
        "spec: {home: {projects: vision}}\n"
    )
    validation = validate_dir(root)
    paths = sorted({p.location.path for p in validation.errors})
    assert paths == ["people/bob.yaml", "projects/vision/notebooks/bob-dev.yaml"]
    assert validation.platform_ok


def test_a_persons_file_must_be_named_after_them(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    text = (root / "people/bob.yaml").read_text()
    (root / "people/bob.yaml").write_text(text.replace("{name: bob}", "{name: carol}"))
    validation = validate_dir(root)
    assert any(
        p.location.path == "people/bob.yaml" and "differs from the file name" in str(p)
        for p in validation.errors
    )


def test_a_member_gets_no_home_volume_without_a_workload_of_their_own(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    # carol is a member and agreed, but nothing of hers runs in vision.
    (root / "people/carol.yaml").write_text(
        (root / "people/bob.yaml").read_text().replace("bob", "carol")
    )
    (target,) = render_repo(validate_dir(root))
    claims = {m.ref.name for m in target.manifests if m.ref.kind == "PersistentVolumeClaim"}
    assert claims == {"project", "global", "user-alice", "user-bob"}
