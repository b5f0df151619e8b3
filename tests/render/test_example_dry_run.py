"""The whole example platform at the repository root renders into objects the real API server
(with the upstream CRDs) accepts: zero rejections and zero warnings (issue 4, done-when)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from mofang_gitops.manifests import Manifest, RenderedTarget
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo

REPO_ROOT = Path(__file__).resolve().parents[2]
DryRun = Callable[[Sequence[Manifest]], list[str]]


@pytest.fixture(scope="module")
def targets() -> list[RenderedTarget]:
    validation = validate_repo(load_repo(DirectoryTree(REPO_ROOT)))
    assert [str(p) for p in validation.errors] == []
    return render_repo(validation)


def test_every_project_and_notebook_of_the_example_is_rendered(
    targets: list[RenderedTarget],
) -> None:
    repo = load_repo(DirectoryTree(REPO_ROOT))
    rendered = {(t.target.project, m.source) for t in targets for m in t.manifests}
    for name, specs in repo.projects.items():
        assert (name, f"Project.{name}") in rendered
        assert (name, f"Quota.{name}") in rendered
        for notebook in specs.notebooks:
            assert (name, f"Notebook.{notebook}") in rendered


def test_the_example_renders_to_identical_bytes_twice(targets: list[RenderedTarget]) -> None:
    again = render_repo(validate_repo(load_repo(DirectoryTree(REPO_ROOT))))
    assert [(t.target, [m.text for m in t.manifests]) for t in again] == [
        (t.target, [m.text for m in t.manifests]) for t in targets
    ]


def test_every_object_of_the_example_passes_server_side_dry_run(
    targets: list[RenderedTarget], server_dry_run: DryRun
) -> None:
    # Each cluster is its own API server in reality; the same namespace exists in several.
    by_cluster: dict[str, list[Manifest]] = defaultdict(list)
    for target in targets:
        by_cluster[target.target.cluster].extend(target.manifests)
    assert set(by_cluster) == {"central", "edge-sg"}
    rejected = {cluster: server_dry_run(ms) for cluster, ms in sorted(by_cluster.items())}
    assert rejected == {cluster: [] for cluster in by_cluster}


def test_the_example_uses_spark_tensorboard_and_a_shared_component(
    targets: list[RenderedTarget],
) -> None:
    # Issue 18: the dry-run above covers each of these because the example renders them.
    manifests = [m for t in targets for m in t.manifests]
    kinds = {(m.ref.kind, m.source) for m in manifests}
    assert ("SparkApplication", "Training.corpus-stats") in kinds
    assert ("Deployment", "Training.resnet50") in kinds
    assert ("VirtualService", "Training.resnet50") in kinds
    template = next(
        m.body
        for m in manifests
        if m.ref.kind == "WorkflowTemplate" and m.source == "Pipeline.daily-features"
    )
    (extract,) = [t for t in template["spec"]["templates"] if t["name"] == "step-extract"]
    assert extract["container"]["image"] == "registry.example.com/mofang/table-export:1.2"
