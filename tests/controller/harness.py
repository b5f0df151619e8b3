"""End-to-end harness: a real bare git remote, a controller with the real engine, HTTP scrapes.

Projects are named after the test (``<unique>-vision``, ``<unique>-nlp``) because inventories are
per (environment, project) in ``mofang-system``: two tests sharing a project name on the shared
control plane would prune each other's objects.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mofang_gitops.controller.applier import EngineApplier
from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Applier, Controller, ControllerOptions, StateStore
from mofang_gitops.controller.webhooks import WebhookReceiver
from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.k8s.cluster import Cluster
from tests.controller.gitrepos import Remote
from tests.controller.test_http import request


class IsolatedRemote(Remote):
    """A :class:`Remote` whose projects carry the test's prefix."""

    def __init__(
        self, tmp_path: Path, prefix: str, *, workloads: bool = True, two_projects: bool = True
    ) -> None:
        super().__init__(tmp_path, two_projects=False)
        self.vision = f"{prefix}-vision"
        self.nlp = f"{prefix}-nlp"
        projects = self.work / "projects"
        (projects / "vision").rename(projects / self.vision)
        for doc in ("project.yaml", "quota.yaml"):
            path = projects / self.vision / doc
            path.write_text(path.read_text().replace("{name: vision}", f"{{name: {self.vision}}}"))
        if not workloads:  # notebooks only: no training or pipeline CRDs needed
            for folder in ("trainings", "pipelines"):
                shutil.rmtree(projects / self.vision / folder)
        self._homes_allowed = [self.vision]
        self._allow_homes()
        if two_projects:
            self.add_project(self.nlp)

    def _allow_homes(self) -> None:
        """Each person of the fixture consents to their home in every project of this remote."""
        listed = ", ".join(self._homes_allowed)
        for person in sorted((self.work / "people").glob("*.yaml")):
            text = person.read_text()
            start = text.index("projects: [") + len("projects: [")
            end = text.index("]", start)
            person.write_text(text[:start] + listed + text[end:])

    def add_project(self, name: str) -> None:
        target = self.work / "projects" / name
        target.mkdir(parents=True)
        for doc in ("project.yaml", "quota.yaml"):
            text = (self.work / "projects" / self.vision / doc).read_text()
            (target / doc).write_text(text.replace(f"{{name: {self.vision}}}", f"{{name: {name}}}"))
        self._homes_allowed.append(name)
        self._allow_homes()

    def notebook(self, project: str, name: str, owner: str = "bob") -> str:
        text = (self.work / "projects" / self.vision / "notebooks/bob-dev.yaml").read_text()
        text = text.replace("{name: bob-dev}", f"{{name: {name}}}").replace("bob", owner)
        path = f"projects/{project}/notebooks/{name}.yaml"
        self.write(path, text)
        return path


@dataclass
class Running:
    """A controller looping in a thread, with its HTTP server."""

    controller: Controller
    server: ControllerServer
    thread: threading.Thread
    applier: Applier

    def stop(self) -> None:
        self.controller.stop()
        self.thread.join(120)
        self.server.shutdown()
        close = getattr(self.applier, "close", None)
        if close is not None:
            close()

    def metric(self, name: str, labels: str = "") -> float:
        """Sum of the samples of ``name`` whose labels contain ``labels``, scraped over HTTP."""
        status, body = request(self.server, "GET", "/metrics")
        assert status == 200
        total = 0.0
        for line in body.decode().splitlines():
            found = re.fullmatch(r"(\w+)(\{.*\})? (\S+)", line)
            if found and found.group(1) == name and labels in (found.group(2) or ""):
                total += float(found.group(3))
        return total

    def targets(self) -> dict[str, dict]:
        return {t["project"]: t for t in self.controller.board.snapshot()["targets"]}


def start_controller(
    plane: ControlPlane,
    remote: Remote,
    cache: Path,
    *,
    interval: float,
    applier: Applier | None = None,
    may_apply: Callable[[], bool] = lambda: True,
    state: StateStore | None = None,
    **options: Any,
) -> Running:
    applier = applier or EngineApplier(plane.kubeconfig, plane.name)
    settings = ControllerOptions(remote.url, "main", cache, interval=interval, **options)
    controller = Controller(settings, applier, may_apply=may_apply, state=state)
    receiver = WebhookReceiver("github", b"secret", "main")
    server = ControllerServer(("127.0.0.1", 0), controller, receiver)
    server.start()
    thread = threading.Thread(target=controller.run, name="controller", daemon=True)
    thread.start()
    return Running(controller, server, thread, applier)


def checker(plane: ControlPlane) -> Cluster:
    return Cluster("check", plane.kubeconfig, plane.name)


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def statefulsets(cluster: Cluster, namespace: str) -> set[str]:
    return {s["metadata"]["name"] for s in cluster.list("apps/v1", "StatefulSet", [namespace])}
