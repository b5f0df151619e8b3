"""The example platform at the repository root: it loads and validates cleanly and shows every
feature users are expected to copy (DESIGN.md sections 1 and 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mofang_gitops.models import Pipeline, Training
from mofang_gitops.sources.loading import Repo, load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo

REPO_ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {"horovod", "tensorflow", "pytorch", "xgboost", "ray", "volcano", "spark"}


@pytest.fixture(scope="module")
def repo() -> Repo:
    return load_repo(DirectoryTree(REPO_ROOT))


def _trainings(repo: Repo) -> list[tuple[str, Training]]:
    return [
        (name, loaded.model)
        for name, specs in sorted(repo.projects.items())
        for loaded in specs.trainings.values()
    ]


def _pipelines(repo: Repo) -> list[tuple[str, Pipeline]]:
    return [
        (name, loaded.model)
        for name, specs in sorted(repo.projects.items())
        for loaded in specs.pipelines.values()
    ]


def test_loads_without_problems(repo: Repo) -> None:
    assert [str(p) for p in repo.all_problems()] == []
    assert repo.platform is not None
    assert set(repo.environments) == {"dev", "prod"}
    assert len(repo.projects) >= 3
    for specs in repo.projects.values():
        assert specs.project is not None and specs.quota is not None, specs.name


def test_validates_without_errors_or_warnings(repo: Repo) -> None:
    validation = validate_repo(repo)
    assert [str(p) for p in validation.problems] == []
    assert validation.valid_projects() == sorted(repo.projects)


def test_every_kind_is_shown(repo: Repo) -> None:
    assert any(s.notebooks for s in repo.projects.values())
    assert any(s.trainings for s in repo.projects.values())
    assert any(s.pipelines for s in repo.projects.values())


def test_platform_has_central_and_edge_gpu_and_cpu_groups(repo: Repo) -> None:
    assert repo.platform is not None
    platform = repo.platform.model
    roles = {c.name: c.role for c in platform.spec.clusters}
    assert set(roles.values()) == {"central", "edge"}
    for role in ("central", "edge"):
        groups = [g for g in platform.spec.resourceGroups if roles[g.cluster] == role]
        assert any(g.gpu is not None for g in groups), f"no GPU group on the {role} cluster"
        assert any(g.gpu is None for g in groups), f"no CPU group on the {role} cluster"
    gpu_resources = {g.gpu.resource for g in platform.spec.resourceGroups if g.gpu}
    assert "nvidia.com/gpu" in gpu_resources
    assert any("vgpu" in r for r in gpu_resources), "no vGPU resource group"


def test_all_training_frameworks(repo: Repo) -> None:
    assert {t.spec.framework for _, t in _trainings(repo)} == FRAMEWORKS


def test_horovod_training_with_search(repo: Repo) -> None:
    searched = [t for _, t in _trainings(repo) if t.spec.search is not None]
    assert any(t.spec.framework == "horovod" for t in searched)


def test_every_framework_has_a_plain_training_outside_a_search(repo: Repo) -> None:
    plain = {t.spec.framework for _, t in _trainings(repo) if t.spec.search is None}
    assert plain == FRAMEWORKS


def test_tensorflow_ps_job_on_the_edge(repo: Repo) -> None:
    assert repo.platform is not None
    platform = repo.platform.model
    edge = {c.name for c in platform.spec.clusters if c.role == "edge"}
    found = []
    for _, training in _trainings(repo):
        group = platform.resource_group(training.spec.resourceGroup)
        if training.spec.framework == "tensorflow" and group and group.cluster in edge:
            found.append(training)
    assert found, "no TensorFlow training on an edge resource group"
    for training in found:
        assert "ps" in training.spec.roles
        ps_group = platform.resource_group(training.spec.roles["ps"].resourceGroup or "")
        assert ps_group is not None and ps_group.gpu is None and ps_group.cluster in edge
        # dev has no edge cluster, so the job must opt out of it
        environments = training.spec.environments or []
        for env in environments:
            assert edge & set(repo.environments[env].model.spec.clusters)
        assert environments == ["prod"]


def test_gpu_notebooks_including_vgpu(repo: Repo) -> None:
    assert repo.platform is not None
    platform = repo.platform.model
    resources = set()
    for specs in repo.projects.values():
        for loaded in specs.notebooks.values():
            spec = loaded.model.spec
            group = platform.resource_group(spec.resourceGroup)
            if spec.resources.gpu and group is not None and group.gpu is not None:
                resources.add(group.gpu.resource)
    assert "nvidia.com/gpu" in resources
    assert any("vgpu" in r for r in resources)


def test_daily_pipeline_with_backfill_and_dependency(repo: Repo) -> None:
    matches = []
    for project, pipeline in _pipelines(repo):
        schedule = pipeline.spec.schedule
        if schedule and schedule.backfill and pipeline.spec.dependsOn:
            matches.append((project, pipeline))
    assert matches
    for project, pipeline in matches:
        assert pipeline.spec.schedule is not None
        fields = pipeline.spec.schedule.cron.split()
        assert fields[2:] == ["*", "*", "*"], "expected a daily cron"
        for dep in pipeline.upstreams:
            assert dep in repo.projects[project].pipelines, dep


def test_pipeline_step_runs_a_training(repo: Repo) -> None:
    steps = [
        (project, task.training)
        for project, pipeline in _pipelines(repo)
        for task in pipeline.spec.tasks
        if task.training
    ]
    assert steps
    for project, training in steps:
        assert training in repo.projects[project].trainings


def test_argo_template_strings_stay_data(repo: Repo) -> None:
    commands = [
        " ".join([*(task.command or []), *task.args])
        for _, pipeline in _pipelines(repo)
        for task in pipeline.spec.tasks
    ]
    assert any("{{workflow.scheduledTime}}" in c for c in commands)


def test_a_pipeline_of_the_example_is_built_from_a_shared_component(repo: Repo) -> None:
    assert "table-export" in repo.components
    calls = [
        (name, pipeline.name)
        for name, specs in repo.projects.items()
        for pipeline in specs.pipelines.values()
        if any(task.component == "table-export" for task in pipeline.model.spec.tasks)
    ]
    assert calls == [("vision", "daily-features")]
