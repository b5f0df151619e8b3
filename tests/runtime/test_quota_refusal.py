"""A training asking for more GPUs than its quota has left is refused, and the job says so."""

from __future__ import annotations

from typing import Any

from mofang_gitops.devtools.running import RunningCluster
from tests.runtime.kube import create, eventually, get, namespace

GPU_GROUP = {"mofang.io/resource-group": "gpu-a100"}
TOLERATE = [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]


def pytorch_job(gpus_per_worker: int) -> dict[str, Any]:
    container = {
        "name": "pytorch",
        "image": "busybox",
        "resources": {
            "requests": {"nvidia.com/gpu": str(gpus_per_worker)},
            "limits": {"nvidia.com/gpu": str(gpus_per_worker)},
        },
    }
    role = {
        "replicas": 1,
        "restartPolicy": "Never",
        "template": {
            "spec": {"nodeSelector": GPU_GROUP, "tolerations": TOLERATE, "containers": [container]}
        },
    }
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": {"name": "too-big"},
        "spec": {"pytorchReplicaSpecs": {"Master": role, "Worker": role}},
    }


def test_a_job_over_the_gpu_quota_is_refused_with_the_refusal_on_the_job(
    running_cluster: RunningCluster,
) -> None:
    plane = running_cluster.plane
    ns = namespace(plane, "quota-refusal")
    quota = {
        "metadata": {"name": "gpus"},
        "spec": {"hard": {"requests.nvidia.com/gpu": "8"}},
    }
    create(plane, f"/api/v1/namespaces/{ns}/resourcequotas", quota)
    eventually(
        "the quota controller to publish the quota's status",
        lambda: (
            get(plane, f"/api/v1/namespaces/{ns}/resourcequotas/gpus").get("status", {}).get("hard")
        ),
    )
    create(plane, f"/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs", pytorch_job(8))

    def refusal() -> str | None:
        events = get(plane, f"/api/v1/namespaces/{ns}/events")["items"]
        return next(
            (
                e["message"]
                for e in events
                if e["involvedObject"].get("kind") == "PyTorchJob"
                and e["type"] == "Warning"
                and "exceeded quota" in e.get("message", "")
            ),
            None,
        )

    message = eventually("a quota refusal event on the PyTorchJob", refusal, timeout=180)
    assert "requests.nvidia.com/gpu" in message
    pods = get(plane, f"/api/v1/namespaces/{ns}/pods")["items"]
    assert len(pods) == 1  # one 8-GPU pod fits the quota, the second is refused
