"""Real git repositories for preview tests, built from tests/testdata/minimal.

Commits use a fixed identity and date, so shas (and the snapshot of a comment naming them) are the
same on every run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mofang_gitops.cli import main
from tests.scenarios import grant_homes

MINIMAL = Path(__file__).parent.parent / "testdata" / "minimal"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
}


@dataclass
class GitRepo:
    root: Path

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env={**os.environ, **GIT_ENV},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def write(self, path: str, text: str) -> None:
        full = self.root / path
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(text)

    def read(self, path: str) -> str:
        return (self.root / path).read_text()

    def replace(self, path: str, old: str, new: str) -> None:
        text = self.read(path)
        assert old in text, f"{old!r} not in {path}"
        self.write(path, text.replace(old, new))

    def commit(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--no-gpg-sign", "-m", message)
        return self.git("rev-parse", "HEAD")


def copy_project(root: Path, source: str, name: str) -> None:
    """Copy projects/<source>/ to projects/<name>/, renaming the Project and Quota."""
    shutil.copytree(root / "projects" / source, root / "projects" / name)
    for path in (root / "projects" / name).rglob("*.yaml"):
        path.write_text(path.read_text().replace(f"{{name: {source}}}", f"{{name: {name}}}"))
    grant_homes(root, name)


def init_repo(root: Path) -> GitRepo:
    repo = GitRepo(root)
    repo.git("init", "-q", "-b", "main")
    repo.commit("base")
    return repo


@pytest.fixture
def minimal_repo(tmp_path: Path) -> GitRepo:
    """The minimal platform (one project, vision) as the first commit of a new repository."""
    root = tmp_path / "platform"
    shutil.copytree(MINIMAL, root)
    return init_repo(root)


@pytest.fixture
def two_project_repo(tmp_path: Path) -> GitRepo:
    """The minimal platform plus a copy of vision named nlp (quota fits the capacity exactly)."""
    root = tmp_path / "platform"
    shutil.copytree(MINIMAL, root)
    copy_project(root, "vision", "nlp")
    return init_repo(root)


@dataclass
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``mofang-gitops --repo <repo> ARGS`` in process; return exit code, stdout, stderr."""

    def run(repo: GitRepo, *argv: str) -> Result:
        capsys.readouterr()
        code = main(["--repo", str(repo.root), *argv])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
