"""Waiting for what an apply changed to become healthy (``apply --wait``).

Each poll is one health read (the same LISTs as ``status``), never a GET per object. Done when
every watched object is Healthy (a one-shot run: Succeeded), Suspended (what git asked for) or
Unknown (no controller reports on it);
a Degraded object ends the wait at once, with its reason, since waiting longer would only delay
the bad news; the timeout ends it otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from mofang_gitops.health.model import Health, ObjectHealth, TargetHealth

DONE = frozenset({Health.HEALTHY, Health.SUSPENDED, Health.UNKNOWN})
"""Unknown is done too: nothing reports on it (a Queue without Volcano), so waiting cannot help;
``apply --wait`` still prints it."""
WatchKey = tuple[str, str, str, str]
"""``(cluster, kind, namespace, name)``."""


def watch_key(obj: ObjectHealth) -> WatchKey:
    """How an object is named among those to wait for."""
    return (obj.cluster, obj.kind, obj.namespace, obj.name)


@dataclass(frozen=True)
class WaitResult:
    """How a wait ended, with the last health of every watched object."""

    objects: tuple[ObjectHealth, ...]
    timed_out: bool = False
    errors: tuple[str, ...] = ()
    """Targets that could not be read at the last poll."""

    @property
    def ok(self) -> bool:
        """Every watched object done, nothing unreadable."""
        return (
            not self.timed_out and not self.errors and all(o.health in DONE for o in self.objects)
        )

    @property
    def failed(self) -> tuple[ObjectHealth, ...]:
        """Watched objects not done (Degraded ones first)."""
        bad = [o for o in self.objects if o.health not in DONE]
        return tuple(sorted(bad, key=lambda o: o.health is not Health.DEGRADED))


def wait_healthy(
    read: Callable[[], Sequence[TargetHealth]],
    watched: Collection[WatchKey],
    *,
    timeout: float,
    interval: float = 2.0,
    progress: Callable[[Sequence[ObjectHealth]], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> WaitResult:
    """Poll ``read`` until every watched object is done, one is Degraded, or time runs out."""
    deadline = clock() + timeout
    wanted = set(watched)
    while True:
        targets = read()
        objects = tuple(o for t in targets for o in t.objects if watch_key(o) in wanted)
        errors = tuple(
            f"{t.environment}/{t.cluster}/{t.project}: {t.error}" for t in targets if t.error
        )
        if progress is not None:
            progress(objects)
        result = WaitResult(objects=objects, errors=errors)
        if result.ok or any(o.health is Health.DEGRADED for o in objects):
            return result
        if clock() >= deadline:
            return WaitResult(objects=objects, timed_out=True, errors=errors)
        time.sleep(min(interval, max(0.0, deadline - clock())))
