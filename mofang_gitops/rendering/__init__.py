"""Render validated specs into Kubernetes manifests, one output set per target.

A target is (environment, cluster, project). The project's Namespace, RBAC, quota, queue and
storage go to every cluster where it has quota; each workload goes to the cluster of its resource
group, in each of its environments. Output is deterministic: targets sorted, objects in template
order within a target.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable

from mofang_gitops.manifests import RenderedTarget, Target
from mofang_gitops.models import Project
from mofang_gitops.models.identities import lossy, safe_name
from mofang_gitops.rendering.context import TargetContext
from mofang_gitops.rendering.templating import Emitter
from mofang_gitops.validation.repository import Validation

Renderer = Callable[[TargetContext], None]


def _renderers() -> list[Renderer]:
    """The parts of a target, in order: project-wide objects first, then workloads."""
    from mofang_gitops.rendering import notebooks, pipelines, project, tensorboards, trainings

    return [
        project.render,
        notebooks.render,
        trainings.render,
        tensorboards.render,
        pipelines.render,
    ]


def renamed_identities(project: Project) -> tuple[tuple[str, str], ...]:
    """People of ``project`` whose derived names differ from their identity, with those names."""
    return tuple((user, safe_name(user)) for user in sorted(project.users()) if lossy(user))


def render_repo(
    validation: Validation,
    *,
    environments: Iterable[str] = (),
    clusters: Iterable[str] = (),
    projects: Iterable[str] = (),
) -> list[RenderedTarget]:
    """Render every valid project (optionally filtered); invalid projects are left out."""
    only_projects = set(projects)
    results = []
    for name in validation.valid_projects():
        if not only_projects or name in only_projects:
            results.extend(
                render_project(validation, name, environments=environments, clusters=clusters)
            )
    return sorted(results, key=lambda r: r.target)


def project_contexts(
    validation: Validation,
    name: str,
    *,
    environments: Iterable[str] = (),
    clusters: Iterable[str] = (),
    deadline: float = math.inf,
) -> list[TargetContext]:
    """The targets a valid project renders to, each with an empty emitter, in target order.

    Cheap (no template runs), so a caller whose render failed still knows which targets and
    namespaces the project has, to report the failure there.
    """
    repo = validation.repo
    if repo.platform is None or not validation.platform_ok or name not in validation.resolved:
        return []
    platform = repo.platform.model
    only_envs, only_clusters = set(environments), set(clusters)
    resolved = validation.resolved[name]
    contexts = []
    for env_name in resolved.project.spec.environments:
        if only_envs and env_name not in only_envs:
            continue
        environment = repo.environments[env_name].model
        for cluster_name in environment.spec.clusters:
            if only_clusters and cluster_name not in only_clusters:
                continue
            cluster = platform.cluster(cluster_name)
            assert cluster is not None
            ctx = TargetContext(
                platform=platform,
                environment=environment,
                cluster=cluster,
                project=resolved.project,
                quota=resolved.quota,
                resolved=resolved,
                namespace=environment.namespace_for(name),
                emitter=Emitter(name, env_name, deadline=deadline),
            )
            if ctx.groups_here():
                contexts.append(ctx)
    return sorted(contexts, key=target_of)


def target_of(ctx: TargetContext) -> Target:
    """The (environment, cluster, project) a context renders."""
    return Target(ctx.environment.name, ctx.cluster.name, ctx.project.name)


def render_project(
    validation: Validation,
    name: str,
    *,
    environments: Iterable[str] = (),
    clusters: Iterable[str] = (),
    budget: float | None = None,
) -> list[RenderedTarget]:
    """Render one valid project's targets.

    ``budget`` (seconds) bounds the whole project: every emitted object checks the deadline and
    ``RenderBudgetError`` stops a render that overruns it, so one project's specs cannot stall
    the controller's pass. The check is cooperative: it runs between objects, and validation's
    bounds keep each single object small.
    """
    deadline = math.inf if budget is None else time.monotonic() + budget
    renderers = _renderers()
    results = []
    contexts = project_contexts(
        validation, name, environments=environments, clusters=clusters, deadline=deadline
    )
    for ctx in contexts:
        for render in renderers:
            render(ctx)
        results.append(
            RenderedTarget(
                target=target_of(ctx),
                namespace=ctx.namespace,
                manifests=tuple(ctx.emitter.manifests),
                kube_context=ctx.cluster.kube_context,
                identities=renamed_identities(ctx.project),
            )
        )
    return results
