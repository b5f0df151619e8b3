"""A real bare git remote and a working clone that pushes to it, built from tests/testdata."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.scenarios import build_repo, grant_homes

TWO_PROJECTS_NOTE = "vision (from minimal) and nlp (a copy of vision without workloads)"


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": "/usr/bin:/bin", "HOME": str(cwd),
    }  # fmt: skip
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


class Remote:
    """A bare repository (the 'remote') and a work tree that commits and pushes to it."""

    def __init__(self, tmp_path: Path, branch: str = "main", two_projects: bool = True) -> None:
        self.branch = branch
        self.bare = tmp_path / "remote.git"
        git(tmp_path, "init", "-q", "--bare", "-b", branch, str(self.bare))
        self.work = build_repo(tmp_path)
        if two_projects:
            self.add_project("nlp")
        git(self.work, "init", "-q", "-b", branch)
        git(self.work, "remote", "add", "origin", str(self.bare))
        self.url = self.bare.as_uri()

    def add_project(self, name: str) -> None:
        target = self.work / "projects" / name
        target.mkdir(parents=True)
        for doc in ("project.yaml", "quota.yaml"):
            text = (self.work / "projects/vision" / doc).read_text()
            (target / doc).write_text(text.replace("{name: vision}", f"{{name: {name}}}"))
        grant_homes(self.work, name)

    def write(self, path: str, text: str) -> None:
        file = self.work / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)

    def remove(self, path: str) -> None:
        target = self.work / path
        shutil.rmtree(target) if target.is_dir() else target.unlink()

    def push(self, message: str = "change", force: bool = False) -> str:
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", *(["--force"] if force else []), "origin", self.branch)
        return git(self.work, "rev-parse", "HEAD")

    def notebook(self, project: str, name: str, owner: str = "bob") -> str:
        text = (self.work / "projects/vision/notebooks/bob-dev.yaml").read_text()
        text = text.replace("{name: bob-dev}", f"{{name: {name}}}").replace("bob", owner)
        path = f"projects/{project}/notebooks/{name}.yaml"
        self.write(path, text)
        return path
