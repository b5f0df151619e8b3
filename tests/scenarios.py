"""Build miniature platform repositories: tests/testdata/minimal plus a scenario overlay."""

from __future__ import annotations

import shutil
from pathlib import Path

from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import Validation, validate_repo

TESTDATA = Path(__file__).parent / "testdata"
BASE = TESTDATA / "minimal"


def build_repo(tmp_path: Path, scenario: str | None = None) -> Path:
    """Copy the minimal repo to ``tmp_path/repo`` and lay the scenario's files over it."""
    root = tmp_path / "repo"
    shutil.copytree(BASE, root, ignore=shutil.ignore_patterns("README"))
    if scenario:
        overlay = TESTDATA / scenario
        shutil.copytree(
            overlay, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns("README", "expect")
        )
    return root


def validate_dir(root: Path) -> Validation:
    """Load and validate a repository directory."""
    return validate_repo(load_repo(DirectoryTree(root.resolve())))


def grant_homes(root: Path, project: str) -> None:
    """Let ``project`` mount the home of everyone who lets vision do so (for copies of vision)."""
    for person in sorted((root / "people").glob("*.yaml")):
        text = person.read_text()
        person.write_text(text.replace("projects: [vision", f"projects: [vision, {project}"))
