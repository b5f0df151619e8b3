"""Cross-document validation: the rules no single model can check on its own.

Runs after loading. Every finding is a ``Problem`` with the file position, the field path and a
hint; all are collected. Errors in one project mark only that project invalid, so the others can
still be rendered and applied. Platform-level errors (platform.yaml, environments) invalidate all.

Validation never changes the loaded repository. What it decides (requests clamped by policy) is
returned as a resolved view per valid project, ``Validation.resolved``, with the warnings that
explain each decision; rendering reads only that view.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from mofang_gitops.errors import Location, Problem, field_path
from mofang_gitops.models import Platform, Project
from mofang_gitops.models.identities import safe_name
from mofang_gitops.sources.loading import Loaded, ProjectSpecs, Repo, internal_problem
from mofang_gitops.validation.capacity import Amount, check_capacity
from mofang_gitops.validation.namespaces import check_namespaces
from mofang_gitops.validation.workloads import ResolvedProject, resolve_project_workloads

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectCheck:
    """What one project's own files give, the rules across projects aside.

    A function of the project's directory and of the shared inputs (platform, environments,
    components, people) only, so the controller reuses it while their git trees are unchanged.
    """

    problems: tuple[Problem, ...]
    """Its load problems, then the findings of its own rules."""
    resolved: ResolvedProject | None
    """Its specs as they render; None when its rules did not get that far."""


@dataclass
class Validation:
    """The outcome of validating a repository: problems, and the resolved view of each project."""

    repo: Repo
    problems: list[Problem] = field(default_factory=list)
    invalid_projects: set[str] = field(default_factory=set)
    resolved: dict[str, ResolvedProject] = field(default_factory=dict)
    """Per project whose rules ran: its specs as they render (clamped where the policy says)."""
    checks: dict[str, ProjectCheck] = field(default_factory=dict)
    """Per project, its own findings: reusable while its files and the shared inputs are equal."""
    others: Mapping[str, Mapping[str, Amount]] = field(default_factory=dict)
    """Quota usage of valid projects known from elsewhere, not loaded (``validate_repo``)."""

    @property
    def platform_ok(self) -> bool:
        """Whether platform.yaml and every environment are valid.

        A broken shared component is not a platform error: only the pipelines that use it fail
        (each reports the component as unusable), every other workload still renders. A broken
        ``people/`` file blocks nobody else either: that person simply has not agreed to anything,
        so only workloads mounting their home are refused.
        """
        return self.repo.platform is not None and not any(
            p.is_error and not p.location.path.startswith(("projects/", "components/", "people/"))
            for p in self.problems
        )

    @property
    def errors(self) -> list[Problem]:
        """Errors only, sorted."""
        return sorted(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> list[Problem]:
        """Warnings only (clamped requests), sorted."""
        return sorted(p for p in self.problems if not p.is_error)

    def valid_projects(self) -> list[str]:
        """Projects that can be rendered: platform valid and the project itself valid."""
        if not self.platform_ok:
            return []
        return sorted(name for name in self.resolved if name not in self.invalid_projects)


def validate_repo(
    repo: Repo,
    baseline: Mapping[str, Mapping[str, Amount]] | None = None,
    *,
    capacity: bool = True,
    reuse: Mapping[str, ProjectCheck] | None = None,
    others: Mapping[str, Mapping[str, Amount]] | None = None,
) -> Validation:
    """Check every cross-document rule of DESIGN.md section 2; never raises on bad input.

    ``baseline`` is the quota in force (``quota_usage`` of the base or last good revision): an
    overflowing resource group is blamed on the projects whose quota grew past it. Without one,
    every project on an overflowing group is refused. ``capacity=False`` skips the capacity
    rule, for an older revision rendered only for projects that passed it when it was the head.
    ``reuse`` holds ``ProjectCheck``s made earlier for unchanged projects (same directory, same
    shared inputs): they are not checked again, the rules across projects always run.
    ``others`` holds the quota usage of projects left out of ``repo`` that are known valid and
    to meet no loaded project's names (a preview's summaries): capacity sums count them.
    """
    validation = Validation(repo, list(repo.problems), others=dict(others or {}))
    if repo.platform is None:
        for specs in repo.projects.values():
            validation.problems.extend(specs.problems)
            if _has_errors(specs.problems):
                validation.invalid_projects.add(specs.name)
        return validation
    platform = repo.platform
    validation.problems.extend(_check_platform(platform))
    validation.problems.extend(_check_environments(repo, platform.model))
    reused = reuse or {}
    for name in sorted(repo.projects):
        check = reused.get(name) or check_project(repo, repo.projects[name], platform.model)
        validation.checks[name] = check
        validation.problems.extend(check.problems)
        if check.resolved is not None:
            validation.resolved[name] = check.resolved
        if _has_errors(check.problems):
            validation.invalid_projects.add(name)
    try:
        shared: list[tuple[str | None, Problem]] = [*check_namespaces(repo, platform.model)]
        if capacity:
            shared.extend(check_capacity(repo, platform.model, baseline, validation.others))
    except Exception as e:  # rules across projects: nobody to blame, so nothing new applies
        log.exception("checks across projects raised")
        shared = [(None, internal_problem(Location("platform.yaml"), "checking projects", e))]
    for owner, problem in shared:
        validation.problems.append(problem)
        if owner is not None:  # None: the platform's error, which invalidates every project
            validation.invalid_projects.add(owner)
    return validation


def check_project(repo: Repo, specs: ProjectSpecs, platform: Platform) -> ProjectCheck:
    """One project's load problems and own rules (a bug it triggers makes it invalid)."""
    try:
        found = _check_project(repo, specs, platform)
        resolved = None
        if specs.project is not None and specs.quota is not None and not _has_errors(found):
            resolved = resolve_project_workloads(repo, specs, platform)
            found.extend(resolved.problems)
    except Exception as e:  # a bug one project triggers makes that project invalid
        log.exception("project %s: validation raised", specs.name)
        resolved = None
        found = [internal_problem(Location(f"projects/{specs.name}/project.yaml"), "validating", e)]
    return ProjectCheck((*specs.problems, *found), resolved)


def _has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.is_error for p in problems)


def _check_platform(loaded: Loaded[Platform]) -> list[Problem]:
    platform = loaded.model
    spec = platform.spec
    subject = f"Platform {platform.name}"
    found: list[Problem] = []
    found += _duplicates([c.name for c in spec.clusters], loaded, "clusters", subject, "cluster")
    found += _duplicates(
        [g.name for g in spec.resourceGroups], loaded, "resourceGroups", subject, "resource group"
    )
    clusters = {c.name for c in spec.clusters}
    for i, group in enumerate(spec.resourceGroups):
        if group.cluster not in clusters:
            found.append(
                loaded.problem(
                    ("spec", "resourceGroups", i, "cluster"),
                    f"unknown cluster {group.cluster!r}",
                    subject=subject,
                    hint=f"declare it under spec.clusters (known: {sorted(clusters)})",
                )
            )
    for key, image in spec.images.items():
        if not any(image.image.startswith(r) for r in spec.registries):
            found.append(
                loaded.problem(
                    ("spec", "images", key, "image"),
                    f"image {image.image!r} is not from an allowed registry",
                    subject=subject,
                    hint=f"allowed: {', '.join(spec.registries)}",
                )
            )
    return found


def _duplicates(
    names: list[str], loaded: Loaded[Platform], field_name: str, subject: str, what: str
) -> list[Problem]:
    seen: set[str] = set()
    found = []
    for i, name in enumerate(names):
        if name in seen:
            found.append(
                loaded.problem(
                    ("spec", field_name, i, "name"),
                    f"duplicate {what} {name!r}",
                    subject=subject,
                    hint="names must be unique",
                )
            )
        seen.add(name)
    return found


def _check_environments(repo: Repo, platform: Platform) -> list[Problem]:
    found: list[Problem] = []
    clusters = {c.name for c in platform.spec.clusters}
    namespaces: dict[tuple[str, str], str] = {}
    for name in sorted(repo.environments):
        env = repo.environments[name]
        subject = f"Environment {name}"
        for i, cluster in enumerate(env.model.spec.clusters):
            if cluster not in clusters:
                found.append(
                    env.problem(
                        ("spec", "clusters", i),
                        f"unknown cluster {cluster!r}",
                        subject=subject,
                        hint=f"clusters of platform.yaml: {sorted(clusters)}",
                    )
                )
            key = (cluster, env.model.namespace_for("x"))
            if key in namespaces:
                found.append(
                    env.problem(
                        ("spec", "namespace"),
                        f"namespaces collide with environment {namespaces[key]!r} "
                        f"on cluster {cluster!r}",
                        subject=subject,
                        hint="use a pattern such as '{project}-" + name + "'",
                    )
                )
            namespaces[key] = name
    return found


def _check_project(repo: Repo, specs: ProjectSpecs, platform: Platform) -> list[Problem]:
    """Project and quota rules: presence, environments, resource groups, members."""
    where = f"projects/{specs.name}/"
    if specs.project is None:
        if any(p.location.path == where + "project.yaml" for p in specs.problems):
            return []
        return [
            Problem(
                location=Location(where + "project.yaml"),
                subject=f"Project {specs.name}",
                message="project.yaml is missing",
                hint="add the Project spec of this directory",
            )
        ]
    loaded = specs.project
    project = loaded.model
    subject = f"Project {specs.name}"
    found: list[Problem] = []
    for i, env in enumerate(project.spec.environments):
        if env not in repo.environments:
            found.append(
                loaded.problem(
                    ("spec", "environments", i),
                    f"unknown environment {env!r}",
                    subject=subject,
                    hint=f"known: {sorted(repo.environments)}",
                )
            )
    for i, group in enumerate(project.spec.resourceGroups):
        if platform.resource_group(group) is None:
            found.append(
                loaded.problem(
                    ("spec", "resourceGroups", i),
                    f"unknown resource group {group!r}",
                    subject=subject,
                    hint=f"known: {sorted(g.name for g in platform.spec.resourceGroups)}",
                )
            )
    users = [m.user for m in project.spec.members]
    for i, user in enumerate(users):
        if users.index(user) != i or user in project.spec.owners:
            found.append(
                loaded.problem(
                    ("spec", "members", i, "user"),
                    f"{user!r} is listed twice",
                    subject=subject,
                    hint="owners are admins already; list each person once",
                )
            )
    found += _check_identities(loaded, subject)
    if specs.quota is None:
        if not any(p.location.path == where + "quota.yaml" for p in specs.problems):
            found.append(
                Problem(
                    location=Location(where + "quota.yaml"),
                    subject=f"Quota {specs.name}",
                    message="quota.yaml is missing",
                    hint="every project needs a Quota",
                )
            )
    else:
        found += _check_quota(specs, project, platform)
    return found


def _check_identities(loaded: Loaded[Project], subject: str) -> list[Problem]:
    """Two identities of one project must not share the DNS-safe name their objects are named by.

    ``safe_name`` adds a hash whenever it lost information, so only an identity written as
    another's safe name (``zhang-san-5aee43`` next to ``zhang.san``) can meet another.
    """
    spec = loaded.model.spec
    written: list[tuple[str, tuple[str | int, ...]]] = [
        (owner, ("spec", "owners", i)) for i, owner in enumerate(spec.owners)
    ]
    written += [(m.user, ("spec", "members", i, "user")) for i, m in enumerate(spec.members)]
    first: dict[str, tuple[str, tuple[str | int, ...]]] = {}
    found = []
    for identity, at in written:
        name = safe_name(identity)
        seen = first.setdefault(name, (identity, at))
        if seen[0] != identity:
            found.append(
                loaded.problem(
                    at,
                    f"{identity!r} and {seen[0]!r} ({field_path(seen[1])}) both map to the "
                    f"name {name!r} their volumes and bindings are named by",
                    subject=subject,
                    hint="one person, one identity: remove or correct one of them",
                )
            )
    return found


def _check_quota(specs: ProjectSpecs, project: Project, platform: Platform) -> list[Problem]:
    assert specs.quota is not None
    loaded = specs.quota
    subject = f"Quota {specs.name}"
    found = []
    for name, amount in loaded.model.spec.resourceGroups.items():
        at = ("spec", "resourceGroups", name)
        group = platform.resource_group(name)
        if name not in project.spec.resourceGroups:
            found.append(
                loaded.problem(
                    at,
                    f"resource group {name!r} is not allowed for the project",
                    subject=subject,
                    hint="add it to spec.resourceGroups of project.yaml",
                )
            )
        elif group is not None and amount.gpu and not group.capacity.gpu:
            found.append(
                loaded.problem(
                    (*at, "gpu"),
                    f"resource group {name!r} has no GPUs",
                    subject=subject,
                    hint="remove the gpu quota",
                )
            )
    return found
