import gc
import os
from pathlib import Path

import pytest

from mofang_gitops.errors import GitError
from mofang_gitops.sources.git import (
    RevisionTree,
    cache_path,
    fetch_branch,
    is_ancestor,
    mask_url,
    pin_revision,
    read_commit,
)
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.validation.repository import validate_repo
from tests.controller.gitrepos import Remote, git


def test_mask_url_hides_userinfo():
    text = "fatal: https://user:tok3n@git.example.com/a.git and ssh://git@h/x"
    masked = mask_url(text)
    assert "tok3n" not in masked and "user" not in masked
    assert "https://***@git.example.com/a.git" in masked and "ssh://***@h/x" in masked


def test_fetch_returns_head_and_tree_loads_like_a_checkout(tmp_path):
    remote = Remote(tmp_path)
    sha = remote.push("first")
    assert fetch_branch(remote.url, "main", tmp_path / "cache") == sha
    tree = RevisionTree(cache_path(remote.url, tmp_path / "cache"), sha)
    validation = validate_repo(load_repo(tree))
    assert validation.valid_projects() == ["nlp", "vision"]
    assert tree.label == f"{sha[:12]}:"


def test_fetch_follows_new_commits_and_detects_force_push(tmp_path):
    remote = Remote(tmp_path)
    cache = tmp_path / "cache"
    first = remote.push("first")
    fetch_branch(remote.url, "main", cache)
    second = remote.push("second")
    assert fetch_branch(remote.url, "main", cache) == second
    assert is_ancestor(cache_path(remote.url, cache), first, second)
    pin_revision(cache_path(remote.url, cache), second)
    git(remote.work, "reset", "-q", "--hard", first)
    rewritten = remote.push("rewritten", force=True)
    assert fetch_branch(remote.url, "main", cache) == rewritten
    assert not is_ancestor(cache_path(remote.url, cache), second, rewritten)
    # the pinned revision stays readable although the remote dropped it
    assert RevisionTree(cache_path(remote.url, cache), second).files()


def test_unreachable_remote_is_a_git_error_without_credentials(tmp_path):
    url = f"file://user:secret@{tmp_path}/missing.git"
    with pytest.raises(GitError) as info:
        fetch_branch(url, "main", tmp_path / "cache")
    assert "secret" not in str(info.value)


def test_missing_branch_is_a_git_error(tmp_path):
    remote = Remote(tmp_path)
    remote.push()
    with pytest.raises(GitError):
        fetch_branch(remote.url, "nope", tmp_path / "cache")


def test_symlinks_are_reported_as_links(tmp_path):
    remote = Remote(tmp_path)
    (remote.work / "projects/vision/link.yaml").symlink_to("project.yaml")
    sha = remote.push()
    fetch_branch(remote.url, "main", tmp_path / "cache")
    files = dict(RevisionTree(cache_path(remote.url, tmp_path / "cache"), sha).files())
    assert files["projects/vision/link.yaml"] is True
    assert files["projects/vision/project.yaml"] is False


def test_a_revision_lists_only_the_platform_layout_like_a_checkout(tmp_path):
    remote = Remote(tmp_path)
    remote.write(".github/workflows/ci.yml", "on: push\n")
    remote.write("tests/testdata/x/projects/a/project.yaml", "kind: Project\n")
    remote.write("README.md", "# platform\n")
    sha = remote.push()
    fetch_branch(remote.url, "main", tmp_path / "cache")
    tree = RevisionTree(cache_path(remote.url, tmp_path / "cache"), sha)
    assert {path.split("/")[0] for path, _ in tree.files()} == {
        "platform.yaml",
        "environments",
        "people",
        "projects",
    }
    validation = validate_repo(load_repo(tree))
    assert validation.valid_projects() == ["nlp", "vision"] and not validation.errors


def _git_children() -> list[str]:
    """Command lines of this process' live ``git`` children (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z" and cmdline.startswith("git"):
            found.append(cmdline)
    return found


def test_the_controllers_git_reads_leave_no_git_process_behind(tmp_path):
    """A controller pass fetches, reads the commit and checks ancestry on every pass: each must
    close its repository, not leave ``git cat-file`` running until the collector runs."""
    remote = Remote(tmp_path)
    first = remote.push("first")
    cache = tmp_path / "cache"
    gc.disable()  # the leak is what the collector would hide
    try:
        before = _git_children()
        second = remote.push("second")
        assert fetch_branch(remote.url, "main", cache) == second
        path = cache_path(remote.url, cache)
        assert read_commit(path, second).sha == second
        assert is_ancestor(path, first, second)
        pin_revision(path, second)
        tree = RevisionTree(path, second)
        assert tree.read(tree.files()[0][0])
        assert _git_children() == before
    finally:
        gc.enable()
