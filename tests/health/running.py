"""Repositories and reads for health tests on the shared ``running_cluster`` (tests/conftest.py).

Each test gets the minimal platform renamed to a project of its own (so it owns a fresh
namespace on the shared cluster), with the running cluster's facts laid over it, as the example
platform has them: the GPU group tolerates the taint its kwok nodes carry, and Pod Security
enforces ``baseline`` (under ``restricted`` the API server refuses the init container the
training operator adds to PyTorch workers, which ``status`` reports as Degraded). Workloads
are added as spec files, so everything on the cluster is what the renderer made of them.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from mofang_gitops.cli import main
from mofang_gitops.commands.common import resource_groups
from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.engine import connect
from mofang_gitops.health import ObjectHealth, read_clusters
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.rendering import render_repo
from tests.runtime.example import wait_namespaces_gone
from tests.scenarios import build_repo, validate_dir

POD_SECURITY = "    podSecurity: {enforce: baseline, audit: restricted, warn: restricted}\n"
GPU_TOLERATION = (
    "      tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]\n"
)


def project_repo(tmp_path: Path, project: str, *, notebook: bool = True) -> Path:
    """The minimal repo as project ``project``: notebook ``bob-dev`` (optional), no other work."""
    root = build_repo(tmp_path)
    for sub in ("trainings", "pipelines"):
        shutil.rmtree(root / f"projects/vision/{sub}")
    if not notebook:
        shutil.rmtree(root / "projects/vision/notebooks")
    (root / "projects/vision").rename(root / f"projects/{project}")
    for path in root.rglob("*.yaml"):
        path.write_text(path.read_text().replace("vision", project))
    platform = root / "platform.yaml"
    text = platform.read_text()
    anchor = "      gpu: {type: A100, resource: nvidia.com/gpu}\n"
    text = text.replace(anchor, anchor + GPU_TOLERATION)
    policies = "  policies:\n"
    platform.write_text(text.replace(policies, policies + POD_SECURITY))
    return root


def add_training(root: Path, project: str, name: str, body: str) -> Path:
    """Write ``projects/<project>/trainings/<name>.yaml`` (``body``: the indented spec lines)."""
    folder = root / f"projects/{project}/trainings"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(
        f"apiVersion: mofang.io/v1alpha1\nkind: Training\nmetadata: {{name: {name}}}\nspec:\n{body}"
    )
    return path


def cli(root: Path, running: RunningCluster, *args: str) -> int:
    """``mofang-gitops`` against the running cluster (the platform's ``central`` is its plane)."""
    plane = running.plane
    return main(
        ["--repo", str(root), "--kubeconfig", str(plane.kubeconfig), "--context", plane.name, *args]
    )


def admin(running: RunningCluster) -> Cluster:
    """An admin client of the running cluster (close it when done)."""
    return Cluster("central", running.plane.kubeconfig, running.plane.name)


def delete_namespaces(running: RunningCluster, namespaces: Iterable[str]) -> None:
    """Delete a test's namespaces so their pods free the shared cluster's nodes, and wait until
    they are gone: a later test applying the same names (the example's projects) into a namespace
    still terminating saw its objects deleted under it."""
    names = list(namespaces)
    cluster = admin(running)
    try:
        for namespace in names:
            cluster.request(
                "DELETE", f"/api/v1/namespaces/{namespace}", subject=namespace, verb="delete"
            )
    finally:
        cluster.close()
    wait_namespaces_gone(running.plane, names)


class Watcher:
    """Reads the health of one repository's objects through the health module, as ``status``
    does (render once, one LIST per kind plus Pods, Events and Workflows per read)."""

    def __init__(self, root: Path, running: RunningCluster) -> None:
        validation = validate_dir(root)
        assert not validation.errors, validation.errors
        self.targets = render_repo(validation)
        self.clusters = connect(self.targets, running.plane.kubeconfig, context=running.plane.name)
        self.groups = resource_groups(validation)

    def objects(self, kind: str) -> list[ObjectHealth]:
        """The health of every rendered object of ``kind``, read now."""
        health = read_clusters(self.clusters, self.targets, self.groups)
        return [o for t in health for o in t.objects if o.kind == kind]

    def until(
        self, kind: str, done: Callable[[ObjectHealth], bool], timeout: float = 180
    ) -> list[ObjectHealth]:
        """Every distinct (health, phase, reason) the one object of ``kind`` went through, read
        every 0.3 s until ``done`` holds (the last entry) or ``timeout`` passes."""
        seen: list[ObjectHealth] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            (obj,) = self.objects(kind)
            if not seen or _state(seen[-1]) != _state(obj):
                seen.append(obj)
            if done(obj):
                return seen
            time.sleep(0.3)
        raise AssertionError(f"{kind} never got there; went through {[_state(o) for o in seen]}")

    def close(self) -> None:
        for cluster in self.clusters.values():
            cluster.close()


def _state(obj: ObjectHealth) -> tuple[str, str, str]:
    return (str(obj.health), obj.verdict.phase, obj.reason)
