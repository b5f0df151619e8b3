"""Pipeline steps end on the job's own outcome, as the running operators write it (issue 15).

Each operator runs a job that succeeds and one whose pod kwok fails; the real status documents
are evaluated with Argo's own condition code against the conditions the pipeline renderer writes
(``RUN_CONDITIONS``). ``MOFANG_RECORD_STATUS=1`` stores them in tests/testdata/status/, where the
pure test below (and the health rules) read them.
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.rendering.pipeline_dag import RUN_CONDITIONS
from tests.runtime.argo_conditions import evaluate
from tests.runtime.kube import condition, create, eventually, get, namespace

STATUS_DIR = Path(__file__).resolve().parents[1] / "testdata" / "status"
FAIL = {"kwok.mofang.io/fail-after": "2s", "kwok.mofang.io/exit-code": "137"}
CPU = {"mofang.io/resource-group": "cpu-general"}


def template(annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"annotations": annotations or {}},
        "spec": {
            "nodeSelector": CPU,
            "restartPolicy": "Never",
            "containers": [{"name": "main", "image": "busybox"}],
            **spec,
        },
    }


def kubeflow_job(kind: str, replicas: dict[str, int], fail: bool) -> dict[str, Any]:
    container = {"PyTorchJob": "pytorch", "TFJob": "tensorflow", "XGBoostJob": "xgboost"}[kind]
    field = {"PyTorchJob": "pytorch", "TFJob": "tf", "XGBoostJob": "xgb"}[kind]
    specs = {
        role: {
            "replicas": count,
            "restartPolicy": "Never",
            "template": {
                "metadata": {"annotations": FAIL if fail else {}},
                "spec": {
                    "nodeSelector": CPU,
                    "containers": [{"name": container, "image": "busybox"}],
                },
            },
        }
        for role, count in replicas.items()
    }
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": kind,
        "metadata": {"name": "failed" if fail else "succeeded"},
        "spec": {"runPolicy": {"backoffLimit": 0}, f"{field}ReplicaSpecs": specs},
    }


def mpi_job(fail: bool) -> dict[str, Any]:
    def role(replicas: int, annotations: dict[str, str]) -> dict[str, Any]:
        pod = template(annotations)
        pod["spec"].pop("restartPolicy")
        return {"replicas": replicas, "restartPolicy": "Never", "template": pod}

    return {
        "apiVersion": "kubeflow.org/v2beta1",
        "kind": "MPIJob",
        "metadata": {"name": "failed" if fail else "succeeded"},
        "spec": {
            "slotsPerWorker": 1,
            "runPolicy": {"backoffLimit": 0, "cleanPodPolicy": "Running"},
            "mpiReplicaSpecs": {
                "Launcher": role(1, FAIL if fail else {}),
                "Worker": role(2, {}),
            },
        },
    }


JOBS: dict[str, tuple[str, Any]] = {
    "PyTorchJob": (
        "pytorchjobs",
        lambda fail: kubeflow_job("PyTorchJob", {"Master": 1, "Worker": 1}, fail),
    ),
    "TFJob": ("tfjobs", lambda fail: kubeflow_job("TFJob", {"Chief": 1, "Worker": 1}, fail)),
    "XGBoostJob": (
        "xgboostjobs",
        lambda fail: kubeflow_job("XGBoostJob", {"Master": 1, "Worker": 1}, fail),
    ),
    "MPIJob": ("mpijobs", mpi_job),
}


def finished(plane: ControlPlane, path: str, wanted: str) -> dict[str, Any] | None:
    document = get(plane, path)
    return document if condition(document, wanted) == "True" else None


def recorded(document: dict[str, Any]) -> dict[str, Any]:
    """What a step's condition sees, without the parts that change every run."""
    meta = document["metadata"]
    return {
        "apiVersion": document["apiVersion"],
        "kind": document["kind"],
        "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
        "spec": document["spec"],
        "status": document["status"],
    }


@pytest.mark.parametrize("kind", sorted(JOBS))
def test_a_step_ends_on_what_the_operator_writes_for_a_succeeded_and_a_failed_job(
    running_cluster: RunningCluster, argo_conditions: Path, kind: str, tmp_path: Path
) -> None:
    if kind == "MPIJob" and "mpi-operator" not in running_cluster.runtime.pids:
        pytest.skip(running_cluster.runtime.skipped.get("mpi-operator", "mpi-operator not run"))
    plane = running_cluster.plane
    plural, build_job = JOBS[kind]
    job = build_job(False)
    ns = namespace(plane, f"status-{kind.lower()}")
    base = f"/apis/{job['apiVersion']}/namespaces/{ns}/{plural}"
    for fail in (False, True):
        create(plane, base, build_job(fail))
    outcomes = {}
    for name, wanted in (("succeeded", "Succeeded"), ("failed", "Failed")):
        document = eventually(
            f"{kind} {name} to be {wanted}", partial(finished, plane, f"{base}/{name}", wanted), 180
        )
        path = tmp_path / f"{kind.lower()}-{name}.json"
        path.write_text(json.dumps(recorded(document), indent=2) + "\n")
        if os.environ.get("MOFANG_RECORD_STATUS") == "1":
            STATUS_DIR.mkdir(parents=True, exist_ok=True)
            (STATUS_DIR / path.name).write_text(path.read_text())
        success, failure = RUN_CONDITIONS[(job["apiVersion"], kind)]
        outcomes[name] = evaluate(argo_conditions, success, failure, path)[0]
    assert outcomes == {"succeeded": "succeeded", "failed": "failed"}
