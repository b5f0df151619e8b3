"""``mofang-gitops apply``: server-side apply in stages; with --prune, remove what left git."""

from __future__ import annotations

import argparse

from mofang_gitops.commands.syncing import add_apply_options, options_from, sync

NAME = "apply"
HELP = "server-side apply the rendered objects in stages; --prune deletes what left git"
EXAMPLE = "mofang-gitops --repo . apply --prune --project vision --wait --timeout 10m"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Apply options, and --dry-run (the same as plan)."""
    add_apply_options(parser)
    parser.add_argument("--dry-run", action="store_true", help="decide everything, write nothing")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="wait until what changed is Healthy (a one-shot run: Succeeded); exit 1 if not",
    )
    parser.add_argument(
        "--timeout", default="10m", help="how long --wait waits (e.g. 90s, 10m; default 10m)"
    )
    parser.add_argument("--wait-interval", type=float, default=2.0, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when applied cleanly, 1 when a project was invalid or --wait failed, 2 on errors."""
    return sync(args, options_from(args, dry_run=args.dry_run))
