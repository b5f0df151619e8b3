"""A rendered pipeline on Argo's real workflow-controller (v4.0.5), with kwok playing the pods.

What runs here: the example's ``recsys`` project applied as users apply it; its CronWorkflow
(schedule switched to every minute, so the test need not wait for 03:30 Shanghai) makes a
Workflow from the rendered WorkflowTemplate; the controller creates each step's pod, the
``volcano`` profile of kube-scheduler places it on a ``cpu-general`` node, kwok runs it to
Succeeded. What does not: argoexec. kwok plays pod phases and never executes a container, so

- a step's node is marked Succeeded from the pod's phase alone: Argo v4.0.5 starts every pod
  node with ``taskResultSynced: true`` (workflow/controller/operator.go ``initializeNode``,
  lines 2884-2887) and sets it false only when a WorkflowTaskResult labelled
  ``workflows.argoproj.io/report-outputs-completed=false`` appears (taskresult.go
  ``taskResultReconciliation``, lines 88-100), which only argoexec writes; with none,
  ``IsTaskResultIncomplete`` is false and ``podReconciliation`` takes the pod's phase
  (operator.go lines 1196-1217, ``assessNodeStatus`` 1415-1425);
- a resource step (a training) creates nothing: ``argoexec resource`` would create the manifest
  and poll its successCondition/failureCondition, so on kwok the step just "succeeds" when its
  pod does. The second test plays argoexec's part: it takes the manifest and conditions Argo
  handed to the step's pod (``ARGO_TEMPLATE``), creates the manifest, lets the real training
  operator run it and decides the step with Argo's own condition code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane, api_call
from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.health import Health, Related, judge
from mofang_gitops.yamlio import load_manifest
from tests.runtime import example
from tests.runtime.argo_conditions import evaluate
from tests.runtime.kube import condition, create, eventually, get, node_group
from tests.runtime.recording import record, trimmed

NS = "recsys-dev"
ARGO = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}"
CRON_LABEL = "workflows.argoproj.io/cron-workflow"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
DONE = ("Succeeded", "Failed", "Error")
FAIL = {"kwok.mofang.io/fail-after": "2s", "kwok.mofang.io/exit-code": "1"}


def _patch(plane: ControlPlane, path: str, body: dict[str, Any]) -> None:
    status, answer = api_call(
        plane,
        "PATCH",
        path,
        json.dumps(body).encode(),
        content_type="application/merge-patch+json",
    )
    assert status == 200, (path, status, answer)


def _items(plane: ControlPlane, path: str, selector: str = "") -> list[dict[str, Any]]:
    query = f"?labelSelector={quote(selector)}" if selector else ""
    return list(get(plane, path + query).get("items") or [])


@dataclass(frozen=True)
class CronRun:
    """One Workflow the rendered CronWorkflow made, finished, and what was seen on the way."""

    cron: dict[str, Any]
    running: dict[str, Any]
    workflow: dict[str, Any]
    pods: list[dict[str, Any]]


def run_cron_once(plane: ControlPlane) -> CronRun:
    """Apply the example's recsys project, let its CronWorkflow fire once, wait for the run."""
    example.apply(plane, "dev", "recsys")
    (cron,) = example.rendered("dev", "recsys", "CronWorkflow")
    name = cron["metadata"]["name"]
    every_minute = {"spec": {"schedules": ["* * * * *"], "suspend": False}}
    _patch(plane, f"{ARGO}/cronworkflows/{name}", every_minute)
    first = eventually(
        f"CronWorkflow {name} to create a Workflow",
        lambda: _items(plane, f"{ARGO}/workflows", f"{CRON_LABEL}={name}"),
        150,
        interval=1,
    )[0]
    path = f"{ARGO}/workflows/{first['metadata']['name']}"
    seen: list[dict[str, Any]] = []

    def finished() -> dict[str, Any] | None:
        document = get(plane, path)
        seen.append(document)
        phase = (document.get("status") or {}).get("phase")
        return document if phase in DONE else None

    workflow = eventually(f"Workflow {path} to finish", finished, 300, interval=1)
    # Forbid only keeps runs from overlapping: suspend before the next minute makes another.
    cron_now = get(plane, f"{ARGO}/cronworkflows/{name}")
    _patch(plane, f"{ARGO}/cronworkflows/{name}", {"spec": {"suspend": True}})
    running = next(d for d in seen if (d.get("status") or {}).get("phase") == "Running")
    run = workflow["metadata"]["name"]
    pods = _items(plane, f"/api/v1/namespaces/{NS}/pods", f"{WORKFLOW_LABEL}={run}")
    return CronRun(cron=cron_now, running=running, workflow=workflow, pods=pods)


@pytest.fixture(scope="module")
def cron_run(running_cluster: RunningCluster) -> CronRun:
    if "workflow-controller" not in running_cluster.runtime.pids:
        skipped = running_cluster.runtime.skipped
        pytest.skip(
            skipped.get(
                "workflow-controller", "workflow-controller not selected (MOFANG_RUNTIME_OPTIONAL)"
            )
        )
    return run_cron_once(running_cluster.plane)


def test_a_rendered_cronworkflow_creates_a_workflow_whose_steps_run_to_succeeded(
    running_cluster: RunningCluster, cron_run: CronRun
) -> None:
    plane = running_cluster.plane
    status = cron_run.workflow["status"]
    assert status["phase"] == "Succeeded", status.get("message")
    nodes = [n for n in status["nodes"].values() if n["type"] == "Pod"]
    assert sorted(n["templateName"] for n in nodes) == [
        "step-join-samples",
        "step-publish",
        "step-train",
    ]
    # Succeeded on the pod's phase alone: every task result counts as synced, and none exists.
    assert all(n["phase"] == "Succeeded" for n in nodes), nodes
    assert all(n.get("taskResultSynced") is True for n in nodes), nodes
    assert _items(plane, f"{ARGO}/workflowtaskresults") == []
    assert len(cron_run.pods) == 3
    for pod in cron_run.pods:
        assert pod["status"]["phase"] == "Succeeded"
        assert pod["spec"]["schedulerName"] == "volcano"
        assert node_group(plane, pod["spec"]["nodeName"]) == "cpu-general"
    # The training step's pod "succeeded" without creating its XGBoostJob: no argoexec here.
    run = cron_run.workflow["metadata"]["name"]
    jobs = f"/apis/kubeflow.org/v1/namespaces/{NS}/xgboostjobs"
    assert _items(plane, jobs, f"{WORKFLOW_LABEL}={run}") == []


def test_the_health_rules_read_the_real_workflow_and_cronworkflow_status(
    cron_run: CronRun,
) -> None:
    running = judge("argoproj.io", "Workflow", cron_run.running, Related())
    assert running.health is Health.PROGRESSING
    done = judge("argoproj.io", "Workflow", cron_run.workflow, Related())
    assert (done.health, done.reason) == (Health.HEALTHY, "Succeeded")
    assert done.started_at and done.finished_at
    cron = judge(
        "argoproj.io", "CronWorkflow", cron_run.cron, Related(workflows=[cron_run.workflow])
    )
    run = cron_run.workflow["metadata"]["name"]
    assert (cron.health, cron.reason) == (Health.HEALTHY, f"scheduled; last run {run} Succeeded")
    assert [r.phase for r in cron.runs] == ["Succeeded"]
    running_line = f"{running.health.value} {running.reason}"
    record(__file__, "workflow-running", cron_run.running, running_line)
    record(__file__, "workflow-succeeded", cron_run.workflow, f"{done.health.value} {done.reason}")
    record(
        __file__,
        "cronworkflow-scheduled",
        cron_run.cron,
        f"{cron.health.value} {cron.reason}",
        {"workflows": [cron_run.workflow]},
    )


def _step_template(pod: dict[str, Any]) -> dict[str, Any]:
    for container in pod["spec"].get("initContainers", []) + pod["spec"]["containers"]:
        for env in container.get("env", []):
            if env["name"] == "ARGO_TEMPLATE":
                return dict(json.loads(env["value"]))
    raise AssertionError(f"pod {pod['metadata']['name']} carries no ARGO_TEMPLATE")


@pytest.mark.parametrize("outcome", ["succeeded", "failed"])
def test_the_training_steps_manifest_runs_on_the_operator_and_argo_decides_the_step(
    running_cluster: RunningCluster,
    cron_run: CronRun,
    argo_conditions: Path,
    tmp_path: Path,
    outcome: str,
) -> None:
    plane = running_cluster.plane
    (pod,) = [p for p in cron_run.pods if "-step-train-" in p["metadata"]["name"]]
    resource = _step_template(pod)["resource"]
    manifest = load_manifest(resource["manifest"])
    run = cron_run.workflow["metadata"]["name"]
    assert manifest["kind"] == "XGBoostJob"
    assert manifest["metadata"]["generateName"] == f"{run}-train-"
    assert manifest["metadata"]["labels"][WORKFLOW_LABEL] == run
    if outcome == "failed":
        for replica in manifest["spec"]["xgbReplicaSpecs"].values():
            replica["template"]["metadata"]["annotations"].update(FAIL)
    # As argoexec does with setOwnerReference: the run object goes when the Workflow goes.
    workflow = cron_run.workflow["metadata"]
    manifest["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Workflow",
            "name": workflow["name"],
            "uid": workflow["uid"],
            "blockOwnerDeletion": True,
        }
    ]
    jobs = f"/apis/kubeflow.org/v1/namespaces/{NS}/xgboostjobs"
    created = create(plane, jobs, manifest)
    path = f"{jobs}/{created['metadata']['name']}"
    wanted = "Succeeded" if outcome == "succeeded" else "Failed"

    def ended() -> dict[str, Any] | None:
        document = get(plane, path)
        return document if condition(document, wanted) == "True" else None

    document = eventually(f"{path} to be {wanted}", ended, 300, interval=1)
    saved = tmp_path / "job.json"
    saved.write_text(json.dumps(trimmed(document)))
    step = evaluate(
        argo_conditions, resource["successCondition"], resource["failureCondition"], saved
    )
    assert step == [outcome]
