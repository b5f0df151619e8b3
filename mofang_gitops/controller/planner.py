"""From a fetched head to a plan, with work in proportion to what changed since the last head.

A project's specs, its own validation (``ProjectCheck``), its quota usage and its render are
functions of its directory and of the shared inputs (platform, environments, components,
people), so all four are kept keyed on their git tree hashes (``RevisionDigest.key``). A head
that changed one project's directory reloads, re-checks and re-renders that project only; the
rules across projects (namespaces, quota sums per resource group) run again over every project
each time, on the kept specs, which costs milliseconds. A change to a shared input (or a head
whose trees cannot be read) loads and validates the whole revision, as a first pass does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from mofang_gitops.controller.plans import RENDER_BUDGET, Plan, RenderCache, plan_targets
from mofang_gitops.errors import GitError
from mofang_gitops.sources.git import GitTree, RevisionDigest, revision_digest
from mofang_gitops.sources.loading import Repo, load_projects, load_repo
from mofang_gitops.validation.capacity import Amount, QuotaUsage, quota_usage
from mofang_gitops.validation.repository import Validation, validate_repo

log = logging.getLogger(__name__)

MAX_DIGESTS = 64
MAX_OLDER = 16
"""Older revisions whose whole validation is kept (last good revisions of invalid projects)."""


@dataclass(frozen=True)
class _Head:
    """The last head validated, and what it was validated against."""

    sha: str
    good: tuple[tuple[str, str], ...]
    digest: RevisionDigest | None
    validation: Validation


class HeadPlanner:
    """Loads, validates and renders revisions of one git cache, reusing what did not change."""

    def __init__(self, cache: Path, render_budget: float = RENDER_BUDGET) -> None:
        self.cache = cache
        self.render_budget = render_budget
        self.renders = RenderCache(self.render_key)
        self.validated = 0
        """Projects whose own rules ran so far (a counter, read per pass like ``renders``)."""
        self._digests: dict[str, RevisionDigest | None] = {}
        self._older: dict[str, Validation] = {}
        self._head: _Head | None = None
        self._usage: dict[str, Mapping[str, Amount] | None] = {}
        """Quota usage per project, keyed on ``RevisionDigest.key`` (None: it holds none)."""

    def digest(self, sha: str) -> RevisionDigest | None:
        """Tree hashes of ``sha`` (None when unreadable: then nothing of it is reused)."""
        if sha not in self._digests:
            if len(self._digests) > MAX_DIGESTS:
                self._digests.clear()
            try:
                self._digests[sha] = revision_digest(self.cache, sha)
            except GitError as e:
                log.warning("cannot read the trees of %s, loading all: %s", sha[:12], e)
                self._digests[sha] = None
        return self._digests[sha]

    def render_key(self, sha: str, project: str) -> str | None:
        """What ``project``'s render, check and quota at ``sha`` are keyed on (None: unknown)."""
        digest = self.digest(sha)
        return None if digest is None else digest.key(project)

    def load(self, sha: str) -> Repo:
        """Load revision ``sha``: its blobs in one ``git cat-file --batch`` stream.

        Only the platform layout is read, as the CLI reads a checkout (a ``RevisionTree`` read
        every blob of the commit one by one: seconds for ten projects, minutes for a thousand).
        """
        with GitTree(self.cache, sha) as tree:
            return load_repo(tree)

    def older(self, sha: str) -> Validation:
        """Load and validate an older revision (cached: a commit never changes).

        The capacity rule is left out: such a revision is only rendered for projects that
        passed it when it was the head (see ``validate_head``).
        """
        cached = self._older.get(sha)
        if cached is None:
            cached = validate_repo(self.load(sha), capacity=False)
            if len(self._older) > MAX_OLDER:
                self._older.clear()
            self._older[sha] = cached
        return cached

    def validate_head(self, sha: str, good: Mapping[str, str]) -> Validation:
        """Validate the head against the quota in force (each project's last good revision)."""
        key = tuple(sorted(good.items()))
        last = self._head
        if last is not None and (last.sha, last.good) == (sha, key):
            return last.validation
        digest = self.digest(sha)
        baseline = self._baseline(good)
        changed = None  # None: load and validate every project
        if last is not None and last.digest is not None and digest is not None:
            if last.digest.shared == digest.shared and last.validation.repo.platform is not None:
                before = last.digest.projects
                changed = sorted(p for p, t in digest.projects.items() if before.get(p) != t)
        if changed is None or last is None:
            repo = self.load(sha)
            validation = validate_repo(repo, baseline)
            self.validated += len(repo.projects)
        else:
            repo = self._updated(last.validation.repo, sha, changed, digest)
            kept = last.validation.checks
            reuse = {p: kept[p] for p in repo.projects if p not in changed and p in kept}
            validation = validate_repo(repo, baseline, reuse=reuse)
            self.validated += len(repo.projects) - len(reuse)
        self._head = _Head(sha, key, digest, validation)
        self._remember_usage(sha, validation.repo, good)
        return validation

    def _updated(
        self, last: Repo, sha: str, changed: list[str], digest: RevisionDigest | None
    ) -> Repo:
        """``last`` with the ``changed`` project directories loaded again at ``sha``."""
        loaded = {}
        if changed:
            with GitTree(self.cache, sha, [f"projects/{p}/" for p in changed]) as tree:
                loaded = load_projects(tree)
        names = set(digest.projects) if digest is not None else set(last.projects)
        projects = {}
        for name in sorted(names):
            specs = loaded.get(name) if name in changed else last.projects.get(name)
            if specs is not None:
                projects[name] = specs
        return replace(last, label=f"{sha}:", projects=projects)

    def _baseline(self, good: Mapping[str, str]) -> QuotaUsage:
        """Each project's quota at its last good revision, from the kept usage when possible.

        A project whose trees at that revision were seen at a head already is not loaded
        again; otherwise its revision is loaded and validated once (``older``).
        """
        baseline: QuotaUsage = {}
        found: Mapping[str, Amount] | None
        for project, sha in sorted(good.items()):
            key = self.render_key(sha, project)
            if key is None or key not in self._usage:
                try:
                    usage = quota_usage(self.older(sha).repo)
                except GitError:  # the revision is gone: the project counts as new
                    usage = {}
                self._usage[key or f"{sha}:{project}"] = usage.get(project)
                found = usage.get(project)
            else:
                found = self._usage[key]
            if found is not None:
                baseline[project] = dict(found)
        return baseline

    def _remember_usage(self, sha: str, repo: Repo, good: Mapping[str, str]) -> None:
        """Keep the quota usage of the head's projects; forget what no revision in use has."""
        usage = quota_usage(repo)
        wanted = {self.render_key(s, p) for p, s in good.items()}
        kept = {k: v for k, v in self._usage.items() if k in wanted}
        for project in repo.projects:
            key = self.render_key(sha, project)
            if key is not None:
                kept[key] = usage.get(project)
        self._usage = kept

    def plan(self, validation: Validation, sha: str, good: Mapping[str, str]) -> Plan:
        """Render what is due at ``sha`` and at each invalid project's last good revision."""
        plan = plan_targets(
            validation,
            sha,
            good,
            self.older,
            render_budget=self.render_budget,
            cache=self.renders,
        )
        self.renders.keep(set(validation.repo.projects) | set(plan.good_revisions))
        return plan
