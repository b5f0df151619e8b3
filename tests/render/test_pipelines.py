"""Pipelines render into Argo WorkflowTemplates, CronWorkflows, backfill runs and a semaphore."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.manifests import Manifest, RenderedTarget
from mofang_gitops.rendering import render_repo
from mofang_gitops.rendering.pipeline_dag import RUN_CONDITIONS, WAIT_INPUTS
from mofang_gitops.rendering.pipeline_executor import EXECUTOR_ACCOUNT
from mofang_gitops.rendering.pipeline_runs import backfill_name, cron_name
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


def _runs(manifests: Sequence[Manifest]) -> list[dict[str, Any]]:
    return [m.body for m in manifests if m.ref.kind == "Workflow"]


def _scheduled(run: dict[str, Any]) -> str:
    return str(run["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"])


def test_backfill_runs_every_scheduled_time_hourly_daily_and_weekly(tmp_path: Path) -> None:
    targets = _render(tmp_path, "render-backfill-every-time")
    hourly = _runs(_pipeline(targets, "hourly-events"))
    assert len(hourly) == 48
    assert [_scheduled(r) for r in hourly[:2]] == ["2026-11-01T00:05:00Z", "2026-11-01T01:05:00Z"]
    assert _scheduled(hourly[-1]) == "2026-11-02T23:05:00Z"
    assert hourly[0]["metadata"]["name"] == "hourly-events-backfill-20261101-0005"
    assert len({r["metadata"]["name"] for r in hourly}) == 48
    assert [r["spec"]["priority"] for r in hourly] == list(range(-1, -49, -1))
    daily = _runs(_pipeline(targets))
    assert [_scheduled(r) for r in daily] == [
        "2026-11-01T02:00:00+08:00",
        "2026-11-02T02:00:00+08:00",
        "2026-11-03T02:00:00+08:00",
    ]
    assert daily[0]["metadata"]["name"] == "daily-features-backfill-20261101"
    weekly = _runs(_pipeline(targets, "weekly-report"))
    # The Mondays of October 2026 in Berlin, across the end of summer time on the 25th.
    assert [_scheduled(r) for r in weekly] == [
        "2026-10-05T06:00:00+02:00",
        "2026-10-12T06:00:00+02:00",
        "2026-10-19T06:00:00+02:00",
        "2026-10-26T06:00:00+01:00",
    ]
    assert [r["metadata"]["name"] for r in weekly][0] == "weekly-report-backfill-20261005"


def test_backfill_run_labels_carry_the_unix_time_of_its_schedule(tmp_path: Path) -> None:
    hourly = _runs(_pipeline(_render(tmp_path, "render-backfill-every-time"), "hourly-events"))
    for run in hourly:
        moment = datetime.fromisoformat(_scheduled(run))
        assert run["metadata"]["labels"]["mofang.io/scheduled-time"] == str(int(moment.timestamp()))
    assert all(r["spec"]["workflowTemplateRef"] == {"name": "hourly-events"} for r in hourly)


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


def test_dependent_run_first_waits_for_the_upstream_run_in_a_tool_step(tmp_path: Path) -> None:
    manifests = _pipeline(_render(tmp_path))
    template = _one(manifests, "WorkflowTemplate")
    tasks = _dag(template)
    assert list(tasks) == ["wait-raw-ingest", "extract", "train"]
    assert tasks["extract"]["dependencies"] == ["wait-raw-ingest"]
    assert tasks["train"]["dependencies"] == ["extract"]
    arguments = {p["name"]: p["value"] for p in tasks["wait-raw-ingest"]["arguments"]["parameters"]}
    assert arguments["pipeline"] == "raw-ingest"
    assert (arguments["cron"], arguments["timezone"]) == ("0 2 * * *", "Asia/Shanghai")
    assert arguments["timeout"] == "3600s"
    assert arguments["at"].startswith("{{=workflow.parameters['after-raw-ingest'] != ''")
    assert "workflow.scheduledTime" in arguments["at"]
    wait = _templates(template)["wait-for-run"]
    assert [p["name"] for p in wait["inputs"]["parameters"]] == WAIT_INPUTS
    assert wait["container"]["image"] == "registry.example.com/mofang/mofang-gitops:0.1.0"
    assert wait["container"]["command"] == ["mofang-gitops", "wait-upstream"]
    assert "--at={{inputs.parameters.at}}" in wait["container"]["args"]
    # The executor account reads Workflows; no other step gets a token.
    assert wait["serviceAccountName"] == EXECUTOR_ACCOUNT
    assert wait["automountServiceAccountToken"] is True
    assert wait["activeDeadlineSeconds"] == 3600 + 300
    others = [t for n, t in _templates(template).items() if n != "wait-for-run"]
    assert not any("automountServiceAccountToken" in t for t in others)
    assert template["spec"]["arguments"]["parameters"] == [
        {"name": "after-raw-ingest", "value": ""}
    ]


def test_backfill_runs_name_the_upstream_time_they_wait_for(tmp_path: Path) -> None:
    runs = _runs(_pipeline(_render(tmp_path)))
    waited = [r["spec"]["arguments"]["parameters"] for r in runs]
    assert waited == [
        [{"name": "after-raw-ingest", "value": f"2026-11-0{day}T02:00:00+08:00"}]
        for day in (1, 2, 3)
    ]


def test_hourly_run_waits_for_the_latest_upstream_time_at_or_before_its_own(
    tmp_path: Path,
) -> None:
    runs = _runs(_pipeline(_render(tmp_path, "render-pipeline-offsets"), "hourly-features"))
    assert len(runs) == 24
    first = {p["name"]: p["value"] for p in runs[0]["spec"]["arguments"]["parameters"]}
    # 00:40 UTC is 06:10 in Kolkata: raw-import fired at that very minute; daily-dims last fired
    # at 03:30 in Shanghai, 19:30 UTC the evening before.
    assert _scheduled(runs[0]) == "2026-11-01T00:40:00Z"
    assert first == {
        "after-raw-import": "2026-11-01T06:10:00+05:30",
        "after-daily-dims": "2026-11-01T03:30:00+08:00",
    }
    late = {p["name"]: p["value"] for p in runs[20]["spec"]["arguments"]["parameters"]}
    assert _scheduled(runs[20]) == "2026-11-01T20:40:00Z"
    assert late == {
        "after-raw-import": "2026-11-02T02:10:00+05:30",
        "after-daily-dims": "2026-11-02T03:30:00+08:00",
    }
    template = _one(
        _pipeline(_render(tmp_path / "b", "render-pipeline-offsets"), "hourly-features"),
        "WorkflowTemplate",
    )
    timeouts = {
        name: {p["name"]: p["value"] for p in task["arguments"]["parameters"]}["timeout"]
        for name, task in _dag(template).items()
        if name.startswith("wait-")
    }
    assert timeouts == {"wait-raw-import": "7200s", "wait-daily-dims": "3600s"}
    assert _templates(template)["wait-for-run"]["activeDeadlineSeconds"] == 7200 + 300


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


def test_long_pipeline_names_fit_argo_limits() -> None:
    name = "p" * 60
    moment = datetime(2026, 11, 1, 2, 30, tzinfo=UTC)
    assert len(cron_name(name)) == 52
    assert len(backfill_name(name, moment, daily=True)) <= 63
    assert len(backfill_name(name, moment, daily=False)) == 63
    assert backfill_name(name, moment, daily=True).endswith("-backfill-20261101")
    assert backfill_name(name, moment, daily=False).endswith("-backfill-20261101-0230")
    assert cron_name("daily-features") == "daily-features"


DryRun = Callable[[Sequence[Manifest]], list[str]]


@pytest.mark.cluster
@pytest.mark.parametrize(
    "scenario", [DEPS, "render-backfill-every-time", "render-pipeline-offsets"]
)
def test_pipeline_objects_pass_server_side_dry_run(
    tmp_path: Path, server_dry_run: DryRun, scenario: str
) -> None:
    targets = _render(tmp_path, scenario)
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
