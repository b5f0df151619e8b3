"""Decide what each target should run: the head revision, or its project's last good one.

Pure over validations, so the "one broken project never blocks another" rule is tested without a
cluster or git. A project that is invalid at the head is rendered from the last revision at which
it was valid and reported Invalid with its problems; a project never valid yet has nothing to
apply and is only reported. A project whose directory is gone from git but whose inventory is
still in a cluster gets an empty target marked ``removed``, so prune takes its objects away.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from mofang_gitops.engine import Inventory
from mofang_gitops.errors import GitError, Problem
from mofang_gitops.manifests import RenderedTarget, Target
from mofang_gitops.rendering import project_contexts, render_project, target_of
from mofang_gitops.validation.capacity import QuotaUsage, quota_usage
from mofang_gitops.validation.repository import Validation

log = logging.getLogger(__name__)


RENDER_BUDGET = 30.0
"""Default seconds one project may take to render (the largest real project takes well under 1)."""


@dataclass(frozen=True)
class PlannedTarget:
    """One target's desired state and where it comes from."""

    rendered: RenderedTarget
    revision: str
    problems: tuple[str, ...] = ()
    """Non-empty when the project is invalid at the head (the render is its last good one)."""
    removed: bool = False
    """The project is gone from git: the target is empty and everything it had is pruned."""
    error: str = ""
    """Why the head could not be rendered (the render is the last good one): reported Failed."""
    source: str = ""
    """The git trees the render came from (``RenderCache`` key); '' when unknown."""

    @property
    def desired(self) -> tuple[str, ...]:
        """Equal between two passes when the target's desired state and report are equal."""
        origin = self.source or self.revision  # unknown trees: only the same commit is equal
        return (origin, *self.problems, self.error, str(self.removed))


class RenderCache:
    """Rendered targets per project, keyed on the git trees they were rendered from.

    A render is a function of the project's directory and of the shared inputs (platform,
    environments, components, people), so equal tree hashes give an equal render: a pass re-renders
    only the projects whose directory changed, or all of them when a shared input did.
    ``key`` returns None when the trees are unknown (never cached).
    """

    def __init__(self, key: Callable[[str, str], str | None]) -> None:
        self.key = key
        """``(revision, project) -> key`` (``RevisionDigest.key`` of that revision)."""
        self._entries: dict[str, tuple[str, tuple[RenderedTarget, ...]]] = {}
        self.renders = 0
        """Projects rendered so far (a counter, read per pass by the controller)."""

    def render(
        self, validation: Validation, sha: str, name: str, budget: float
    ) -> tuple[str, list[RenderedTarget]]:
        """``name`` rendered at ``sha`` (cached when its trees did not change), with its key.

        The cache keeps the manifests ``packed()`` (texts compressed) and hands out those same
        objects, their parsed bodies dropped first: a body parsed by the last pass (health
        parses a few after ``forget_bodies``) must not stay in the cache until the process
        ends. Copies per pass cost 7 MB at 1,000 projects.
        """
        key = self.key(sha, name)
        cached = self._entries.get(name)
        if key is not None and cached is not None and cached[0] == key:
            for target in cached[1]:
                for manifest in target.manifests:
                    manifest.forget_body()
            return key, list(cached[1])
        self.renders += 1
        rendered = render_project(validation, name, budget=budget)
        if key is None:
            self._entries.pop(name, None)
            return "", rendered
        packed = [replace(r, manifests=tuple(m.packed() for m in r.manifests)) for r in rendered]
        self._entries[name] = (key, tuple(packed))
        return key, packed

    def keep(self, projects: Iterable[str]) -> None:
        """Forget the renders of projects not in ``projects`` (deleted from git)."""
        for name in set(self._entries) - set(projects):
            del self._entries[name]


def forget_bodies(targets: Iterable[PlannedTarget]) -> None:
    """Drop the parsed bodies the apply cached on ``targets``' manifests (their text stays).

    Every desired object parsed is a pass' second largest allocation after the live read
    (issue 19's heap profile); what reads a body after the apply (health: notebook URLs) parses
    the few it needs again.
    """
    for planned in targets:
        for manifest in planned.rendered.manifests:
            manifest.forget_body()


def _render(
    cache: RenderCache | None, validation: Validation, sha: str, name: str, budget: float
) -> tuple[str, list[RenderedTarget]]:
    if cache is None:
        return "", render_project(validation, name, budget=budget)
    return cache.render(validation, sha, name, budget)


@dataclass(frozen=True)
class FailedTarget:
    """A target of a project that failed to render with nothing good to fall back to."""

    target: Target
    namespace: str
    revision: str
    error: str


@dataclass(frozen=True)
class Plan:
    """Every target to apply, plus projects that are invalid with nothing good to fall back to."""

    targets: tuple[PlannedTarget, ...]
    good_revisions: dict[str, str]
    """Per project, the revision now applied (the head for valid projects)."""
    stranded: dict[str, tuple[str, ...]]
    """Invalid projects without any last good revision, with their problems."""
    failed: tuple[FailedTarget, ...] = ()
    """Targets whose project raised while rendering and had no good revision to apply instead."""


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


def quota_baseline(
    good_revisions: Mapping[str, str], load: Callable[[str], Validation]
) -> QuotaUsage:
    """The quota in force: each project's quota at its last good revision.

    The head is validated against it, so when a resource group overflows, the project whose
    quota grew is refused (and keeps its last good revision) while the others apply the head.
    A project without a good revision (new, or never valid) is absent: it counts as new.
    """
    by_revision: dict[str, QuotaUsage] = {}
    baseline: QuotaUsage = {}
    for project, sha in sorted(good_revisions.items()):
        if sha not in by_revision:
            try:
                by_revision[sha] = quota_usage(load(sha).repo)
            except GitError:  # the revision is gone: the project counts as new
                by_revision[sha] = {}
        if project in by_revision[sha]:
            baseline[project] = by_revision[sha][project]
    return baseline


def plan_targets(
    head: Validation,
    head_sha: str,
    good_revisions: Mapping[str, str],
    load: Callable[[str], Validation],
    *,
    render_budget: float = RENDER_BUDGET,
    cache: RenderCache | None = None,
) -> Plan:
    """Render valid projects at ``head_sha`` and invalid ones at their last good revision.

    ``load`` returns the validation of an older revision (the caller caches it). A project whose
    render raises (a bug its specs trigger, or a render over ``render_budget`` seconds) falls
    back to its last good revision too, reported Failed with the error; the others go on.
    With ``cache``, a project whose trees did not change since its last render is not rendered
    again.
    """
    planned: list[PlannedTarget] = []
    good: dict[str, str] = {}
    failed: list[FailedTarget] = []
    errors: dict[str, str] = {}
    for name in head.valid_projects():
        try:
            source, rendered = _render(cache, head, head_sha, name, render_budget)
        except Exception as e:  # one project's data must not stop the others' pass
            errors[name] = render_error(head_sha, e)
            log.exception("project %s: render at %s failed", name, head_sha[:12])
            continue
        planned.extend(PlannedTarget(r, head_sha, source=source) for r in rendered)
        good[name] = head_sha
    stranded: dict[str, tuple[str, ...]] = {}
    by_revision: dict[str, list[str]] = {}
    for name in sorted(set(head.repo.projects) - set(good)):
        sha = good_revisions.get(name)
        if name in errors and sha in (None, head_sha):  # nothing else to fall back to
            failed.extend(_failed_targets(head, name, head_sha, errors[name]))
            if sha is not None:
                good[name] = sha  # still its last good revision, for later passes
        elif sha is None:
            stranded[name] = project_problems(head, name)
        else:
            by_revision.setdefault(sha, []).append(name)
    for sha, names in sorted(by_revision.items()):
        try:
            older = load(sha)
        except GitError as e:  # e.g. force-pushed away before a restart emptied the cache
            for name in names:
                stranded[name] = (*project_problems(head, name), f"last good {sha[:12]}: {e}")
            continue
        for name in names:
            try:
                source, rendered = _render(cache, older, sha, name, render_budget)
            except Exception as e:  # the last good render of a project, against today's code
                log.exception("project %s: render of last good %s failed", name, sha[:12])
                failed.extend(_failed_targets(older, name, sha, render_error(sha, e)))
                continue
            problems = () if name in errors else project_problems(head, name)
            error = errors.get(name, "")
            planned.extend(
                PlannedTarget(r, sha, problems, error=error, source=source) for r in rendered
            )
            good[name] = sha
    ordered = sorted(planned, key=lambda p: p.rendered.target)
    return Plan(tuple(ordered), good, stranded, tuple(sorted(failed, key=lambda f: f.target)))


def render_error(sha: str, error: Exception) -> str:
    """``render at <sha> failed: <Type>: <message>`` (the type says bug from budget overrun)."""
    return f"render at {sha[:12]} failed: {type(error).__name__}: {error}"[:2000]


def _failed_targets(validation: Validation, name: str, sha: str, error: str) -> list[FailedTarget]:
    """The targets ``name`` would have at ``sha``, to report the failure where people look."""
    try:
        contexts = project_contexts(validation, name)
    except Exception:  # even the targets cannot be worked out: report the project alone
        log.exception("project %s: cannot list its targets at %s", name, sha[:12])
        contexts = []
    found = [FailedTarget(target_of(c), c.namespace, sha, error) for c in contexts]
    return found or [FailedTarget(Target("", "", name), "", sha, error)]


@dataclass(frozen=True)
class ControllerState:
    """What the controller must remember across restarts and hand-overs."""

    good: dict[str, str] = field(default_factory=dict)
    """Per project, the last revision at which it was valid."""
    removing: frozenset[str] = frozenset()
    """Projects deleted from git whose inventory still lists objects (being pruned, or kept)."""


@dataclass(frozen=True)
class StoredTarget:
    """A target that has an inventory in its cluster, as found there."""

    target: Target
    namespace: str
    """The project's namespace according to the inventory ('' when it lists none)."""
    kube_context: str = ""


def gone_projects(head: Validation, state: ControllerState) -> frozenset[str] | None:
    """Projects this controller knew (``state``) that have no directory at the head.

    Only known projects count: an inventory written for another repository or branch is never
    ours to prune. None (decide nothing) when the platform is invalid or the head has no project
    at all: a broken or truncated commit must not look like the deletion of every project.
    """
    if not head.platform_ok or not head.repo.projects:
        return None
    return frozenset((set(state.good) | state.removing) - set(head.repo.projects))


def removed_targets(head_sha: str, stored: Iterable[StoredTarget]) -> tuple[PlannedTarget, ...]:
    """An empty ``removed`` target per stored target of a gone project, sorted."""
    removed = [
        PlannedTarget(
            RenderedTarget(s.target, s.namespace, (), s.kube_context), head_sha, removed=True
        )
        for s in stored
    ]
    return tuple(sorted(removed, key=lambda p: p.rendered.target))


def namespace_of(inventory: Inventory) -> str:
    """The project's namespace: its Namespace entry, else the namespace most entries are in."""
    names = [e.ref.name for e in inventory.entries if e.ref.kind == "Namespace"]
    if names:
        return sorted(names)[0]
    spaces = sorted(e.ref.namespace for e in inventory.entries if e.ref.namespace)
    return max(spaces, key=spaces.count) if spaces else ""
