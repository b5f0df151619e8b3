"""``mofang-gitops plan``: what apply would change on the live clusters (nothing is written)."""

from __future__ import annotations

import argparse

from mofang_gitops.commands.syncing import add_apply_options, options_from, sync

NAME = "plan"
HELP = "show what apply would change on the live clusters; exit 1 when something would change"
EXAMPLE = "mofang-gitops --repo . plan --prune --environment prod"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options apply takes, so a plan previews exactly that apply."""
    add_apply_options(parser)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when nothing would change, 1 when something would, 2 on errors."""
    return sync(args, options_from(args, dry_run=True))
