"""Who may own a name in a cluster: reserved namespaces and names unique across all projects.

A project's owners become admins of its namespace, and the project's quota, queue and volumes
are applied there. A project named ``kube-system``, ``mofang-system`` or after another team's
dev namespace would take that namespace over (issue 12, item 4). Namespaces, Volcano queues and
PersistentVolumes are flat per cluster, and an environment's namespace pattern can make two
projects meet: project ``a-dev`` in prod and project ``a`` in dev both get ``a-dev``. Both
projects of a collision are refused, each error naming the other: the cluster cannot tell which
one a name belongs to, and neither may silently win.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fnmatch import fnmatchcase

from mofang_gitops.errors import Problem
from mofang_gitops.manifests import SYSTEM_NAMESPACE
from mofang_gitops.models import Platform
from mofang_gitops.models.naming import (
    GLOBAL_CLAIM,
    PROJECT_CLAIM,
    queue_name,
    user_claim,
    volume_name,
)
from mofang_gitops.sources.loading import ProjectSpecs, Repo

_KINDS = ("namespace", "Volcano queue", "PersistentVolume")
ALWAYS_RESERVED = ("kube-*", "default", SYSTEM_NAMESPACE)
"""Reserved whatever platform.yaml says: Kubernetes' own namespaces and the tool's."""


@dataclass(frozen=True)
class _Claim:
    """One project environment's claim on a cluster-scoped name."""

    project: str
    environment: str
    index: int
    """Position of the environment in the project's ``spec.environments``."""


def reserved_patterns(platform: Platform) -> list[str]:
    """Every reserved namespace pattern: the fixed ones, the gateway's, the platform policy's."""
    gateway_namespace = platform.spec.ingress.gateway.split("/", 1)[0]
    return [*ALWAYS_RESERVED, gateway_namespace, *platform.spec.policies.reservedNamespaces]


def check_namespaces(repo: Repo, platform: Platform) -> list[tuple[str, Problem]]:
    """Reserved namespaces and name collisions, as ``(project, problem)`` pairs."""
    patterns = reserved_patterns(platform)
    found: list[tuple[str, Problem]] = []
    # (what, cluster, name) -> claims, what one of _KINDS.
    claims: dict[tuple[str, str, str], list[_Claim]] = defaultdict(list)
    for name in sorted(repo.projects):
        specs = repo.projects[name]
        if specs.project is None:
            continue
        for index, env_name in enumerate(specs.project.model.spec.environments):
            environment = repo.environments.get(env_name)
            if environment is None:
                continue  # reported as an unknown environment
            namespace = environment.model.namespace_for(name)
            claim = _Claim(name, env_name, index)
            pattern = next((p for p in patterns if fnmatchcase(namespace, p)), None)
            if pattern is not None:
                found.append((name, _reserved(specs, claim, namespace, pattern)))
            for cluster in environment.model.spec.clusters:
                for what, object_name in _names(specs, namespace):
                    claims[(what, cluster, object_name)].append(claim)
    reported: set[tuple[str, int, str, str]] = set()
    # Namespaces first: a namespace collision implies the queue's and the volumes'; one error.
    for (what, cluster, object_name), owners in sorted(claims.items(), key=_by_kind):
        for claim in owners:
            other = next((c for c in owners if c.project != claim.project), None)
            key = (claim.project, claim.index, other.project if other else "", cluster)
            if other is None or key in reported:
                continue
            reported.add(key)
            specs = repo.projects[claim.project]
            found.append(
                (claim.project, _collision(specs, claim, other, cluster, what, object_name))
            )
    return found


def project_claims(repo: Repo, specs: ProjectSpecs) -> set[tuple[str, str, str]]:
    """The ``(what, cluster, name)`` cluster-scoped names a project renders in any environment.

    Two projects collide exactly when their sets meet (``check_namespaces``), so a preview can
    tell from a stored summary whether an unloaded project meets a loaded one.
    """
    found: set[tuple[str, str, str]] = set()
    if specs.project is None:
        return found
    for env_name in specs.project.model.spec.environments:
        environment = repo.environments.get(env_name)
        if environment is None:
            continue
        namespace = environment.model.namespace_for(specs.name)
        for cluster in environment.model.spec.clusters:
            found.update((what, cluster, name) for what, name in _names(specs, namespace))
    return found


def claims_reserved(repo: Repo, platform: Platform, specs: ProjectSpecs) -> bool:
    """Whether any namespace of the project is reserved (an error of its own, whoever else)."""
    if specs.project is None:
        return False
    patterns = reserved_patterns(platform)
    for env_name in specs.project.model.spec.environments:
        environment = repo.environments.get(env_name)
        if environment is not None:
            namespace = environment.model.namespace_for(specs.name)
            if any(fnmatchcase(namespace, p) for p in patterns):
                return True
    return False


def _by_kind(item: tuple[tuple[str, str, str], list[_Claim]]) -> tuple[int, str, str]:
    what, cluster, name = item[0]
    return (_KINDS.index(what), cluster, name)


def _names(specs: ProjectSpecs, namespace: str) -> list[tuple[str, str]]:
    """The cluster-scoped names one project environment renders (as the renderer names them)."""
    assert specs.project is not None
    claims = [PROJECT_CLAIM, GLOBAL_CLAIM, *(user_claim(u) for u in specs.project.model.users())]
    return [
        ("namespace", namespace),
        ("Volcano queue", queue_name(namespace)),
        *(("PersistentVolume", volume_name(namespace, c)) for c in claims),
    ]


def _reserved(specs: ProjectSpecs, claim: _Claim, namespace: str, pattern: str) -> Problem:
    assert specs.project is not None
    return specs.project.problem(
        ("spec", "environments", claim.index),
        f"namespace {namespace!r} of environment {claim.environment!r} is reserved "
        f"(matches {pattern!r})",
        subject=f"Project {specs.name}",
        hint="choose another project name; reserved namespaces are kube-*, default, "
        f"{SYSTEM_NAMESPACE}, the ingress gateway's and platform.yaml "
        "spec.policies.reservedNamespaces",
    )


def _collision(
    specs: ProjectSpecs, claim: _Claim, other: _Claim, cluster: str, what: str, name: str
) -> Problem:
    assert specs.project is not None
    return specs.project.problem(
        ("spec", "environments", claim.index),
        f"{what} {name!r} on cluster {cluster!r} (environment {claim.environment!r}) "
        f"is also rendered by project {other.project!r} (environment {other.environment!r})",
        subject=f"Project {specs.name}",
        hint="two projects cannot share a cluster-scoped name: rename one project, or ask the "
        "platform team for environment namespace patterns that cannot meet",
    )
