"""A small project's manifests, made by the renderer from a miniature platform repository.

The engine tests apply what the tool really renders (never a hand-written copy that can drift
from the templates): one cluster, one CPU resource group, environment ``dev`` whose namespace is
the project name. Each cluster test uses a fresh project name, so also a fresh namespace, queue
and PersistentVolume names.
"""

from __future__ import annotations

import copy
import functools
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.k8s.retrying import RetryPolicy
from mofang_gitops.manifests import LABEL_SOURCE, Manifest, ObjectRef, RenderedTarget, Target
from mofang_gitops.rendering import render_repo
from mofang_gitops.rendering.templating import Emitter
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo
from mofang_gitops.yamlio import dump

FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.2)

_PLATFORM = """\
apiVersion: mofang.io/v1alpha1
kind: Platform
metadata: {{name: engine-tests}}
spec:
  clusters:
    - {{name: {cluster}, role: central, region: local, context: {cluster}}}
  resourceGroups:
    - name: cpu
      cluster: {cluster}
      nodeSelector: {{mofang.io/resource-group: cpu}}
      capacity: {{cpu: "512", memory: 4Ti}}
  storage:
    cephfs: {{monitors: ["10.0.0.1:6789"], rootPath: /mofang}}
  ingress: {{gateway: istio-system/mofang-gateway, host: ml.example.com}}
  images:
    jupyter: {{image: registry.example.com/mofang/jupyter:2.4}}
  registries: [registry.example.com/]
  policies:
    notebook: {{maxCpu: "16", maxMemory: 64Gi, maxGpu: 0, idleTimeout: 72h}}
    training: {{maxWorkers: 8, maxGpuPerWorker: 0}}
    onViolation: reject
"""
_ENVIRONMENT = """\
apiVersion: mofang.io/v1alpha1
kind: Environment
metadata: {{name: {env}}}
spec: {{clusters: [{cluster}], namespace: "{{project}}"}}
"""
_PROJECT = """\
apiVersion: mofang.io/v1alpha1
kind: Project
metadata: {{name: {project}}}
spec:
  owners: [alice]
  environments: [{env}]
  resourceGroups: [cpu]
"""
_QUOTA = """\
apiVersion: mofang.io/v1alpha1
kind: Quota
metadata: {{name: {project}}}
spec:
  resourceGroups:
    cpu: {{cpu: "64", memory: 512Gi}}
  storage: 1Ti
  queue: {{weight: 4, reclaimable: true}}
"""
_NOTEBOOK = """\
apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {{name: {name}}}
spec:
  owner: alice
  image: jupyter
  resourceGroup: cpu
  resources: {{cpu: "{cpu}", memory: 1Gi}}
  mounts: [project]
"""


def labels(project: str, env: str = "dev", source: str = "Project.x") -> dict[str, str]:
    """Our ownership labels, exactly as the renderer's emitter writes them."""
    return Emitter(project, env).labels(source)


@functools.cache
def _render(
    project: str, env: str, notebooks: tuple[str, ...], cpu: str, cluster: str
) -> tuple[dict[str, Any], ...]:
    files = {
        "platform.yaml": _PLATFORM.format(cluster=cluster),
        f"environments/{env}.yaml": _ENVIRONMENT.format(env=env, cluster=cluster),
        f"projects/{project}/project.yaml": _PROJECT.format(project=project, env=env),
        f"projects/{project}/quota.yaml": _QUOTA.format(project=project),
    }
    for name in notebooks:
        files[f"projects/{project}/notebooks/{name}.yaml"] = _NOTEBOOK.format(name=name, cpu=cpu)
    with tempfile.TemporaryDirectory() as tmp:
        for path, text in files.items():
            (Path(tmp) / path).parent.mkdir(parents=True, exist_ok=True)
            (Path(tmp) / path).write_text(text)
        validation = validate_repo(load_repo(DirectoryTree(Path(tmp))))
    assert not validation.errors, validation.errors
    [rendered] = render_repo(validation)
    return tuple(m.body for m in rendered.manifests)


def project_bodies(
    project: str,
    env: str = "dev",
    notebooks: Iterable[str] = ("nb-a", "nb-b"),
    cpu: str = "1",
    cluster: str = "test-a",
) -> list[dict[str, Any]]:
    """Every object the renderer makes for the project (fresh copies: tests may edit them)."""
    return copy.deepcopy(list(_render(project, env, tuple(notebooks), cpu, cluster)))


def of_source(bodies: Iterable[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The objects rendered from specs whose ``<Kind>.<name>`` starts with ``prefix``."""
    return [b for b in bodies if b["metadata"]["labels"].get(LABEL_SOURCE, "").startswith(prefix)]


def refs(bodies: Iterable[dict[str, Any]]) -> set[ObjectRef]:
    """References of objects (to compare what a change adds or removes)."""
    return {ObjectRef.from_object(b) for b in bodies}


def manifest(body: dict[str, Any], *, run: bool = False) -> Manifest:
    return Manifest(
        ref=ObjectRef.from_object(body),
        api_version=body["apiVersion"],
        text=dump(body),
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


def api_path(cluster: Cluster, api_version: str, kind: str, namespace: str, name: str) -> str:
    return cluster.resource(api_version, kind).path(namespace, name)


def merge_patch_as(
    cluster: Cluster,
    manager: str,
    api_version: str,
    kind: str,
    namespace: str,
    name: str,
    patch: dict[str, Any],
) -> None:
    """A write by another field manager, as ``kubectl edit`` / ``kubectl label`` do (Update)."""
    cluster.request(
        "PATCH",
        api_path(cluster, api_version, kind, namespace, name),
        subject="test",
        verb="patch",
        query=[("fieldManager", manager)],
        body=patch,
        content_type="application/merge-patch+json",
    )


def apply_as(cluster: Cluster, manager: str, body: dict[str, Any], *, force: bool = False) -> None:
    """A server-side apply by another field manager."""
    meta = body["metadata"]
    path = api_path(
        cluster, body["apiVersion"], body["kind"], meta.get("namespace", ""), meta["name"]
    )
    query = [("fieldManager", manager), ("force", "true" if force else "false")]
    cluster.request(
        "PATCH",
        path,
        subject="test",
        verb="patch",
        query=query,
        body=json.dumps(body).encode(),
        content_type="application/apply-patch+yaml",
    )
