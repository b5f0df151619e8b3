"""What a reconcile pass leaves on the board for the web pages, over a real git remote.

A recording applier stands in for the cluster (the loop's decisions, not the engine, are under
test): the commit behind each applied revision (subject, author, time; no e-mail), the last
apply's change set, the spec facts (owners, quota, workloads), the platform's resource groups
with the quota held on each, and the node selectors the health reader needs.
"""

from __future__ import annotations

import time
from pathlib import Path

from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.engine.changesets import Action
from mofang_gitops.sources.git import read_commit
from tests.controller.gitrepos import Remote, git
from tests.controller.test_reconcile_loop import BROKEN, RecordingApplier

SCRIPT = "<script>alert(1)</script>"


def _controller(remote: Remote, tmp_path: Path) -> tuple[Controller, RecordingApplier]:
    applier = RecordingApplier()
    return Controller(ControllerOptions(remote.url, "main", tmp_path / "cache"), applier), applier


def test_a_pass_records_subject_author_and_time_of_every_applied_revision(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    good = remote.push(f"first good {SCRIPT}\n\nbody lines stay out")
    controller, _ = _controller(remote, tmp_path)
    assert controller.reconcile_once()
    remote.write("projects/nlp/notebooks/broken.yaml", BROKEN)
    head = remote.push("break nlp")
    controller.reconcile_once()
    commits = controller.board.snapshot()["commits"]
    assert set(commits) == {good, head}  # nlp stays at its last good revision
    assert commits[good]["subject"] == f"first good {SCRIPT}"
    assert commits[good]["author"] == "t" and "@" not in str(commits[good])
    assert abs(commits[head]["time"] - time.time()) < 600


def test_read_commit_keeps_one_bounded_line(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    sha = remote.push("x" * 500 + "\nsecond line")
    info = read_commit(remote.bare, sha)
    assert info.sha == sha and len(info.subject) == 200 and info.subject.endswith("…")
    assert "second" not in info.subject
    assert read_commit(remote.work, git(remote.work, "rev-parse", "HEAD")).sha == sha


def test_a_pass_records_the_change_set_without_unchanged_objects(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    remote.push()
    controller, applier = _controller(remote, tmp_path)
    assert controller.reconcile_once()
    (vision,) = [t for t in controller.board.snapshot()["targets"] if t["project"] == "vision"]
    changes = vision["changes"]
    assert changes and {c["action"] for c in changes} == {"created"}
    assert {"action": "created", "object": "StatefulSet/vision/bob-dev", "reason": ""} in changes
    applier.action = Action.UNCHANGED
    assert controller.reconcile_once()
    (vision,) = [t for t in controller.board.snapshot()["targets"] if t["project"] == "vision"]
    assert vision["changes"] == [] and set(vision["objects"]) == {"unchanged"}


def test_a_pass_records_spec_facts_groups_and_node_selectors(tmp_path: Path) -> None:
    remote = Remote(tmp_path)
    remote.push()
    controller, _ = _controller(remote, tmp_path)
    assert controller.reconcile_once()
    snapshot = controller.board.snapshot()
    vision = snapshot["projects"]["vision"]
    assert vision["notebooks"]["bob-dev"]["owner"] == "bob"
    assert vision["trainings"]["resnet50"]["framework"] == "horovod"
    assert vision["pipelines"]["daily-features"]["cron"] == "0 2 * * *"
    assert vision["quota"]["gpu-a100"] == {"cpu": "32", "memory": "256Gi", "gpu": 8}
    groups = {g["name"]: g for g in snapshot["platform"]["resourceGroups"]}
    assert groups["gpu-a100"]["capacity"] == {"cpu": "64", "memory": "512Gi", "gpu": 16}
    assert groups["gpu-a100"]["gpuResource"] == "nvidia.com/gpu"
    assert set(groups["gpu-a100"]["quota"]) == {"vision", "nlp"}  # one environment each
    assert groups["gpu-a100"]["quota"]["nlp"] == {"cpu": "32", "memory": "256Gi", "gpu": 8}
    assert snapshot["platform"]["auth"] == {
        "mode": "header",
        "header": "kubeflow-userid",
        "prefix": "",
    }
    assert controller.resource_groups["cpu-general"] == {"mofang.io/resource-group": "cpu-general"}
