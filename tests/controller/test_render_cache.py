"""Renders keyed on git tree hashes: a project is rendered again only when its trees changed.

Real git (a bare remote, the controller's fetch cache); no cluster.
"""

from __future__ import annotations

from pathlib import Path

from mofang_gitops.controller.plans import RenderCache, plan_targets
from mofang_gitops.sources.git import RevisionTree, cache_path, fetch_branch, revision_digest
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.validation.repository import Validation, validate_repo
from tests.controller.gitrepos import Remote


class Fetched:
    """A remote and the controller's bare cache of it."""

    def __init__(self, tmp_path: Path) -> None:
        self.remote = Remote(tmp_path)
        self.cache = tmp_path / "cache"

    def push(self, message: str) -> str:
        self.remote.push(message)
        return fetch_branch(self.remote.url, "main", self.cache)

    @property
    def repo(self) -> Path:
        return cache_path(self.remote.url, self.cache)

    def validation(self, sha: str) -> Validation:
        return validate_repo(load_repo(RevisionTree(self.repo, sha)))

    def key(self, sha: str, project: str) -> str | None:
        return revision_digest(self.repo, sha).key(project)


def test_digest_keys_change_only_for_the_project_whose_directory_changed(tmp_path):
    fetched = Fetched(tmp_path)
    first = fetched.push("first")
    fetched.remote.notebook("nlp", "extra-nb")
    second = fetched.push("a notebook in nlp")
    empty = fetched.push("an empty commit")

    assert fetched.key(first, "vision") == fetched.key(second, "vision")
    assert fetched.key(first, "nlp") != fetched.key(second, "nlp")
    assert fetched.key(second, "nlp") == fetched.key(empty, "nlp")  # a new commit, same trees
    assert fetched.key(first, "missing") is None


def test_a_shared_input_change_changes_every_key(tmp_path):
    fetched = Fetched(tmp_path)
    first = fetched.push("first")
    platform = fetched.remote.work / "platform.yaml"
    platform.write_text(platform.read_text().replace("jupyter-pytorch:2.4", "jupyter-pytorch:2.5"))
    second = fetched.push("platform")
    person = sorted((fetched.remote.work / "people").glob("*.yaml"))[0]
    person.write_text(person.read_text() + "\n# a comment\n")
    third = fetched.push("people")

    for project in ("vision", "nlp"):
        keys = {fetched.key(sha, project) for sha in (first, second, third)}
        assert len(keys) == 3


def test_cached_plan_renders_only_changed_projects_and_equals_a_fresh_plan(tmp_path):
    fetched = Fetched(tmp_path)
    first = fetched.push("first")
    cache = RenderCache(fetched.key)
    plan_targets(fetched.validation(first), first, {}, fetched.validation, cache=cache)
    assert cache.renders == 2
    fetched.remote.notebook("nlp", "extra-nb")
    second = fetched.push("a notebook in nlp")
    head = fetched.validation(second)

    cached = plan_targets(head, second, {}, fetched.validation, cache=cache)

    assert cache.renders == 3  # nlp only
    fresh = plan_targets(head, second, {}, fetched.validation)
    assert [p.rendered for p in cached.targets] == [p.rendered for p in fresh.targets]
    assert [p.revision for p in cached.targets] == [second, second]
    assert any(m.ref.name == "extra-nb" for p in cached.targets for m in p.rendered.manifests)
    # Bodies parsed while applying are not kept between passes by the cache.
    for planned in cached.targets:
        assert all(m.body for m in planned.rendered.manifests)
    again = plan_targets(head, second, {}, fetched.validation, cache=cache)
    assert cache.renders == 3
    assert not any("body" in vars(m) for p in again.targets for m in p.rendered.manifests)
    by_project = {p.rendered.target.project: p.source for p in cached.targets}
    assert by_project == {"nlp": fetched.key(second, "nlp"), "vision": fetched.key(first, "vision")}
