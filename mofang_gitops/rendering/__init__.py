"""Render validated specs into Kubernetes manifests, one output set per target.

A target is (environment, cluster, project). The project's Namespace, RBAC, quota, queue and
storage go to every cluster where it has quota; each workload goes to the cluster of its resource
group, in each of its environments. Output is deterministic: targets sorted, objects in template
order within a target.
"""

from __future__ import annotations

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
    from mofang_gitops.rendering import notebooks, pipelines, project, trainings

    return [project.render, notebooks.render, trainings.render, pipelines.render]


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
    repo = validation.repo
    if repo.platform is None or not validation.platform_ok:
        return []
    platform = repo.platform.model
    only_envs, only_clusters, only_projects = set(environments), set(clusters), set(projects)
    renderers = _renderers()
    results = []
    for name in validation.valid_projects():
        if only_projects and name not in only_projects:
            continue
        resolved = validation.resolved[name]
        for env_name in resolved.project.spec.environments:
            if only_envs and env_name not in only_envs:
                continue
            environment = repo.environments[env_name].model
            for cluster_name in environment.spec.clusters:
                if only_clusters and cluster_name not in only_clusters:
                    continue
                cluster = platform.cluster(cluster_name)
                assert cluster is not None
                namespace = environment.namespace_for(name)
                ctx = TargetContext(
                    platform=platform,
                    environment=environment,
                    cluster=cluster,
                    project=resolved.project,
                    quota=resolved.quota,
                    resolved=resolved,
                    namespace=namespace,
                    emitter=Emitter(name, env_name),
                )
                if not ctx.groups_here():
                    continue
                for render in renderers:
                    render(ctx)
                results.append(
                    RenderedTarget(
                        target=Target(env_name, cluster_name, name),
                        namespace=namespace,
                        manifests=tuple(ctx.emitter.manifests),
                        kube_context=cluster.kube_context,
                        identities=renamed_identities(resolved.project),
                    )
                )
    return sorted(results, key=lambda r: r.target)
