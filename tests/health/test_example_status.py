"""``status`` over the bundled example platform, applied to the running cluster (its ``central``).

The README shows the table this prints: it is saved to ``test-artifacts/status-example.txt``
(gitignored) on every run, so the README's copy can be refreshed from a real run.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.running import RunningCluster
from tests.health.running import cli, delete_namespaces

REPO = Path(__file__).resolve().parents[2]
ARTIFACT = REPO / "test-artifacts" / "status-example.txt"
RUN_HERE = ("StatefulSet", "PyTorchJob", "TFJob", "XGBoostJob", "MPIJob")
"""Kinds something on the running cluster acts on (no Katib, Argo, Spark or Volcano there;
a RayJob's cluster starts, its job cannot run without Ray in the pods)."""
SPECS = ("platform.yaml", "environments", "projects", "people", "components")


def _example(tmp_path: Path) -> Path:
    root = tmp_path / "example"
    root.mkdir()
    for name in SPECS:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        else:
            shutil.copy(source, root / name)
    return root


def _status_json(root: Path, running: RunningCluster, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    cli(root, running, "status", "--cluster", "central", "-o", "json")
    return json.loads(capsys.readouterr().out)


def test_status_over_the_bundled_example_shows_every_workload_of_the_running_cluster(
    tmp_path: Path, running_cluster: RunningCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _example(tmp_path)
    assert cli(root, running_cluster, "apply", "--cluster", "central") == 0
    data = _status_json(root, running_cluster, capsys)
    namespaces = sorted({o["namespace"] for t in data["targets"] for o in t["objects"]} - {""})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # notebooks up, the operators' jobs ended
            workloads = [
                o
                for t in data["targets"]
                for o in t["objects"]
                if o["kind"] in RUN_HERE and o["source"].split(".")[0] in ("Notebook", "Training")
            ]
            if all(o["health"] != "Progressing" for o in workloads):
                break
            time.sleep(3)
            data = _status_json(root, running_cluster, capsys)
        capsys.readouterr()
        code = cli(root, running_cluster, "status", "--cluster", "central")
        table = capsys.readouterr().out
    finally:
        delete_namespaces(running_cluster, namespaces)
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(table)
    targets = {(t["project"], t["environment"]) for t in data["targets"]}
    assert {p.name for p in (root / "projects").iterdir()} >= {p for p, _ in targets}
    for project, environment in targets:
        assert f"{project}  {environment} / central" in table, table
    notebooks = [o for t in data["targets"] for o in t["objects"] if o["kind"] == "StatefulSet"]
    assert notebooks and all(n["health"] == "Healthy" and n["url"] for n in notebooks), notebooks
    assert all(f"Notebook {n['source'].partition('.')[2]}" in table for n in notebooks)
    assert code in (0, 1)  # 1: something Degraded or Missing, and the table says what
    assert ("Degraded" in table or "Missing" in table) == (code == 1), table
