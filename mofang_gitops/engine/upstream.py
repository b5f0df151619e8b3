"""Waiting for an upstream pipeline's run: what the ``wait-upstream`` step of a pipeline does.

A run scheduled at T of a pipeline with ``dependsOn`` waits for the upstream run scheduled at the
latest time at or before T that the upstream's cron fires, in the upstream's time zone (why this
runs in a pod rather than in an Argo expression: ``rendering.pipelines``). Cron and backfill runs
both carry ``mofang.io/pipeline`` and ``mofang.io/scheduled-time`` labels, so one LIST by label
finds either; a run created after we started waiting is seen on a later poll. Polling ends on the
first Succeeded run, on a finished run that did not succeed (when no other run for that time is
still going, e.g. a manual re-run), or at the dependency's timeout.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mofang_gitops.errors import ClusterError
from mofang_gitops.k8s.cluster import Cluster

log = logging.getLogger(__name__)

ARGO = "argoproj.io/v1alpha1"
PIPELINE_LABEL = "mofang.io/pipeline"
SCHEDULED_LABEL = "mofang.io/scheduled-time"
FAILED_PHASES = frozenset({"Failed", "Error"})


@dataclass(frozen=True)
class UpstreamRun:
    """Which upstream run a wait is for: pipeline, scheduled time, and the name Argo would give."""

    namespace: str
    pipeline: str
    scheduled: datetime
    expected_name: str
    """The cron run's name for that time, for messages when no run exists yet."""

    @property
    def selector(self) -> str:
        """Label selector of every run of the pipeline for that scheduled time."""
        unix = int(self.scheduled.timestamp())
        return f"{PIPELINE_LABEL}={self.pipeline},{SCHEDULED_LABEL}={unix}"

    def __str__(self) -> str:
        return f"{self.pipeline} run scheduled at {self.scheduled.isoformat()}"


@dataclass(frozen=True)
class WaitOutcome:
    """How a wait ended: ``succeeded`` and a sentence that names the upstream run."""

    succeeded: bool
    message: str


def wait_for_upstream(
    cluster: Cluster,
    run: UpstreamRun,
    *,
    timeout: float,
    interval: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> WaitOutcome:
    """Poll the upstream's runs for ``run.scheduled`` until one succeeded, all failed, or timeout.

    API errors while polling are logged and retried until the timeout: the API server being
    briefly away must not fail a pipeline run.
    """
    deadline = clock() + timeout
    last = "no such run yet"
    while True:
        try:
            runs = cluster.list(ARGO, "Workflow", [run.namespace], run.selector)
        except ClusterError as err:
            log.warning("%s: listing runs failed, retrying: %s", run, err)
            runs, last = [], f"cannot list runs: {err}"
        else:
            outcome = _decide(run, runs)
            if outcome is not None:
                return outcome
            if runs:
                last = "; ".join(
                    f"{r['metadata']['name']} is {_phase(r) or 'Pending'}" for r in runs
                )
        if clock() >= deadline:
            return WaitOutcome(
                False,
                f"upstream {run} ({_names(run, [])}) did not succeed within {timeout:.0f}s: {last}",
            )
        sleep(min(interval, max(deadline - clock(), 0.0)))


def _decide(run: UpstreamRun, runs: list[dict[str, Any]]) -> WaitOutcome | None:
    """Succeeded when any run did; failed when every run finished without success; else None."""
    names = _names(run, runs)
    if any(_phase(r) == "Succeeded" for r in runs):
        return WaitOutcome(True, f"upstream {run} ({names}) succeeded")
    if runs and all(_phase(r) in FAILED_PHASES for r in runs):
        phases = ", ".join(sorted({_phase(r) for r in runs}))
        return WaitOutcome(False, f"upstream {run} ({names}) ended {phases}")
    return None


def _phase(run: dict[str, Any]) -> str:
    return str((run.get("status") or {}).get("phase") or "")


def _names(run: UpstreamRun, runs: list[dict[str, Any]]) -> str:
    found = sorted(str(r["metadata"]["name"]) for r in runs)
    return ", ".join(found) if found else f"expected {run.expected_name}"
