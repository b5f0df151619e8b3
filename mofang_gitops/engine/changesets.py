"""Change sets: what the engine did (or would do) to each object, as values.

Every verb of the engine (plan, apply, prune) answers with entries of one shape, so the CLI, the
controller and the tests read results the same way, whatever went wrong where: a failure is an
entry with a reason, never an exception that hides the other objects' outcomes.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from mofang_gitops.manifests import ObjectRef, Target


class Action(StrEnum):
    """What happened to one object."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    REPLACED = "replaced"
    DELETED = "deleted"
    SKIPPED = "skipped"
    FAILED = "failed"


CHANGES = frozenset({Action.CREATED, Action.CONFIGURED, Action.REPLACED, Action.DELETED})
"""Actions that change (or would change) the cluster."""


@dataclass(frozen=True, slots=True)
class ChangeSetEntry:
    """The outcome for one object on one cluster."""

    cluster: str
    ref: ObjectRef
    action: Action
    reason: str = ""
    """Why it was skipped or failed, or what changed (field paths, other managers)."""
    diff_source: str | Callable[[], str] = field(default="", compare=False, repr=False)
    """The diff (see :attr:`diff`), or how to make it when first read.

    A created object's diff is its whole body dumped as YAML: about a third of the client CPU
    of an apply from empty, for text nobody reads unless a plan or a JSON report shows it.
    """
    api_version: str = ""
    target: Target | None = field(default=None, compare=False)

    @property
    def diff(self) -> str:
        """Unified YAML diff of the fields we set (Secret values masked), made once when read."""
        source = self.diff_source
        if callable(source):
            source = source()
            object.__setattr__(self, "diff_source", source)  # frozen: a cache, not a change
        return source

    @property
    def id(self) -> str:
        """``cluster:Kind/namespace/name`` (``cluster:Kind/name`` when cluster-scoped)."""
        return f"{self.cluster}:{self.ref}"

    def as_dict(self) -> dict[str, Any]:
        """Return the entry as JSON-serialisable data."""
        data: dict[str, Any] = {
            "id": self.id,
            "cluster": self.cluster,
            "apiVersion": self.api_version,
            "kind": self.ref.kind,
            "namespace": self.ref.namespace,
            "name": self.ref.name,
            "action": self.action.value,
            "reason": self.reason,
            "diff": self.diff,
        }
        if self.target is not None:
            data["environment"] = self.target.environment
            data["project"] = self.target.project
        return data


@dataclass(frozen=True)
class ChangeSet:
    """Every entry of one plan or apply, in the order the objects were handled."""

    entries: tuple[ChangeSetEntry, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[ChangeSetEntry]) -> ChangeSet:
        """Build a change set from any iterable of entries."""
        return cls(tuple(entries))

    def __add__(self, other: ChangeSet) -> ChangeSet:
        return ChangeSet(self.entries + other.entries)

    def __iter__(self) -> Any:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def summary(self) -> dict[str, int]:
        """Count of entries per action, every action present (zero when unused)."""
        counts = Counter(e.action for e in self.entries)
        return {action.value: counts.get(action, 0) for action in Action}

    def with_action(self, *actions: Action) -> list[ChangeSetEntry]:
        """Entries whose action is one of ``actions``."""
        return [e for e in self.entries if e.action in actions]

    @property
    def changes(self) -> list[ChangeSetEntry]:
        """Entries that change (or would change) the cluster."""
        return [e for e in self.entries if e.action in CHANGES]

    @property
    def failed(self) -> list[ChangeSetEntry]:
        """Entries that failed."""
        return self.with_action(Action.FAILED)

    @property
    def has_changes(self) -> bool:
        """Whether anything changes (or would change)."""
        return any(e.action in CHANGES for e in self.entries)

    def get(self, object_id: str) -> ChangeSetEntry | None:
        """Return the entry with ``object_id`` (``cluster:Kind/ns/name``), if any."""
        return next((e for e in self.entries if e.id == object_id), None)

    def as_dict(self) -> dict[str, Any]:
        """Return summary and entries as JSON-serialisable data."""
        return {"summary": self.summary(), "entries": [e.as_dict() for e in self.entries]}


_COLOURS = {"+": "\x1b[32m", "-": "\x1b[31m", "@": "\x1b[36m"}
_RESET = "\x1b[0m"


def format_json(changes: ChangeSet) -> str:
    """The change set as indented JSON, for machines."""
    return json.dumps(changes.as_dict(), indent=2, sort_keys=False) + "\n"


def format_text(
    changes: ChangeSet,
    *,
    diffs: bool = True,
    colour: bool = False,
    unchanged: bool = False,
    summary_of: ChangeSet | None = None,
) -> str:
    """A table of entries (unchanged ones only when asked), then each diff, then the summary.

    ``summary_of`` counts a larger change set than the table shows (a report that folded
    entries into one line each still sums every entry).
    """
    shown = [e for e in changes.entries if unchanged or e.action is not Action.UNCHANGED]
    lines: list[str] = []
    if shown:
        width = max(len(e.id) for e in shown)
        lines.append(f"{'ACTION':<11} {'OBJECT':<{width}}  REASON")
        lines.extend(f"{e.action.value:<11} {e.id:<{width}}  {e.reason}".rstrip() for e in shown)
    if diffs:
        for entry in shown:
            if entry.diff:
                lines.append("")
                lines.extend(_colour(line, colour) for line in entry.diff.splitlines())
    counted = changes if summary_of is None else summary_of
    summary = ", ".join(f"{n} {action}" for action, n in counted.summary().items() if n)
    lines.append("")
    lines.append(f"Summary: {summary or 'nothing to do'}")
    return "\n".join(lines) + "\n"


def _colour(line: str, enabled: bool) -> str:
    if not enabled or line.startswith(("+++", "---")):
        return line
    start = _COLOURS.get(line[:1])
    return f"{start}{line}{_RESET}" if start else line
