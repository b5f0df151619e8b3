"""The reconcile loop over a real git remote, with a recording applier (no cluster needed).

These check the loop's decisions (which revision each target gets, status, backoff); applying to a
real API server is covered by the end-to-end tests.
"""

from collections.abc import Sequence

from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.engine import ApplyOptions
from mofang_gitops.engine.changesets import Action, ChangeSet, ChangeSetEntry
from mofang_gitops.errors import ClusterError
from mofang_gitops.manifests import RenderedTarget
from tests.controller.gitrepos import Remote

BROKEN = (
    "apiVersion: mofang.io/v1alpha1\nkind: Notebook\nmetadata: {name: broken}\nspec:\n  image: x\n"
)


class RecordingApplier:
    def __init__(self) -> None:
        self.calls: list[RenderedTarget] = []
        self.fail_with: ClusterError | None = None
        self.action = Action.CREATED

    def apply(self, targets: Sequence[RenderedTarget], options: ApplyOptions) -> ChangeSet:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.extend(targets)
        return ChangeSet.of(
            ChangeSetEntry(t.target.cluster, m.ref, self.action, target=t.target)
            for t in targets
            for m in t.manifests
        )

    def names(self, project: str) -> set[str]:
        return {m.ref.name for t in self.calls if t.target.project == project for m in t.manifests}


def make(tmp_path, applier, **kw):
    remote = Remote(tmp_path)
    options = ControllerOptions(remote.url, "main", tmp_path / "cache", interval=0.1, **kw)
    return remote, Controller(options, applier)


def states(controller):
    return {t["project"]: t for t in controller.board.snapshot()["targets"]}


def test_first_pass_applies_every_project_and_is_ready(tmp_path):
    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier)
    sha = remote.push()
    assert controller.reconcile_once()
    assert controller.ready.is_set()
    found = states(controller)
    assert {p: t["state"] for p, t in found.items()} == {"nlp": "Synced", "vision": "Synced"}
    assert found["vision"]["revision"] == sha and found["vision"]["objects"]["created"] > 0


def test_invalid_project_keeps_last_good_revision_while_other_moves_on(tmp_path):
    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier)
    good = remote.push("good")
    controller.reconcile_once()
    remote.write("projects/vision/notebooks/broken.yaml", BROKEN)
    remote.notebook("nlp", "nlp-nb", owner="bob")
    head = remote.push("one broken, one fine")
    applier.calls.clear()
    assert controller.reconcile_once()
    found = states(controller)
    assert found["vision"]["state"] == "Invalid" and found["vision"]["revision"] == good
    assert any("projects/vision/notebooks/broken.yaml:" in p for p in found["vision"]["problems"])
    assert found["nlp"]["state"] == "Synced" and found["nlp"]["revision"] == head
    assert "nlp-nb" in applier.names("nlp")
    assert "broken" not in applier.names("vision") and "bob-dev" in applier.names("vision")


def test_project_invalid_from_the_start_is_not_applied(tmp_path):
    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier)
    remote.write("projects/nlp/notebooks/broken.yaml", BROKEN)
    remote.push()
    controller.reconcile_once()
    assert set(states(controller)) == {"vision"}
    assert not applier.names("nlp")


def test_remote_down_keeps_last_head_and_reports_fetch_error(tmp_path):
    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier)
    sha = remote.push()
    controller.reconcile_once()
    remote.bare.rename(tmp_path / "gone.git")
    applier.calls.clear()
    assert controller.reconcile_once()
    snapshot = controller.board.snapshot()
    assert snapshot["fetchError"] and snapshot["revision"] == sha
    assert applier.calls  # the last good state is still enforced (drift)


def test_retriable_cluster_error_is_failed_and_backs_off(tmp_path):
    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier, backoff_base=0.01)
    remote.push()
    applier.fail_with = ClusterError("central", "no answer", 0)
    assert not controller.reconcile_once()
    assert {t["state"] for t in states(controller).values()} == {"Failed"}
    assert not controller.ready.is_set()
    applier.fail_with = None
    assert controller.reconcile_once() and controller.ready.is_set()


def test_changes_at_an_applied_revision_count_as_drift(tmp_path):
    applier = RecordingApplier()
    remote, controller = make(tmp_path, applier)
    remote.push()
    controller.reconcile_once()
    applier.action = Action.UNCHANGED
    controller.reconcile_once()
    applier.action = Action.CONFIGURED
    controller.reconcile_once()
    metrics = controller.metrics.render().decode()
    assert 'mofang_drift_corrections_total{project="vision"}' in metrics


def test_not_leader_applies_nothing(tmp_path):
    applier = RecordingApplier()
    remote = Remote(tmp_path)
    remote.push()
    options = ControllerOptions(remote.url, "main", tmp_path / "cache")
    controller = Controller(options, applier, may_apply=lambda: False)
    assert not controller.reconcile_once()
    assert not applier.calls and controller.board.snapshot()["leader"] is False


def test_trigger_wakes_the_loop(tmp_path):
    import threading
    import time

    applier = RecordingApplier()
    remote = Remote(tmp_path)
    remote.push()
    options = ControllerOptions(remote.url, "main", tmp_path / "cache", interval=3600)
    controller = Controller(options, applier)
    thread = threading.Thread(target=controller.run, daemon=True)
    thread.start()
    assert controller.wait_ready(10)
    remote.notebook("vision", "new-nb")
    remote.push()
    controller.trigger()
    deadline = time.monotonic() + 10
    while "new-nb" not in applier.names("vision") and time.monotonic() < deadline:
        time.sleep(0.05)
    controller.stop()
    thread.join(10)
    assert "new-nb" in applier.names("vision")
