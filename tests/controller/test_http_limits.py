"""The HTTP port under abuse: slow and silent clients, lying Content-Length, big headers, status
kept off the public listener. Real sockets on 127.0.0.1, real waitress listeners, no mocks.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest

from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.serving import HttpLimits
from mofang_gitops.controller.webhooks import WebhookReceiver
from tests.controller.test_reconcile_loop import RecordingApplier

SECRET = b"limits-secret"
MIB = 1024 * 1024


@contextmanager
def serving(tmp_path, limits: HttpLimits | None = None, token: bytes = b"") -> Iterator:
    options = ControllerOptions("file:///nonexistent", "main", tmp_path / "cache", interval=3600)
    controller = Controller(options, RecordingApplier())
    server = ControllerServer(
        ("127.0.0.1", 0), controller, WebhookReceiver("github", SECRET, "main"),
        status_token=token, limits=limits,
    )  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.shutdown()


def get(address, path, headers=None, timeout=5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def push_webhook(address, timeout=5.0) -> int:
    body = json.dumps({"ref": "refs/heads/main"}).encode()
    headers = {
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest(),
    }
    conn = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        conn.request("POST", "/webhook/github", body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def half_open(stack: ExitStack, address, data: bytes) -> socket.socket:
    sock = stack.enter_context(socket.create_connection(address, timeout=5))
    sock.sendall(data)
    return sock


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


PARTIAL_HEADERS = b"POST /webhook/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pu"
PARTIAL_BODY = (
    b"POST /webhook/github HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n0123456789" % MIB
)


def test_status_and_metrics_are_served_only_on_the_internal_listener(tmp_path):
    with serving(tmp_path) as server:
        public, internal = server.public.address, server.internal.address
        assert get(public, "/status")[0] == 404
        assert get(public, "/metrics")[0] == 404
        assert get(public, "/healthz")[0] == 200
        assert get(internal, "/status")[0] == 200
        assert get(internal, "/metrics")[0] == 200
        assert internal[0] == "127.0.0.1"


def test_status_token_guards_status_and_metrics_but_not_the_probes(tmp_path):
    with serving(tmp_path, token=b"t0ken") as server:
        internal = server.internal.address
        for path in ("/status", "/metrics"):
            assert get(internal, path)[0] == 401
            assert get(internal, path, {"Authorization": "Bearer wrong"})[0] == 401
            assert get(internal, path, {"Authorization": "Basic t0ken"})[0] == 401
            assert get(internal, path, {"Authorization": "Bearer t0ken"})[0] == 200
        assert get(internal, "/healthz")[0] == 200
        assert get(internal, "/readyz")[0] == 503  # not ready yet, but answered without a token
        status, body = get(internal, "/status")
        assert b"targets" not in body and status == 401


def test_a_body_announced_larger_than_sent_times_out_without_holding_a_worker(tmp_path):
    limits = HttpLimits(channel_timeout=1, cleanup_interval=1, threads=1)
    with serving(tmp_path, limits) as server, ExitStack() as stack:
        sock = half_open(stack, server.public.address, PARTIAL_BODY)
        # The one worker thread is free: the stalled request never reached it.
        assert timed(lambda: get(server.public.address, "/healthz"))[0][0] == 200
        sock.settimeout(10)
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the server, nothing answered
        assert time.monotonic() - started < 8


def test_content_length_over_the_cap_is_refused_before_the_body_is_sent(tmp_path):
    with serving(tmp_path) as server, ExitStack() as stack:
        head = b"POST /webhook/github HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (2 * MIB)
        sock = half_open(stack, server.public.address, head)
        sock.settimeout(5)
        assert sock.recv(100).startswith(b"HTTP/1.1 413")


def test_oversized_headers_are_refused(tmp_path):
    with serving(tmp_path) as server:
        status, _ = get(server.public.address, "/healthz", {"X-Filler": "a" * (32 * 1024)})
        assert status == 431


def test_hundreds_of_half_open_connections_do_not_delay_webhooks_or_probes(tmp_path):
    baseline = threading.active_count()
    with serving(tmp_path) as server, ExitStack() as stack:
        address = server.public.address
        for n in range(300):
            half_open(stack, address, PARTIAL_HEADERS if n % 2 else PARTIAL_BODY)
        (status, _), took = timed(lambda: get(address, "/healthz", timeout=2))
        assert status == 200 and took < 2
        status, took = timed(lambda: push_webhook(address, timeout=2))
        assert status == 200 and took < 2
        assert get(server.internal.address, "/readyz", timeout=2)[0] == 503
        assert server.public.open_connections >= 300  # they are all held, by sockets only
        # Two listeners: one loop thread each, 4 + 2 workers; nothing per connection.
        assert threading.active_count() - baseline <= 2 + 4 + 2


def test_open_connections_are_capped_and_silent_ones_make_room(tmp_path):
    limits = HttpLimits(connection_limit=20, channel_timeout=1, cleanup_interval=1)
    with serving(tmp_path, limits) as server, ExitStack() as stack:
        address = server.public.address
        for _ in range(60):
            half_open(stack, address, PARTIAL_HEADERS)
        peak = 0
        result: list[int] = []
        probe = threading.Thread(
            target=lambda: result.append(get(address, "/healthz", timeout=30)[0])
        )
        probe.start()
        deadline = time.monotonic() + 30
        while probe.is_alive() and time.monotonic() < deadline:
            peak = max(peak, server.public.open_connections)
            time.sleep(0.05)
        probe.join(1)
        assert result == [200]
        assert 0 < peak <= 20


@pytest.mark.parametrize("path", ["/webhook/gitlab", "/webhook/gitea", "/webhook/nope"])
def test_paths_of_other_providers_are_not_served(tmp_path, path):
    with serving(tmp_path) as server:
        conn = http.client.HTTPConnection(*server.public.address, timeout=5)
        conn.request("POST", path, body=b"{}", headers={"X-Gitlab-Token": SECRET.decode()})
        assert conn.getresponse().status == 404
        conn.close()
