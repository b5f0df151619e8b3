"""How a one-project PR preview (``diff --base``) grows with the repository (issue 19).

For each size, generates the platform (benchmarks/generate.py), makes the git repository of
run.py (``main`` plus branch ``pr-project``: one project's notebook CPU 2 -> 3) and times
``mofang-gitops diff --base main --head pr-project`` as CI runs it (a fresh CLI process, median of
``--runs``, each on a fresh clone's empty summary store), and the same preview in-process (imports
excluded) with a warm summary store (``in_process_*``: filled by an earlier preview, as a CI
runner that keeps its clone has it) and a cold one (``in_process_cold_*``: removed before each
run). No cluster. The target: at 1,000 projects at most 1.5x its cost at 10.

Usage: python benchmarks/preview_scale.py [--sizes 10 1000] [--runs 3]
Prints one line per size on stderr and one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import generate  # noqa: E402
from benchmarks.run import load_average, log, machine_facts, make_git_repo, run, timed  # noqa: E402
from mofang_gitops.previewing import (  # noqa: E402
    SUMMARY_FILE,
    PreviewOptions,
    SummaryStore,
    preview_data,
    preview_trees,
)
from mofang_gitops.sources.git import GitTree, changed_paths  # noqa: E402


def in_process(repo: Path, cold: bool = False) -> tuple[float, dict[str, Any]]:
    """One preview in this process (``cold``: its summary store removed first)."""
    if cold:
        drop_store(repo)
    started = time.perf_counter()
    changed = changed_paths(repo, "main", "pr-project")
    with GitTree(repo, "main") as base, GitTree(repo, "pr-project") as head:
        store = SummaryStore.load(base.state_dir / SUMMARY_FILE)
        labels = ("main", "pr-project")
        preview = preview_trees(base, head, changed, PreviewOptions(), labels, store)
    return time.perf_counter() - started, preview_data(preview)


def drop_store(repo: Path) -> None:
    """Remove the repository's summary store, as on a fresh clone."""
    (repo / ".git" / "mofang-gitops" / SUMMARY_FILE).unlink(missing_ok=True)


def measure(repo: Path, runs: int) -> dict[str, Any]:
    """CLI and in-process figures of one repository."""
    cli = [sys.executable, "-m", "mofang_gitops", "--repo", str(repo), "diff", "--format", "json"]
    cli += ["--base", "main", "--head", "pr-project"]
    seconds = []
    for _ in range(runs):
        drop_store(repo)
        with timed() as one:
            done = run(cli, timeout=900, ok=(1,))
        seconds.append(one.seconds)
    in_process(repo)  # warm: imports, templates, and the summary store
    inner = [in_process(repo)[0] for _ in range(runs)]
    cold = [in_process(repo, cold=True)[0] for _ in range(runs)]
    data = json.loads(done.stdout)
    warm_data, cold_data = in_process(repo)[1], in_process(repo, cold=True)[1]
    if warm_data != cold_data:
        raise SystemExit(f"{repo}: the preview differs with a warm and a cold summary store")
    return {
        "in_process_cold_seconds": statistics.median(cold),
        "in_process_cold_runs_seconds": cold,
        "cli_seconds": statistics.median(seconds),
        "cli_runs_seconds": seconds,
        "in_process_seconds": statistics.median(inner),
        "in_process_runs_seconds": inner,
        "rendered": data["rendered"],
        "summary": data["summary"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Measure every size; print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 1000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mofang-preview-scale-"))
    results: dict[str, Any] = {"machine": machine_facts(), "load_start": load_average()}
    try:
        for size in args.sizes:
            repo = work / f"platform-{size}"
            log(f"{size} projects: generating")
            generate(repo, size)
            make_git_repo(repo)
            log(f"{size} projects: diff --base, {args.runs} runs")
            figures = measure(repo, args.runs)
            results[str(size)] = figures
            log(
                f"{size} projects: CLI {figures['cli_seconds']:.2f} s, in-process "
                f"{figures['in_process_seconds']:.2f} s warm, "
                f"{figures['in_process_cold_seconds']:.2f} s cold, rendered {figures['rendered']}"
            )
        small, large = str(min(args.sizes)), str(max(args.sizes))
        for kind in ("cli", "in_process", "in_process_cold"):
            results[f"{kind}_growth"] = (
                results[large][f"{kind}_seconds"] / results[small][f"{kind}_seconds"]
            )
        results["load_end"] = load_average()
        print(json.dumps(results, sort_keys=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
