"""Incremental passes on a real bare git remote and the real control plane.

A pass loads, validates and renders only projects whose directory (or the shared inputs)
changed; a pass a webhook started applies and health-reads only the targets whose desired state
changed; a full pass still compares every target with the cluster in one engine run, so drift in
an unchanged project is healed, and reads every target's health. Rules across projects (quota
sums per resource group) still see every project.
"""

from __future__ import annotations

import pytest

from mofang_gitops.controller.applier import EngineApplier
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.health import read_clusters
from mofang_gitops.k8s.cluster import Cluster
from tests.controller.harness import IsolatedRemote, checker, statefulsets
from tests.controller.test_polling_and_drift import force_as_other_manager, image_of


@pytest.fixture
def setup(control_plane, tmp_path, unique_name):
    remote = IsolatedRemote(tmp_path, unique_name, workloads=False)
    remote.notebook(remote.nlp, "nlp-nb")
    remote.push("two projects")
    applier = EngineApplier(control_plane.kubeconfig, control_plane.name)
    options = ControllerOptions(remote.url, "main", tmp_path / "cache")
    controller = Controller(options, applier)
    read: list[set[str]] = []
    # Health has a client of its own, so the applier's request counts are the apply's alone.
    health = Cluster("central", control_plane.kubeconfig, control_plane.name)

    def read_health(targets):
        read.append({t.target.project for t in targets})
        return read_clusters({"central": health}, targets, controller.resource_groups)

    controller.read_health = read_health
    cluster = checker(control_plane)
    try:
        yield remote, controller, applier, cluster, read
    finally:
        applier.close()
        cluster.close()
        health.close()


def last_pass(controller: Controller) -> dict:
    return dict(controller.board.fact("lastPass"))


def states(controller: Controller) -> dict[str, tuple[str, str]]:
    return {
        t["project"]: (t["state"], t["revision"]) for t in controller.board.snapshot()["targets"]
    }


def test_steady_full_pass_renders_nothing_and_reads_each_kind_once(setup):
    remote, controller, applier, _, _ = setup
    assert controller.reconcile_once()
    first = last_pass(controller)
    assert first["projectsRendered"] == 2 and first["targetsPlanned"] == first["targets"] == 2
    assert first["projectsValidated"] == 2 and first["targetsHealthRead"] == 2
    stats = applier.cluster("central").stats
    stats.reset()

    assert controller.reconcile_once()  # nothing pushed: a steady pass

    steady = last_pass(controller)
    assert steady["projectsRendered"] == 0 and steady["projectsValidated"] == 0
    assert steady["targetsHealthRead"] == 2  # the interval's pass reads every target
    assert steady["targetsPlanned"] == 2  # every target still compared with the cluster
    assert steady["finished"] >= first["finished"] and steady != first
    counts = stats.by_verb()
    assert stats.writes == 0 and stats.dry_runs == 0, counts
    kinds = {
        (m.api_version, m.ref.kind)
        for t in controller._planner.renders._entries.values()
        for r in t[1]
        for m in r.manifests
    }
    # One engine run for both targets: a LIST per kind (+ inventories), not per target.
    assert counts.get("list", 0) <= len(kinds) + 1, (counts, len(kinds))


def test_one_project_push_re_renders_and_applies_only_that_project(setup):
    remote, controller, applier, cluster, reads = setup
    assert controller.reconcile_once()
    before = states(controller)
    remote.notebook(remote.vision, "pushed-nb")
    head = remote.push("a notebook in vision")

    assert controller.reconcile_once(full=False)  # what a webhook starts

    done = last_pass(controller)
    assert done["projectsRendered"] == 1 and done["targetsPlanned"] == 1, done
    assert done["projectsValidated"] == 1 and done["targetsHealthRead"] == 1, done
    assert reads[-1] == {remote.vision}
    assert controller.board.snapshot()["targets"]  # the others keep their last health read
    assert "pushed-nb" in statefulsets(cluster, remote.vision)
    after = states(controller)
    assert after[remote.vision] == ("Synced", head)
    # The others were not applied, yet their status moved to the head they are identical at.
    assert {p: s for p, (s, _) in after.items()} == {p: s for p, (s, _) in before.items()}
    assert {r for _, r in after.values()} == {head}


def test_platform_change_re_renders_every_project(setup):
    remote, controller, _, cluster, _ = setup
    assert controller.reconcile_once()
    path = remote.work / "platform.yaml"
    path.write_text(path.read_text().replace("jupyter-pytorch:2.4", "jupyter-pytorch:2.5"))
    remote.push("new notebook image")

    assert controller.reconcile_once(full=False)

    done = last_pass(controller)
    assert done["projectsRendered"] == 2 and done["targetsPlanned"] == 2, done
    assert done["projectsValidated"] == 2, done  # a shared input: every project again
    assert image_of(cluster, remote.vision).endswith("jupyter-pytorch:2.5")


def test_drift_in_an_unchanged_project_is_healed_by_the_next_full_pass(setup):
    remote, controller, _, cluster, _ = setup
    assert controller.reconcile_once()
    desired = image_of(cluster, remote.vision)
    container = {"name": "notebook", "image": "registry.example.com/someone/else:1"}
    force_as_other_manager(cluster, {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "bob-dev", "namespace": remote.vision},
        "spec": {"template": {"spec": {"containers": [container]}}},
    })  # fmt: skip
    remote.notebook(remote.nlp, "other-nb")
    remote.push("a change elsewhere")

    assert controller.reconcile_once(full=False)
    assert last_pass(controller)["targetsPlanned"] == 1  # nlp only: vision is not compared
    assert image_of(cluster, remote.vision) == container["image"]

    assert controller.reconcile_once()  # the interval's full pass

    done = last_pass(controller)
    assert done["projectsRendered"] == 0 and done["targetsPlanned"] == 2, done
    assert image_of(cluster, remote.vision) == desired
    corrected = controller.metrics.drift_corrections.labels(remote.vision)._value.get()
    assert corrected >= 1


def set_gpu(remote, project: str, old: int, new: int) -> None:
    path = remote.work / "projects" / project / "quota.yaml"
    text = path.read_text()
    assert f"gpu: {old}}}" in text
    path.write_text(text.replace(f"gpu: {old}}}", f"gpu: {new}}}"))


def test_a_quota_overflow_one_pushed_project_causes_is_caught_and_blamed_on_it(setup):
    remote, controller, _, cluster, _ = setup
    assert controller.reconcile_once()  # vision and nlp hold 8 GPUs each of gpu-a100's 16
    good = states(controller)[remote.nlp][1]
    set_gpu(remote, remote.nlp, 8, 9)
    remote.notebook(remote.vision, "pushed-nb")  # vision changes too, within its quota
    head = remote.push("nlp raises its GPU quota; vision adds a notebook")

    controller.reconcile_once(full=False)

    done = last_pass(controller)
    assert done["projectsValidated"] == 2, done
    after = controller.board.snapshot()["targets"]
    nlp = next(t for t in after if t["project"] == remote.nlp)
    assert (nlp["state"], nlp["revision"]) == ("Invalid", good), nlp
    assert any("raised from 8" in p for p in nlp["problems"]), nlp["problems"]
    assert states(controller)[remote.vision] == ("Synced", head)  # one team's spec blocks nobody
    assert "pushed-nb" in statefulsets(cluster, remote.vision)

    # Another push that touches vision only: nlp is not checked again, yet still refused.
    remote.notebook(remote.vision, "second-nb")
    head = remote.push("another notebook in vision")
    controller.reconcile_once(full=False)
    done = last_pass(controller)
    assert done["projectsValidated"] == 1, done
    assert states(controller)[remote.nlp] == ("Invalid", good)
    assert states(controller)[remote.vision] == ("Synced", head)

    set_gpu(remote, remote.nlp, 9, 8)  # back within capacity: nlp applies the head again
    head = remote.push("nlp lowers its quota")
    assert controller.reconcile_once(full=False)
    assert states(controller)[remote.nlp] == ("Synced", head)
