import pytest

from mofang_gitops.errors import GitError
from mofang_gitops.sources.git import (
    RevisionTree,
    cache_path,
    fetch_branch,
    is_ancestor,
    mask_url,
    pin_revision,
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
