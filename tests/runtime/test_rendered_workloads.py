"""Rendered workloads run where they should on the running cluster (issue 15, end to end).

Every test writes specs into a miniature repository on the example platform, renders and applies
them with the tool's own renderer and engine (tests/runtime/rendered.py), then watches the real
scheduler, controllers and operators: which node (so which resource group) each pod is bound to,
whether claims bind, how the operator ends the job. Pods are placed by kube-scheduler's ``volcano``
profile: node selection is real, Volcano's gang admission and queues are not simulated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.controlplane import api_call
from mofang_gitops.devtools.nodes import create_nodes, plan_nodes
from mofang_gitops.devtools.running import RunningCluster
from tests.runtime.kube import condition, eventually, get
from tests.runtime.rendered import (
    HOLD,
    JOB_LABEL,
    apply,
    delete_namespace,
    example_platform,
    job_body,
    node_labels,
    placement,
    pods,
    render,
    running,
    with_pod_annotations,
    write_repo,
)
from tests.runtime.specs import (
    A100,
    CENTRAL_QUOTA,
    CPU,
    EDGE_NOTEBOOK,
    EDGE_TENSORFLOW,
    HOROVOD,
    NOTEBOOK,
    PYTORCH,
    TENSORFLOW,
    XGBOOST,
)


@pytest.fixture
def project(running_cluster: RunningCluster, unique_name: str) -> Iterator[str]:
    """A fresh project (and namespace) per test, deleted after it so its pods free the nodes."""
    yield unique_name
    delete_namespace(running_cluster.plane, unique_name)


def _job_pods(cluster: RunningCluster, project: str, job: str, count: int) -> list[dict[str, Any]]:
    """Wait until the operator made ``count`` pods for ``job``, all bound and Running."""
    return eventually(  # type: ignore[no-any-return]
        f"{count} pods of {job} Running",
        lambda: (
            (found := pods(cluster.plane, project, f"{JOB_LABEL}={job}"))
            and len(found) == count
            and running(found)
            and found
        ),
        timeout=120,
    )


def _job(cluster: RunningCluster, project: str, body: dict[str, Any]) -> dict[str, Any]:
    plural, name = body["kind"].lower() + "s", body["metadata"]["name"]
    return get(cluster.plane, f"/apis/{body['apiVersion']}/namespaces/{project}/{plural}/{name}")


def test_a_notebook_runs_ready_on_its_group_with_every_claim_bound(
    running_cluster: RunningCluster, project: str, tmp_path: Path
) -> None:
    plane = running_cluster.plane
    targets = render(
        write_repo(tmp_path, project, CENTRAL_QUOTA, {"notebooks/bob-dev.yaml": NOTEBOOK})
    )
    apply(plane, targets["central"])
    ns = project

    def ready() -> dict[str, Any] | None:
        found = pods(plane, ns, "mofang.io/notebook=bob-dev")
        return next((p for p in found if condition(p, "Ready") == "True"), None)

    pod = eventually("the notebook's pod Ready", ready, timeout=120)
    assert pod["status"]["phase"] == "Running"
    assert placement(plane, [pod]) == {"notebook": [A100]}
    claims = {v["persistentVolumeClaim"]["claimName"] for v in pod["spec"]["volumes"]}
    assert claims == {"user-bob", "project", "global"}

    def bound() -> dict[str, str] | None:
        items = get(plane, f"/api/v1/namespaces/{ns}/persistentvolumeclaims")["items"]
        phases = {c["metadata"]["name"]: c.get("status", {}).get("phase") for c in items}
        return phases if set(phases.values()) == {"Bound"} else None

    assert set(eventually("every claim Bound", bound, timeout=60)) == claims
    for claim in claims:  # bound to the static PV rendered for it, which says so too
        volume = get(plane, f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")["spec"][
            "volumeName"
        ]
        pv = get(plane, f"/api/v1/persistentvolumes/{volume}")
        assert pv["status"]["phase"] == "Bound"
        assert (pv["spec"]["claimRef"]["namespace"], pv["spec"]["claimRef"]["name"]) == (
            ns,
            claim,
        )


def test_a_horovod_mpijob_puts_its_launcher_on_cpu_and_every_worker_on_the_gpu_group(
    running_cluster: RunningCluster, project: str, tmp_path: Path
) -> None:
    if "mpi-operator" not in running_cluster.runtime.pids:
        pytest.skip(running_cluster.runtime.skipped.get("mpi-operator", "mpi-operator not run"))
    targets = render(
        write_repo(tmp_path, project, CENTRAL_QUOTA, {"trainings/resnet.yaml": HOROVOD})
    )
    job = job_body(targets["central"], "resnet")
    assert job["kind"] == "MPIJob"
    apply(running_cluster.plane, with_pod_annotations(targets["central"], "Training.resnet", HOLD))
    found = _job_pods(running_cluster, project, job["metadata"]["name"], 4)
    assert placement(running_cluster.plane, found) == {"launcher": [CPU], "worker": [A100] * 3}
    gpus = {
        p["spec"]["containers"][0]["resources"]["requests"].get("nvidia.com/gpu") for p in found
    }
    assert gpus == {None, "2"}  # the launcher asks for none


def test_a_tfjob_puts_ps_and_chief_on_cpu_nodes_and_workers_on_gpu_nodes(
    running_cluster: RunningCluster, project: str, tmp_path: Path
) -> None:
    targets = render(
        write_repo(tmp_path, project, CENTRAL_QUOTA, {"trainings/tf-ps.yaml": TENSORFLOW})
    )
    job = job_body(targets["central"], "tf-ps")
    apply(running_cluster.plane, with_pod_annotations(targets["central"], "Training.tf-ps", HOLD))
    found = _job_pods(running_cluster, project, job["metadata"]["name"], 5)
    assert placement(running_cluster.plane, found) == {
        "ps": [CPU, CPU],
        "chief": [CPU],
        "worker": [A100, A100],
    }


@pytest.mark.parametrize(
    ("spec", "training"),
    [(PYTORCH.format(name="detector", gpus=1, backoff=3), "detector"), (XGBOOST, "xgb")],
    ids=["pytorch", "xgboost"],
)
def test_pytorch_and_xgboost_trainings_run_to_succeeded(
    running_cluster: RunningCluster, project: str, tmp_path: Path, spec: str, training: str
) -> None:
    targets = render(
        write_repo(tmp_path, project, CENTRAL_QUOTA, {f"trainings/{training}.yaml": spec})
    )
    body = job_body(targets["central"], training)
    apply(running_cluster.plane, targets["central"])  # as rendered: kwok ends its pods after 5s
    done = eventually(
        f"{body['kind']} Succeeded",
        lambda: (
            (job := _job(running_cluster, project, body))
            and condition(job, "Succeeded") == "True"
            and job
        ),
        timeout=120,
    )
    assert condition(done, "Failed") != "True"


def test_a_training_whose_pod_keeps_failing_is_failed_by_its_operator(
    running_cluster: RunningCluster, project: str, tmp_path: Path
) -> None:
    spec = PYTORCH.format(name="crashing", gpus=1, backoff=2)
    specs = {"trainings/crashing.yaml": spec}
    targets = render(write_repo(tmp_path, project, CENTRAL_QUOTA, specs))
    body = job_body(targets["central"], "crashing")
    # Rendered pods restart in place (OnFailure); kwok crash-loops their containers.
    crash = {"kwok.mofang.io/fail-after": "2s", "kwok.mofang.io/exit-code": "3"}
    failing = with_pod_annotations(targets["central"], "Training.crashing", crash)
    apply(running_cluster.plane, failing)
    failed = eventually(
        "the PyTorchJob Failed",
        lambda: (
            (job := _job(running_cluster, project, body))
            and condition(job, "Failed") == "True"
            and job
        ),
        timeout=120,
    )
    assert condition(failed, "Succeeded") != "True"
    (reason,) = [c for c in failed["status"]["conditions"] if c["type"] == "Failed"]
    assert "backoff limit" in reason["message"], reason


@pytest.fixture
def edge_nodes(running_cluster: RunningCluster) -> Iterator[set[str]]:
    """The edge cluster's groups as kwok nodes in the running cluster, removed afterwards.

    The fixture runs one platform cluster (``central``); a second running cluster would double
    the session's processes on a two-core machine. So the API server plays both, and what is
    tested is the placement the renderer writes (edge groups' selectors and tolerations), not the
    engine sending each target to its own cluster (tests/engine/test_multicluster.py does that).
    """
    plans = plan_nodes(example_platform(), "edge-sg")
    create_nodes(running_cluster.plane, plans)
    yield {plan.name for plan in plans}
    for plan in plans:
        api_call(running_cluster.plane, "DELETE", f"/api/v1/nodes/{plan.name}")


def test_edge_workloads_land_only_on_the_edge_clusters_nodes(
    running_cluster: RunningCluster, project: str, tmp_path: Path, edge_nodes: set[str]
) -> None:
    quota = {
        "edge-gpu": '{cpu: "32", memory: 128Gi, gpu: 4}',
        "edge-cpu": '{cpu: "16", memory: 64Gi}',
    }
    specs = {
        "trainings/sensor-anomaly.yaml": EDGE_TENSORFLOW,
        "notebooks/bob-edge.yaml": EDGE_NOTEBOOK,
    }
    targets = render(write_repo(tmp_path, project, quota, specs))
    assert set(targets) == {"edge-sg"}  # nothing of an edge-only project goes to central
    edge = with_pod_annotations(targets["edge-sg"], "Training.sensor-anomaly", HOLD)
    job = job_body(edge, "sensor-anomaly")
    apply(running_cluster.plane, edge)
    found = _job_pods(running_cluster, project, job["metadata"]["name"], 4)
    found += eventually(
        "the edge notebook Running",
        lambda: (
            (nb := pods(running_cluster.plane, project, "mofang.io/notebook=bob-edge"))
            and running(nb)
            and nb
        ),
    )
    assert placement(running_cluster.plane, found) == {
        "ps": [("edge-cpu", "edge-sg")],
        "chief": [("edge-cpu", "edge-sg")],
        "worker": [("edge-gpu", "edge-sg")] * 2,
        "notebook": [("edge-cpu", "edge-sg")],
    }
    assert {p["spec"]["nodeName"] for p in found} <= edge_nodes
    central = {
        n
        for n, labels in node_labels(running_cluster.plane).items()
        if labels.get("mofang.io/cluster") == "central"
    }
    assert central and not central & {p["spec"]["nodeName"] for p in found}


def test_pytorch_workers_start_where_pod_security_enforces_restricted(
    running_cluster: RunningCluster, project: str, tmp_path: Path
) -> None:
    """training-operator adds an init container to PyTorch workers; under ``restricted`` its
    default one is refused, so the local clusters hand the operator a compliant template
    (devtools/pytorch-init-container.yaml), as a platform enforcing ``restricted`` must."""
    spec = PYTORCH.format(name="strict", gpus=1, backoff=3)
    root = write_repo(tmp_path, project, CENTRAL_QUOTA, {"trainings/strict.yaml": spec})
    platform = root / "platform.yaml"
    text = platform.read_text()
    assert "enforce: baseline" in text
    platform.write_text(text.replace("enforce: baseline", "enforce: restricted"))
    targets = render(root)
    job = job_body(targets["central"], "strict")
    apply(running_cluster.plane, with_pod_annotations(targets["central"], "Training.strict", HOLD))
    found = _job_pods(running_cluster, project, job["metadata"]["name"], 2)
    worker = next(p for p in found if p["metadata"]["name"].endswith("-worker-0"))
    (init,) = worker["spec"]["initContainers"]
    assert init["name"] == "init-pytorch"
    assert init["securityContext"]["allowPrivilegeEscalation"] is False
