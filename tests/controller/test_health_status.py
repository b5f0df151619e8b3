"""The controller's /status and metrics carry health per target and kind, counts by health."""

from __future__ import annotations

import json

from mofang_gitops.controller.metrics import ControllerMetrics
from mofang_gitops.controller.statuses import StatusBoard, SyncState, TargetStatus
from mofang_gitops.health import Health, ObjectHealth, TargetHealth, Verdict
from mofang_gitops.manifests import Target


def _obj(kind: str, name: str, health: Health, reason: str) -> ObjectHealth:
    return ObjectHealth(
        cluster="central",
        environment="prod",
        project="vision",
        kind=kind,
        namespace="vision",
        name=name,
        source=f"Training.{name}",
        verdict=Verdict(health, reason),
    )


HEALTH = TargetHealth(
    environment="prod",
    cluster="central",
    project="vision",
    objects=(
        _obj("PyTorchJob", "a", Health.HEALTHY, "Succeeded"),
        _obj("PyTorchJob", "b", Health.DEGRADED, "refused by quota: exceeded quota"),
        _obj("StatefulSet", "nb", Health.PROGRESSING, "0/1 ready"),
    ),
)


def test_status_lists_health_per_kind_and_the_reasons_of_what_is_not_healthy() -> None:
    board = StatusBoard()
    board.put(TargetStatus(Target("prod", "central", "vision"), SyncState.SYNCED, "abc"))
    board.put_health(HEALTH)
    (target,) = board.snapshot()["targets"]
    health = target["health"]
    assert health["health"] == "Degraded"
    assert health["byKind"] == {"PyTorchJob": "Degraded", "StatefulSet": "Progressing"}
    assert health["counts"] == {"Degraded": 1, "Healthy": 1, "Progressing": 1}
    problem = "PyTorchJob/vision/b: Degraded: refused by quota: exceeded quota"
    assert health["problems"][0] == problem


def test_metrics_count_objects_by_health_per_target_per_kind_and_in_total() -> None:
    metrics = ControllerMetrics()
    metrics.set_health([HEALTH])
    text = metrics.render().decode()
    assert (
        'mofang_health_objects{cluster="central",environment="prod",health="Degraded",'
        'project="vision"} 1.0' in text
    )
    assert 'mofang_health_objects_by_kind{health="Degraded",kind="PyTorchJob"} 1.0' in text
    assert 'mofang_health_objects_by_kind{health="Progressing",kind="StatefulSet"} 1.0' in text
    # One series per target and health: no kind on the per-project gauge (cardinality).
    assert not any(
        line.startswith("mofang_health_objects{") and "kind=" in line for line in text.splitlines()
    )
    assert 'mofang_health_objects_total{health="Degraded"} 1.0' in text
    assert 'mofang_health_objects_total{health="Missing"} 0.0' in text
    metrics.set_health([])  # a target gone from git leaves no stale series
    assert 'health_objects{cluster="central"' not in metrics.render().decode()
    assert "mofang_health_objects_by_kind{" not in metrics.render().decode()


def test_status_json_is_the_snapshot_and_follows_every_change() -> None:
    """``/status`` is served from per-target JSON made once per change: never a stale entry."""
    board = StatusBoard()
    assert json.loads(board.encoded()) == board.snapshot() == {"targets": []}
    vision, nlp = Target("prod", "central", "vision"), Target("prod", "central", "nlp")
    board.set_fact("revision", "abc")
    board.put(TargetStatus(vision, SyncState.SYNCED, "abc"))
    board.put(TargetStatus(nlp, SyncState.FAILED, "abc", 'a "quoted" error\n<b>'))
    first = board.encoded()
    assert json.loads(first) == board.snapshot()
    assert [t["project"] for t in json.loads(first)["targets"]] == ["nlp", "vision"]
    board.put_health(HEALTH)  # vision's entry changes; nlp's is reused
    assert json.loads(board.encoded()) == board.snapshot()
    assert json.loads(board.encoded())["targets"][1]["health"]["health"] == "Degraded"
    board.put(TargetStatus(nlp, SyncState.SYNCED, "def"))
    board.set_fact("revision", "def")
    assert json.loads(board.encoded()) == board.snapshot()
    assert json.loads(board.encoded())["targets"][0]["state"] == "Synced"
    board.forget_except({vision})
    assert [t["project"] for t in json.loads(board.encoded())["targets"]] == ["vision"]
    assert json.loads(board.encoded()) == board.snapshot()
