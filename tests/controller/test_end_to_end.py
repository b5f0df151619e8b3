"""The controller against a real bare git remote and the real control plane (engine included)."""

import hashlib
import hmac
import json
import threading
import time
import uuid

import pytest

from mofang_gitops.controller.applier import EngineApplier
from mofang_gitops.controller.events import EventRecorder
from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.webhooks import WebhookReceiver
from mofang_gitops.k8s.cluster import Cluster
from tests.controller.gitrepos import Remote
from tests.controller.test_http import request
from tests.controller.test_reconcile_loop import BROKEN

SECRET = b"e2e-secret"


@pytest.fixture
def system(control_plane, tmp_path, unique_name):
    remote = Remote(tmp_path)
    env = remote.work / "environments/prod.yaml"
    env.write_text(env.read_text().replace('"{project}"', f'"{unique_name}-{{project}}"'))
    remote.push("initial")
    applier = EngineApplier(control_plane.kubeconfig, control_plane.name)
    options = ControllerOptions(remote.url, "main", tmp_path / "cache", interval=3600)
    controller = Controller(options, applier)
    controller.on_result = EventRecorder(applier.cluster_of, controller.namespaces).record
    server = ControllerServer(
        ("127.0.0.1", 0), controller, WebhookReceiver("github", SECRET, "main")
    )
    server.start()
    thread = threading.Thread(target=controller.run, daemon=True)
    thread.start()
    assert controller.wait_ready(120), controller.board.snapshot()
    cluster = Cluster("check", control_plane.kubeconfig, control_plane.name)
    yield remote, controller, server, cluster, unique_name
    controller.stop()
    thread.join(60)
    server.shutdown()
    applier.close()
    cluster.close()


def hook(server, ref="refs/heads/main"):
    body = json.dumps({"ref": ref}).encode()
    sig = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sig,
               "X-GitHub-Delivery": str(uuid.uuid4())}  # fmt: skip
    return request(server, "POST", "/webhook/github", body, headers)[0]


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_pushed_notebook_appears_through_the_webhook(system):
    remote, _, server, cluster, prefix = system
    remote.notebook("nlp", "alice-nb")
    remote.push("add a notebook")
    assert hook(server) == 200
    names = lambda: {  # noqa: E731
        s["metadata"]["name"] for s in cluster.list("apps/v1", "StatefulSet", [f"{prefix}-nlp"])
    }
    assert wait_for(lambda: any("alice-nb" in n for n in names()), 10), names()


def test_invalid_project_stays_at_last_good_while_other_applies(system):
    remote, controller, server, cluster, prefix = system
    good = controller.board.snapshot()["revision"]
    remote.write("projects/vision/notebooks/broken.yaml", BROKEN)
    remote.notebook("nlp", "carol-nb")
    head = remote.push("one broken, one fine")
    assert hook(server) == 200

    def states():
        return {t["project"]: t for t in controller.board.snapshot()["targets"]}

    assert wait_for(
        lambda: states()["nlp"]["revision"] == head and states()["vision"]["state"] != "Synced",
        30,
    )
    found = states()
    assert found["vision"]["state"] == "Invalid" and found["vision"]["revision"] == good
    assert any("broken.yaml:" in p for p in found["vision"]["problems"])
    assert found["nlp"]["state"] == "Synced"
    events = cluster.list("v1", "Event", [f"{prefix}-vision"])
    assert any(e.get("reason") == "Invalid" for e in events)
