"""A pipeline step's success and failure, decided by Argo's own code on real operator output.

tests/testdata/status/<kind>-<outcome>.json are status documents the running operators wrote
(recorded by tests/runtime/test_job_status.py); the evaluator is Argo v4's condition loop over
the libraries Argo v4.0.5 pins (tests/testdata/argo-conditions).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mofang_gitops.health import Health, Related, judge
from mofang_gitops.manifests import api_group
from mofang_gitops.rendering.pipeline_dag import RUN_CONDITIONS
from mofang_gitops.yamlio import load_manifest
from tests.runtime.argo_conditions import evaluate

STATUS_DIR = Path(__file__).resolve().parents[1] / "testdata" / "status"
RECORDED = sorted(STATUS_DIR.glob("*-succeeded.json")) + sorted(STATUS_DIR.glob("*-failed.json"))


def conditions(path: Path) -> tuple[str, str]:
    document = json.loads(path.read_text())
    return RUN_CONDITIONS[(document["apiVersion"], document["kind"])]


def test_every_operator_we_run_has_a_recorded_success_and_failure() -> None:
    kinds = {p.name.rsplit("-", 1)[0] for p in RECORDED}
    assert {"pytorchjob", "tfjob", "xgboostjob", "mpijob"} <= kinds
    for kind in kinds:
        assert (STATUS_DIR / f"{kind}-succeeded.json").is_file()
        assert (STATUS_DIR / f"{kind}-failed.json").is_file()


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_argo_ends_the_step_as_the_job_ended(argo_conditions: Path, path: Path) -> None:
    success, failure = conditions(path)
    wanted = path.stem.rsplit("-", 1)[1]
    assert evaluate(argo_conditions, success, failure, path) == [wanted]


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.stem)
def test_the_success_condition_alone_never_accepts_a_failed_job(
    argo_conditions: Path, path: Path
) -> None:
    # completionTime is written on failure too: success must not lean on the order of checks.
    success, _ = conditions(path)
    wanted = "succeeded" if path.stem.endswith("-succeeded") else "waiting"
    assert evaluate(argo_conditions, success, "", path) == [wanted]


def test_the_failure_condition_alone_never_fails_a_succeeded_job(argo_conditions: Path) -> None:
    for path in sorted(STATUS_DIR.glob("*-succeeded.json")):
        _, failure = conditions(path)
        assert evaluate(argo_conditions, "status.neverSet", failure, path) == ["waiting"]


STEP = {
    Health.HEALTHY: "succeeded",
    Health.DEGRADED: "failed",
    Health.PROGRESSING: "waiting",
    Health.SUSPENDED: "waiting",
}
"""What a pipeline step does while its run object has each health of its own."""


def _run_documents() -> list[Path]:
    found = []
    for path in sorted(STATUS_DIR.glob("*.yaml")):
        document = load_manifest(path.read_text())
        if (document["apiVersion"], document["kind"]) in RUN_CONDITIONS:
            found.append(path)
    return found


@pytest.mark.parametrize("path", _run_documents(), ids=lambda p: p.stem)
def test_a_step_and_the_health_rule_agree_on_every_status_document(
    argo_conditions: Path, path: Path, tmp_path: Path
) -> None:
    # The object alone (no pods or Events): a step's conditions see only its status.
    document = load_manifest(path.read_text())
    for beside in ("pods", "events", "workflows", "url"):
        document.pop(beside, None)
    verdict = judge(api_group(document["apiVersion"]), document["kind"], document, Related())
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(document))
    success, failure = RUN_CONDITIONS[(document["apiVersion"], document["kind"])]
    assert evaluate(argo_conditions, success, failure, saved) == [STEP[verdict.health]], verdict
