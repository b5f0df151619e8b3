"""What the status pages need from git at the head, beyond what was applied.

The board's targets say what runs; people also ask who owns a notebook, which framework a
training uses, when a pipeline runs, how much of a resource group a project holds and how big
the group is. Those facts are in the validated head, so each pass copies them here as plain
JSON data (strings as written in git: the pages escape them). ``auth`` is the platform's
``ingress.auth``: the per-user view reads people's names the same way notebooks do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mofang_gitops.models.platform import JwtAuth
from mofang_gitops.models.quantities import format_bytes, format_cpu
from mofang_gitops.validation.capacity import quota_usage
from mofang_gitops.validation.repository import Validation


def project_facts(validation: Validation) -> dict[str, dict[str, Any]]:
    """Per project: people, description, quota per group and its workloads' spec facts."""
    facts: dict[str, dict[str, Any]] = {}
    for name, specs in sorted(validation.repo.projects.items()):
        if specs.project is None:
            continue
        spec = specs.project.model.spec
        quota = specs.quota.model.spec.resourceGroups if specs.quota is not None else {}
        facts[name] = {
            "description": spec.description,
            "owners": list(spec.owners),
            "members": [m.user for m in spec.members],
            "environments": list(spec.environments),
            "quota": {
                group: {"cpu": str(q.cpu), "memory": str(q.memory), "gpu": q.gpu}
                for group, q in sorted(quota.items())
            },
            "notebooks": {
                n: {
                    "owner": nb.model.spec.owner,
                    "resourceGroup": nb.model.spec.resourceGroup,
                    "access": nb.model.spec.access,
                }
                for n, nb in sorted(specs.notebooks.items())
            },
            "trainings": {
                n: {
                    "framework": t.model.spec.framework,
                    "resourceGroup": t.model.spec.resourceGroup,
                    "owner": t.model.spec.owner or "",
                }
                for n, t in sorted(specs.trainings.items())
            },
            "pipelines": {
                n: _schedule(p.model.spec.schedule) for n, p in sorted(specs.pipelines.items())
            },
        }
    return facts


def _schedule(schedule: Any) -> dict[str, Any]:
    if schedule is None:
        return {"cron": "", "timezone": "", "suspend": False}
    return {"cron": schedule.cron, "timezone": schedule.timezone, "suspend": schedule.suspend}


def platform_facts(validation: Validation) -> dict[str, Any]:
    """Clusters, resource groups with capacity, quota held per group, and the auth mode."""
    platform = validation.repo.platform
    if platform is None:
        return {}
    spec = platform.model.spec
    held: dict[str, dict[str, dict[str, Any]]] = {}
    for project, groups in quota_usage(validation.repo).items():
        for group, (cpu, memory, gpu) in groups.items():
            held.setdefault(group, {})[project] = {
                "cpu": format_cpu(cpu),
                "memory": format_bytes(memory),
                "gpu": int(gpu),
            }
    return {
        "clusters": [c.name for c in spec.clusters],
        "resourceGroups": [
            {
                "name": g.name,
                "cluster": g.cluster,
                "capacity": {
                    "cpu": str(g.capacity.cpu),
                    "memory": str(g.capacity.memory),
                    "gpu": g.capacity.gpu,
                },
                "gpuResource": g.gpu.resource if g.gpu else "",
                "gpuType": g.gpu.type if g.gpu else "",
                "quota": held.get(g.name, {}),
            }
            for g in spec.resourceGroups
        ],
        "auth": _auth(spec.ingress.auth),
    }


def _auth(auth: Any) -> dict[str, Any]:
    if isinstance(auth, JwtAuth):
        return {
            "mode": "jwt",
            "issuer": auth.issuer,
            "jwksUri": auth.jwksUri,
            "audiences": list(auth.audiences),
            "claim": auth.claim,
            "prefix": auth.prefix,
        }
    return {"mode": "header", "header": auth.header, "prefix": auth.prefix}


def node_selectors(validation: Validation) -> Mapping[str, Mapping[str, str]]:
    """Resource group -> node selector, so a pod read by the health pass names its group."""
    platform = validation.repo.platform
    if platform is None:
        return {}
    return {g.name: dict(g.nodeSelector) for g in platform.model.spec.resourceGroups}
