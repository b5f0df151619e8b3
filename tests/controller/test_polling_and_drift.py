"""Polling and drift, end to end: real bare git remote, real control plane, real engine."""

from __future__ import annotations

import json
import time

import pytest

from mofang_gitops.k8s.cluster import APPLY_CONTENT_TYPE
from tests.controller.harness import (
    IsolatedRemote,
    checker,
    start_controller,
    statefulsets,
    wait_for,
)

INTERVAL = 3.0
PASS = 10.0
"""Generous bound of one reconcile pass on a shared, busy control plane."""


@pytest.fixture
def running(control_plane, tmp_path, unique_name):
    remote = IsolatedRemote(tmp_path, unique_name)
    remote.push("initial")
    controller = start_controller(control_plane, remote, tmp_path / "cache", interval=INTERVAL)
    cluster = checker(control_plane)
    try:
        assert controller.controller.wait_ready(120), controller.controller.board.snapshot()
        yield remote, controller, cluster
    finally:
        controller.stop()
        cluster.close()


def test_pushed_notebook_appears_through_polling_within_one_interval(running):
    remote, controller, cluster = running
    remote.notebook(remote.nlp, "polled-nb")
    head = remote.push("add a notebook, no webhook")
    pushed = time.monotonic()
    assert wait_for(lambda: "polled-nb" in statefulsets(cluster, remote.nlp), INTERVAL + PASS + 5)
    elapsed = time.monotonic() - pushed
    # The next pass starts at most one interval after the push; PASS covers that pass itself.
    assert elapsed <= INTERVAL + PASS, elapsed
    assert wait_for(lambda: controller.targets()[remote.nlp]["revision"] == head, PASS)
    assert controller.metric("mofang_webhook_requests_total") == 0  # polling did it


def force_as_other_manager(cluster, body: dict) -> dict:
    """What `kubectl edit` would do with server-side apply: another manager, forced."""
    meta = body["metadata"]
    path = f"/apis/apps/v1/namespaces/{meta['namespace']}/statefulsets/{meta['name']}"
    _, result = cluster.request(
        "PATCH", path, subject="drift", verb="apply", body=json.dumps(body).encode(),
        query=[("fieldManager", "kubectl-edit"), ("force", "true")],
        content_type=APPLY_CONTENT_TYPE, retry_conflicts=False,
    )  # fmt: skip
    return result


def image_of(cluster, namespace: str) -> str:
    obj = cluster.get("apps/v1", "StatefulSet", namespace, "bob-dev")
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def test_drift_by_another_manager_is_corrected_at_the_next_interval_and_counted(running):
    remote, controller, cluster = running
    namespace = remote.vision
    desired = image_of(cluster, namespace)
    revision = controller.targets()[remote.vision]["revision"]
    counted = lambda: controller.metric(  # noqa: E731
        "mofang_drift_corrections_total", f'project="{remote.vision}"'
    )
    before = counted()
    container = {"name": "notebook", "image": "registry.example.com/someone/else:1"}
    drifted = force_as_other_manager(cluster, {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "bob-dev", "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [container]}}},
    })  # fmt: skip
    assert drifted["spec"]["template"]["spec"]["containers"][0]["image"] == container["image"]
    owners = {f["manager"] for f in drifted["metadata"]["managedFields"]}
    assert "kubectl-edit" in owners  # the field moved to the other manager
    started = time.monotonic()
    assert wait_for(lambda: image_of(cluster, namespace) == desired, INTERVAL + PASS + 5)
    assert time.monotonic() - started <= INTERVAL + PASS
    assert wait_for(lambda: counted() >= before + 1, 10), counted()
    assert controller.targets()[remote.vision]["revision"] == revision  # no new commit
    assert controller.targets()[remote.vision]["state"] == "Synced"
