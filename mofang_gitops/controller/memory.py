"""What the reconcile loop remembers between passes, and the part that outlives the process.

The last good revision per project and the projects being removed are kept in a
``StateStore`` too (a ConfigMap in the cluster), loaded whenever this replica starts leading, so
neither a restart nor a hand-over forgets them; the rest is rebuilt by the next full pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from mofang_gitops.controller.plans import ControllerState
from mofang_gitops.controller.ports import StateStore
from mofang_gitops.controller.statuses import StatusBoard
from mofang_gitops.errors import ClusterError
from mofang_gitops.health import TargetHealth
from mofang_gitops.manifests import Target
from mofang_gitops.sources.git import CommitInfo

log = logging.getLogger(__name__)


@dataclass
class Memory:
    """What survives between passes (``good`` also in the state store, if there is one)."""

    head: str = ""
    good: dict[str, str] = field(default_factory=dict)
    removing: frozenset[str] = frozenset()
    restored: bool = False
    """Whether the state was loaded from the store since this replica last started leading."""
    saved: ControllerState | None = None
    applied: dict[Target, tuple[str, ...]] = field(default_factory=dict)
    """Per target, what was last applied without failures (``PlannedTarget.desired``): drift =
    changes to a target whose desired state did not change; an incremental pass skips it."""
    last_full: float = -1.0
    """``time.monotonic()`` when the last full pass started (-1: none yet)."""
    health: dict[Target, TargetHealth] = field(default_factory=dict)
    """The last health read of each target (a webhook pass reads only what it applied)."""
    failures: int = 0
    commits: dict[str, CommitInfo] = field(default_factory=dict)
    """Subject, author and time of the revisions shown (a commit never changes)."""

    def restore(self, store: StateStore | None, board: StatusBoard) -> bool:
        """Load the state once per leadership; False (retry later) when it cannot be read."""
        if self.restored or store is None:
            return True
        try:
            stored = store.load()
        except ClusterError as e:
            log.warning("cannot read the controller state, retrying: %s", e)
            board.set_fact("stateError", str(e))
            self.failures += 1
            return False
        self.good = {**stored.good, **self.good}
        self.removing |= stored.removing
        self.saved, self.restored = stored, True
        board.set_fact("stateError", "")
        log.info("restored the last good revision of %d project(s)", len(stored.good))
        return True

    def save(self, store: StateStore | None) -> None:
        """Store the state when it changed (best effort: retried on the next pass)."""
        state = ControllerState(dict(self.good), self.removing)
        if store is None or self.saved == state:
            return
        try:
            store.save(state)
        except ClusterError as e:
            log.warning("cannot store the controller state, retrying next pass: %s", e)
            return
        self.saved = state
