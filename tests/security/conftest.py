"""A tenant platform applied for real, and requests sent as its people (impersonated).

The minimal platform gets a second member notebook (carol's) and a per-test namespace pattern,
is rendered by the tool and applied by the engine as admin. The notebooks' pods are then created
for real from their StatefulSet templates, named as the StatefulSet controller would (this plane
runs no controller-manager), so Pod Security ``restricted`` admits exactly what we render.

The plane has no controller-manager either to fill the aggregated admin/edit/view ClusterRoles:
they are empty here, so tests that need "a member the platform granted more" bind an explicit
Role instead of ``edit``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane, api_call
from mofang_gitops.engine.manager import ResourceManager
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import RenderedTarget
from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir

CAROL_NOTEBOOK = """apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {name: carol-nb}
spec:
  owner: carol
  image: jupyter-pytorch
  resourceGroup: cpu-general
  resources: {cpu: "1", memory: 2Gi}
  mounts: [project]
"""

Call = Callable[..., tuple[int, dict[str, Any]]]


@dataclass(frozen=True)
class Tenant:
    """The applied vision project: namespace, rendered target, and calls as one of its people."""

    plane: ControlPlane
    namespace: str
    target: RenderedTarget

    def call(
        self, user: str | None, method: str, path: str, body: Any = None, **query: str
    ) -> tuple[int, dict[str, Any]]:
        """One request as ``user`` (None: admin); ``query`` becomes the query string."""
        if query:
            path += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        data = json.dumps(body).encode() if body is not None else None
        return api_call(self.plane, method, path, data, impersonate=user)

    def body(self, kind: str, name: str) -> dict[str, Any]:
        """A rendered object's body."""
        (found,) = [
            m.body for m in self.target.manifests if (m.ref.kind, m.ref.name) == (kind, name)
        ]
        return found


def render_tenant(
    tmp_path: Path, prefix: str, extra: dict[str, str] | None = None
) -> RenderedTarget:
    """The minimal platform plus carol's notebook, namespaces named ``<prefix>-<project>``."""
    root = build_repo(tmp_path)
    env = root / "environments/prod.yaml"
    text = env.read_text()
    assert 'namespace: "{project}"' in text
    env.write_text(text.replace('namespace: "{project}"', f'namespace: "{prefix}-{{project}}"'))
    (root / "projects/vision/notebooks/carol-nb.yaml").write_text(CAROL_NOTEBOOK)
    for relative, content in (extra or {}).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)
    validation = validate_dir(root)
    assert validation.errors == [], validation.errors
    (target,) = render_repo(validation)
    assert target.namespace == f"{prefix}-vision"
    return target


def notebook_pod(target: RenderedTarget, name: str) -> dict[str, Any]:
    """The pod the StatefulSet controller would create for notebook ``name``."""
    (sts,) = [m.body for m in target.manifests if (m.ref.kind, m.ref.name) == ("StatefulSet", name)]
    template = sts["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"{name}-0",
            "namespace": target.namespace,
            "labels": template["metadata"]["labels"],
        },
        "spec": template["spec"],
    }


@pytest.fixture(scope="module")
def tenant(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Tenant:
    prefix = f"s-{uuid.uuid4().hex[:8]}"
    target = render_tenant(tmp_path_factory.mktemp("tenant"), prefix)
    cluster = Cluster("central", control_plane.kubeconfig, control_plane.name)
    try:
        changes = ResourceManager({"central": cluster}).apply([target])
    finally:
        cluster.close()
    failed = [f"{entry.id}: {entry.reason}" for entry in changes.failed]
    assert not failed, failed
    for name in ("bob-dev", "carol-nb"):
        status, answer = api_call(
            control_plane, "POST", f"/api/v1/namespaces/{target.namespace}/pods",
            json.dumps(notebook_pod(target, name)).encode(),
        )  # fmt: skip
        assert status == 201, answer.get("message", answer)
    return Tenant(control_plane, target.namespace, target)
