"""Measure ``status`` (workload health) over a synthetic platform of N projects (default 1,000).

Generates the platform (``benchmarks/generate.py``), starts one control plane, applies every
object with the engine (not measured here: ``run.py`` measures apply), then reads health three
times in-process (``health.read_clusters``: render excluded, the same LISTs a ``status`` makes)
and once end to end through the CLI (``mofang-gitops status -o json`` in a child process: load,
validate, render, read, report). Prints a table and, with --json, one JSON line with
``status_seconds`` (median in-process read), ``status_requests`` (requests of that read),
``status_requests_by_verb``, ``status_lists``, ``status_kinds``, ``status_objects``,
``status_cli_seconds`` and ``status_health_counts``.

With ``--profile DIR`` a fourth in-process read runs under cProfile (``DIR/read.prof``, not part
of the median) and the CLI under ``python -m cProfile`` (``DIR/cli.prof``, its time then includes
the profiler's overhead).

Usage: python benchmarks/status.py [--projects N] [--json] [--keep] [--workdir DIR] [--profile DIR]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.generate import generate  # noqa: E402
from benchmarks.run import (  # noqa: E402
    CLUSTER,
    connect,
    engine_run,
    log,
    rendered,
    run,
    start_plane,
    timed,
    validated,
    warm_up,
)
from mofang_gitops.devtools.controlplane import ControlPlane  # noqa: E402
from mofang_gitops.engine import ApplyOptions  # noqa: E402
from mofang_gitops.health import read_clusters, read_health  # noqa: E402
from mofang_gitops.manifests import RenderedTarget  # noqa: E402

Groups = dict[str, dict[str, str]]


def measure_status(
    repo: Path, work: Path, results: dict[str, Any], profile: Path | None = None
) -> None:
    """Apply everything once, then time health reads and count their requests."""
    cp, started = start_plane(CLUSTER, work / "plane")
    results["control_plane_start_seconds"] = started
    try:
        targets = rendered(repo)
        warm_up(cp, targets)
        log(f"apply from empty ({sum(len(t.manifests) for t in targets)} objects), not measured")
        engine_run(cp, targets, ApplyOptions(prune=True), dry_run=False)
        platform = validated(repo).repo.platform
        groups = (
            {g.name: dict(g.nodeSelector) for g in platform.model.spec.resourceGroups}
            if platform
            else {}
        )
        runs = []
        results["load_before_reads"] = os.getloadavg()[0]
        for attempt in range(3):
            log(f"status read {attempt + 1}/3 (in-process)")
            clusters = connect(cp)
            try:
                with timed() as timing:
                    health = read_clusters(clusters, targets, groups)
            finally:
                for cluster in clusters.values():
                    cluster.close()
            runs.append((timing.seconds, clusters[CLUSTER].stats.by_verb(), health))
        if profile:
            profile_read(cp, targets, groups, profile / "read.prof")
        runs.sort(key=lambda r: r[0])
        seconds, requests, health = runs[1]
        kinds = {(m.api_version, m.ref.kind) for t in targets for m in t.manifests}
        results["status_seconds"] = seconds
        results["status_runs_seconds"] = [r[0] for r in runs]
        results["status_requests"] = sum(requests.values())
        results["status_requests_by_verb"] = requests
        results["status_lists"] = requests.get("list", 0)
        results["status_kinds"] = len(kinds)
        results["status_objects"] = sum(len(t.objects) for t in health)
        results["status_health_counts"] = dict(
            Counter(str(o.health) for t in health for o in t.objects)
        )
        log("status through the CLI (child process, end to end)")
        results["load_before_cli"] = os.getloadavg()[0]
        python = [sys.executable]
        if profile:
            python += ["-m", "cProfile", "-o", str(profile / "cli.prof")]
        cli = [*python, "-m", "mofang_gitops", "--repo", str(repo)]
        with timed() as cli_timing:
            status = [*cli, "--kubeconfig", str(cp.kubeconfig), "status", "-o", "json"]
            run(status, timeout=900, ok=(0, 1))  # 1: something Degraded or Missing, still shown
        results["status_cli_seconds"] = cli_timing.seconds
    finally:
        cp.stop()


def profile_read(
    cp: ControlPlane, targets: list[RenderedTarget], groups: Groups, out: Path
) -> None:
    """One more read under cProfile, in this thread (``read_clusters`` would run it in a pool
    thread, which cProfile does not see); the LISTs still run in their own threads."""
    clusters = connect(cp)
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        read_health(clusters[CLUSTER], targets, groups)
        profiler.disable()
    finally:
        clusters[CLUSTER].close()
    profiler.dump_stats(str(out))


def report(results: dict[str, Any]) -> str:
    """The figures as a small table."""
    rows = [
        ("projects", results["projects"]),
        ("objects judged", results["status_objects"]),
        ("status read, in-process, median of 3 (s)", f"{results['status_seconds']:.2f}"),
        ("status read runs (s)", ", ".join(f"{s:.2f}" for s in results["status_runs_seconds"])),
        (
            "requests (by verb)",
            f"{results['status_requests']} {results['status_requests_by_verb']}",
        ),
        ("rendered kinds", results["status_kinds"]),
        ("status CLI end to end (s)", f"{results['status_cli_seconds']:.2f}"),
        ("health", results["status_health_counts"]),
        (
            "load average (1 min) before reads / CLI",
            (f"{results['load_before_reads']:.1f} / {results['load_before_cli']:.1f}"),
        ),
    ]
    return "\n".join(f"{name:<44} {value}" for name, value in rows)


def main(argv: list[str] | None = None) -> int:
    """Generate, apply, measure; print the table (and the JSON line with --json)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--profile", type=Path, help="write read.prof and cli.prof here")
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(level=logging.ERROR)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mofang-status-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"projects": args.projects, "started": time.strftime("%FT%T%z")}
    try:
        repo = work / "platform"
        log(f"generating {args.projects} projects")
        generate(repo, args.projects)
        measure_status(repo, work, results, args.profile)
        print(report(results))
        if args.json:
            print(json.dumps(results, sort_keys=True))
    finally:
        if not (args.keep or args.workdir):
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
