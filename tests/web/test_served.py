"""The pages on the controller's internal listener: token, methods, headers (no cluster needed)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.webhooks import WebhookReceiver
from mofang_gitops.web import JwtKeys, PerUser
from tests.controller.gitrepos import Remote
from tests.controller.test_reconcile_loop import RecordingApplier
from tests.web.jwt_issuer import ISSUER, serve_issuer

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


def _person_get(server: ControllerServer, path: str, headers: dict[str, str]) -> tuple[int, str]:
    host, port = server.internal.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    return response.status, body


def _per_user_server(tmp_path, platform_edit=None, trust=None) -> ControllerServer:
    remote = Remote(tmp_path)
    if platform_edit is not None:
        path = remote.work / "platform.yaml"
        path.write_text(platform_edit(path.read_text()))
    remote.push()
    options = ControllerOptions(remote.url, "main", tmp_path / "cache", interval=3600)
    controller = Controller(options, RecordingApplier())
    assert controller.reconcile_once(), controller.board.snapshot()
    served = ControllerServer(
        ("127.0.0.1", 0),
        controller,
        WebhookReceiver("github", b"s", "main"),
        status_token=TOKEN,
        per_user=PerUser(JwtKeys(trust)),
    )
    served.start()
    return served


def test_per_user_header_mode_wants_the_proxy_token_and_the_person(tmp_path) -> None:
    server = _per_user_server(tmp_path)
    try:
        token = {"Authorization": f"Bearer {TOKEN.decode()}"}
        assert _person_get(server, "/", {"kubeflow-userid": "alice"})[0] == 401  # no token
        assert _person_get(server, "/", token)[0] == 401  # no person
        status, body = _person_get(server, "/", {**token, "kubeflow-userid": "alice"})
        assert status == 200 and "signed in as <strong>alice</strong>" in body
    finally:
        server.shutdown()


def test_per_user_jwt_mode_takes_the_persons_token_and_status_keeps_its_own(tmp_path) -> None:
    with serve_issuer(tmp_path) as issuer:
        auth = f'auth: {{mode: jwt, issuer: "{ISSUER}", jwksUri: "{issuer.jwks_uri}"}}'

        def edit(text: str) -> str:
            assert "host: ml.example.com}" in text
            return text.replace("host: ml.example.com}", f"host: ml.example.com, {auth}}}", 1)

        server = _per_user_server(tmp_path, edit, issuer.trust)
        try:
            person = {"Authorization": f"Bearer {issuer.token('alice')}"}
            status, body = _person_get(server, "/projects/vision", person)
            assert status == 200 and "signed in as <strong>alice</strong>" in body
            assert _person_get(server, "/", {"Authorization": f"Bearer {TOKEN.decode()}"})[0] == 401
            assert _person_get(server, "/status", person)[0] == 401  # the JSON keeps its token
            assert _get(server, "GET", "/status", TOKEN)[0] == 200
        finally:
            server.shutdown()
