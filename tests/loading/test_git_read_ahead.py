"""Reading ahead only some blobs of a git tree is an optimisation: every file still reads right.

A preview reads a fraction of a large tree and tells the tree which files (``read_ahead``);
files outside that set, or named by a later call, must still give their own bytes. Real git.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mofang_gitops.sources.git import GitTree
from mofang_gitops.sources.loading import load_repo

FILES = {
    "platform.yaml": b"kind: Platform\n",
    "people/a.yaml": b"kind: Person\nmetadata: {name: a}\n",
    "people/b.yaml": b"kind: Person\nmetadata: {name: b}\n",
    "projects/p/project.yaml": b"kind: Project\nmetadata: {name: p}\n",
}


def make_repo(root: Path) -> Path:
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    for args in (["add", "-A"], ["commit", "-q", "-m", "c"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(root), *args],
            check=True,
        )
    return root


def test_files_outside_the_read_ahead_still_read_their_own_bytes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with GitTree(repo, "main") as tree:
        tree.read_ahead(["people/a.yaml"])
        tree.read_ahead(["people/b.yaml", "no/such/file.yaml"])
        assert {path: tree.read(path) for path in FILES} == FILES


def test_a_partial_read_ahead_loads_the_same_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with GitTree(repo, "main") as fresh:
        expected = load_repo(fresh)
    with GitTree(repo, "main") as tree:
        tree.read_ahead(["people/b.yaml"])
        loaded = load_repo(tree)
    assert loaded.all_problems() == expected.all_problems()
    assert sorted(loaded.people) == sorted(expected.people)
    assert sorted(loaded.projects) == sorted(expected.projects) == ["p"]
