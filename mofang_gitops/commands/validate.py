"""``mofang-gitops validate``: check every spec and report all problems with positions."""

from __future__ import annotations

import argparse
import sys

from mofang_gitops.commands.common import load_validated, print_problems
from mofang_gitops.commands.fixing import apply_fixes, find_fixes
from mofang_gitops.validation.repository import Validation

NAME = "validate"
HELP = "validate every spec of the repository (models, then cross-document rules)"
EXAMPLE = "mofang-gitops --repo . validate --fix"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--fix``."""
    parser.add_argument(
        "--fix",
        action="store_true",
        help="write clamped requests back into the spec files (comments and layout kept), "
        "then validate again",
    )


def run(args: argparse.Namespace) -> int:
    """Exit 0 when valid (warnings allowed), 1 when any error was found."""
    validation = load_validated(args)
    if args.fix:
        validation = _fix(args, validation)
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


def _fix(args: argparse.Namespace, validation: Validation) -> Validation:
    """Apply every fix, say what changed on stderr, and return the new validation."""
    fixes = find_fixes(validation, list(args.project))
    if not fixes:
        print("nothing to fix", file=sys.stderr)
        return validation
    failed = apply_fixes(args.repo.resolve(), fixes)
    for fix in fixes:
        if not any(line.startswith(f"{fix.path}:") for line in failed):
            print(f"fixed {fix}", file=sys.stderr)
    for line in failed:
        print(f"not fixed {line}", file=sys.stderr)
    return load_validated(args)
