"""``mofang-gitops diff``: preview what a change renders differently, for people and for CI."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from mofang_gitops.commands.common import use_color
from mofang_gitops.errors import UsageError
from mofang_gitops.previewing import (
    LIMIT,
    SUMMARY_FILE,
    Preview,
    PreviewOptions,
    SummaryStore,
    format_markdown,
    format_text,
    preview_data,
    preview_trees,
)
from mofang_gitops.sources.git import GitTree, changed_paths, merge_base
from mofang_gitops.sources.trees import DirectoryTree, FileTree

NAME = "diff"
HELP = (
    "preview the objects a change creates, changes or deletes between two git revisions, "
    "with its quota and GPU impact (no cluster needed); exit 1 when something changes"
)
EXAMPLE = "mofang-gitops diff --base origin/main --format markdown > preview.md"
_SHORT = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the revisions and the diff settings."""
    parser.add_argument("--base", required=True, metavar="REF", help="revision to compare against")
    parser.add_argument(
        "--head",
        default=None,
        metavar="REF",
        help="revision to preview (default: the working tree, uncommitted changes included)",
    )
    parser.add_argument(
        "--merge-base",
        action="store_true",
        help="compare with the merge base of BASE and HEAD: only what the branch itself changed",
    )
    parser.add_argument(
        "--unified",
        "-U",
        type=int,
        default=3,
        metavar="N",
        help="lines of context in the YAML diffs (default: 3)",
    )
    parser.add_argument(
        "--max-chars",
        type=int,
        default=LIMIT,
        metavar="N",
        help=f"size limit of --format markdown (default: {LIMIT}, GitHub's comment limit)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the preview; 0 no changes, 1 changes or an invalid head (like validate), 2 usage."""
    if args.format not in ("text", "markdown", "json"):
        raise UsageError("diff writes --format text, markdown or json")
    if args.unified < 0 or args.max_chars < 2048:
        raise UsageError("--unified must be >= 0 and --max-chars >= 2048")
    preview = build_preview(args)
    if args.format == "json":
        print(json.dumps(preview_data(preview), indent=2, ensure_ascii=False))
    elif args.format == "markdown":
        sys.stdout.write(format_markdown(preview, args.max_chars))
    else:
        stream = sys.stdout if preview.valid else sys.stderr
        stream.write(format_text(preview, color=use_color(args) and preview.valid))
    return 1 if preview.changed or not preview.valid else 0


def build_preview(args: argparse.Namespace) -> Preview:
    """Read both revisions from git (the head from disk when omitted) and compare them."""
    root: Path = args.repo.resolve()
    if not root.is_dir():
        raise UsageError(f"--repo {args.repo}: not a directory")
    base = merge_base(root, args.base, args.head) if args.merge_base else args.base
    changed = changed_paths(root, base, args.head)
    options = PreviewOptions(
        environments=frozenset(args.environment),
        clusters=frozenset(args.cluster),
        projects=frozenset(args.project),
        context=args.unified,
    )
    with GitTree(root, base) as base_tree, _head_tree(root, args.head) as head_tree:
        head_label = "working tree"
        if isinstance(head_tree, GitTree):
            head_label = head_tree.sha[:_SHORT]
        labels = (base_tree.sha[:_SHORT], head_label)
        store = SummaryStore.load(base_tree.state_dir / SUMMARY_FILE)
        return preview_trees(base_tree, head_tree, changed, options, labels, store)


def _head_tree(root: Path, head: str | None) -> AbstractContextManager[FileTree]:
    if head is None:
        return nullcontext(DirectoryTree(root))
    return GitTree(root, head)
