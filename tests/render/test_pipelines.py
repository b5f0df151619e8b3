"""Pipelines render into Argo WorkflowTemplates, CronWorkflows, backfill runs and a semaphore."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from mofang_gitops.manifests import Manifest, RenderedTarget
from mofang_gitops.models.workloads import Schedule
from mofang_gitops.rendering import render_repo
from mofang_gitops.rendering.pipeline_dag import RUN_CONDITIONS
from mofang_gitops.rendering.pipeline_executor import EXECUTOR_ACCOUNT
from mofang_gitops.rendering.pipeline_runs import (
    backfill_name,
    cron_name,
    rfc3339,
    scheduled_time,
)
from mofang_gitops.yamlio import load_manifest
from tests.scenarios import build_repo, validate_dir

DEPS = "render-pipeline-deps"
PIPELINE_FILE = "projects/vision/pipelines/daily-features.yaml"
SCHEDULED = "{{workflow.scheduledTime}}"


def _render(
    tmp_path: Path, scenario: str | None = DEPS, files: dict[str, str] | None = None
) -> list[RenderedTarget]:
    root = build_repo(tmp_path, scenario)
    for relative, text in (files or {}).items():
        (root / relative).write_text(text)
    validation = validate_dir(root)
    assert validation.errors == [], "\n".join(str(p) for p in validation.errors)
    return render_repo(validation)


def _manifests(targets: list[RenderedTarget], source: str) -> list[Manifest]:
    return [m for t in targets for m in t.manifests if m.source == source]


def _pipeline(targets: list[RenderedTarget], name: str = "daily-features") -> list[Manifest]:
    return _manifests(targets, f"Pipeline.{name}")


def _one(manifests: Sequence[Manifest], kind: str) -> dict[str, Any]:
    found = [m.body for m in manifests if m.ref.kind == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def _templates(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in template["spec"]["templates"]}


def _dag(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in _templates(template)["main"]["dag"]["tasks"]}


def _pipeline_yaml(**spec: str) -> str:
    fields = {
        "schedule": '{cron: "0 2 * * *", timezone: Asia/Shanghai}',
        "tasks": "[{name: extract, image: registry.example.com/vision/etl:2, command: [python]}]",
        **spec,
    }
    body = "\n".join(f"  {key}: {value}" for key, value in fields.items() if value)
    return (
        "apiVersion: mofang.io/v1alpha1\nkind: Pipeline\nmetadata: {name: daily-features}\n"
        f"spec:\n{body}\n"
    )


def _walk(value: Any) -> list[Any]:
    found = [value]
    if isinstance(value, dict):
        for key, item in value.items():
            found += [key, *_walk(item)]
    elif isinstance(value, list):
        for item in value:
            found += _walk(item)
    return found


def test_pipeline_objects_match_snapshot(tmp_path: Path, snapshot: Any) -> None:
    targets = _render(tmp_path)
    executor = [m for t in targets for m in t.manifests if m.ref.name.startswith(EXECUTOR_ACCOUNT)]
    manifests = executor + _pipeline(targets, "raw-ingest") + _pipeline(targets)
    assert "---\n".join(m.text for m in manifests) == snapshot


def test_a_scheduled_pipeline_renders_semaphore_template_cron_and_backfill_runs(
    tmp_path: Path,
) -> None:
    kinds = [m.ref.kind for m in _pipeline(_render(tmp_path))]
    assert kinds == ["ConfigMap", "WorkflowTemplate", "CronWorkflow"] + ["Workflow"] * 3


def test_rendering_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first = [m.text for t in _render(tmp_path / "a") for m in t.manifests]
    second = [m.text for t in _render(tmp_path / "b") for m in t.manifests]
    assert first == second


def test_backfill_yields_exactly_one_workflow_per_date(tmp_path: Path) -> None:
    schedule = (
        '{cron: "30 */6 * * *", timezone: UTC, backfill: {from: "2026-10-30", to: "2026-11-02"}}'
    )
    files = {PIPELINE_FILE: _pipeline_yaml(schedule=schedule)}
    runs = [m for m in _pipeline(_render(tmp_path, None, files)) if m.ref.kind == "Workflow"]
    assert [m.ref.name for m in runs] == [
        "daily-features-backfill-20261030",
        "daily-features-backfill-20261031",
        "daily-features-backfill-20261101",
        "daily-features-backfill-20261102",
    ]
    assert all(m.is_run for m in runs)
    first = runs[0].body
    assert first["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"] == (
        "2026-10-30T00:30:00Z"
    )
    assert first["metadata"]["labels"]["mofang.io/scheduled-time"] == "1793320200"
    assert first["spec"] == {"workflowTemplateRef": {"name": "daily-features"}, "priority": -1}
    assert [m.body["spec"]["priority"] for m in runs] == [-1, -2, -3, -4]


def test_scheduled_time_placeholder_reaches_the_manifest_unchanged(tmp_path: Path) -> None:
    manifests = _pipeline(_render(tmp_path))
    template = _one(manifests, "WorkflowTemplate")
    container = _templates(template)["step-extract"]["container"]
    assert container["command"] == ["python", "extract.py", SCHEDULED]
    assert f'"{SCHEDULED}"' in next(m.text for m in manifests if m.ref.kind == "WorkflowTemplate")


def test_step_strings_are_data_never_keys_or_jinja(tmp_path: Path) -> None:
    command = '[python, "x\\n  hostNetwork: true", "{{ 7 * 7 }}", "{% raw %}"]'
    tasks = f"[{{name: extract, image: registry.example.com/vision/etl:2, command: {command}}}]"
    files = {PIPELINE_FILE: _pipeline_yaml(tasks=tasks)}
    template = _one(_pipeline(_render(tmp_path, None, files)), "WorkflowTemplate")
    container = _templates(template)["step-extract"]["container"]
    assert container["command"] == ["python", "x\n  hostNetwork: true", "{{ 7 * 7 }}", "{% raw %}"]
    assert "hostNetwork" not in _walk(template)
    assert "49" not in json.dumps(template)


def test_concurrency_is_one_semaphore_for_cron_and_backfill_runs(tmp_path: Path) -> None:
    manifests = _pipeline(_render(tmp_path))
    semaphore = _one(manifests, "ConfigMap")
    assert semaphore["metadata"]["name"] == "daily-features-semaphore"
    assert semaphore["data"] == {"limit": "1"}
    template = _one(manifests, "WorkflowTemplate")
    assert template["spec"]["synchronization"] == {
        "semaphores": [{"configMapKeyRef": {"name": "daily-features-semaphore", "key": "limit"}}]
    }
    cron = _one(manifests, "CronWorkflow")
    refs = [cron["spec"]["workflowSpec"]] + [m.body["spec"] for m in manifests if m.is_run]
    # Runs take the template's semaphore by reference and never override it.
    assert all(r["workflowTemplateRef"] == {"name": "daily-features"} for r in refs)
    assert not any("synchronization" in r for r in refs)


def test_cron_workflow_carries_schedule_timezone_policy_and_deadline(tmp_path: Path) -> None:
    targets = _render(tmp_path)
    cron = _one(_pipeline(targets), "CronWorkflow")["spec"]
    assert cron["schedules"] == ["0 2 * * *"]
    assert cron["timezone"] == "Asia/Shanghai"
    assert cron["concurrencyPolicy"] == "Forbid"
    assert cron["startingDeadlineSeconds"] == 3600
    assert cron["suspend"] is False
    assert cron["workflowMetadata"] == {"labels": {"mofang.io/pipeline": "daily-features"}}
    upstream = _one(_pipeline(targets, "raw-ingest"), "CronWorkflow")["spec"]
    assert upstream["concurrencyPolicy"] == "Allow"
    assert "startingDeadlineSeconds" not in upstream


def test_every_run_is_labelled_with_pipeline_and_scheduled_time(tmp_path: Path) -> None:
    template = _one(_pipeline(_render(tmp_path)), "WorkflowTemplate")
    metadata = template["spec"]["workflowMetadata"]
    assert metadata["labels"] == {"mofang.io/pipeline": "daily-features"}
    expression = metadata["labelsFrom"]["mofang.io/scheduled-time"]["expression"]
    assert "sprig.unixEpoch(sprig.toDate(" in expression
    assert "workflow.scheduledTime" in expression


def test_dependent_run_first_waits_for_the_upstream_run_of_the_same_time(tmp_path: Path) -> None:
    manifests = _pipeline(_render(tmp_path))
    template = _one(manifests, "WorkflowTemplate")
    tasks = _dag(template)
    assert list(tasks) == ["wait-raw-ingest", "extract", "train"]
    assert tasks["extract"]["dependencies"] == ["wait-raw-ingest"]
    assert tasks["train"]["dependencies"] == ["extract"]
    run = tasks["wait-raw-ingest"]["arguments"]["parameters"][0]
    assert run["name"] == "run"
    assert run["value"].startswith("{{=workflow.parameters['after-raw-ingest'] != ''")
    assert "'raw-ingest-' + sprig.unixEpoch(" in run["value"]
    wait = _templates(template)["wait-for-run"]
    assert wait["resource"]["action"] == "get"
    assert wait["resource"]["successCondition"] == "status.phase == Succeeded"
    assert json.loads(wait["resource"]["manifest"])["metadata"] == {
        "name": "{{inputs.parameters.run}}"
    }
    assert template["spec"]["arguments"]["parameters"] == [
        {"name": "after-raw-ingest", "value": ""}
    ]


def test_backfill_runs_name_the_upstream_run_they_wait_for(tmp_path: Path) -> None:
    runs = [m.body for m in _pipeline(_render(tmp_path)) if m.ref.kind == "Workflow"]
    waited = [r["spec"]["arguments"]["parameters"] for r in runs]
    # raw-ingest backfills 11-01 and 11-02 itself; for 11-03 only its cron run can exist.
    assert waited == [
        [{"name": "after-raw-ingest", "value": "raw-ingest-backfill-20261101"}],
        [{"name": "after-raw-ingest", "value": "raw-ingest-backfill-20261102"}],
        [{"name": "after-raw-ingest", "value": "raw-ingest-1793642400"}],
    ]
    assert runs[2]["metadata"]["labels"]["mofang.io/scheduled-time"] == "1793642400"


def test_container_step_is_placed_like_every_workload_pod(tmp_path: Path) -> None:
    template = _one(_pipeline(_render(tmp_path)), "WorkflowTemplate")
    assert template["spec"]["serviceAccountName"] == "mofang-workload"
    assert template["spec"]["executor"] == {"serviceAccountName": EXECUTOR_ACCOUNT}
    step = _templates(template)["step-extract"]
    assert step["schedulerName"] == "volcano"
    assert step["metadata"]["annotations"] == {"scheduling.volcano.sh/queue-name": "vision"}
    assert step["nodeSelector"] == {"mofang.io/resource-group": "cpu-general"}
    assert step["container"]["resources"] == {
        "requests": {"cpu": "2", "memory": "4Gi"},
        "limits": {"memory": "4Gi"},
    }
    assert [v["persistentVolumeClaim"]["claimName"] for v in step["volumes"]] == [
        "project",
        "global",
    ]
    # Argo's own pods (resource steps, waits) are placed too: Volcano, queue, a CPU group.
    spec = template["spec"]
    assert spec["schedulerName"] == "volcano"
    assert spec["podMetadata"]["annotations"] == {"scheduling.volcano.sh/queue-name": "vision"}
    assert spec["nodeSelector"] == {"mofang.io/resource-group": "cpu-general"}


def test_retry_strategy_doubles_the_backoff(tmp_path: Path) -> None:
    template = _one(_pipeline(_render(tmp_path)), "WorkflowTemplate")
    for name in ("step-extract", "step-train"):
        assert _templates(template)[name]["retryStrategy"] == {
            "limit": 3,
            "retryPolicy": "Always",
            "backoff": {"duration": "300s", "factor": 2},
        }
    upstream = _one(_pipeline(_render(tmp_path / "again"), "raw-ingest"), "WorkflowTemplate")
    assert "retryStrategy" not in _templates(upstream)["step-ingest"]


def test_training_step_creates_the_trainings_own_job_per_run(tmp_path: Path) -> None:
    targets = _render(tmp_path)
    step = _templates(_one(_pipeline(targets), "WorkflowTemplate"))["step-train"]["resource"]
    assert step["action"] == "create"
    assert step["setOwnerReference"] is True
    created = load_manifest(step["manifest"])
    standalone = next(m.body for m in _manifests(targets, "Training.resnet50") if m.is_run)
    assert created["spec"] == standalone["spec"]
    assert created["metadata"]["annotations"] == standalone["metadata"]["annotations"]
    ours = {
        k: v
        for k, v in standalone["metadata"]["labels"].items()
        if k != "app.kubernetes.io/managed-by"
    }
    assert ours.items() <= created["metadata"]["labels"].items()
    assert (created["apiVersion"], created["kind"]) == (standalone["apiVersion"], "MPIJob")
    assert "name" not in created["metadata"]
    assert created["metadata"]["generateName"] == "{{workflow.name}}-train-"
    labels = created["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "argo-workflows"
    assert labels["mofang.io/pipeline"] == "daily-features"
    success, failure = RUN_CONDITIONS[("kubeflow.org/v2beta1", "MPIJob")]
    assert (step["successCondition"], step["failureCondition"]) == (success, failure)


def test_pipeline_without_schedule_is_only_a_workflow_template(tmp_path: Path) -> None:
    files = {PIPELINE_FILE: _pipeline_yaml(schedule="")}
    manifests = _pipeline(_render(tmp_path, None, files))
    assert [m.ref.kind for m in manifests] == ["WorkflowTemplate"]
    spec = manifests[0].body["spec"]
    assert "synchronization" not in spec
    assert "labelsFrom" not in spec["workflowMetadata"]


def test_backfill_time_is_the_crons_first_time_that_day() -> None:
    def at(cron: str, zone: str = "UTC") -> str:
        return rfc3339(scheduled_time(Schedule(cron=cron, timezone=zone), date(2026, 11, 1)))

    assert at("0 2 * * *", "Asia/Shanghai") == "2026-11-01T02:00:00+08:00"
    assert at("30 */6 * * 1") == "2026-11-01T00:30:00Z"
    assert at("15,5 9-17 * * *") == "2026-11-01T09:05:00Z"
    assert at("@hourly") == "2026-11-01T00:00:00Z"


def test_long_pipeline_names_fit_argo_limits() -> None:
    name = "p" * 60
    assert len(cron_name(name)) == 52
    assert len(backfill_name(name, date(2026, 11, 1))) == 63
    assert backfill_name(name, date(2026, 11, 1)).endswith("-backfill-20261101")
    assert cron_name("daily-features") == "daily-features"


DryRun = Callable[[Sequence[Manifest]], list[str]]


def test_pipeline_objects_pass_server_side_dry_run(tmp_path: Path, server_dry_run: DryRun) -> None:
    targets = _render(tmp_path)
    wanted = [
        m
        for t in targets
        for m in t.manifests
        if m.ref.kind == "Namespace"
        or m.source.startswith("Pipeline.")
        or m.ref.name.startswith(EXECUTOR_ACCOUNT)
    ]
    assert len(wanted) > 10
    assert server_dry_run(wanted) == []


SPARK_STATES = {
    # spark-operator api/v1beta2 ApplicationStateType, and whether each is final (its
    # reconciler: SUBMISSION_FAILED resubmits while retries last, else becomes FAILED; FAILING
    # becomes PENDING_RERUN or FAILED; SUCCEEDING becomes PENDING_RERUN or COMPLETED).
    "": None,
    "SUBMITTED": None,
    "RUNNING": None,
    "COMPLETED": "success",
    "FAILED": "failure",
    "SUBMISSION_FAILED": None,
    "PENDING_RERUN": None,
    "INVALIDATING": None,
    "SUCCEEDING": None,
    "FAILING": None,
    "UNKNOWN": None,
}


def _holds(requirement: str, status: dict[str, Any]) -> bool:
    """One Argo condition requirement (``path = v``, ``path == v``, ``path in (a, b)``)."""
    if " in (" in requirement:
        path, values = requirement.split(" in (")
        wanted = {v.strip() for v in values.rstrip(")").split(",")}
    else:
        path, value = requirement.replace("==", "=").split(" = ")
        wanted = {value.strip()}
    current: Any = {"status": status}
    for part in path.strip().split("."):
        current = current.get(part) if isinstance(current, dict) else None
    return current in wanted


def _ends(success: str, failure: str, status: dict[str, Any]) -> str | None:
    """Argo AND-s the success requirements and OR-s the failure ones."""
    if all(_holds(r, status) for r in success.split(", ")):
        return "success"
    if any(_holds(r, status) for r in failure.split(", ")):
        return "failure"
    return None


def test_a_spark_step_ends_exactly_on_spark_operators_final_states() -> None:
    root = Path(__file__).resolve().parents[2]
    targets = render_repo(validate_dir(root), projects=["nlp"], environments=["dev"])
    template = _one(_pipeline(targets, "corpus-refresh"), "WorkflowTemplate")
    step = _templates(template)["step-stats"]["resource"]
    assert load_manifest(step["manifest"])["kind"] == "SparkApplication"
    for state, expected in SPARK_STATES.items():
        status = {"applicationState": {"state": state}} if state else {}
        assert _ends(step["successCondition"], step["failureCondition"], status) == expected, state
