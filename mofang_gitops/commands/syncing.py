"""What ``plan`` and ``apply`` share: render the valid projects, connect, run, report.

Invalid projects are reported and left alone (their objects on the cluster stay as they are);
every valid project is still planned or applied.
"""

from __future__ import annotations

import argparse
import sys

from mofang_gitops.commands.common import check_filters, load_validated, print_problems, use_color
from mofang_gitops.commands.waiting import wait_for_changes
from mofang_gitops.engine import (
    RUN_SKIPPED,
    UNREACHABLE,
    Action,
    ApplyOptions,
    ChangeSet,
    Progress,
    ResourceManager,
    connect,
    format_json,
    format_text,
)
from mofang_gitops.errors import UsageError
from mofang_gitops.rendering import render_repo

EXIT_OK, EXIT_CHANGES, EXIT_ERROR = 0, 1, 2


def sync(args: argparse.Namespace, options: ApplyOptions) -> int:
    """Plan (``options.dry_run``) or apply; print the change set; return the exit code."""
    if args.format not in ("text", "json"):
        raise UsageError(f"--format {args.format} is not supported here (text or json)")
    validation = load_validated(args)
    check_filters(args, validation)
    print_problems(validation.problems, "text")
    targets = render_repo(
        validation, environments=args.environment, clusters=args.cluster, projects=args.project
    )
    if not targets:
        print("nothing to do: no valid project renders for these filters", file=sys.stderr)
        return EXIT_CHANGES if validation.errors else EXIT_OK
    clusters = connect(targets, args.kubeconfig, context=args.context)
    progress = _print_progress if sys.stderr.isatty() else None
    manager = ResourceManager(clusters, progress=progress)
    try:
        changes = (
            manager.plan(targets, options) if options.dry_run else manager.apply(targets, options)
        )
        _report(args, changes, diffs=options.dry_run)
        if changes.failed:
            return EXIT_ERROR
        wait = getattr(args, "wait", False) and not options.dry_run
        if wait and not wait_for_changes(args, validation, targets, clusters, changes):
            return EXIT_CHANGES
    finally:
        for cluster in clusters.values():
            cluster.close()
    if validation.errors or (options.dry_run and _has_changes(changes)):
        return EXIT_CHANGES
    return EXIT_OK


def _has_changes(changes: ChangeSet) -> bool:
    """Changes that apply would make; finished runs that are skipped are not changes."""
    return any(e.action not in (Action.UNCHANGED, Action.SKIPPED) for e in changes.entries)


UNREACHABLE_FIX = (
    "  fix: start local clusters with `mofang-gitops dev up` (and export the KUBECONFIG it "
    "prints), or point at the cluster with --kubeconfig FILE and --context NAME\n"
)


def _report(args: argparse.Namespace, changes: ChangeSet, *, diffs: bool) -> None:
    """The change set, with two kinds of entry folded into one line each unless ``-v``.

    A cluster that could not be reached is said once, with the fix, instead of once per object;
    one-shot runs (training jobs, backfill runs) that exist already are counted, not listed:
    reconcile never re-applies them, whether or not anything ran them yet.
    """
    if args.format == "json":
        sys.stdout.write(format_json(changes))
        return
    unreachable: dict[str, tuple[str, int]] = {}
    for entry in changes.entries:
        if entry.action is Action.FAILED and entry.reason.startswith(UNREACHABLE):
            reason, count = unreachable.get(entry.cluster, (entry.reason, 0))
            unreachable[entry.cluster] = (reason, count + 1)
    runs = [e for e in changes.entries if e.action is Action.SKIPPED and e.reason == RUN_SKIPPED]
    folded = set() if args.verbose else {id(e) for e in runs}
    folded |= {id(e) for e in changes.entries if e.cluster in unreachable}
    shown = ChangeSet.of(e for e in changes.entries if id(e) not in folded)
    text = ""
    for cluster, (reason, count) in sorted(unreachable.items()):
        detail = reason.removeprefix(UNREACHABLE).lstrip(": ")
        text += f"cluster {cluster} unreachable ({count} objects not checked): {detail}\n"
    if unreachable:
        text += UNREACHABLE_FIX
    if shown.entries or not unreachable:
        text += format_text(
            shown, diffs=diffs, colour=use_color(args), unchanged=args.verbose, summary_of=changes
        )
    else:
        text += format_text(shown, diffs=False, summary_of=changes).lstrip("\n")
    if runs and not args.verbose:
        text += f"{len(runs)} one-shot run(s) already created, never re-applied (-v lists them)\n"
    sys.stdout.write(text)


def _print_progress(progress: Progress) -> None:
    print(
        f"  {progress.cluster}: {progress.stage} {progress.done}/{progress.total}", file=sys.stderr
    )


def add_apply_options(parser: argparse.ArgumentParser) -> None:
    """Options ``plan`` and ``apply`` share."""
    parser.add_argument(
        "--prune",
        action="store_true",
        help="delete objects that left git (guarded: see --allow-mass-prune)",
    )
    parser.add_argument(
        "--allow-replace",
        action="store_true",
        help="delete and re-create objects whose immutable fields changed",
    )
    parser.add_argument(
        "--allow-mass-prune",
        action="store_true",
        help="allow pruning more than half of a project's objects",
    )
    parser.add_argument(
        "--allow-empty-prune",
        action="store_true",
        help="allow pruning every object of a project that rendered nothing",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="writes in flight per cluster (default 8)"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="also list unchanged objects")


def options_from(args: argparse.Namespace, *, dry_run: bool) -> ApplyOptions:
    """Turn the command line into apply options."""
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    return ApplyOptions(
        prune=args.prune,
        dry_run=dry_run,
        allow_replace=args.allow_replace,
        allow_mass_prune=args.allow_mass_prune,
        allow_empty_prune=args.allow_empty_prune,
        concurrency=args.concurrency,
    )
