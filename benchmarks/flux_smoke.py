"""Smoke comparison with Flux's apply engine (issue 19, first part): apply from empty and no-op.

Not the issue's side-by-side benchmark: a small run that checks the Flux peer
(benchmarks/fluxpeer, built by scripts/flux-peer) works on the files ``render --out`` wrote and
gives first figures. Our engine applies and plans on plane A; the peer applies the same files
and reconciles them again (no-op) on plane B; both planes fresh, CRDs installed, warmed alike.

Usage: python benchmarks/flux_smoke.py [--projects 50] [--peer PATH]
Prints one JSON line with every figure on stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import generate  # noqa: E402
from benchmarks.run import (  # noqa: E402
    CLUSTER,
    engine_run,
    load_average,
    machine_facts,
    rendered,
    run,
    server_cpu,
    start_plane,
    warm_up,
)
from mofang_gitops.engine import ApplyOptions  # noqa: E402


def build_peer() -> Path:
    """The cached peer binary (scripts/flux-peer builds it on first use)."""
    done = run([str(HERE.parent / "scripts" / "flux-peer")], timeout=3600)
    return Path(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    """Generate, render, measure ours on plane A and the peer on plane B; print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=50, help="projects to generate (50)")
    parser.add_argument("--peer", type=Path, help="fluxpeer binary (default: scripts/flux-peer)")
    args = parser.parse_args(argv)
    peer = args.peer or build_peer()
    work = Path(tempfile.mkdtemp(prefix="mofang-flux-smoke-"))
    results: dict[str, Any] = {
        "projects": args.projects,
        "machine": machine_facts(),
        "load_start": load_average(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        repo, out = work / "platform", work / "rendered"
        generate(repo, args.projects)
        cli = [sys.executable, "-m", "mofang_gitops", "--repo", str(repo)]
        run([*cli, "render", "--out", str(out)], timeout=600)

        cp, _ = start_plane(CLUSTER, work / "plane-a")
        try:
            targets = rendered(repo)
            warm_up(cp, targets)
            applied = engine_run(cp, targets, ApplyOptions(prune=True), dry_run=False)
            noop = engine_run(cp, rendered(repo), ApplyOptions(prune=True), dry_run=True)
        finally:
            cp.stop()
        results["objects"] = applied.objects
        results["ours"] = {
            name: {
                "seconds": r.timing.seconds,
                "client_cpu_seconds": r.timing.cpu,
                "server_cpu_seconds": r.server_cpu,
                "requests": r.requests,
                "total_requests": r.total_requests,
                "actions": r.actions,
            }
            for name, r in (("apply", applied), ("noop", noop))
        }
        results["load_mid"] = load_average()

        cp, _ = start_plane(CLUSTER, work / "plane-b")
        try:
            warm_up(cp, rendered(repo))
            before = server_cpu(cp)
            argv_peer = [str(peer), "--dir", str(out), "--kubeconfig", str(cp.kubeconfig)]
            argv_peer += ["--context", CLUSTER, "--phases", "apply,noop"]
            started = time.perf_counter()
            done = subprocess.run(argv_peer, capture_output=True, text=True, timeout=1800)
            results["flux_process_seconds"] = time.perf_counter() - started
            results["flux_server_cpu_seconds_both_phases"] = server_cpu(cp) - before
        finally:
            cp.stop()
        if done.returncode != 0:
            raise SystemExit(f"fluxpeer: exit {done.returncode}\n{done.stderr[-4000:]}")
        results["flux"] = json.loads(done.stdout.strip().splitlines()[-1])
        results["load_end"] = load_average()
        print(json.dumps(results, sort_keys=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
