"""Retries: transient answers (429, 5xx, 409 outside apply, no answer) are retried with backoff."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.engine import Action, ApplyOptions, ResourceManager
from mofang_gitops.errors import ClusterError, ConflictError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.k8s.retrying import RetryPolicy, call_with_retry
from tests.engine.builders import of_source, project_bodies, refs, target
from tests.engine.faults import FaultPlan, fault_proxy

QUICK = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


def failing(errors: list[ClusterError]):
    calls = []

    def call() -> str:
        calls.append(1)
        if errors:
            raise errors.pop(0)
        return "ok"

    return call, calls


def test_throttling_and_server_errors_are_retried_until_success():
    call, calls = failing([ClusterError("x", "slow down", 429), ClusterError("x", "boom", 503)])
    assert call_with_retry(call, QUICK) == "ok"
    assert len(calls) == 3


def test_retries_are_bounded():
    call, calls = failing([ClusterError("x", "down", 0)] * 10)
    with pytest.raises(ClusterError, match="down"):
        call_with_retry(call, QUICK)
    assert len(calls) == QUICK.attempts


def test_apply_conflicts_and_invalid_objects_are_not_retried():
    call, calls = failing([ConflictError("x", 'conflict with "kubectl"', 409)])
    with pytest.raises(ConflictError):
        call_with_retry(call, QUICK, conflicts=False)
    call, calls = failing([ClusterError("x", "invalid", 422)])
    with pytest.raises(ClusterError):
        call_with_retry(call, QUICK)
    assert len(calls) == 1


def test_backoff_grows_and_honours_retry_after():
    policy = RetryPolicy(attempts=5, base_delay=0.2, max_delay=1.0)
    assert [policy.delay(n) for n in range(4)] == [0.2, 0.4, 0.8, 1.0]
    assert policy.delay(0, "0") == 0.0


def test_apply_and_prune_succeed_through_429_503_and_409_answers(
    control_plane: ControlPlane, unique_name: str, tmp_path: Path
):
    plan = FaultPlan({"GET": [503, 429], "PATCH": [429, 503, 429], "DELETE": [409]})
    with fault_proxy(control_plane, plan, tmp_path / "kubeconfig") as kubeconfig:
        cluster = Cluster("test-a", kubeconfig, "faulty", retry=QUICK)
        manager = ResourceManager({"test-a": cluster})
        bodies = project_bodies(unique_name, notebooks=["nb-a", "nb-b"])
        created = manager.apply([target(unique_name, bodies)])
        assert created.summary()["created"] == len(bodies), created.failed
        dropped = of_source(bodies, "Notebook.nb-b")
        fewer = [b for b in bodies if b not in dropped]  # drop one notebook
        pruned = manager.apply([target(unique_name, fewer)], ApplyOptions(prune=True))
    assert {e.ref for e in pruned.with_action(Action.DELETED)} == refs(dropped), [
        (e.id, e.action, e.reason) for e in pruned if e.action != Action.UNCHANGED
    ]
    assert not pruned.failed
    assert sorted(status for _, _, status in plan.injected) == [409, 429, 429, 429, 503, 503]
    # One DELETE answered 409 was sent again.
    assert cluster.stats.by_verb()["delete"] == len(dropped) + 1


def test_requests_fail_fast_for_a_while_after_the_server_stopped_answering(tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "dead", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "dead", "user": {"token": "t"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}],
    }
    (tmp_path / "kubeconfig").write_text(json.dumps(config))
    cluster = Cluster("dead", tmp_path / "kubeconfig", "dead", retry=QUICK, down_for=60)
    with pytest.raises(ClusterError, match="no answer") as first:
        cluster.list("v1", "ConfigMap")
    assert first.value.status == 0 and first.value.retriable
    assert cluster.stats.by_verb() == {"discover": QUICK.attempts}
    with pytest.raises(ClusterError, match="not sent") as second:
        cluster.list("v1", "ConfigMap")
    assert second.value.status == 0
    assert cluster.stats.by_verb() == {"discover": QUICK.attempts}  # nothing more was sent
