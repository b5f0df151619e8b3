"""``mofang-gitops validate``: check every spec and report all problems with positions."""

from __future__ import annotations

import argparse
import sys

from mofang_gitops.commands.common import load_validated, print_problems

NAME = "validate"
HELP = "validate every spec of the repository (models, then cross-document rules)"
EXAMPLE = "mofang-gitops --repo . validate --format json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options beyond the common ones."""


def run(args: argparse.Namespace) -> int:
    """Exit 0 when valid (warnings allowed), 1 when any error was found."""
    validation = load_validated(args)
    problems = validation.problems
    if args.project:
        wanted = tuple(f"projects/{p}/" for p in args.project)
        problems = [
            p
            for p in problems
            if not p.location.path.startswith("projects/") or p.location.path.startswith(wanted)
        ]
    print_problems(problems, args.format)
    errors = [p for p in problems if p.severity == "error"]
    if args.format != "json":
        projects = len(validation.repo.projects)
        summary = (
            f"{len(errors)} error(s), {len(problems) - len(errors)} warning(s) "
            f"in {projects} project(s)"
        )
        print(("invalid: " if errors else "valid: ") + summary, file=sys.stderr)
    return 1 if errors else 0
