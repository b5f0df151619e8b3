"""Each health rule on status documents as the operators write them (tests/testdata/status/).

Every YAML document states what it must give on its first line (``# expect: <Health> <reason>``);
``pods``, ``events``, ``workflows`` and ``url`` beside the object are what ``status`` would
have listed around it. The JSON documents were recorded by tests/runtime/test_job_status.py
(issue 15) and carry no expectation line: theirs are in ``RECORDED_JOBS``. Kubeflow jobs are
judged on recorded documents only (``test_kubeflow_jobs_are_judged_on_recorded_documents_only``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.health import Health, Related, judge
from mofang_gitops.manifests import api_group
from mofang_gitops.yamlio import load_manifest

STATUS = Path(__file__).parents[1] / "testdata" / "status"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
KUBEFLOW_JOBS = ("MPIJob", "PyTorchJob", "TFJob", "XGBoostJob")
BACKOFF = "Failed: Job failed has failed because it has reached the specified backoff limit"
RECORDED_JOBS = {
    "mpijob-failed": (Health.DEGRADED, "Failed: Job has reached the specified backoff limit:"),
    "mpijob-succeeded": (Health.HEALTHY, "Succeeded"),
    "pytorchjob-failed": (Health.DEGRADED, BACKOFF),
    "pytorchjob-succeeded": (Health.HEALTHY, "Succeeded"),
    "tfjob-failed": (Health.DEGRADED, BACKOFF),
    "tfjob-succeeded": (Health.HEALTHY, "Succeeded"),
    "xgboostjob-failed": (Health.DEGRADED, BACKOFF),
    "xgboostjob-succeeded": (Health.HEALTHY, "Succeeded"),
}
"""What the JSON job documents must give (the operators' own messages, one line)."""


def _json_jobs() -> list[Path]:
    return [
        p
        for p in sorted(STATUS.glob("*.json"))
        if json.loads(p.read_text()).get("kind") in KUBEFLOW_JOBS
    ]


def _case(path: Path) -> tuple[dict[str, Any], Related, Health, str]:
    text = path.read_text()
    expect = text.splitlines()[0].removeprefix("# expect: ")
    health, _, reason = expect.partition(" ")
    doc = load_manifest(text)
    assert isinstance(doc, dict)
    related = Related(
        pods=doc.pop("pods", ()),
        events=doc.pop("events", ()),
        workflows=doc.pop("workflows", ()),
        url=doc.pop("url", ""),
        groups={"gpu-a100": {"mofang.io/resource-group": "gpu-a100"}},
        now=NOW,
    )
    return doc, related, Health(health), reason


@pytest.mark.parametrize("path", sorted(STATUS.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_recorded_status_gives_its_expected_health_and_reason(path: Path) -> None:
    obj, related, health, reason = _case(path)
    verdict = judge(api_group(obj["apiVersion"]), obj["kind"], obj, related)
    assert (verdict.health, verdict.reason) == (health, reason)


@pytest.mark.parametrize("path", _json_jobs(), ids=lambda p: p.stem)
def test_each_job_recorded_by_the_runtime_tests_gives_its_health(path: Path) -> None:
    obj = json.loads(path.read_text())
    assert path.stem in RECORDED_JOBS, f"{path.name}: add its expected health to RECORDED_JOBS"
    verdict = judge("kubeflow.org", obj["kind"], obj, Related(now=NOW), run=True)
    assert (verdict.health, verdict.reason) == RECORDED_JOBS[path.stem]
    assert verdict.phase == ("Succeeded" if verdict.health is Health.HEALTHY else "Failed")


def test_kubeflow_jobs_are_judged_on_recorded_documents_only() -> None:
    outcomes: dict[str, set[str]] = {kind: set() for kind in KUBEFLOW_JOBS}
    for path in _json_jobs():
        obj = json.loads(path.read_text())
        outcomes[obj["kind"]].add(path.stem.rsplit("-", 1)[1])
    assert all(found == {"succeeded", "failed"} for found in outcomes.values()), outcomes
    for path in sorted(STATUS.glob("*.yaml")):
        text = path.read_text()
        if load_manifest(text).get("kind") in KUBEFLOW_JOBS:
            assert "# recorded live by " in text.splitlines()[1], f"{path.name} is hand-written"


def test_a_finished_training_is_never_progressing_whatever_its_pods_say() -> None:
    obj = json.loads((STATUS / "pytorchjob-succeeded.json").read_text())
    stuck = {"metadata": {"name": "x-worker-0"}, "status": {"phase": "Failed"}}
    verdict = judge("kubeflow.org", "PyTorchJob", obj, Related(pods=[stuck], now=NOW))
    assert verdict.health is Health.HEALTHY


def test_a_ready_notebook_carries_its_url_and_where_its_pod_runs() -> None:
    obj, related, _, _ = _case(STATUS / "statefulset-ready.yaml")
    verdict = judge("apps", "StatefulSet", obj, related)
    assert verdict.url == "https://ml.example.com/notebook/vision/bob-pytorch/"
    (pod,) = verdict.pods
    assert (pod.node, pod.resource_group, pod.ready) == ("gpu-a100-1", "gpu-a100", True)
    assert pod.duration_seconds == 1200.0


def test_a_pipeline_lists_its_last_runs_newest_first_and_its_next_times_in_its_zone() -> None:
    obj, related, _, _ = _case(STATUS / "cronworkflow-last-failed.yaml")
    verdict = judge("argoproj.io", "CronWorkflow", obj, related)
    assert [r.phase for r in verdict.runs] == ["Failed", "Succeeded"]
    assert verdict.next_runs[0] == "2026-12-01T03:30:00+08:00"
    assert len(verdict.next_runs) == 3


def test_an_experiment_reports_its_best_trial_metrics() -> None:
    obj, related, _, _ = _case(STATUS / "experiment-running.yaml")
    details = dict(judge("kubeflow.org", "Experiment", obj, related).details)
    assert details["best"] == "resnet50-51c3ec-x7k2 accuracy=0.91"


def test_an_object_that_is_not_there_is_missing_and_a_one_shot_says_it_may_have_finished() -> None:
    assert judge("apps", "StatefulSet", None, Related()).health is Health.MISSING
    run = judge("kubeflow.org", "TFJob", None, Related(), run=True)
    assert "finished" in run.reason


def test_a_status_of_an_unexpected_shape_is_unknown_not_a_crash() -> None:
    obj = {"metadata": {"name": "x"}, "spec": {"replicas": "many"}}
    assert judge("apps", "StatefulSet", obj, Related()).health is Health.UNKNOWN


def test_a_ready_tensorboard_carries_its_url() -> None:
    obj, related, _, _ = _case(STATUS / "deployment-tensorboard-ready.yaml")
    verdict = judge("apps", "Deployment", obj, related)
    assert verdict.url == "https://ml.example.com/tensorboard/vision/resnet50/"
    obj, related, _, _ = _case(STATUS / "deployment-tensorboard-starting.yaml")
    assert judge("apps", "Deployment", obj, related).url == ""


def test_a_ready_notebook_is_progressing_until_its_controller_has_rolled_out_the_change() -> None:
    # Right after apply changes a running notebook, its status still describes the old pod:
    # readyReplicas 1, observedGeneration behind. `apply --wait` must not end on it.
    obj, related, _, _ = _case(STATUS / "statefulset-ready.yaml")
    obj["metadata"]["generation"] = 2
    obj["status"] |= {"observedGeneration": 1, "currentRevision": "a", "updateRevision": "a"}
    verdict = judge("apps", "StatefulSet", obj, related)
    assert verdict.health is Health.PROGRESSING
    assert verdict.reason == "change not yet seen by the controller (generation 2, seen 1)"
    obj["status"] |= {"observedGeneration": 2, "updateRevision": "b", "updatedReplicas": 0}
    verdict = judge("apps", "StatefulSet", obj, related)
    assert (verdict.health, verdict.reason) == (
        Health.PROGRESSING,
        "rolling out: 0/1 pods on the new spec",
    )
    obj["status"] |= {"currentRevision": "b", "updatedReplicas": 1}
    assert judge("apps", "StatefulSet", obj, related).health is Health.HEALTHY


def test_a_job_with_a_pod_running_and_another_refused_is_degraded_by_the_refusal() -> None:
    """The refusal counts while a job has fewer pods than its replica specs ask for."""
    obj, related, _, _ = _case(STATUS / "pytorchjob-quota.yaml")
    running_pod = {"metadata": {"name": "w-0"}, "status": {"phase": "Running"}}
    worker = {"replicas": 1, "template": {}}
    obj["spec"]["pytorchReplicaSpecs"]["Worker"] = worker
    obj["status"] = {"conditions": [{"type": "Running", "status": "True"}]}
    missing_one = replace(related, pods=(running_pod,))
    verdict = judge("kubeflow.org", "PyTorchJob", obj, missing_one)
    assert verdict.health is Health.DEGRADED and verdict.reason.startswith("refused by quota: ")
    all_there = replace(related, pods=(running_pod, {**running_pod, "metadata": {"name": "m-0"}}))
    verdict = judge("kubeflow.org", "PyTorchJob", obj, all_there)
    assert (verdict.health, verdict.reason) == (Health.PROGRESSING, "Running (2 pods)")
