"""The preview of a change as values: what every format (text, markdown, JSON) is made from."""

from __future__ import annotations

from dataclasses import dataclass, field

from mofang_gitops.errors import Problem
from mofang_gitops.previewing.impact import ImpactRow
from mofang_gitops.previewing.objects import ACTIONS, TargetChanges


@dataclass(frozen=True)
class ProjectPreview:
    """One project's changed targets and its resource impact."""

    name: str
    targets: tuple[TargetChanges, ...]
    impact: tuple[ImpactRow, ...]

    def count(self, action: str) -> int:
        """Objects with this action over every target."""
        return sum(t.count(action) for t in self.targets)

    def counts_text(self) -> str:
        """``3 created, 1 changed`` over every target."""
        parts = [f"{self.count(a)} {a}" for a in ACTIONS if self.count(a)]
        return ", ".join(parts) or "resource figures only"

    def environments(self) -> list[str]:
        """Environments with a change, sorted."""
        envs = {t.target.environment for t in self.targets}
        envs.update(r.environment for r in self.impact if r.changed)
        return sorted(envs)


@dataclass(frozen=True)
class Preview:
    """Everything a change does, or why it cannot be previewed (``errors``)."""

    base: str
    """Label of the base revision (a short sha)."""
    head: str
    """Label of the head revision (a short sha, or ``working tree``)."""
    projects: tuple[ProjectPreview, ...] = ()
    """Projects with a change, sorted by name."""
    rendered: tuple[str, ...] = ()
    """Projects rendered in both revisions to find the change."""
    all_rendered: bool = False
    """True when platform or environment files changed, so every project was rendered."""
    errors: tuple[Problem, ...] = ()
    """Errors of the head revision that block the change (platform, changed or broken projects)."""
    warnings: tuple[Problem, ...] = ()
    """Warnings of the head revision in the rendered projects (clamped requests)."""
    notes: tuple[str, ...] = field(default=())
    """Things a reviewer should know, such as projects invalid in the base revision."""

    @property
    def valid(self) -> bool:
        """Whether the head revision can be applied (no blocking errors)."""
        return not self.errors

    @property
    def changed(self) -> bool:
        """Whether the change does anything to any cluster."""
        return bool(self.projects)

    def environments(self) -> list[str]:
        """Environments with a change, sorted."""
        return sorted({e for p in self.projects for e in p.environments()})

    def count(self, action: str) -> int:
        """Objects with this action over every project."""
        return sum(p.count(action) for p in self.projects)
