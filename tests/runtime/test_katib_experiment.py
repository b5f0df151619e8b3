"""A rendered Katib Experiment on Katib's real controller (v0.19.0): created, never a trial.

Katib asks its suggestion service for trial parameters over gRPC at
``<experiment>-<algorithm>.<namespace>:6789`` (pkg/controller.v1beta1/util/suggestion.go
``GetAlgorithmEndpoint``, lines 52-58; dialled in suggestionclient.go ``SyncAssignments``, line
94). Here the controller runs on the host: that cluster DNS name does not resolve, and the
suggestion "pod" is a kwok pod that serves nothing anyway. So the Experiment is Created, its
Suggestion's Deployment becomes Ready and the Suggestion Running, and then every sync fails with
``name resolver error: produced zero addresses``: no Trial is ever created, and nothing about
trials, metrics or the best trial can be tested on this cluster. This test pins exactly that, so
a change in it (or in Katib) is noticed, and records the status the Experiment really has.
"""

from __future__ import annotations

import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane, api_call
from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.health import Health, Related, judge
from mofang_gitops.rendering.pipeline_dag import RUN_CONDITIONS
from tests.runtime import example
from tests.runtime.argo_conditions import evaluate
from tests.runtime.kube import condition, eventually, get
from tests.runtime.recording import record, trimmed

NS = "vision-dev"
KATIB = f"/apis/kubeflow.org/v1beta1/namespaces/{NS}"


def _running_suggestion(plane: ControlPlane, name: str) -> dict[str, Any] | None:
    status, found = api_call(plane, "GET", f"{KATIB}/suggestions/{name}")
    return found if status == 200 and condition(found, "Running") == "True" else None


def test_a_rendered_experiment_is_created_but_gets_no_trials_without_a_suggestion_service(
    running_cluster: RunningCluster, argo_conditions: Path, tmp_path: Path
) -> None:
    if "katib-controller" not in running_cluster.runtime.pids:
        skipped = running_cluster.runtime.skipped
        pytest.skip(
            skipped.get(
                "katib-controller", "katib-controller not selected (MOFANG_RUNTIME_OPTIONAL)"
            )
        )
    plane = running_cluster.plane
    example.apply(plane, "dev", "vision")
    (experiment,) = example.rendered("dev", "vision", "Experiment")
    name = experiment["metadata"]["name"]
    suggestion = eventually(
        f"Suggestion {name} to run", partial(_running_suggestion, plane, name), 240, interval=1
    )
    assert condition(suggestion, "DeploymentReady") == "True"
    log = running_cluster.runtime.workdir / "katib-controller.log"
    eventually(
        "the suggestion sync to fail on the service's cluster DNS name",
        lambda: "name resolver error: produced zero addresses" in log.read_text(errors="replace"),
        120,
        interval=1,
    )
    time.sleep(10)  # more syncs, still nothing
    assert get(plane, f"{KATIB}/trials").get("items") == []
    document = get(plane, f"{KATIB}/experiments/{name}")
    assert condition(document, "Created") == "True"
    assert condition(document, "Running") is None
    assert not document["status"].get("trials")
    verdict = judge("kubeflow.org", "Experiment", document, Related())
    assert verdict.health is Health.PROGRESSING
    saved = tmp_path / "experiment.json"
    saved.write_text(json.dumps(trimmed(document)))
    success, failure = RUN_CONDITIONS[("kubeflow.org/v1beta1", "Experiment")]
    assert evaluate(argo_conditions, success, failure, saved) == ["waiting"]
    record(__file__, "experiment-created", document, f"{verdict.health.value} {verdict.reason}")
