"""Argo's own evaluation of a resource step's successCondition/failureCondition, for tests.

A Python re-implementation would only prove itself. ``tests/testdata/argo-conditions`` is the
loop of argo-workflows v4's executor (``matchConditions``) over the very libraries Argo v4.0.5
pins (k8s.io/apimachinery v0.33.1 ``labels.Parse``, tidwall/gjson v1.18.0), built once per
session with Go from the same module cache as ``scripts/runtime-binaries``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "testdata" / "argo-conditions"


def build(target: Path) -> Path | str:
    """Build the evaluator into ``target``; return it, or why it cannot be built."""
    go = shutil.which("go")
    if go is None:
        return "go is not installed"
    cache = Path(os.environ.get("MOFANG_CACHE_DIR") or Path.home() / ".cache" / "mofang-gitops")
    env = {
        **os.environ,
        "GOMODCACHE": str(cache / "gomod"),
        "GOCACHE": str(cache / "gocache"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=mod",
    }
    result = subprocess.run(
        [go, "build", "-o", str(target), "."],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return target if result.returncode == 0 else f"go build failed: {result.stderr[-2000:]}"


def evaluate(binary: Path, success: str, failure: str, *documents: Path) -> list[str]:
    """Return "succeeded", "failed" or "waiting" per document, as Argo's executor decides."""
    result = subprocess.run(
        [str(binary), success, failure, *map(str, documents)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.split()
