"""Workloads as the tool renders them, applied by its engine to the running cluster.

A miniature repository on the example ``platform.yaml`` (the platform the ``running_cluster``
fixture made its kwok nodes from): one environment over both clusters, one project named after
the test (so its own namespace, PersistentVolumes and queue) and the specs a test writes. It is
validated, rendered and applied exactly as ``mofang-gitops apply`` does; only
``with_pod_annotations`` touches the rendered text, to give pods the kwok stage annotations that
only tests use (people cannot write pod annotations in a spec, and this does not let them).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mofang_gitops.devtools.controlplane import ControlPlane, api_call
from mofang_gitops.devtools.nodes import CLUSTER_LABEL, GROUP_LABEL
from mofang_gitops.engine import ResourceManager
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import RenderedTarget
from mofang_gitops.models.platform import PlatformSpec
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo
from mofang_gitops.yamlio import dump
from tests.engine.builders import FAST_RETRY
from tests.runtime.kube import get

EXAMPLE_PLATFORM = Path(__file__).resolve().parents[2] / "platform.yaml"
JOB_LABEL = "mofang.io/job"
ROLE_LABEL = "mofang.io/role"
HOLD = {"kwok.mofang.io/complete-after": "10m"}
"""Keeps batch pods Running while a test looks at where they landed (they finish after 5s)."""

_ENVIRONMENT = """\
apiVersion: mofang.io/v1alpha1
kind: Environment
metadata: {name: prod}
spec: {clusters: [central, edge-sg], namespace: "{project}"}
"""
_PERSON = """\
apiVersion: mofang.io/v1alpha1
kind: Person
metadata: {{name: bob}}
spec: {{home: {{projects: [{project}]}}}}
"""
_PROJECT = """\
apiVersion: mofang.io/v1alpha1
kind: Project
metadata: {{name: {project}}}
spec:
  owners: [alice]
  members: [{{user: bob, role: edit}}]
  environments: [prod]
  resourceGroups: [{groups}]
"""
_QUOTA = """\
apiVersion: mofang.io/v1alpha1
kind: Quota
metadata: {{name: {project}}}
spec:
  resourceGroups:
{groups}
  storage: 1Ti
  queue: {{weight: 1, reclaimable: true}}
"""


def write_repo(
    root: Path, project: str, quota: Mapping[str, str], specs: Mapping[str, str]
) -> Path:
    """Write the miniature repository: ``quota`` maps each group of the project to its quota
    (``'{cpu: "8", memory: 32Gi, gpu: 4}'``), ``specs`` maps ``notebooks/x.yaml``-style paths
    under the project to their text."""
    files = {
        "environments/prod.yaml": _ENVIRONMENT,
        "people/bob.yaml": _PERSON.format(project=project),
        f"projects/{project}/project.yaml": _PROJECT.format(
            project=project, groups=", ".join(quota)
        ),
        f"projects/{project}/quota.yaml": _QUOTA.format(
            project=project, groups="\n".join(f"    {g}: {q}" for g, q in quota.items())
        ),
        **{f"projects/{project}/{path}": text for path, text in specs.items()},
    }
    root.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE_PLATFORM, root / "platform.yaml")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def render(root: Path) -> dict[str, RenderedTarget]:
    """Validate and render the repository; its targets by cluster name (errors fail the test)."""
    validation = validate_repo(load_repo(DirectoryTree(root)))
    assert not validation.errors, validation.errors
    return {rendered.target.cluster: rendered for rendered in render_repo(validation)}


def with_pod_annotations(
    rendered: RenderedTarget, source: str, annotations: Mapping[str, str]
) -> RenderedTarget:
    """Add ``annotations`` to every pod template of the objects rendered from ``source``
    (``Training.x``): the kwok stage annotations, which no spec field can set."""
    manifests = []
    for manifest in rendered.manifests:
        if manifest.source != source:
            manifests.append(manifest)
            continue
        body = manifest.body
        templates = list(_pod_templates(body))
        assert templates, f"{manifest.ref} has no pod template"
        for template in templates:
            template.setdefault("metadata", {}).setdefault("annotations", {}).update(annotations)
        manifests.append(dataclasses.replace(manifest, text=dump(body)))
    return dataclasses.replace(rendered, manifests=tuple(manifests))


def _pod_templates(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        template = node.get("template")
        if isinstance(template, dict) and "containers" in (template.get("spec") or {}):
            yield template
        for value in node.values():
            yield from _pod_templates(value)
    elif isinstance(node, list):
        for value in node:
            yield from _pod_templates(value)


def apply(plane: ControlPlane, rendered: RenderedTarget) -> None:
    """Apply one target with the project's engine, as ``mofang-gitops apply`` does."""
    cluster = Cluster(plane.name, plane.kubeconfig, plane.name, retry=FAST_RETRY)
    try:
        changes = ResourceManager({rendered.target.cluster: cluster}).apply([rendered])
    finally:
        cluster.close()
    assert not changes.failed, [(str(e.ref), e.reason) for e in changes.failed]


def job_body(rendered: RenderedTarget, training: str) -> dict[str, Any]:
    """The job object rendered for ``training`` (its name carries a hash of the spec)."""
    (body,) = [
        m.body for m in rendered.manifests if m.source == f"Training.{training}" and m.is_run
    ]
    return body


def pods(plane: ControlPlane, namespace: str, selector: str) -> list[dict[str, Any]]:
    """Pods of ``namespace`` matching the label ``selector``."""
    found = get(plane, f"/api/v1/namespaces/{namespace}/pods?labelSelector={selector}")
    return list(found["items"])


def node_labels(plane: ControlPlane) -> dict[str, dict[str, str]]:
    """Labels of every node, by node name."""
    return {
        node["metadata"]["name"]: node["metadata"].get("labels", {})
        for node in get(plane, "/api/v1/nodes")["items"]
    }


def placement(plane: ControlPlane, found: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """Role -> sorted (resource group, cluster) of the node each pod was bound to."""
    labels = node_labels(plane)
    placed: dict[str, list[tuple[str, str]]] = {}
    for pod in found:
        node = labels.get(pod["spec"].get("nodeName", ""), {})
        role = pod["metadata"]["labels"].get(ROLE_LABEL, "")
        placed.setdefault(role, []).append((node.get(GROUP_LABEL, ""), node.get(CLUSTER_LABEL, "")))
    return {role: sorted(where) for role, where in placed.items()}


def running(found: list[dict[str, Any]]) -> bool:
    """True when every pod is bound and Running."""
    return bool(found) and all(
        p["spec"].get("nodeName") and p.get("status", {}).get("phase") == "Running" for p in found
    )


def delete_namespace(plane: ControlPlane, namespace: str) -> None:
    """Free the nodes for the next test (the namespace controller removes what was in it)."""
    status, answer = api_call(plane, "DELETE", f"/api/v1/namespaces/{namespace}")
    assert status in (200, 202, 404), (status, answer)


def example_platform() -> PlatformSpec:
    """The platform the ``running_cluster`` fixture made its nodes from."""
    platform = load_repo(DirectoryTree(EXAMPLE_PLATFORM.parent)).platform
    assert platform is not None
    return platform.model.spec
