"""`validate --fix` writes clamped requests back, changing nothing else in the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from mofang_gitops.cli import main
from tests.scenarios import build_repo

NOTEBOOK = """\
# yaml-language-server: $schema=../../../schemas/notebook.json
# Bob's GPU notebook.   (comments, blank lines and flow mappings must survive)

apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {name: bob-dev}
spec:
  owner: bob          # a member
  image: jupyter-pytorch
  resourceGroup: gpu-a100
  resources: {cpu: "32", memory: 128Gi,   gpu: 4}   # asked for too much
  idleTimeout: 24h
"""
TRAINING = """\
apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {name: resnet50}
spec:
  framework: horovod
  image: registry.example.com/vision/resnet:1.3
  command: [python, train.py]
  resourceGroup: gpu-a100
  roles:
    launcher: {replicas: 1, resources: {cpu: "1", memory: 2Gi}}
    worker:
      replicas: 12    # policy maxWorkers is 8
      resources:
        cpu: '2'
        memory: 32Gi
        gpu: 1
  mounts: [user, project]
"""


def _repo(tmp_path: Path) -> Path:
    root = build_repo(tmp_path, "warn-clamp")
    (root / "projects/vision/notebooks/bob-dev.yaml").write_text(NOTEBOOK)
    (root / "projects/vision/trainings/resnet50.yaml").write_text(TRAINING)
    (root / "projects/vision/pipelines/daily-features.yaml").unlink()
    return root


def test_fix_rewrites_only_the_clamped_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _repo(tmp_path)
    assert main(["--repo", str(root), "validate"]) == 0
    warned = capsys.readouterr().err
    assert warned.count("clamped to") == 4, warned
    assert main(["--repo", str(root), "validate", "--fix"]) == 0
    err = capsys.readouterr().err
    assert "clamped to" not in err, err
    assert "fixed projects/vision/notebooks/bob-dev.yaml: spec.resources.cpu: '32' -> '16'" in err
    notebook = (root / "projects/vision/notebooks/bob-dev.yaml").read_text()
    expected = NOTEBOOK.replace(
        'resources: {cpu: "32", memory: 128Gi,   gpu: 4}',
        'resources: {cpu: "16", memory: 64Gi,   gpu: 2}',
    )
    assert notebook == expected
    training = (root / "projects/vision/trainings/resnet50.yaml").read_text()
    assert training == TRAINING.replace("replicas: 12    #", "replicas: 8    #")


def test_fix_leaves_a_clean_repository_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path)
    before = {p: p.read_bytes() for p in root.rglob("*.yaml")}
    assert main(["--repo", str(root), "validate", "--fix"]) == 0
    assert "nothing to fix" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in root.rglob("*.yaml")} == before
