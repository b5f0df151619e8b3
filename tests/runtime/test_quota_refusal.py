"""A training asking for more GPUs than its quota has left is refused; the job and status say so.

Everything is rendered from specs and applied by the engine (tests/runtime/rendered.py): the
project's own ResourceQuota, a notebook that holds one of its 8 GPUs, then a PyTorchJob of two
4-GPU pods, which fits the quota on its own (validation accepts it) but not the 7 GPUs left.
"""

from __future__ import annotations

from pathlib import Path

from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.health import Health, Related, judge
from tests.runtime.kube import eventually, get
from tests.runtime.rendered import (
    HOLD,
    JOB_LABEL,
    apply,
    delete_namespace,
    job_body,
    pods,
    render,
    running,
    with_pod_annotations,
    write_repo,
)
from tests.runtime.specs import CENTRAL_QUOTA, NOTEBOOK, PYTORCH


def test_a_training_over_what_the_gpu_quota_has_left_is_refused_with_the_refusal_on_the_job(
    running_cluster: RunningCluster, unique_name: str, tmp_path: Path
) -> None:
    plane, project = running_cluster.plane, unique_name
    specs = {"notebooks/bob-dev.yaml": NOTEBOOK}
    apply(plane, render(write_repo(tmp_path, project, CENTRAL_QUOTA, specs))["central"])

    def gpus_used() -> str | None:
        quota = get(plane, f"/api/v1/namespaces/{project}/resourcequotas/mofang")
        used = quota.get("status", {}).get("used", {}).get("requests.nvidia.com/gpu")
        return used if used == "1" and running(pods(plane, project, "mofang.io/notebook")) else None

    eventually("the notebook Running and its GPU charged to the quota", gpus_used)
    quota = get(plane, f"/api/v1/namespaces/{project}/resourcequotas/mofang")
    assert quota["status"]["hard"]["requests.nvidia.com/gpu"] == "8"

    specs["trainings/big.yaml"] = PYTORCH.format(name="big", gpus=4, backoff=3)
    central = render(write_repo(tmp_path, project, CENTRAL_QUOTA, specs))["central"]
    job = job_body(central, "big")
    apply(plane, with_pod_annotations(central, "Training.big", HOLD))  # the master keeps running

    def refusal() -> str | None:
        events = get(plane, f"/api/v1/namespaces/{project}/events")["items"]
        return next(
            (
                e["message"]
                for e in events
                if e["involvedObject"].get("kind") == "PyTorchJob"
                and e["involvedObject"].get("name") == job["metadata"]["name"]
                and e["type"] == "Warning"
                and "exceeded quota" in e.get("message", "")
            ),
            None,
        )

    message = eventually("a quota refusal event on the PyTorchJob", refusal, timeout=180)
    assert "requests.nvidia.com/gpu" in message and "limited: requests.nvidia.com/gpu=8" in message
    created = pods(plane, project, f"{JOB_LABEL}={job['metadata']['name']}")
    assert len(created) == 1  # one 4-GPU pod fits the 7 left, the second is refused
    # status says so too, although one pod of the job runs
    name = job["metadata"]["name"]
    live = get(plane, f"/apis/kubeflow.org/v1/namespaces/{project}/pytorchjobs/{name}")
    events = get(plane, f"/api/v1/namespaces/{project}/events")["items"]
    verdict = judge("kubeflow.org", "PyTorchJob", live, Related(pods=created, events=events))
    assert verdict.health is Health.DEGRADED
    assert verdict.reason.startswith("refused by quota: ")
    assert "requests.nvidia.com/gpu" in verdict.reason
    delete_namespace(plane, project)
