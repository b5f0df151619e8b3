"""The pages on the controller's internal listener: token, methods, headers (no cluster needed)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.webhooks import WebhookReceiver
from tests.controller.gitrepos import Remote
from tests.controller.test_reconcile_loop import RecordingApplier

TOKEN = b"page-token"


@pytest.fixture
def server(tmp_path) -> Iterator[ControllerServer]:
    remote = Remote(tmp_path)
    remote.push()
    options = ControllerOptions(remote.url, "main", tmp_path / "cache", interval=3600)
    controller = Controller(options, RecordingApplier())
    assert controller.reconcile_once()
    served = ControllerServer(
        ("127.0.0.1", 0), controller, WebhookReceiver("github", b"s", "main"), status_token=TOKEN
    )
    served.start()
    yield served
    served.shutdown()


def _get(server: ControllerServer, method: str, path: str, token: bytes = b"") -> tuple[int, dict]:
    host, port = server.internal.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    headers = {"Authorization": f"Bearer {token.decode()}"} if token else {}
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}


def test_pages_want_the_status_token_and_are_never_on_the_public_port(server) -> None:
    assert _get(server, "GET", "/")[0] == 401
    assert _get(server, "GET", "/projects/vision")[0] == 401
    status, headers = _get(server, "GET", "/projects/vision", TOKEN)
    assert status == 200 and "script-src 'self'" in headers["content-security-policy"]
    assert _get(server, "GET", "/", b"wrong")[0] == 401
    host, port = server.public.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/")
    assert conn.getresponse().status == 404
    conn.close()


def test_only_get_and_head_are_answered(server) -> None:
    for method in ("POST", "PUT", "DELETE"):
        status, headers = _get(server, method, "/", TOKEN)
        assert status == 405 and headers["allow"] == "GET, HEAD"
    assert _get(server, "HEAD", "/", TOKEN)[0] == 200
