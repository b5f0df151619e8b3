"""Requests per resource group and the order of recent Events, from pods and Events as listed."""

from __future__ import annotations

from typing import Any

from mofang_gitops.health.events import recent_events
from mofang_gitops.health.usage import group_usage

GROUPS = {
    "gpu-a100": {"mofang.io/resource-group": "gpu-a100"},
    "cpu-general": {"mofang.io/resource-group": "cpu-general"},
}


def _pod(group: str | None, phase: str, *containers: dict[str, Any]) -> dict[str, Any]:
    selector = {"mofang.io/resource-group": group} if group else {}
    return {
        "spec": {
            "nodeSelector": selector,
            "containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(containers)],
        },
        "status": {"phase": phase},
    }


def test_usage_sums_requests_of_pods_still_holding_resources_per_group() -> None:
    gpu_worker = {"requests": {"cpu": "8", "memory": "64Gi", "nvidia.com/gpu": "2"}}
    sidecar_by_limits = {"limits": {"cpu": "1", "memory": "1Gi"}}
    pods = [
        _pod("gpu-a100", "Running", gpu_worker),
        _pod("gpu-a100", "Pending", {"requests": {"cpu": "500m"}}, sidecar_by_limits),
        _pod("gpu-a100", "Succeeded", {"requests": {"cpu": "100"}}),  # finished: holds nothing
        _pod("cpu-general", "Running", {"requests": {"cpu": "1", "memory": "2Gi"}}),
        _pod(None, "Running", {"requests": {"cpu": "50"}}),  # outside every group: left out
    ]
    usage = {u.group: dict(u.requests) for u in group_usage(pods, GROUPS)}
    assert usage == {
        "gpu-a100": {"cpu": 9.5, "memory": 65 * 2.0**30, "nvidia.com/gpu": 2.0},
        "cpu-general": {"cpu": 1.0, "memory": 2 * 2.0**30},
    }


def test_bad_quantities_count_as_nothing_rather_than_failing_the_read() -> None:
    (use,) = group_usage([_pod("cpu-general", "Running", {"requests": {"cpu": "lots"}})], GROUPS)
    assert dict(use.requests) == {"cpu": 0.0}


def _event(kind: str, reason: str, when: str, message: str = "m") -> dict[str, Any]:
    return {
        "type": kind,
        "reason": reason,
        "message": message,
        "lastTimestamp": when,
        "involvedObject": {"kind": "Pod", "name": "p"},
    }


def test_recent_events_put_warnings_first_then_newest_and_cut_to_the_limit() -> None:
    events = [
        _event("Normal", "Pulled", "2027-01-01T00:00:03Z"),
        _event("Warning", "FailedCreate", "2027-01-01T00:00:01Z", "exceeded\nquota"),
        _event("Normal", "Scheduled", "2027-01-01T00:00:05Z"),
        _event("Warning", "BackOff", "2027-01-01T00:00:02Z"),
    ]
    notes = recent_events(events)
    assert [n.reason for n in notes] == ["BackOff", "FailedCreate", "Scheduled", "Pulled"]
    assert notes[1].message == "exceeded quota" and notes[1].object == "Pod/p"
    assert [n.reason for n in recent_events(events, limit=2)] == ["BackOff", "FailedCreate"]
