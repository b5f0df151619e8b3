"""Hand-built manifests of a small project, shaped like the renderer's output.

Built as dicts here (not by the renderer) so the engine is tested on its own. Each cluster test
uses a fresh project name, which is also its namespace and its Volcano Queue's name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mofang_gitops.k8s.cluster import Cluster, RetryPolicy
from mofang_gitops.manifests import (
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_PROJECT,
    LABEL_SOURCE,
    MANAGER,
    Manifest,
    ObjectRef,
    RenderedTarget,
    Target,
)
from mofang_gitops.yamlio import dump

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2)


def labels(project: str, env: str = "dev", source: str = "Project.x") -> dict[str, str]:
    return {
        LABEL_MANAGED_BY: MANAGER,
        LABEL_PROJECT: project,
        LABEL_ENVIRONMENT: env,
        LABEL_SOURCE: source,
    }


def manifest(body: dict[str, Any], *, run: bool = False) -> Manifest:
    return Manifest(
        ObjectRef.from_object(body),
        body["apiVersion"],
        dump(body),
        source=body["metadata"]["labels"].get(LABEL_SOURCE, ""),
        meta={"run": True} if run else {},
    )


def target(
    project: str,
    bodies: Iterable[dict[str, Any]],
    *,
    env: str = "dev",
    cluster: str = "test-a",
    runs: Iterable[str] = (),
) -> RenderedTarget:
    run_names = set(runs)
    manifests = tuple(manifest(b, run=b["metadata"]["name"] in run_names) for b in bodies)
    return RenderedTarget(Target(env, cluster, project), project, manifests, kube_context=cluster)


def namespace(project: str, env: str = "dev") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": project, "labels": labels(project, env)},
    }


def queue(project: str, env: str = "dev", weight: int = 4) -> dict[str, Any]:
    return {
        "apiVersion": "scheduling.volcano.sh/v1beta1",
        "kind": "Queue",
        "metadata": {"name": project, "labels": labels(project, env, "Quota." + project)},
        "spec": {
            "weight": weight,
            "reclaimable": True,
            "capability": {"cpu": "64", "memory": "512Gi"},
        },
    }


def config_objects(project: str, env: str = "dev") -> list[dict[str, Any]]:
    meta = {"namespace": project, "labels": labels(project, env, "Quota." + project)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "workload", **meta}},
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "quota", **meta},
            "spec": {"hard": {"requests.cpu": "64000m", "requests.memory": "524288Mi"}},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", **meta},
            "data": {"idleTimeout": "24h"},
        },
    ]


def notebook(project: str, name: str, env: str = "dev", cpu: str = "1") -> list[dict[str, Any]]:
    """StatefulSet + Service + VirtualService of one notebook, like the renderer makes them."""
    meta = {"namespace": project, "labels": labels(project, env, "Notebook." + name)}
    pod_labels = {"app": name}
    container = {
        "name": "notebook",
        "image": "registry.example.com/mofang/jupyter:2.4",
        "args": ["--NotebookApp.base_url", f"/notebook/{project}/{name}/"],
        "ports": [{"containerPort": 8888, "name": "http"}],
        "env": [{"name": "NB_PREFIX", "value": f"/notebook/{project}/{name}"}],
        "resources": {
            "requests": {"cpu": cpu, "memory": "1024Mi"},
            "limits": {"cpu": cpu, "memory": "1Gi"},
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, **meta},
            "spec": {
                "selector": pod_labels,
                "ports": [{"name": "http", "port": 80, "targetPort": 8888}],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": name, **meta},
            "spec": {
                "serviceName": name,
                "replicas": 1,
                "selector": {"matchLabels": pod_labels},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "schedulerName": "volcano",
                        "serviceAccountName": "workload",
                        "containers": [container],
                    },
                },
            },
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": name, **meta},
            "spec": {
                "hosts": ["ml.example.com"],
                "gateways": ["istio-system/mofang-gateway"],
                "http": [
                    {
                        "match": [{"uri": {"prefix": f"/notebook/{project}/{name}/"}}],
                        "route": [
                            {
                                "destination": {
                                    "host": f"{name}.{project}.svc.cluster.local",
                                    "port": {"number": 80},
                                }
                            }
                        ],
                    }
                ],
            },
        },
    ]


def project_bodies(
    project: str, env: str = "dev", notebooks: Iterable[str] = ("nb-a", "nb-b"), cpu: str = "1"
) -> list[dict[str, Any]]:
    bodies = [namespace(project, env), queue(project, env), *config_objects(project, env)]
    for name in notebooks:
        bodies.extend(notebook(project, name, env, cpu))
    return bodies


def api_path(cluster: Cluster, api_version: str, kind: str, namespace: str, name: str) -> str:
    return cluster.resource(api_version, kind).path(namespace, name)


def merge_patch_as(
    cluster: Cluster, manager: str, api_version: str, kind: str, namespace: str, name: str,
    patch: dict[str, Any],
) -> None:  # fmt: skip
    """A write by another field manager, as ``kubectl edit`` / ``kubectl label`` do (Update)."""
    cluster.request(
        "PATCH", api_path(cluster, api_version, kind, namespace, name), subject="test",
        verb="patch", query=[("fieldManager", manager)], body=patch,
        content_type="application/merge-patch+json",
    )  # fmt: skip


def apply_as(cluster: Cluster, manager: str, body: dict[str, Any], *, force: bool = False) -> None:
    """A server-side apply by another field manager."""
    meta = body["metadata"]
    path = api_path(
        cluster, body["apiVersion"], body["kind"], meta.get("namespace", ""), meta["name"]
    )
    query = [("fieldManager", manager), ("force", "true" if force else "false")]
    cluster.request(
        "PATCH", path, subject="test", verb="patch", query=query,
        body=json.dumps(body).encode(), content_type="application/apply-patch+yaml",
    )  # fmt: skip
