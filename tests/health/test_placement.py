"""``status --placement``: where each workload's pods landed, read from the health model."""

from __future__ import annotations

from mofang_gitops.health import Health, ObjectHealth, PodPlacement, TargetHealth, Verdict
from mofang_gitops.health.reports import format_placement, placement_rows


def obj(kind: str, name: str, source: str, verdict: Verdict) -> ObjectHealth:
    return ObjectHealth(
        cluster="central",
        environment="dev",
        project="vision",
        kind=kind,
        namespace="vision-dev",
        name=name,
        source=source,
        verdict=verdict,
    )


def pod(name: str, node: str, group: str, phase: str) -> PodPlacement:
    return PodPlacement(name=name, phase=phase, node=node, resource_group=group)


TARGET = TargetHealth(
    environment="dev",
    cluster="central",
    project="vision",
    objects=(
        obj(
            "StatefulSet",
            "bob",
            "Notebook.bob",
            Verdict(
                Health.HEALTHY, "Ready", pods=(pod("bob-0", "gpu-a100-3", "gpu-a100", "Running"),)
            ),
        ),
        obj(
            "MPIJob",
            "hvd-1a2b3c",
            "Training.hvd",
            Verdict(
                Health.HEALTHY,
                "Succeeded",
                phase="Succeeded",
                pods=(
                    pod("hvd-launcher-x", "cpu-general-0", "cpu-general", "Succeeded"),
                    pod("hvd-worker-0", "gpu-a100-1", "gpu-a100", "Succeeded"),
                ),
            ),
        ),
        obj(
            "Job",
            "etl",
            "Training.etl",
            Verdict(Health.PROGRESSING, "Pending: no pods yet", phase="Pending"),
        ),
        obj("PersistentVolumeClaim", "project", "Project.vision", Verdict(Health.HEALTHY, "Bound")),
    ),
)


def test_every_pod_of_every_workload_is_a_row_with_node_group_and_phase():
    rows = placement_rows([TARGET])
    assert {row[:2] for row in rows} == {("vision", "dev/central")}
    assert [row[2:] for row in rows] == [
        ("Notebook bob", "Healthy", "bob-0", "gpu-a100-3", "gpu-a100", "Running", ""),
        (
            "Training hvd (MPIJob)",
            "Succeeded",
            "hvd-launcher-x",
            "cpu-general-0",
            "cpu-general",
            "Succeeded",
            "",
        ),
        (
            "Training hvd (MPIJob)",
            "Succeeded",
            "hvd-worker-0",
            "gpu-a100-1",
            "gpu-a100",
            "Succeeded",
            "",
        ),
        ("Training etl (Job)", "Pending", "-", "-", "-", "-", "Pending: no pods yet"),
    ]


def test_the_placement_table_is_aligned_under_its_header():
    lines = format_placement([TARGET]).splitlines()
    assert lines[0].split() == [
        "PROJECT",
        "ENV/CLUSTER",
        "WORKLOAD",
        "STATE",
        "POD",
        "NODE",
        "GROUP",
        "PHASE",
    ]
    assert len(lines) == 5
    column = lines[0].index("NODE")
    assert [line[column:].split()[0] for line in lines[1:]] == [
        "gpu-a100-3",
        "cpu-general-0",
        "gpu-a100-1",
        "-",
    ]
