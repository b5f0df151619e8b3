"""Decide what each target should run: the head revision, or its project's last good one.

Pure over validations, so the "one broken project never blocks another" rule is tested without a
cluster or git. A project that is invalid at the head is rendered from the last revision at which
it was valid and reported Invalid with its problems; a project never valid yet has nothing to
apply and is only reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mofang_gitops.errors import Problem
from mofang_gitops.manifests import RenderedTarget
from mofang_gitops.rendering import render_repo
from mofang_gitops.validating import Validation


@dataclass(frozen=True)
class PlannedTarget:
    """One target's desired state and where it comes from."""

    rendered: RenderedTarget
    revision: str
    problems: tuple[str, ...] = ()
    """Non-empty when the project is invalid at the head (the render is its last good one)."""


@dataclass(frozen=True)
class Plan:
    """Every target to apply, plus projects that are invalid with nothing good to fall back to."""

    targets: tuple[PlannedTarget, ...]
    good_revisions: dict[str, str]
    """Per project, the revision now applied (the head for valid projects)."""
    stranded: dict[str, tuple[str, ...]]
    """Invalid projects without any last good revision, with their problems."""


def project_problems(validation: Validation, project: str | None) -> tuple[str, ...]:
    """Errors of ``project`` (or, for None, platform-level errors) as ``path:line: ...`` text."""
    prefix = f"projects/{project}/" if project else ""

    def belongs(p: Problem) -> bool:
        under = p.location.path.startswith("projects/")
        return p.location.path.startswith(prefix) if project else not under

    found = [str(p) for p in validation.errors if belongs(p)]
    if project and not found and not validation.platform_ok:
        found = [str(p) for p in validation.errors if not p.location.path.startswith("projects/")]
    return tuple(found)


def plan_targets(
    head: Validation,
    head_sha: str,
    good_revisions: Mapping[str, str],
    load: Callable[[str], Validation],
) -> Plan:
    """Render valid projects at ``head_sha`` and invalid ones at their last good revision.

    ``load`` returns the validation of an older revision (the caller caches it).
    """
    planned = [PlannedTarget(r, head_sha) for r in render_repo(head)]
    good = {name: head_sha for name in head.valid_projects()}
    invalid = sorted(set(head.repo.projects) - set(good))
    stranded: dict[str, tuple[str, ...]] = {}
    by_revision: dict[str, list[str]] = {}
    for name in invalid:
        sha = good_revisions.get(name)
        if sha is None:
            stranded[name] = project_problems(head, name)
        else:
            by_revision.setdefault(sha, []).append(name)
    for sha, names in sorted(by_revision.items()):
        older = load(sha)
        for rendered in render_repo(older, projects=names):
            problems = project_problems(head, rendered.target.project)
            planned.append(PlannedTarget(rendered, sha, problems))
        for name in names:
            good[name] = sha
    ordered = sorted(planned, key=lambda p: p.rendered.target)
    return Plan(tuple(ordered), good, stranded)
