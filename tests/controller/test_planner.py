"""The head planner reuses what did not change and still validates exactly as a full load would.

Real git (a bare remote and the controller's cache); no cluster: planning reads git only.
"""

from __future__ import annotations

from pathlib import Path

from mofang_gitops.controller.planner import HeadPlanner
from mofang_gitops.controller.plans import quota_baseline
from mofang_gitops.sources.git import GitTree, cache_path, fetch_branch
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.validation.repository import Validation, validate_repo
from tests.controller.gitrepos import Remote


def full_validation(cache: Path, sha: str, good: dict[str, str]) -> Validation:
    """What validating the whole revision from scratch gives (the reference)."""

    def older(rev: str) -> Validation:
        with GitTree(cache, rev) as tree:
            return validate_repo(load_repo(tree), capacity=False)

    with GitTree(cache, sha) as tree:
        return validate_repo(load_repo(tree), quota_baseline(good, older))


def same(found: Validation, expected: Validation) -> None:
    assert [str(p) for p in found.errors] == [str(p) for p in expected.errors]
    assert [str(p) for p in found.warnings] == [str(p) for p in expected.warnings]
    assert found.invalid_projects == expected.invalid_projects
    assert sorted(found.resolved) == sorted(expected.resolved)
    assert sorted(found.repo.projects) == sorted(expected.repo.projects)


def test_a_head_is_validated_like_a_full_load_while_only_changed_projects_are_checked(
    tmp_path: Path,
) -> None:
    remote = Remote(tmp_path)
    remote.push("vision and nlp")
    cache_dir = tmp_path / "cache"
    planner = HeadPlanner(cache_path(remote.url, cache_dir))

    def head() -> str:
        return fetch_branch(remote.url, "main", cache_dir)

    first = head()
    same(planner.validate_head(first, {}), full_validation(planner.cache, first, {}))
    assert planner.validated == 2
    good = {"vision": first, "nlp": first}

    # nlp breaks (unknown field) and a new project appears; vision is untouched.
    quota = remote.work / "projects/nlp/quota.yaml"
    quota.write_text(quota.read_text().replace("spec:", "spec:\n  colour: blue", 1))
    for doc in ("project.yaml", "quota.yaml"):  # not add_project: that grants homes in people/
        text = (remote.work / "projects/vision" / doc).read_text()
        remote.write(f"projects/extra/{doc}", text.replace("{name: vision}", "{name: extra}"))
    second = (remote.push("nlp broken, extra added"), head())[1]
    found = planner.validate_head(second, good)
    same(found, full_validation(planner.cache, second, good))
    assert found.invalid_projects == {"nlp"}
    assert planner.validated == 4  # nlp and extra only

    # A project directory deleted: nothing to check, and it is gone from the head.
    remote.remove("projects/extra")
    third = (remote.push("extra removed"), head())[1]
    found = planner.validate_head(third, good)
    same(found, full_validation(planner.cache, third, good))
    assert "extra" not in found.repo.projects and planner.validated == 4

    # A shared input changed: every project is loaded and checked again.
    platform = remote.work / "platform.yaml"
    platform.write_text(platform.read_text().replace("jupyter-pytorch:2.4", "jupyter-pytorch:2.5"))
    fourth = (remote.push("new notebook image"), head())[1]
    same(planner.validate_head(fourth, good), full_validation(planner.cache, fourth, good))
    assert planner.validated == 6


def test_a_quota_raise_in_the_only_changed_project_still_overflows_its_group(
    tmp_path: Path,
) -> None:
    remote = Remote(tmp_path)  # vision and nlp hold 8 GPUs each of gpu-a100's 16
    remote.push("vision and nlp")
    cache_dir = tmp_path / "cache"
    planner = HeadPlanner(cache_path(remote.url, cache_dir))
    first = fetch_branch(remote.url, "main", cache_dir)
    planner.validate_head(first, {})
    good = {"vision": first, "nlp": first}

    quota = remote.work / "projects/nlp/quota.yaml"
    quota.write_text(quota.read_text().replace("gpu: 8}", "gpu: 9}", 1))
    remote.push("nlp raises its GPU quota")
    second = fetch_branch(remote.url, "main", cache_dir)
    found = planner.validate_head(second, good)

    assert planner.validated == 3  # nlp alone was checked again
    assert found.invalid_projects == {"nlp"}
    assert any("raised from 8" in p.message for p in found.errors)
    same(found, full_validation(planner.cache, second, good))
