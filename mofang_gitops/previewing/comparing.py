"""Preview a change: load and validate both revisions, render what the change touches, compare.

Only projects whose files changed are loaded in full and rendered, unless platform or environment
files changed (then every project is). The other projects still load their ``project.yaml`` and
``quota.yaml``, as capacity checks and the impact figures sum quotas over all projects; the base
revision borrows those unchanged specs from the head revision instead of reading them again, which
keeps a one-project preview of a large repository fast (DESIGN.md section 10).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mofang_gitops.errors import Problem, UsageError
from mofang_gitops.manifests import RenderedTarget
from mofang_gitops.previewing.impact import Snapshot, project_impact, sum_allocations
from mofang_gitops.previewing.objects import TargetChanges, diff_targets
from mofang_gitops.previewing.previews import Preview, ProjectPreview
from mofang_gitops.previewing.schedules import schedule_notes
from mofang_gitops.previewing.scoping import (
    Scope,
    add_colliders,
    add_people,
    fill_store,
    plan_scope,
)
from mofang_gitops.previewing.summaries import SummaryStore
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import Repo, load_repo
from mofang_gitops.sources.trees import FileTree, KnowsIds, read_ahead
from mofang_gitops.validation.capacity import quota_usage
from mofang_gitops.validation.repository import Validation, validate_repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviewOptions:
    """Filters and diff settings of a preview."""

    environments: frozenset[str] = frozenset()
    clusters: frozenset[str] = frozenset()
    projects: frozenset[str] = frozenset()
    context: int = 3
    """Lines of context around each change in the YAML diffs."""
    now: datetime | None = None
    """From when next run times of changed schedules count (None: the clock)."""


def project_of(path: str) -> str | None:
    """The project a repository path belongs to, None for platform-wide paths."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == "projects":
        return parts[1]
    return None


def changed_projects(
    changed: Iterable[str], consents: Callable[[str], set[str] | None] = lambda path: None
) -> tuple[set[str], bool]:
    """Projects whose files changed, and whether any platform-wide file changed.

    ``consents`` names the projects a changed ``people/`` file lists in either revision (None:
    unknown, so every project): those, and only those, are touched by it.
    """
    projects: set[str] = set()
    platform_wide = False
    for path in changed:
        name = project_of(path)
        if name is not None:
            projects.add(name)
        elif path.startswith("people/"):
            listed = consents(path)
            if listed is None:
                platform_wide = True
            else:
                projects |= listed
        elif path.split("/")[0] in (
            *("platform.yaml", "platform.yml", "environments", "components", "projects"),
        ):
            # A shared component may be inlined into any project's pipelines: render them all.
            platform_wide = True
    return projects, platform_wide


@dataclass(frozen=True)
class _SubsetTree:
    """A tree showing only platform-wide files and the files of some projects."""

    tree: FileTree
    projects: frozenset[str]
    hidden: frozenset[str] = frozenset()
    """Platform-wide files left out too (people files borrowed from the other revision)."""

    @property
    def label(self) -> str:
        return self.tree.label

    def files(self) -> list[tuple[str, bool]]:
        return [
            (path, link)
            for path, link in self.tree.files()
            if ((name := project_of(path)) is None and path not in self.hidden)
            or name in self.projects
        ]

    def read(self, path: str) -> bytes:
        return self.tree.read(path)

    def read_ahead(self, paths: Collection[str]) -> None:
        read_ahead(self.tree, paths)


def preview_trees(
    base: FileTree,
    head: FileTree,
    changed: Sequence[str],
    options: PreviewOptions = PreviewOptions(),
    labels: tuple[str, str] = ("base", "head"),
    store: SummaryStore | None = None,
) -> Preview:
    """Compare two revisions given the paths that differ between them (never raises on specs).

    With a ``store`` (git trees of both revisions, a one-change scope), unchanged projects and
    ``people/`` files it summarises are not loaded (``previewing.scoping``); the store is filled
    with those it lacked. The result is the same with or without it.
    """
    touched, platform_wide = changed_projects(changed, lambda path: _consents(path, base, head))
    scope: set[str] | None = None if platform_wide else set(touched)
    if options.projects:
        scope = set(options.projects) if scope is None else scope & options.projects
    if scope is not None and not scope:
        if options.environments or options.clusters or options.projects:
            # Nothing to render, but a misspelt filter must fail rather than read 'no changes'.
            _check_filters(options, [load_repo(base, set()), load_repo(head, set())])
        return Preview(*labels)
    planned = None
    # Planned only when no platform-wide path changed (the shared inputs are then equal). A
    # ``--project`` filter only narrows what is rendered: the plan is made from ``touched``.
    if store is not None and not platform_wide:
        if isinstance(base, KnowsIds) and isinstance(head, KnowsIds):
            planned = plan_scope(head, touched, changed, store)
    head_repo, base_repo = _load_both(base, head, scope, touched, changed, planned)
    others = planned.summarised if planned is not None else {}
    usage = {name: summary.usage for name, summary in others.items()}
    # The base is what is in force: its quota is the baseline that says who made a group
    # overflow, and its own capacity problems are not this change's to answer for.
    base_v = validate_repo(base_repo, capacity=False, others=usage)
    head_v = validate_repo(head_repo, {**quota_usage(base_repo), **usage}, others=usage)
    if store is not None and planned is not None:
        fill_store(store, planned, head_v)
    _check_filters(options, [base_repo, head_repo], others)
    names = sorted(scope if scope is not None else base_repo.projects.keys() | head_repo.projects)
    errors = _blocking_errors(base_v, head_v, touched, options.projects)
    if errors:
        return Preview(*labels, errors=tuple(errors), all_rendered=scope is None)
    allocated = {"": sum_allocations(summary.allocated for summary in others.values())}
    before, after = _render(base_v, options, names), _render(head_v, options, names)
    projects = _project_previews(
        before, after, Snapshot.of(base_v, allocated), Snapshot.of(head_v, allocated), options
    )
    rendered = set(names)
    return Preview(
        *labels,
        projects=tuple(projects),
        rendered=tuple(names),
        all_rendered=scope is None,
        warnings=tuple(w for w in head_v.warnings if project_of(w.location.path) in rendered),
        notes=tuple(
            [
                *_component_notes(base_v, head_v, changed),
                *_notes(base_v, head_v, names),
                *schedule_notes(base_v, head_v, names, options.now or datetime.now(UTC)),
            ]
        ),
    )


def _load_both(
    base: FileTree,
    head: FileTree,
    scope: set[str] | None,
    touched: set[str],
    changed: Sequence[str],
    planned: Scope | None,
) -> tuple[Repo, Repo]:
    """Load the head, then the base borrowing from it; with ``planned``, only what it leaves."""
    if planned is None or not isinstance(head, KnowsIds) or not isinstance(base, KnowsIds):
        head_repo = load_repo(head, scope)
        people = [path for path, link in head.files() if path.startswith("people/") and not link]
        return head_repo, _load_base(base, people, head_repo, touched, changed)
    tops = planned.tops()
    shown = frozenset(path.split("/")[1] for path in planned.loaded)
    head_view = _SubsetTree(head.narrowed(tops), shown, frozenset(planned.quiet_people))
    head_repo = load_repo(head_view, scope)
    base_repo = _load_base(base.narrowed(tops), planned.people_paths, head_repo, touched, changed)
    add_colliders(planned, head, [head_repo, base_repo])
    add_people(planned, head, [head_repo, base_repo])
    return head_repo, base_repo


def _consents(path: str, *trees: FileTree) -> set[str] | None:
    """Projects the person file ``path`` lets mount the home, in any of ``trees`` (None: unknown).

    A home is mounted only where its person's file lists the project, so a change to that file
    can only change validation and renders of the projects it lists, before or after.
    """
    found: set[str] = set()
    for tree in trees:
        one = _one_file(tree, path)
        repo = load_repo(one, set())
        person = next(iter(repo.people.values()), None)
        if person is None and one.files():
            return None  # unreadable: it is an error of the head or the base, render everything
        if person is not None:
            found |= set(person.model.spec.home.projects)
    return found


def _one_file(tree: FileTree, path: str) -> FileTree:
    """``tree`` showing only ``path`` (narrowed when the tree can be, without listing it all)."""
    if isinstance(tree, KnowsIds):
        return tree.narrowed([path])
    return _PathTree(tree, path)


@dataclass(frozen=True)
class _PathTree:
    """A tree showing one file only (to read a person's consent without the rest)."""

    tree: FileTree
    path: str

    @property
    def label(self) -> str:
        return self.tree.label

    def files(self) -> list[tuple[str, bool]]:
        return [(p, link) for p, link in self.tree.files() if p == self.path]

    def read(self, path: str) -> bytes:
        return self.tree.read(path)

    def read_ahead(self, paths: Collection[str]) -> None:
        read_ahead(self.tree, paths)


def _load_base(
    base: FileTree, people: list[str], head_repo: Repo, touched: set[str], changed: Sequence[str]
) -> Repo:
    """Load the base revision, borrowing from the head what the change left byte-identical.

    Borrowed: the specs of projects whose files are unchanged, where only project and quota were
    loaded (validation never modifies them, whereas it replaces clamped workloads, which would
    leak head values into the base); and every ``people/`` file present in both revisions and
    not among the changed paths (the same bytes load to the same person and the same problems).
    ``people`` lists the head's ``people/`` files (symlinks aside).
    """
    borrowed = {
        name: specs
        for name, specs in head_repo.projects.items()
        if name not in touched and not specs.workloads_loaded
    }
    keep = frozenset(p for p in head_repo.projects if p not in borrowed) | touched
    differ = set(changed)
    unchanged_people = frozenset(path for path in people if path not in differ)
    repo = load_repo(_SubsetTree(base, frozenset(keep), unchanged_people), None)
    for name, specs in borrowed.items():
        repo.projects.setdefault(name, specs)
    repo.projects = dict(sorted(repo.projects.items()))
    for identity, person in head_repo.people.items():
        if person.doc.path in unchanged_people:
            repo.people.setdefault(identity, person)
    repo.people = dict(sorted(repo.people.items(), key=lambda item: item[1].doc.path))
    repo.problems.extend(p for p in head_repo.problems if p.location.path in unchanged_people)
    return repo


def _check_filters(
    options: PreviewOptions, repos: list[Repo], others: Collection[str] = ()
) -> None:
    """Refuse filters that name nothing in either revision: a typo must not read 'no changes'."""
    envs = {e for r in repos for e in r.environments}
    projects = {p for r in repos for p in r.projects} | set(others)
    clusters = {c.name for r in repos if r.platform for c in r.platform.model.spec.clusters}
    for what, wanted, known in (
        ("environment", options.environments, envs),
        ("cluster", options.clusters, clusters),
        ("project", options.projects, projects),
    ):
        unknown = sorted(set(wanted) - known)
        if unknown:
            raise UsageError(f"unknown {what} {unknown}; known: {sorted(known)}")


def _blocking_errors(
    base: Validation, head: Validation, touched: set[str], only: Collection[str]
) -> list[Problem]:
    """Errors of the head that the change is responsible for.

    Platform-wide errors, errors in projects whose files changed, and errors in projects the change
    breaks (valid in the base, invalid in the head: a quota raised elsewhere, a platform edit).
    """
    broken = head.invalid_projects - base.invalid_projects
    found = []
    for problem in head.errors:
        name = project_of(problem.location.path)
        if name is not None and only and name not in only:
            continue
        if name is None or name in touched or name in broken:
            found.append(problem)
    return found


def _render(
    validation: Validation, options: PreviewOptions, names: list[str]
) -> list[RenderedTarget]:
    if not names:
        return []
    return render_repo(
        validation,
        environments=options.environments,
        clusters=options.clusters,
        projects=names,
    )


def _project_previews(
    before: list[RenderedTarget],
    after: list[RenderedTarget],
    base: Snapshot,
    head: Snapshot,
    options: PreviewOptions,
) -> list[ProjectPreview]:
    by_project: dict[str, list[TargetChanges]] = {}
    for changes in diff_targets(before, after, options.context):
        by_project.setdefault(changes.target.project, []).append(changes)
    names = sorted({t.target.project for t in [*before, *after]})
    found = []
    for name in names:
        impact = project_impact(base, head, name, options.environments, options.clusters)
        targets = tuple(by_project.get(name, []))
        if targets or any(row.changed for row in impact):
            found.append(ProjectPreview(name, targets, tuple(impact)))
    return found


def _notes(base: Validation, head: Validation, names: list[str]) -> list[str]:
    notes = []
    for name in names:
        if name in base.invalid_projects and name in base.repo.projects:
            notes.append(f"project {name} is invalid in the base revision: its objects show as new")
        if name in head.invalid_projects and name in base.invalid_projects:
            notes.append(f"project {name} is invalid in both revisions and was not rendered")
    return notes


def _component_notes(base: Validation, head: Validation, changed: Sequence[str]) -> list[str]:
    """One note per changed component: every pipeline (and so project) that calls it.

    Shared components are inlined into each pipeline that uses them, so their changes show up
    as WorkflowTemplate diffs of those projects; the note names them all in one place, from
    both revisions (a pipeline that stopped calling the component is listed too).
    """
    notes = []
    for path in changed:
        parts = path.split("/")
        if len(parts) == 2 and parts[0] == "components":
            owner, name = None, parts[1].rsplit(".", 1)[0]
        elif len(parts) == 4 and parts[0] == "projects" and parts[2] == "components":
            owner, name = parts[1], parts[3].rsplit(".", 1)[0]
        else:
            continue
        users = sorted(_callers(base, name, owner) | _callers(head, name, owner))
        where = f"components/{name}" if owner is None else f"projects/{owner}/components/{name}"
        listed = ", ".join(f"{project}/{pipeline}" for project, pipeline in users)
        notes.append(
            f"component {where} is used by {len(users)} pipeline(s) in "
            f"{len({p for p, _ in users})} project(s): {listed or 'none'}"
        )
    return notes


def _callers(validation: Validation, component: str, owner: str | None) -> set[tuple[str, str]]:
    """(project, pipeline) pairs whose tasks call ``component`` (a project's own when owned)."""
    found = set()
    for name, specs in validation.repo.projects.items():
        if owner is not None and name != owner:
            continue
        if owner is None and component in specs.components:
            continue  # the project's own component of that name is what its pipelines call
        for pipeline in specs.pipelines.values():
            if any(task.component == component for task in pipeline.model.spec.tasks):
                found.add((name, pipeline.name))
    return found
