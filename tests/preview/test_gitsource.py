"""GitTree and changed_paths read git revisions without touching the working tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mofang_gitops.errors import GitError
from mofang_gitops.sources.git import GitTree, changed_paths, merge_base, resolve
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree

from .conftest import GitRepo


def test_git_tree_lists_the_same_files_as_the_checkout(minimal_repo: GitRepo) -> None:
    with GitTree(minimal_repo.root, "HEAD") as tree:
        assert tree.files() == DirectoryTree(minimal_repo.root).files()
        assert tree.read("platform.yaml") == (minimal_repo.root / "platform.yaml").read_bytes()
        assert tree.label == "HEAD:"


def test_git_tree_reads_the_commit_not_the_working_tree(minimal_repo: GitRepo) -> None:
    first = minimal_repo.git("rev-parse", "HEAD")
    minimal_repo.replace("projects/vision/quota.yaml", "weight: 2", "weight: 3")
    minimal_repo.commit("weight 3")
    minimal_repo.replace("projects/vision/quota.yaml", "weight: 3", "weight: 4")
    status_before = minimal_repo.git("status", "--porcelain")
    with GitTree(minimal_repo.root, first) as tree:
        assert b"weight: 2" in tree.read("projects/vision/quota.yaml")
        assert tree.sha == first
    with GitTree(minimal_repo.root, "HEAD") as tree:
        assert b"weight: 3" in tree.read("projects/vision/quota.yaml")
    assert minimal_repo.git("status", "--porcelain") == status_before
    assert "weight: 4" in minimal_repo.read("projects/vision/quota.yaml")


def test_git_tree_reports_symlinks_and_the_loader_refuses_them(minimal_repo: GitRepo) -> None:
    os.symlink("/etc/passwd", minimal_repo.root / "projects/vision/notebooks/evil.yaml")
    minimal_repo.commit("symlink")
    with GitTree(minimal_repo.root, "HEAD") as tree:
        assert ("projects/vision/notebooks/evil.yaml", True) in tree.files()
        with pytest.raises(PermissionError):
            tree.read("projects/vision/notebooks/evil.yaml")
        problems = load_repo(tree).all_problems()
    assert any("symlinks are not allowed" in p.message for p in problems)


def test_git_tree_walks_only_the_platform_layout(minimal_repo: GitRepo) -> None:
    minimal_repo.write("README.md", "hello\n")
    minimal_repo.write("mofang_gitops/x.py", "")
    minimal_repo.commit("other files")
    with GitTree(minimal_repo.root, "HEAD") as tree:
        paths = [p for p, _ in tree.files()]
    assert all(
        p.startswith(("platform.yaml", "environments/", "people/", "projects/")) for p in paths
    )


def test_git_tree_of_a_platform_in_a_subdirectory(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path)
    repo.git("init", "-q", "-b", "main")
    sub = tmp_path / "ops" / "platform"
    sub.mkdir(parents=True)
    (sub / "platform.yaml").write_text("kind: Platform\n")
    (tmp_path / "platform.yaml").write_text("not this one\n")
    repo.commit("nested")
    with GitTree(sub, "HEAD") as tree:
        assert tree.files() == [("platform.yaml", False)]
        assert tree.read("platform.yaml") == b"kind: Platform\n"
    (sub / "environments").mkdir()
    (sub / "environments" / "dev.yaml").write_text("x\n")
    assert changed_paths(sub, "HEAD") == ["environments/dev.yaml"]


def test_changed_paths_between_commits_and_against_the_working_tree(
    minimal_repo: GitRepo,
) -> None:
    base = minimal_repo.git("rev-parse", "HEAD")
    minimal_repo.git(
        "mv", "projects/vision/notebooks/bob-dev.yaml", "projects/vision/notebooks/b.yaml"
    )
    head = minimal_repo.commit("rename")
    assert changed_paths(minimal_repo.root, base, head) == [
        "projects/vision/notebooks/b.yaml",
        "projects/vision/notebooks/bob-dev.yaml",
    ]
    assert changed_paths(minimal_repo.root, head, None) == []
    minimal_repo.write("projects/new/project.yaml", "x: 1\n")  # untracked
    minimal_repo.replace("platform.yaml", "maxGpu: 2", "maxGpu: 3")  # modified, unstaged
    assert changed_paths(minimal_repo.root, head) == ["platform.yaml", "projects/new/project.yaml"]


def test_unknown_revisions_and_non_repositories_are_clear_git_errors(
    minimal_repo: GitRepo, tmp_path: Path
) -> None:
    with pytest.raises(GitError, match="unknown revision 'origin/nope'"):
        resolve(minimal_repo.root, "origin/nope")
    with pytest.raises(GitError, match="not a revision name"):
        GitTree(minimal_repo.root, "--output=/tmp/x")
    elsewhere = tmp_path / "not-git"
    elsewhere.mkdir()
    with pytest.raises(GitError, match="not a git repository"):
        changed_paths(elsewhere, "HEAD")
    assert resolve(minimal_repo.root, "main") == minimal_repo.git("rev-parse", "HEAD")


def test_merge_base_is_where_the_branch_left_main(minimal_repo: GitRepo) -> None:
    fork = minimal_repo.git("rev-parse", "HEAD")
    minimal_repo.git("checkout", "-q", "-b", "feature")
    minimal_repo.replace("projects/vision/quota.yaml", "weight: 2", "weight: 3")
    feature = minimal_repo.commit("feature")
    minimal_repo.git("checkout", "-q", "main")
    minimal_repo.replace("platform.yaml", "maxGpu: 2", "maxGpu: 3")
    minimal_repo.commit("main moves on")
    assert merge_base(minimal_repo.root, "main", feature) == fork
