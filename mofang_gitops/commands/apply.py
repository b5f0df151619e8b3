"""``mofang-gitops apply``: server-side apply in stages; with --prune, remove what left git."""

from __future__ import annotations

import argparse

from mofang_gitops.commands.syncing import add_apply_options, options_from, sync

NAME = "apply"
HELP = "server-side apply the rendered objects in stages; --prune deletes what left git"
EXAMPLE = "mofang-gitops --repo . apply --prune --project vision"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Apply options, and --dry-run (the same as plan)."""
    add_apply_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="decide everything, write nothing")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when applied cleanly, 1 when some project was invalid, 2 when an object failed."""
    return sync(args, options_from(args, dry_run=args.dry_run))
