"""``mofang-gitops status``: is it running, where, and if not, why — read from the live clusters.

Without ``--url`` it needs no controller: it renders the repository (to know what should be
there), reads each cluster with one LIST per kind plus the namespaces' Pods, Events and
Workflows, and prints health per project, environment and cluster. With ``--url`` it asks a
running controller for its reconcile status instead (what the controller last applied).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from mofang_gitops.commands.common import (
    check_filters,
    load_validated,
    print_problems,
    resource_groups,
    use_color,
)
from mofang_gitops.controller.statuses import SyncState, format_table
from mofang_gitops.engine import connect
from mofang_gitops.errors import MofangError, UsageError
from mofang_gitops.health import Health, read_clusters
from mofang_gitops.health.reports import (
    format_json,
    format_markdown,
    format_placement,
    format_text,
)
from mofang_gitops.rendering import render_repo

NAME = "status"
HELP = "show health per project from the live clusters (or a controller's status with --url)"
EXAMPLE = "mofang-gitops status --project vision --environment prod"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--url``, ``--token-file`` and ``--placement``."""
    parser.add_argument(
        "--placement",
        action="store_true",
        help="one row per pod of every notebook and training: node, resource group, phase",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help="with --url: bearer token (the controller's --status-token-file)",
    )
    parser.add_argument(
        "--url",
        default=None,
        help="ask a running controller instead of the clusters: its internal listener "
        "(--metrics-listen), e.g. http://127.0.0.1:9090",
    )


def run(args: argparse.Namespace) -> int:
    """Exit 1 when something is Degraded or Missing, 2 when a cluster cannot be read, else 0."""
    if args.url:
        return _from_controller(args)
    if args.format not in ("text", "json", "markdown"):
        raise UsageError(f"--format {args.format} is not supported here (text, json or markdown)")
    validation = load_validated(args)
    check_filters(args, validation)
    print_problems(validation.problems, "text")
    targets = render_repo(
        validation, environments=args.environment, clusters=args.cluster, projects=args.project
    )
    if not targets:
        print("nothing to show: no valid project renders for these filters", file=sys.stderr)
        return 1 if validation.errors else 0
    clusters = connect(targets, args.kubeconfig, context=args.context)
    try:
        health = read_clusters(clusters, targets, resource_groups(validation))
    finally:
        for cluster in clusters.values():
            cluster.close()
    if args.placement:
        sys.stdout.write(format_placement(health))
    elif args.format == "json":
        sys.stdout.write(format_json(health))
    elif args.format == "markdown":
        sys.stdout.write(format_markdown(health))
    else:
        sys.stdout.write(format_text(health, colour=use_color(args)))
    if any(t.error for t in health):
        return 2
    bad = (Health.DEGRADED, Health.MISSING)
    return 1 if any(o.health in bad for t in health for o in t.objects) else 0


def _from_controller(args: argparse.Namespace) -> int:
    """Exit 0 when every target is Synced, 1 otherwise."""
    url = args.url.rstrip("/") + "/status"
    request = urllib.request.Request(url)
    try:
        if args.token_file is not None:
            token = args.token_file.read_text().strip()
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - user URL
            snapshot = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise MofangError(f"{url}: {e}") from e
    if args.format == "json":
        print(json.dumps(snapshot, indent=2))
    else:
        print(format_table(snapshot))
    return 0 if all(t["state"] == SyncState.SYNCED for t in snapshot.get("targets", [])) else 1
