import hashlib
import hmac
import http.client
import json
import threading
import time
import uuid

import pytest

from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.webhooks import WebhookReceiver
from tests.controller.gitrepos import Remote
from tests.controller.test_reconcile_loop import RecordingApplier

SECRET = b"hook-secret"


@pytest.fixture
def running(tmp_path):
    applier = RecordingApplier()
    remote = Remote(tmp_path)
    remote.push()
    options = ControllerOptions(remote.url, "main", tmp_path / "cache", interval=3600)
    controller = Controller(options, applier)
    receiver = WebhookReceiver("github", SECRET, "main", max_body=4096)
    server = ControllerServer(("127.0.0.1", 0), controller, receiver)
    server.start()
    yield remote, controller, server, applier
    controller.stop()
    server.shutdown()


def request(server, method, path, body=b"", headers=None, *, internal=None):
    """One request; ``/status`` and ``/metrics`` go to the internal listener unless told."""
    if internal is None:
        internal = path in ("/status", "/metrics")
    host, port = (server.internal if internal else server.public).address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data


def github(body: bytes, secret: bytes = SECRET, delivery: str = "") -> dict:
    sig = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": "push",
        "X-Hub-Signature-256": f"sha256={sig}",
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
    }


def test_probes_before_and_after_first_reconcile(running):
    _, controller, server, _ = running
    assert request(server, "GET", "/healthz")[0] == 200
    assert request(server, "GET", "/readyz")[0] == 503
    controller.reconcile_once()
    assert request(server, "GET", "/readyz")[0] == 200
    status, body = request(server, "GET", "/status")
    assert status == 200 and {t["state"] for t in json.loads(body)["targets"]} == {"Synced"}


def test_webhook_triggers_a_reconcile(running):
    remote, controller, server, applier = running
    thread = threading.Thread(target=controller.run, daemon=True)
    thread.start()
    assert controller.wait_ready(10)
    remote.notebook("vision", "hooked")
    remote.push()
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    assert request(server, "POST", "/webhook/github", body, github(body))[0] == 200
    deadline = time.monotonic() + 5
    while "hooked" not in applier.names("vision") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "hooked" in applier.names("vision")


def test_webhook_refusals_and_metrics(running):
    _, _, server, _ = running
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    assert request(server, "POST", "/webhook/github", body, github(body, b"bad"))[0] == 401
    big = b"x" * 5000
    assert request(server, "POST", "/webhook/github", big, github(big))[0] == 413
    bad = b"{oops"
    assert request(server, "POST", "/webhook/github", bad, github(bad))[0] == 400
    other = json.dumps({"ref": "refs/heads/dev"}).encode()
    assert request(server, "POST", "/webhook/github", other, github(other))[0] == 202
    assert request(server, "POST", "/webhook/nope", body)[0] == 404
    assert request(server, "GET", "/healthz")[0] == 200  # still alive
    _, metrics = request(server, "GET", "/metrics")
    text = metrics.decode()
    for code in ("401", "400", "202"):  # 413 is answered by the server before the handler
        assert f'mofang_webhook_requests_total{{code="{code}",provider="github"}} 1.0' in text
    assert "mofang_reconcile_duration_seconds_bucket" in text


def test_a_replayed_webhook_is_refused_and_counted(running):
    _, controller, server, _ = running
    body = json.dumps({"ref": "refs/heads/main", "after": "b" * 40}).encode()
    headers = github(body, delivery="same-delivery")
    assert request(server, "POST", "/webhook/github", body, headers)[0] == 200
    controller._wake.clear()
    status, answer = request(server, "POST", "/webhook/github", body, headers)
    assert status == 409 and b"already received" in answer
    assert not controller._wake.is_set()  # the replay triggered nothing
    text = request(server, "GET", "/metrics")[1].decode()
    assert 'mofang_webhook_replays_total{provider="github"} 1.0' in text
    assert 'mofang_webhook_requests_total{code="409",provider="github"} 1.0' in text
