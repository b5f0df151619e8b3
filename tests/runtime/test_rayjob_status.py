"""A rendered RayJob on the running cluster: the states KubeRay v1.5.0 really writes (issue 15).

kwok runs the Ray head, workers and the submitter Job's pod, but no Ray: the operator reads the
job's state from the Ray dashboard (``http://<head service>.<ns>.svc.cluster.local:8265``),
which does not exist here. So a RayJob can never *succeed* on this cluster: once the submitter
pod has finished, KubeRay waits 30 s for the dashboard to report a final state, then fails the
attempt ("did not reach terminal state", ``DefaultSubmitterFinishedTimeout`` in
controllers/ray/rayjob_controller.go), and retries while ``backoffLimit`` allows. What *is* real:
Initializing, Running, the retry, the final failure, and a failed submission. Each state seen is
judged by the health rule and by the pipeline step's conditions (Argo's own code), which must
agree; ``MOFANG_RECORD_STATUS=1`` stores them in tests/testdata/status/.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.health import Health, Related, judge
from mofang_gitops.rendering.pipeline_dag import RUN_CONDITIONS
from tests.runtime import example
from tests.runtime.argo_conditions import evaluate
from tests.runtime.kube import create, eventually, get
from tests.runtime.recording import record, trimmed

FAIL = {"kwok.mofang.io/fail-after": "2s", "kwok.mofang.io/exit-code": "1"}
STEP = {Health.HEALTHY: "succeeded", Health.DEGRADED: "failed", Health.PROGRESSING: "waiting"}
"""What a pipeline step must do while the training has each health."""


def _state(document: dict[str, Any]) -> tuple[str, str]:
    status = document.get("status") or {}
    return str(status.get("jobDeploymentStatus") or ""), str(status.get("jobStatus") or "")


def _watch(plane: ControlPlane, path: str, timeout: float) -> list[dict[str, Any]]:
    """Every distinct (jobDeploymentStatus, jobStatus) the RayJob passes through, until final."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}

    def final() -> bool:
        document = get(plane, path)
        seen.setdefault(_state(document), document)
        return _state(document)[0] in ("Complete", "Failed", "ValidationFailed")

    eventually(f"{path} to finish", final, timeout, interval=0.2)
    return list(seen.values())


def _judged(argo_conditions: Path, tmp_path: Path, document: dict[str, Any]) -> tuple[Health, str]:
    """The health rule's verdict, after checking the step's conditions agree with it."""
    verdict = judge("ray.io", "RayJob", document, Related())
    path = tmp_path / "rayjob.json"
    path.write_text(json.dumps(trimmed(document)))
    success, failure = RUN_CONDITIONS[("ray.io/v1", "RayJob")]
    step = evaluate(argo_conditions, success, failure, path)[0]
    assert step == STEP[verdict.health], (_state(document), verdict, step)
    return verdict.health, verdict.reason


def test_a_rendered_rayjob_runs_retries_and_fails_without_a_ray_dashboard(
    running_cluster: RunningCluster, argo_conditions: Path, tmp_path: Path
) -> None:
    if "ray-operator" not in running_cluster.runtime.pids:
        pytest.skip(
            running_cluster.runtime.skipped.get(
                "ray-operator", "ray-operator not selected (MOFANG_RUNTIME_OPTIONAL)"
            )
        )
    plane = running_cluster.plane
    example.apply(plane, "dev", "nlp")
    (job,) = example.rendered("dev", "nlp", "RayJob")
    assert job["spec"]["backoffLimit"] == 1, "the example's RayJob retries once"
    path = f"/apis/ray.io/v1/namespaces/nlp-dev/rayjobs/{job['metadata']['name']}"
    seen = _watch(plane, path, 400)
    states = [_state(d) for d in seen]
    verdicts = [_judged(argo_conditions, tmp_path, d) for d in seen]
    assert ("Initializing", "") in states
    assert ("Running", "") in states
    deployment, ray = states[-1]
    assert (deployment, ray) == ("Failed", "FAILED")
    last = seen[-1]["status"]
    assert last["reason"] == "JobDeploymentStatusTransitionGracePeriodExceeded"
    assert last["failed"] == 2, "one retry, then the final failure"
    assert verdicts[-1][0] is Health.DEGRADED
    assert all(health is Health.PROGRESSING for health, _ in verdicts[:-1]), verdicts
    for document, (health, reason) in zip(seen, verdicts, strict=True):
        name = {
            ("Initializing", ""): "rayjob-initializing",
            ("Running", ""): "rayjob-running",
            ("Retrying", "FAILED"): "rayjob-retrying",
            ("Failed", "FAILED"): "rayjob-failed",
        }.get(_state(document))
        if name:
            record(__file__, name, document, f"{health.value} {reason}")


def test_a_rayjob_whose_submitter_pod_fails_is_failed_and_fails_its_step(
    running_cluster: RunningCluster, argo_conditions: Path, tmp_path: Path
) -> None:
    if "ray-operator" not in running_cluster.runtime.pids:
        pytest.skip(
            running_cluster.runtime.skipped.get(
                "ray-operator", "ray-operator not selected (MOFANG_RUNTIME_OPTIONAL)"
            )
        )
    plane = running_cluster.plane
    example.apply(plane, "dev", "nlp")
    (job,) = example.rendered("dev", "nlp", "RayJob")
    job["metadata"] = {"name": "submit-fails", "labels": job["metadata"]["labels"]}
    spec = job["spec"]
    spec["backoffLimit"] = 0
    spec["submitterConfig"] = {"backoffLimit": 0}
    spec["submitterPodTemplate"]["metadata"]["annotations"].update(FAIL)
    # No workers: the first RayJob keeps its GPUs (its cluster lives ttlSecondsAfterFinished),
    # and the project's GPU quota has no room for a second set.
    for group in spec["rayClusterSpec"]["workerGroupSpecs"]:
        group.update(replicas=0, minReplicas=0)
    create(plane, "/apis/ray.io/v1/namespaces/nlp-dev/rayjobs", job)
    seen = _watch(plane, "/apis/ray.io/v1/namespaces/nlp-dev/rayjobs/submit-fails", 300)
    last = seen[-1]
    assert _state(last)[0] == "Failed"
    assert last["status"]["reason"] == "SubmissionFailed"
    health, reason = _judged(argo_conditions, tmp_path, last)
    assert health is Health.DEGRADED
    record(__file__, "rayjob-submission-failed", last, f"{health.value} {reason}")
