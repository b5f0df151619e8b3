"""``mofang-gitops dev up|down|status``: a local control plane per cluster of platform.yaml."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mofang_gitops.commands.common import load_validated
from mofang_gitops.devtools.devcluster import default_state_dir, dev_down, dev_status, dev_up
from mofang_gitops.errors import InputError

NAME = "dev"
HELP = "start, stop or show local kube-apiserver + etcd clusters, one per platform cluster"
EXAMPLE = 'eval "$(mofang-gitops --repo . dev up)"  # prints export KUBECONFIG=...'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``up``, ``down`` or ``status``, and where the clusters keep their state."""
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="state directory (default: ~/.cache/mofang-gitops/dev)",
    )


def format_status(status: dict[str, Any]) -> str:
    """A short table for people: one row per cluster, then the kubeconfig to export."""
    if not status["running"]:
        where = status["state_dir"]
        return f"dev clusters: not running (state {where}); start: mofang-gitops dev up\n"
    rows = [("CLUSTER", "CONTEXT", "SERVER", "HEALTH")]
    rows += [
        (c["name"], c["context"], c["server"], "ok" if c["healthy"] else "not ready")
        for c in status["clusters"]
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(3)]
    lines = [
        "  ".join(f"{str(cell):<{widths[i]}}" for i, cell in enumerate(row[:3])) + f"  {row[3]}"
        for row in rows
    ]
    state = "ready" if status["ready"] else "starting"
    lines.append(
        f"dev clusters {state} (pid {status['pid']}); export KUBECONFIG={status['kubeconfig']}"
    )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Start, stop or describe the local clusters."""
    state_dir = args.state_dir or default_state_dir()
    if args.action == "down":
        dev_down(state_dir)
        print("dev clusters stopped", file=sys.stderr)
        return 0
    if args.action == "status":
        status = dev_status(state_dir)
        if args.format == "json":
            json.dump(status, sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(format_status(status))
        return 0
    validation = load_validated(args)
    platform = validation.repo.platform
    if platform is None or not validation.platform_ok:
        raise InputError(
            [p for p in validation.errors if not p.location.path.startswith("projects/")]
        )
    clusters = [(c.name, c.kube_context) for c in platform.model.spec.clusters]
    kubeconfig = dev_up(state_dir, clusters)
    print(
        f"dev clusters up: {', '.join(f'{n} (context {c})' for n, c in clusters)}", file=sys.stderr
    )
    print(f"export KUBECONFIG={kubeconfig}")
    return 0
