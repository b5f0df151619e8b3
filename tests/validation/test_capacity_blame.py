"""Capacity overflow refuses the project whose change caused it, not the first in name order."""

from __future__ import annotations

from pathlib import Path

from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.capacity import quota_usage
from mofang_gitops.validation.repository import Validation, validate_repo
from tests.scenarios import build_repo


def _validate(head: Path, base: Path | None) -> Validation:
    baseline = None if base is None else quota_usage(load_repo(DirectoryTree(base)))
    return validate_repo(load_repo(DirectoryTree(head)), baseline)


def _add_project(root: Path, name: str, gpu: int) -> None:
    folder = root / "projects" / name
    folder.mkdir(parents=True)
    (folder / "project.yaml").write_text(
        "apiVersion: mofang.io/v1alpha1\nkind: Project\n"
        f"metadata: {{name: {name}}}\n"
        "spec: {owners: [zed], environments: [prod], resourceGroups: [gpu-a100]}\n"
    )
    (folder / "quota.yaml").write_text(
        "apiVersion: mofang.io/v1alpha1\nkind: Quota\n"
        f"metadata: {{name: {name}}}\n"
        "spec:\n  resourceGroups:\n"
        f'    gpu-a100: {{cpu: "8", memory: 64Gi, gpu: {gpu}}}\n'
    )


def _set_gpu(root: Path, project: str, old: int, new: int) -> None:
    path = root / "projects" / project / "quota.yaml"
    text = path.read_text()
    assert f"gpu: {old}}}" in text
    path.write_text(text.replace(f"gpu: {old}}}", f"gpu: {new}}}"))


def _two_full_projects(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """Base: vision (8 GPUs) and ``name`` (8 GPUs) fill gpu-a100's 16; head is a copy."""
    base = build_repo(tmp_path / "base")
    _add_project(base, name, 8)
    head = build_repo(tmp_path / "head")
    _add_project(head, name, 8)
    return base, head


def test_capacity_overflow_blames_the_project_that_raised_its_quota(tmp_path: Path) -> None:
    # "aaa" sorts before "vision": a name-order check would freeze vision, which changed nothing.
    base, head = _two_full_projects(tmp_path, "aaa")
    _set_gpu(head, "aaa", 8, 9)
    validation = _validate(head, base)
    assert validation.invalid_projects == {"aaa"}
    (problem,) = validation.errors
    assert problem.location.path == "projects/aaa/quota.yaml" and problem.location.line == 6
    assert "brings resource group 'gpu-a100' to 17 of its capacity 16" in problem.message
    assert "raised from 8; other projects hold 8" in problem.message


def test_a_project_raising_its_quota_blames_itself_whatever_its_name(tmp_path: Path) -> None:
    base, head = _two_full_projects(tmp_path, "zzz")
    _set_gpu(head, "vision", 8, 10)
    assert _validate(head, base).invalid_projects == {"vision"}


def test_a_new_project_that_overflows_is_the_one_refused(tmp_path: Path) -> None:
    base = build_repo(tmp_path / "base")
    head = build_repo(tmp_path / "head", "invalid-quota-over-capacity")
    validation = _validate(head, base)
    assert validation.invalid_projects == {"zeta"}
    assert "new on this group" in str(validation.errors[0])


def test_without_a_baseline_every_project_on_the_group_is_refused(tmp_path: Path) -> None:
    validation = _validate(build_repo(tmp_path, "invalid-quota-over-capacity"), None)
    assert validation.invalid_projects == {"vision", "zeta"}
    assert all("diff --base" in p.hint for p in validation.errors)


def test_capacity_lowered_below_granted_quota_is_the_platforms_error(tmp_path: Path) -> None:
    base, head = _two_full_projects(tmp_path, "aaa")
    platform = head / "platform.yaml"
    platform.write_text(platform.read_text().replace("gpu: 16}", "gpu: 12}"))
    validation = _validate(head, base)
    assert not validation.platform_ok and validation.invalid_projects == set()
    (problem,) = validation.errors
    assert problem.location.path == "platform.yaml" and problem.location.line > 0
    assert "no project raised its quota" in problem.message
    assert "aaa 8, vision 8" in problem.message


def test_a_project_that_did_not_grow_in_the_overflowing_dimension_stays_valid(
    tmp_path: Path,
) -> None:
    base, head = _two_full_projects(tmp_path, "aaa")
    _set_gpu(head, "vision", 8, 9)
    quota = head / "projects" / "aaa" / "quota.yaml"
    quota.write_text(quota.read_text().replace("memory: 64Gi", "memory: 128Gi"))  # fits
    assert _validate(head, base).invalid_projects == {"vision"}
