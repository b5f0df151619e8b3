"""A project whose load, validation, render or apply raises is Failed or Invalid; the rest go on.

The bug is simulated by replacing one of our own pure functions with one that raises for one
project (the only double here); git, the engine and the API server are real.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.controller.applier import EngineApplier
from mofang_gitops.controller.events import EventRecorder
from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.plans import plan_targets
from mofang_gitops.controller.webhooks import WebhookReceiver
from mofang_gitops.engine.applying import ApplyOptions
from mofang_gitops.engine.changesets import ChangeSet
from mofang_gitops.manifests import RenderedTarget
from mofang_gitops.rendering import context as render_context
from mofang_gitops.rendering import notebooks
from mofang_gitops.sources import loading
from mofang_gitops.validation import repository
from tests.controller.harness import IsolatedRemote, Running, checker, wait_for
from tests.controller.test_reconcile_loop import RecordingApplier, make, states
from tests.scenarios import build_repo, validate_dir


def _raise_for(project: str, real: Any, notebook: str = "") -> Any:
    """``real``, except that it raises a bug-like error for ``project``'s targets.

    With ``notebook``, only when the project has that notebook: the bug is triggered by data,
    so the project's last good revision still renders.
    """

    def render(ctx: render_context.TargetContext) -> None:
        if ctx.project.name == project and (not notebook or notebook in ctx.resolved.notebooks):
            raise KeyError("simulated bug in the notebook renderer")
        real(ctx)

    return render


@pytest.fixture
def running(control_plane, tmp_path: Path, unique_name: str):
    remote = IsolatedRemote(tmp_path, unique_name, workloads=False)
    remote.push("initial")
    applier = EngineApplier(control_plane.kubeconfig, control_plane.name)
    options = ControllerOptions(remote.url, "main", tmp_path / "cache", interval=3600)
    controller = Controller(options, applier)
    controller.on_result = EventRecorder(applier.cluster_of, controller.namespaces).record
    server = ControllerServer(
        ("127.0.0.1", 0), controller, WebhookReceiver("github", b"secret", "main")
    )
    server.start()
    thread = threading.Thread(target=controller.run, daemon=True)
    thread.start()
    assert controller.wait_ready(120), controller.board.snapshot()
    run = Running(controller, server, thread, applier)
    yield remote, run
    run.stop()


@pytest.mark.cluster
def test_a_project_whose_render_raises_is_failed_and_the_others_stay_synced(
    running, control_plane, monkeypatch: pytest.MonkeyPatch
) -> None:
    remote, run = running
    controller = run.controller
    good = controller.board.snapshot()["revision"]
    monkeypatch.setattr(notebooks, "render", _raise_for(remote.vision, notebooks.render, "vis-nb"))
    remote.notebook(remote.vision, "vis-nb")
    remote.notebook(remote.nlp, "nlp-nb")
    head = remote.push("both projects change; rendering one of them raises")
    controller.trigger()

    def settled() -> bool:  # targets apply in name order: the pass has reached both
        found = run.targets()
        return found[remote.nlp]["revision"] == head and found[remote.vision]["state"] != "Synced"

    assert wait_for(settled, 60), run.targets()
    found = run.targets()
    assert found[remote.nlp]["state"] == "Synced"
    vision = found[remote.vision]
    assert vision["state"] == "Failed" and vision["revision"] == good
    assert "KeyError" in vision["lastError"] and head[:12] in vision["lastError"]
    assert run.metric("mofang_errors_total", 'stage="render"') >= 1
    cluster = checker(control_plane)
    try:
        events = cluster.list("v1", "Event", [remote.vision])
        assert any(e.get("reason") == "Failed" and "KeyError" in e["message"] for e in events)
        nlp_sets = {
            s["metadata"]["name"] for s in cluster.list("apps/v1", "StatefulSet", [remote.nlp])
        }
        assert any("nlp-nb" in n for n in nlp_sets)
        vision_sets = cluster.list("apps/v1", "StatefulSet", [remote.vision])
        assert not any("vis-nb" in s["metadata"]["name"] for s in vision_sets)
    finally:
        cluster.close()


def test_a_project_that_never_rendered_is_listed_failed_with_its_targets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notebooks, "render", _raise_for("vision", notebooks.render))
    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier)
    remote.push()
    assert controller.reconcile_once()
    found = states(controller)
    assert found["nlp"]["state"] == "Synced"
    assert found["vision"]["state"] == "Failed" and "KeyError" in found["vision"]["lastError"]
    assert (found["vision"]["environment"], found["vision"]["cluster"]) == ("prod", "central")
    assert not applier.names("vision")  # nothing half-rendered is applied (or pruned)


def test_the_render_budget_stops_a_slow_project_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = notebooks.render

    def slow(ctx: render_context.TargetContext) -> None:
        if ctx.project.name == "vision":
            time.sleep(0.3)
        real(ctx)

    monkeypatch.setattr(notebooks, "render", slow)
    root = build_repo(tmp_path)
    other = root / "projects/nlp"
    other.mkdir()
    for doc in ("project.yaml", "quota.yaml"):
        text = (root / "projects/vision" / doc).read_text()
        (other / doc).write_text(text.replace("{name: vision}", "{name: nlp}"))
    head = validate_dir(root)
    plan = plan_targets(head, "h" * 40, {}, lambda sha: head, render_budget=0.2)
    assert [p.rendered.target.project for p in plan.targets] == ["nlp"]
    assert [f.target.project for f in plan.failed] == ["vision"]
    assert "RenderBudgetError" in plan.failed[0].error


def test_a_pass_that_raises_is_counted_and_the_next_one_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mofang_gitops.controller import planner

    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier)
    remote.push()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("simulated bug in planning")

    monkeypatch.setattr(planner, "plan_targets", broken)
    assert controller.reconcile_once() is False
    snapshot = controller.board.snapshot()
    assert "ZeroDivisionError" in snapshot["passError"]
    assert 'mofang_errors_total{stage="pass"} 1.0' in controller.metrics.render().decode()
    monkeypatch.setattr(planner, "plan_targets", plan_targets)
    assert controller.reconcile_once()
    assert {t["state"] for t in states(controller).values()} == {"Synced"}
    assert controller.board.snapshot()["passError"] == ""


class RaisingApplier(RecordingApplier):
    """Applies like RecordingApplier, but a bug-like error for one project."""

    def __init__(self, project: str) -> None:
        super().__init__()
        self.project = project

    def apply(self, targets: Sequence[RenderedTarget], options: ApplyOptions) -> ChangeSet:
        if any(t.target.project == self.project for t in targets):
            raise TypeError("simulated bug in the engine")
        return super().apply(targets, options)


def test_an_apply_that_raises_fails_its_target_only(tmp_path: Path) -> None:
    applier = RaisingApplier("vision")
    remote, controller = make(tmp_path, applier)
    remote.push()
    assert not controller.reconcile_once()
    found = states(controller)
    assert found["nlp"]["state"] == "Synced"
    assert found["vision"]["state"] == "Failed" and "TypeError" in found["vision"]["lastError"]
    assert 'mofang_errors_total{stage="apply"} 1.0' in controller.metrics.render().decode()


def test_a_validation_bug_makes_its_project_invalid_with_a_located_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = repository.resolve_project_workloads

    def resolve(repo: Any, specs: Any, platform: Any) -> Any:
        if specs.name == "vision":
            raise AttributeError("simulated bug in a rule")
        return real(repo, specs, platform)

    monkeypatch.setattr(repository, "resolve_project_workloads", resolve)
    root = build_repo(tmp_path)
    (root / "projects/nlp").mkdir()
    for doc in ("project.yaml", "quota.yaml"):
        text = (root / "projects/vision" / doc).read_text()
        (root / "projects/nlp" / doc).write_text(text.replace("{name: vision}", "{name: nlp}"))
    validation = validate_dir(root)
    assert validation.valid_projects() == ["nlp"]
    (problem,) = [p for p in validation.errors if "AttributeError" in p.message]
    assert str(problem).startswith("projects/vision/project.yaml: internal error while validating")


def test_a_loading_bug_makes_the_file_s_project_invalid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = loading.build_model

    def build(doc: Any, expected: str, problems: Any) -> Any:
        if doc.path.endswith("bob-dev.yaml"):
            raise IndexError("simulated bug in the loader")
        return real(doc, expected, problems)

    monkeypatch.setattr(loading, "build_model", build)
    root = build_repo(tmp_path)
    validation = validate_dir(root)
    assert "vision" not in validation.valid_projects()
    assert any(
        p.location.path == "projects/vision/notebooks/bob-dev.yaml" and "IndexError" in p.message
        for p in validation.errors
    )


def test_a_validation_bug_in_the_controller_is_invalid_counted_and_the_other_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = repository.resolve_project_workloads

    def resolve(repo: Any, specs: Any, platform: Any) -> Any:
        if specs.name == "vision":
            raise AttributeError("simulated bug in a rule")
        return real(repo, specs, platform)

    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier)
    remote.push()
    monkeypatch.setattr(repository, "resolve_project_workloads", resolve)
    assert controller.reconcile_once()
    assert {t["project"]: t["state"] for t in controller.board.snapshot()["targets"]} == {
        "nlp": "Synced"
    }
    invalid = controller.board.snapshot()["invalidProjects"]
    assert any("AttributeError" in p for p in invalid["vision"])
    assert 'mofang_errors_total{stage="validate"} 1.0' in controller.metrics.render().decode()


def test_a_render_budget_that_is_not_a_duration_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mofang_gitops.cli import main

    code = main(["controller", "--repo-url", "file:///nowhere", "--render-budget", "soon"])
    assert code == 2
    assert "--render-budget 'soon': 'soon' is not a duration" in capsys.readouterr().err
