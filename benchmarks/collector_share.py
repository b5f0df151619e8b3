"""How much of validate + render is Python's cyclic garbage collector, at each size (issue 19).

Validate + render grew a little more than 5x from 1,000 to 5,000 projects. This separates the
collector's part: for each generated repository (benchmarks/generate.py), alternating, a child
process loads, validates and renders it as run.py's render child does (``load_repo``,
``validate_repo``, ``render_repo``; imports excluded), once with the collector as the CLI runs it
(``on``) and once with it disabled (``off``), timing every collection with ``gc.callbacks``.
Prints a line per child and one JSON line of medians per size and mode on stdout.

Usage: python benchmarks/collector_share.py REPO [REPO ...] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.run import run  # noqa: E402

CHILD = r"""
import gc, json, resource, sys, time
from pathlib import Path
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo
mode, root = sys.argv[1], Path(sys.argv[2])
spent = {"collections": 0, "collector_seconds": 0.0}
started = [0.0]
def timing(phase, info):
    if phase == "start":
        started[0] = time.perf_counter()
    else:
        spent["collections"] += 1
        spent["collector_seconds"] += time.perf_counter() - started[0]
gc.callbacks.append(timing)
if mode == "off":
    gc.disable()
t1 = time.perf_counter()
repo = load_repo(DirectoryTree(root))
t2 = time.perf_counter()
validation = validate_repo(repo)
t3 = time.perf_counter()
targets = render_repo(validation)
t4 = time.perf_counter()
json.dump({
    "mode": mode, "load_seconds": t2 - t1, "validate_seconds": t3 - t2,
    "render_only_seconds": t4 - t3, "render_seconds": t4 - t1,
    "objects": sum(len(t.manifests) for t in targets),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **spent,
}, sys.stdout)
"""

FIGURES = (
    "render_seconds",
    "load_seconds",
    "validate_seconds",
    "render_only_seconds",
    "collector_seconds",
    "collections",
    "peak_rss_mb",
)


def child(mode: str, repo: Path) -> dict[str, float]:
    """One load + validate + render of ``repo`` in a fresh interpreter."""
    done = run([sys.executable, "-c", CHILD, mode, str(repo)], timeout=900)
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Alternate the two modes ``--runs`` times per repository; print the medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("repos", type=Path, nargs="+", help="generated repositories")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    for repo in args.repos:
        runs: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
        for _ in range(args.runs):
            for mode in runs:
                figures = child(mode, repo)
                runs[mode].append(figures)
                print(json.dumps({"repo": str(repo), **figures}), file=sys.stderr, flush=True)
        for mode, measured in runs.items():
            medians = {k: statistics.median(m[k] for m in measured) for k in FIGURES}
            print(json.dumps({"repo": str(repo), "mode": mode, "runs": len(measured), **medians}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
