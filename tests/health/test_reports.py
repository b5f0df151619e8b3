"""The JSON report is the full model, whatever the layout that makes it fast."""

from __future__ import annotations

import json

from mofang_gitops.health import Health, ObjectHealth, TargetHealth, Verdict
from mofang_gitops.health.model import PodPlacement
from mofang_gitops.health.reports import format_json


def _object(name: str, health: Health, reason: str) -> ObjectHealth:
    pod = PodPlacement(name=f"{name}-0", phase="Pending", reason='quota "tight" \\ full')
    return ObjectHealth(
        cluster="central",
        environment="prod",
        project="vision",
        kind="StatefulSet",
        namespace="vision",
        name=name,
        source=f"Notebook.{name}",
        verdict=Verdict(health, reason, phase="Starting", pods=(pod,)),
        api_version="apps/v1",
    )


def test_the_json_report_parses_to_every_target_and_object_as_dict() -> None:
    targets = [
        TargetHealth(
            environment="prod",
            cluster="central",
            project="vision",
            objects=(
                _object("a", Health.HEALTHY, "Ready"),
                _object("b", Health.DEGRADED, "refused by quota: \u00e9\n"),
            ),
        ),
        TargetHealth(environment="dev", cluster="central", project="empty", objects=()),
        TargetHealth(
            environment="prod", cluster="edge", project="x", objects=(), error="unreachable"
        ),
    ]
    data = json.loads(format_json(targets))
    assert data == {"health": "Degraded", "targets": [t.as_dict() for t in targets]}
    assert json.loads(format_json([])) == {"health": "Healthy", "targets": []}
