"""The benchmark's synthetic platform is valid and renders about 20 objects per project."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks.generate import FRAMEWORK_ROLES, generate, project_name
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo


def test_generated_repo_validates_and_renders(tmp_path: Path) -> None:
    root = generate(tmp_path / "platform", 5)
    validation = validate_repo(load_repo(DirectoryTree(root)))
    assert validation.problems == []
    assert validation.platform_ok
    targets = render_repo(validation)
    assert [str(t.target) for t in targets] == [f"prod/central/{project_name(i)}" for i in range(5)]
    for rendered in targets:
        assert 18 <= len(rendered.manifests) <= 30, rendered.target
        assert rendered.kube_context == "central"
        kinds = Counter(m.ref.kind for m in rendered.manifests)
        for kind in ("Namespace", "ResourceQuota", "StatefulSet", "WorkflowTemplate"):
            assert kinds[kind] == 1, (rendered.target, kind)
    total = sum(len(t.manifests) for t in targets)
    assert 18 * 5 <= total <= 30 * 5


def test_frameworks_rotate_and_regeneration_is_deterministic(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", len(FRAMEWORK_ROLES))
    second = generate(tmp_path / "b", len(FRAMEWORK_ROLES))
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
    frameworks = {
        (first / "projects" / project_name(i) / "trainings" / "train.yaml")
        .read_text()
        .split("framework: ")[1]
        .split()[0]
        for i in range(len(FRAMEWORK_ROLES))
    }
    assert frameworks == set(FRAMEWORK_ROLES)
