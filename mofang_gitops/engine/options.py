"""The one vocabulary of apply and prune options, shared by every verb of the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply (and prune); every guard is on unless explicitly relaxed."""

    prune: bool = False
    dry_run: bool = False
    """Change nothing: report what apply would do (server-side dry runs where needed)."""
    allow_replace: bool = False
    """Delete and re-create objects whose change touches an immutable field."""
    allow_mass_prune: bool = False
    """Allow a prune of more than half of a project's objects."""
    allow_empty_prune: bool = False
    """Allow pruning a project whose render is empty although its inventory is not."""
    removed_projects: frozenset[str] = frozenset()
    """Projects deleted from git: their empty render is expected."""
    allow_namespace_deletion: bool = False
    """Let prune delete Namespaces and PersistentVolumes of ``removed_projects``."""
    force_conflicts: bool = True
    """Take fields back from other managers (git wins); False reports the conflict instead."""
    concurrency: int = 8
    page_size: int | None = None
    """Objects per LIST page of the live read (None: ``livestate.PAGE_SIZE``, one request per
    kind up to 5,000 objects); the controller reads smaller pages to hold less at once."""
    may_write: Callable[[], bool] | None = None
    """Asked before every batch of writes (the controller: "do we still hold the lease?");
    False leaves the rest unwritten (``applying.NOT_WRITTEN``)."""

    def writes_allowed(self) -> bool:
        """Whether the next batch of writes may go out (dry runs write nothing: always)."""
        return self.dry_run or self.may_write is None or self.may_write()

    def project_removed(self, project: str) -> bool:
        """Whether ``project`` was deleted from git (its empty render and full prune expected)."""
        return project in self.removed_projects
