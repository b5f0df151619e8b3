"""A training's TensorBoard, as the tool renders it, runs and is Ready on a CPU node (issue 18).

The training spec is written into the miniature repository of tests/runtime/rendered.py (the
example platform the ``running_cluster`` fixture made its kwok nodes from); the renderer and the
engine make and apply every object of the project except the training's run, which this test
does not look at. The real scheduler (``volcano`` profile), deployment, ReplicaSet, endpoint and
PV binder controllers do the rest; kwok reports the pod Running and Ready.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.rendering.tensorboards import object_name
from tests.runtime.kube import condition, eventually, get
from tests.runtime.rendered import apply, delete_namespace, placement, pods, render, write_repo
from tests.runtime.specs import CENTRAL_QUOTA, CPU

TRAINING = """\
apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {name: mnist}
spec:
  framework: pytorch
  image: registry.example.com/team/mnist:1
  command: [python, train.py, --log-dir, /mnt/project/runs/mnist]
  resourceGroup: gpu-a100
  roles:
    master: {resources: {cpu: "2", memory: 8Gi, gpu: 1}}
  mounts: [project]
  tensorboard: {logDir: runs/mnist}
"""


@pytest.fixture
def project(running_cluster: RunningCluster, unique_name: str) -> Iterator[str]:
    """A fresh project (and namespace), deleted after the test so its pod frees the node."""
    yield unique_name
    delete_namespace(running_cluster.plane, unique_name)


def _endpoints(cluster: RunningCluster, namespace: str, service: str) -> list[Any]:
    """(addresses, port) of the Service's ready endpoints, from its EndpointSlices."""
    path = (
        f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
        f"?labelSelector=kubernetes.io/service-name={service}"
    )
    return [
        (endpoint["addresses"], port["port"])
        for found in get(cluster.plane, path)["items"]
        for endpoint in found.get("endpoints") or []
        if endpoint.get("conditions", {}).get("ready")
        for port in found.get("ports") or []
    ]


def test_a_rendered_tensorboard_runs_ready_on_a_cpu_node_behind_its_service(
    running_cluster: RunningCluster, project: str, tmp_path: Path
) -> None:
    plane = running_cluster.plane
    rendered = render(
        write_repo(tmp_path, project, CENTRAL_QUOTA, {"trainings/mnist.yaml": TRAINING})
    )
    central = rendered["central"]
    name = object_name("mnist")
    assert {(m.ref.kind, m.ref.name) for m in central.manifests} >= {
        (kind, name) for kind in ("Deployment", "Service", "AuthorizationPolicy", "NetworkPolicy")
    }
    apply(
        plane,
        dataclasses.replace(central, manifests=tuple(m for m in central.manifests if not m.is_run)),
    )

    def ready() -> dict[str, Any] | None:
        found = pods(plane, project, "mofang.io/tensorboard=mnist")
        return next((p for p in found if condition(p, "Ready") == "True"), None)

    pod = eventually("the TensorBoard's pod Ready", ready, timeout=180)
    assert pod["status"]["phase"] == "Running"
    assert placement(plane, [pod]) == {"tensorboard": [CPU]}
    (container,) = pod["spec"]["containers"]
    assert container["args"][0] == "--logdir=/logs/runs/mnist"
    claim = get(plane, f"/api/v1/namespaces/{project}/persistentvolumeclaims/project")
    assert claim["status"]["phase"] == "Bound"
    endpoints = eventually(
        "the Service's ready endpoints", lambda: _endpoints(running_cluster, project, name)
    )
    assert endpoints == [([pod["status"]["podIP"]], 6006)]
