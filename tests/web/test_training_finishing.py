"""A training finishing on a cluster that runs pods shows up on the project page after a refresh.

The running cluster (scheduler, kube-controller-manager, kwok nodes of the platform's resource
groups, the Kubeflow training operator) plays the pods: kwok completes a pod owned by a
PyTorchJob after its ``kwok.mofang.io/complete-after`` delay (5s by default) and the operator
marks the job Succeeded. The controller's own passes (real git remote, real engine, real health
read) feed the board the pages are served from; the browser reloads the project page and must see
the phase move to Succeeded, with a duration, on nodes of the training's resource group. The
screenshots of every page are saved here too (overview, project, resource groups).

The training has a master only: the operator gives workers an ``init-pytorch`` container that
the namespace's Pod Security level (restricted) refuses (seen on this cluster: FailedCreatePod,
"allowPrivilegeEscalation != false"), which is a finding for the training renderer, not for
these pages.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.controller.applier import EngineApplier
from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.webhooks import WebhookReceiver
from mofang_gitops.devtools.running import RunningCluster
from mofang_gitops.health import read_clusters
from tests.controller.harness import IsolatedRemote
from tests.web.test_browser import Watched

pytestmark = pytest.mark.cluster

TRAINING = """apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {name: short-run}
spec:
  framework: pytorch
  image: registry.example.com/vision/detector:0.9
  command: [python, train.py]
  resourceGroup: cpu-general
  roles:
    master: {replicas: 1, resources: {cpu: "1", memory: 2Gi}}
  mounts: []
"""


class Site:
    def __init__(self, controller: Controller, server: ControllerServer, project: str) -> None:
        self.controller, self.server, self.project = controller, server, project
        self.url = server.internal_url

    def training(self) -> dict[str, Any]:
        (found,) = [
            o
            for objects in self.controller.board.objects(self.project).values()
            for o in objects
            if o["source"] == "Training.short-run" and o["kind"] == "PyTorchJob"
        ]
        return found


@pytest.fixture(scope="module")
def site(
    running_cluster: RunningCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    if "training-operator" not in running_cluster.runtime.pids:
        reason = running_cluster.runtime.skipped.get("training-operator", "not started")
        pytest.skip(f"training-operator: {reason}")
    tmp = tmp_path_factory.mktemp("web-running")
    prefix = f"w{uuid.uuid4().hex[:6]}"
    remote = IsolatedRemote(tmp, prefix, two_projects=False)
    project = remote.vision
    root = remote.work / "projects" / project
    (root / "trainings" / "short-run.yaml").write_text(TRAINING)
    remote.push(f"{project}: a short PyTorch run")
    plane = running_cluster.plane
    applier = EngineApplier(plane.kubeconfig, plane.name)
    options = ControllerOptions(remote.url, "main", tmp / "cache", interval=3600)
    controller = Controller(options, applier)
    controller.read_health = lambda targets: read_clusters(
        {t.target.cluster: applier.cluster_of(t.target) for t in targets},
        targets,
        controller.resource_groups,
    )
    assert controller.reconcile_once(), controller.board.snapshot()
    server = ControllerServer(("127.0.0.1", 0), controller, WebhookReceiver("github", b"s", "main"))
    server.start()
    yield Site(controller, server, project)
    server.shutdown()
    applier.close()


def test_a_training_finishing_shows_on_the_project_page_after_a_refresh(
    site: Site, browser: Any, screenshots: Path
) -> None:
    watched = Watched(browser)
    try:
        page = watched.page
        watched.open(f"{site.url}/projects/{site.project}")
        row = page.locator('table.trainings tr[data-name="short-run"]')
        before = row.locator("td.phase").inner_text()
        assert "Succeeded" not in before, before  # read right after the apply
        assert row.locator("td.framework").inner_text() == "pytorch"

        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            site.controller.reconcile_once()  # the controller's real pass, health read included
            if site.training().get("phase") == "Succeeded":
                break
            time.sleep(2)
        assert site.training().get("phase") == "Succeeded", site.training()

        page.reload(wait_until="load")
        row = page.locator('table.trainings tr[data-name="short-run"]')
        assert row.locator("td.phase").inner_text().startswith("Succeeded")
        assert row.locator("td.duration").inner_text().strip() not in ("", "—")
        pods = row.locator("td").nth(4).inner_text()
        assert "(cpu-general)" in pods and "Succeeded" in pods, pods
        page.screenshot(path=str(screenshots / "project-training-finished.png"), full_page=True)

        watched.open(f"{site.url}/")
        assert page.locator(f'tr[data-project="{site.project}"]').count() >= 1
        page.screenshot(path=str(screenshots / "overview-running.png"), full_page=True)
        watched.open(f"{site.url}/resource-groups")
        group = page.locator("article#group-gpu-a100")
        assert site.project in group.locator("table.holders").inner_text()
        page.screenshot(path=str(screenshots / "resource-groups-running.png"), full_page=True)
        assert watched.errors == [] and watched.dialogs == []
    finally:
        watched.context.close()
