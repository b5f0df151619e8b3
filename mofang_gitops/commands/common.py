"""Helpers every command shares: load and validate the repository named on the command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence

from mofang_gitops.errors import Problem, UsageError
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import Validation, validate_repo


def use_color(args: argparse.Namespace) -> bool:
    """Colour only on a terminal, unless disabled (also by NO_COLOR)."""
    return sys.stdout.isatty() and not args.no_color and "NO_COLOR" not in os.environ


def load_validated(args: argparse.Namespace) -> Validation:
    """Load ``--repo`` from disk and validate it (never raises on bad specs)."""
    root = args.repo.resolve()
    if not root.is_dir():
        raise UsageError(f"--repo {args.repo}: not a directory")
    return validate_repo(load_repo(DirectoryTree(root)))


def check_filters(args: argparse.Namespace, validation: Validation) -> None:
    """Refuse filters that name nothing, so a typo never looks like 'no changes'."""
    repo = validation.repo
    unknown = [e for e in args.environment if e not in repo.environments]
    if unknown:
        raise UsageError(f"unknown environment {unknown}; known: {sorted(repo.environments)}")
    unknown = [p for p in args.project if p not in repo.projects]
    if unknown:
        raise UsageError(f"unknown project {unknown}; known: {sorted(repo.projects)}")
    if repo.platform is not None:
        clusters = {c.name for c in repo.platform.model.spec.clusters}
        unknown = [c for c in args.cluster if c not in clusters]
        if unknown:
            raise UsageError(f"unknown cluster {unknown}; known: {sorted(clusters)}")


def print_problems(problems: Sequence[Problem], fmt: str) -> None:
    """Print problems to stderr (text) or stdout (json)."""
    if fmt == "json":
        json.dump([p.as_dict() for p in sorted(problems)], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for problem in sorted(problems):
        print(problem, file=sys.stderr)


def resource_groups(validation: Validation) -> Mapping[str, Mapping[str, str]]:
    """Resource group -> node selector, so a pod can be said to run in a group."""
    platform = validation.repo.platform
    if platform is None:
        return {}
    return {g.name: dict(g.nodeSelector) for g in platform.model.spec.resourceGroups}
