"""``mofang-gitops dev up|down|status``: a local cluster per cluster of platform.yaml.

Plain ``dev up`` starts API servers only (they store what ``apply`` writes; nothing runs).
``dev up --runtime`` starts running clusters: scheduler, controller-manager, the operators and
kwok nodes for every resource group of the cluster, so pods are placed and run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mofang_gitops.commands.common import load_validated
from mofang_gitops.devtools.devcluster import default_state_dir, dev_down, dev_status, dev_up
from mofang_gitops.devtools.nodes import plan_nodes
from mofang_gitops.errors import InputError

NAME = "dev"
HELP = "start, stop or show local clusters, one per platform cluster (--runtime: pods run)"
EXAMPLE = 'eval "$(mofang-gitops --repo . dev up --runtime)"  # prints export KUBECONFIG=...'
RUNTIME_TIMEOUT = 1800
"""Seconds ``dev up --runtime`` waits: two running clusters take minutes on a loaded machine."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``up``, ``down`` or ``status``, and where the clusters keep their state."""
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="state directory (default: ~/.cache/mofang-gitops/dev)",
    )
    parser.add_argument(
        "--runtime",
        action="store_true",
        help="up: running clusters (scheduler, controller-manager, operators, kwok nodes from "
        "the resource groups; scripts/runtime-binaries builds them) instead of API servers only",
    )


def format_status(status: dict[str, Any]) -> str:
    """A short table for people: one row per cluster, its nodes, then the kubeconfig to export."""
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
    for cluster in status["clusters"]:
        if "nodes" in cluster:
            lines += ["", *_format_runtime(cluster)]
    state = "ready" if status["ready"] else "starting"
    lines.append(
        f"dev clusters {state} (pid {status['pid']}); export KUBECONFIG={status['kubeconfig']}"
    )
    return "\n".join(lines) + "\n"


def _format_runtime(cluster: dict[str, Any]) -> list[str]:
    """What runs in one running cluster, what was skipped and why, and a row per node."""
    components = cluster["components"].items()
    alive = [name if c["running"] else f"{name} (exited)" for name, c in components]
    lines = [f"{cluster['name']}: {', '.join(alive)}"]
    lines += [f"  skipped {name}: {why}" for name, why in cluster["skipped"].items()]
    rows = [("NODE", "GROUP", "GPU", "PODS", "READY")]
    rows += [
        (
            n["name"],
            n["group"] or "-",
            f"{n['gpuResource']} {n['gpu']}" if n["gpuResource"] else "-",
            str(n["pods"]),
            "Ready" if n["ready"] else "NotReady",
        )
        for n in cluster["nodes"]
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines += [
        "  " + "  ".join(f"{cell:<{widths[i]}}" for i, cell in enumerate(row[:4])) + f"  {row[4]}"
        for row in rows
    ]
    return lines


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
    if args.runtime:
        spec = platform.model.spec
        nodes = {name: plan_nodes(spec, name) for name, _ in clusters}
        kubeconfig = dev_up(state_dir, clusters, nodes=nodes, timeout=RUNTIME_TIMEOUT)
    else:
        kubeconfig = dev_up(state_dir, clusters)
    kind = "running clusters" if args.runtime else "dev clusters"
    print(f"{kind} up: {', '.join(f'{n} (context {c})' for n, c in clusters)}", file=sys.stderr)
    print(f"export KUBECONFIG={kubeconfig}")
    return 0
