"""A replica without the lease: ready (so rollouts proceed), quick to notice it leads now."""

import threading
import time

from mofang_gitops.controller.loop import Controller, ControllerOptions
from tests.controller.gitrepos import Remote
from tests.controller.test_reconcile_loop import RecordingApplier


def test_standby_is_ready_and_starts_applying_soon_after_it_gets_the_lease(tmp_path):
    applier = RecordingApplier()
    remote = Remote(tmp_path)
    remote.push()
    leader = threading.Event()
    options = ControllerOptions(
        remote.url, "main", tmp_path / "cache", interval=3600, standby_poll=0.05
    )
    controller = Controller(options, applier, may_apply=leader.is_set)
    thread = threading.Thread(target=controller.run, daemon=True)
    thread.start()
    try:
        assert controller.wait_ready(10)  # standing by counts as ready
        assert controller.board.snapshot()["leader"] is False and not applier.calls
        leader.set()
        deadline = time.monotonic() + 10
        while not applier.calls and time.monotonic() < deadline:
            time.sleep(0.02)
        assert applier.calls  # long before the 3600 s interval
        assert controller.board.snapshot()["leader"] is True
    finally:
        controller.stop()
        thread.join(10)
