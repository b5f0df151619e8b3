"""A 96 MiB spec file is refused with a located error before its bytes are read, by every tree:
the controller's git cache (RevisionTree), a commit of a checkout (GitTree) and a directory.
Real git repositories; memory is measured with tracemalloc (every Python allocation, bytes
objects included).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from mofang_gitops.sources.git import GitTree, RevisionTree, cache_path, fetch_branch
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.yamlio import YAMLFileError
from tests.controller.gitrepos import Remote

BIG = "projects/vision/notebooks/huge.yaml"
BIG_BYTES = 96 * 1024 * 1024
FLAT = 8 * 1024 * 1024
"""Peak allocation allowed while refusing the file: far below its size."""


@pytest.fixture(scope="module")
def remote(tmp_path_factory) -> tuple[Remote, str]:
    tmp = tmp_path_factory.mktemp("big")
    remote = Remote(tmp)
    line = b"# padding, a comment line that compresses well in git's object store\n"
    with (remote.work / BIG).open("wb") as file:
        file.write(line * (BIG_BYTES // len(line)))
        file.write(b"#" * (BIG_BYTES % len(line)))
    return remote, remote.push("a huge file")


@pytest.fixture(scope="module")
def cached(remote, tmp_path_factory) -> RevisionTree:
    """The controller's view: the branch fetched into a bare cache."""
    remote_, sha = remote
    cache = tmp_path_factory.mktemp("cache")
    fetch_branch(remote_.url, "main", cache)
    return RevisionTree(cache_path(remote_.url, cache), sha)


def peak_while(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def refused(tree) -> tuple[YAMLFileError, int]:
    def read() -> YAMLFileError:
        with pytest.raises(YAMLFileError) as caught:
            tree.read(BIG)
        return caught.value

    error, peak = peak_while(read)
    assert isinstance(error, YAMLFileError)
    return error, peak


def test_the_controller_cache_refuses_a_huge_blob_without_reading_it(cached):
    error, peak = refused(cached)
    assert str(error.location) == BIG
    assert error.message == f"file is {BIG_BYTES} bytes, over the 262144-byte limit"
    assert peak < FLAT, f"peak {peak} bytes while refusing a {BIG_BYTES}-byte blob"


def test_loading_the_cache_reports_the_huge_file_and_loads_the_rest(cached):
    repo, peak = peak_while(lambda: load_repo(cached))
    problems = [str(p) for p in repo.all_problems()]  # type: ignore[attr-defined]
    assert problems == [
        f"{BIG}: file is {BIG_BYTES} bytes, over the 262144-byte limit "
        "(split it into several files)"
    ]
    assert repo.projects["vision"].project is not None  # type: ignore[attr-defined]
    assert peak < FLAT


def test_a_commit_of_a_checkout_refuses_a_huge_blob_without_reading_it(remote):
    remote_, _ = remote
    with GitTree(remote_.work, "HEAD") as tree:
        error, peak = refused(tree)
    assert str(error.location) == BIG and peak < FLAT


def test_a_directory_refuses_a_huge_file_without_reading_it(remote):
    remote_, _ = remote
    error, peak = refused(DirectoryTree(Path(remote_.work)))
    assert str(error.location) == BIG and peak < FLAT
