"""The wait-upstream step finds the upstream run of the latest upstream time, on a real API server.

Upstream runs are Argo Workflow objects (the upstream CRD) created with the labels our cron and
backfill runs carry; the wait computes which scheduled time to look for from the upstream's own
cron and time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mofang_gitops.cli import main
from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.engine import UpstreamRun, wait_for_upstream
from mofang_gitops.k8s.cluster import Cluster

pytestmark = pytest.mark.cluster

DOWNSTREAM_AT = "2026-11-01T01:20:00Z"
"""06:50 in Kolkata: raw-import (minute 10 there) last fired at 06:10, 00:40 UTC."""
UPSTREAM_UNIX = int(datetime(2026, 11, 1, 0, 40, tzinfo=UTC).timestamp())


def _workflow(namespace: str, name: str, unix: int, phase: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"mofang.io/pipeline": "raw-import", "mofang.io/scheduled-time": str(unix)},
        },
        "spec": {"workflowTemplateRef": {"name": "raw-import"}},
    }
    if phase:
        body["status"] = {"phase": phase}
    return body


def _wait(kubeconfig: str, context: str, namespace: str, *extra: str) -> int:
    return main(
        [
            "wait-upstream",
            "--kubeconfig", kubeconfig, "--context", context,
            "--namespace", namespace, "--pipeline", "raw-import",
            "--cron", "10 * * * *", "--timezone", "Asia/Kolkata",
            "--at", DOWNSTREAM_AT, "--interval", "1s", *extra,
        ]
    )  # fmt: skip


def test_wait_succeeds_on_the_upstream_run_of_the_latest_time_before_ours(
    cluster: Cluster,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.ensure_namespace(unique_name)
    # An older and a newer upstream run exist too; only 00:40 UTC (06:10 Kolkata) counts.
    cluster.apply(_workflow(unique_name, "raw-import-older", UPSTREAM_UNIX - 3600, "Failed"))
    cluster.apply(_workflow(unique_name, "raw-import-newer", UPSTREAM_UNIX + 3600, "Failed"))
    cluster.apply(_workflow(unique_name, f"raw-import-{UPSTREAM_UNIX}", UPSTREAM_UNIX, "Succeeded"))
    code = _wait(str(control_plane.kubeconfig), control_plane.name, unique_name, "--timeout=5s")
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"raw-import-{UPSTREAM_UNIX}" in out and "succeeded" in out
    assert "2026-11-01T06:10:00+05:30" in out


def test_wait_fails_naming_the_upstream_run_that_failed(
    cluster: Cluster,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.ensure_namespace(unique_name)
    cluster.apply(_workflow(unique_name, "raw-import-backfill-x", UPSTREAM_UNIX, "Failed"))
    code = _wait(str(control_plane.kubeconfig), control_plane.name, unique_name, "--timeout=30s")
    err = capsys.readouterr().err
    assert code == 1
    assert "raw-import-backfill-x" in err and "ended Failed" in err


def test_wait_gives_up_at_the_timeout_naming_the_run_it_expected(
    cluster: Cluster,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cluster.ensure_namespace(unique_name)
    code = _wait(str(control_plane.kubeconfig), control_plane.name, unique_name, "--timeout=2s")
    err = capsys.readouterr().err
    assert code == 1
    assert f"expected raw-import-{UPSTREAM_UNIX}" in err
    assert "did not succeed within 2s" in err


def test_a_run_created_while_waiting_is_found(cluster: Cluster, unique_name: str) -> None:
    cluster.ensure_namespace(unique_name)
    run = UpstreamRun(
        namespace=unique_name,
        pipeline="raw-import",
        scheduled=datetime.fromtimestamp(UPSTREAM_UNIX, UTC),
        expected_name=f"raw-import-{UPSTREAM_UNIX}",
    )
    phases = iter(["Running", "Succeeded"])

    def upstream_progresses(_: float) -> None:
        body = _workflow(unique_name, f"raw-import-{UPSTREAM_UNIX}", UPSTREAM_UNIX, next(phases))
        cluster.apply(body, force=True)

    outcome = wait_for_upstream(cluster, run, timeout=60, interval=0.01, sleep=upstream_progresses)
    assert outcome.succeeded, outcome.message


def test_a_manual_run_without_a_time_is_a_usage_error(
    control_plane: ControlPlane, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["wait-upstream", "--namespace", "x", "--pipeline", "raw-import", "--cron", "10 * * * *"]
    )
    assert code == 2
    assert "after-raw-import" in capsys.readouterr().err
