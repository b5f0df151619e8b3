"""Reconcile status per (environment, cluster, project): what the controller reports to people.

Written by the reconcile loop, read concurrently by the HTTP server, so the board hands out
snapshots (plain JSON data), never live objects.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from mofang_gitops.health import Health, ObjectHealth, TargetHealth, worst
from mofang_gitops.manifests import Target

MAX_PROBLEMS = 20
"""Objects not Healthy listed per target on ``/status`` (the counts cover the rest)."""


def health_summary(health: TargetHealth) -> dict[str, Any]:
    """What ``/status`` shows of a target's health: overall, counts, per kind, the problems."""
    by_kind: dict[str, list[Health]] = {}
    for obj in health.objects:
        by_kind.setdefault(obj.kind, []).append(obj.health)
    problems = [
        f"{o.object_id}: {o.health}: {o.reason}"
        for o in health.objects
        if o.health not in (Health.HEALTHY, Health.SUSPENDED)
    ]
    return {
        "health": str(health.health),
        "error": health.error,
        "counts": health.counts(),
        "byKind": {kind: str(worst(hs)) for kind, hs in sorted(by_kind.items())},
        "problems": problems[:MAX_PROBLEMS],
    }


class SyncState(StrEnum):
    """Where a target stands against git (the values are what ``/status`` and metrics show)."""

    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    FAILED = "Failed"
    INVALID = "Invalid"


@dataclass(frozen=True)
class TargetStatus:
    """The last known state of one target."""

    target: Target
    state: SyncState
    revision: str = ""
    """The commit whose render is applied (an Invalid project's last good one)."""
    last_error: str = ""
    problems: tuple[str, ...] = ()
    """``path:line: ...`` errors that make the project Invalid."""
    counts: dict[str, int] = field(default_factory=dict)
    """Objects per change-set action in the last apply."""
    updated: float = 0.0
    changes: tuple[tuple[str, str, str], ...] = ()
    """``(action, Kind/namespace/name, reason)`` of the last apply, unchanged objects left out."""

    def as_dict(self) -> dict[str, Any]:
        """Return the status as JSON-serialisable data."""
        return {
            "environment": self.target.environment,
            "cluster": self.target.cluster,
            "project": self.target.project,
            "state": str(self.state),
            "revision": self.revision,
            "lastError": self.last_error,
            "problems": list(self.problems),
            "objects": dict(self.counts),
            "changes": [
                {"action": action, "object": ref, "reason": reason}
                for action, ref, reason in self.changes
            ],
            "updated": self.updated,
        }


@dataclass
class StatusBoard:
    """Thread-safe status of every target plus the controller's own facts."""

    _targets: dict[Target, TargetStatus] = field(default_factory=dict)
    _facts: dict[str, Any] = field(default_factory=dict)
    _health: dict[Target, dict[str, Any]] = field(default_factory=dict)
    _objects: dict[Target, tuple[ObjectHealth, ...]] = field(default_factory=dict)
    """Every object's full health (pods, runs, quota) per target, for the web pages; kept as
    the read's own (immutable) models, shared with the loop's memory, and turned into JSON
    only for the project a page shows (JSON of every object doubled what health costs)."""
    _around: dict[Target, dict[str, Any]] = field(default_factory=dict)
    """Per target: recent Events and requests per resource group, for the web pages."""
    _encoded: dict[Target, bytes] = field(default_factory=dict)
    """Per target: its ``/status`` entry as JSON, made once per change. ``/status`` is polled
    (dashboards, the benchmark every 0.5 s) while passes run; building every target's dicts
    and indented text per request held about 20 MB at once at 1,000 projects."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, status: TargetStatus) -> None:
        """Record ``status`` (stamped with the current time)."""
        with self._lock:
            self._targets[status.target] = replace(status, updated=time.time())
            self._encoded.pop(status.target, None)

    def put_health(self, health: TargetHealth) -> None:
        """Record the last health read of one target."""
        target = Target(health.environment, health.cluster, health.project)
        with self._lock:
            self._health[target] = health_summary(health)
            self._objects[target] = health.objects
            self._around[target] = {
                "events": [e.as_dict() for e in health.events],
                "usage": {u.group: dict(u.requests) for u in health.usage},
            }
            self._encoded.pop(target, None)

    def get(self, target: Target) -> TargetStatus | None:
        """Return the status of ``target``, if known."""
        with self._lock:
            return self._targets.get(target)

    def forget_except(self, keep: set[Target]) -> None:
        """Drop targets that no longer exist in any revision we apply."""
        with self._lock:
            for target in set(self._targets) - keep:
                del self._targets[target]
            for target in set(self._health) - keep:
                del self._health[target]
            for target in set(self._objects) - keep:
                del self._objects[target]
            for target in set(self._around) - keep:
                del self._around[target]
            for target in set(self._encoded) - keep:
                del self._encoded[target]

    def set_fact(self, key: str, value: Any) -> None:
        """Record a controller-wide fact (head revision, last fetch error, leader...)."""
        with self._lock:
            self._facts[key] = value

    def fact(self, key: str, default: Any = None) -> Any:
        """Return a controller-wide fact."""
        with self._lock:
            return self._facts.get(key, default)

    def objects(self, project: str) -> dict[Target, list[dict[str, Any]]]:
        """The full health of every object of ``project``, per target (JSON data, copied)."""
        with self._lock:
            found = sorted((t, o) for t, o in self._objects.items() if t.project == project)
        return {t: [o.as_dict() for o in objects] for t, objects in found}

    def around(self) -> dict[Target, dict[str, Any]]:
        """Per target: its recent Events and its pods' requests per resource group (copied)."""
        with self._lock:
            return {t: dict(a) for t, a in sorted(self._around.items())}

    def snapshot(self) -> dict[str, Any]:
        """Everything as JSON-serialisable data, targets sorted."""
        with self._lock:
            targets = [self._entry(t) for t in sorted(self._targets)]
            return {**self._facts, "targets": targets}

    def encoded(self) -> bytes:
        """``snapshot()`` as compact JSON, from each target's entry encoded once per change."""
        with self._lock:
            facts = dict(self._facts)
            parts = []
            for target in sorted(self._targets):
                part = self._encoded.get(target)
                if part is None:
                    part = self._encoded[target] = json.dumps(self._entry(target)).encode()
                parts.append(part)
        facts.pop("targets", None)  # the board's own list wins, as in ``snapshot``
        head = json.dumps(facts).encode()[:-1]  # '{...' without its closing brace
        return b"".join([head, b", " if facts else b"", b'"targets": [', b", ".join(parts), b"]}"])

    def _entry(self, target: Target) -> dict[str, Any]:
        return {**self._targets[target].as_dict(), "health": self._health.get(target)}


def format_table(snapshot: dict[str, Any]) -> str:
    """Render a status snapshot (from the board or ``/status``) as a text table."""
    header = ("ENVIRONMENT", "CLUSTER", "PROJECT", "STATE", "REVISION", "OBJECTS", "LAST ERROR")
    rows = [header]
    for t in snapshot.get("targets", []):
        objects = sum(int(n) for a, n in t.get("objects", {}).items() if a != "deleted")
        error = t.get("lastError") or (t.get("problems") or [""])[0]
        rows.append(
            (
                t["environment"],
                t["cluster"],
                t["project"],
                t["state"],
                str(t.get("revision", ""))[:12],
                str(objects),
                str(error).splitlines()[0][:80] if error else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    head = f"revision {str(snapshot.get('revision', ''))[:12] or '-'}"
    if snapshot.get("fetchError"):
        head += f"  fetch error: {snapshot['fetchError']}"
    return "\n".join([head, *lines])
