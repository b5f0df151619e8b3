"""How the cluster adapter reaches an API server: kept-alive connections, TLS names, proxies.

Requests go over the adapter's own pool of ``http.client`` connections unless a proxy applies
(then urllib3's proxy manager). These tests pin what that pool must keep doing: reuse a
connection, replace one the server closed while it was idle without failing or retrying the
request, check the certificate against the kubeconfig's ``tls-server-name``, and never bypass a
configured proxy.
"""

from __future__ import annotations

import gc
import json
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.errors import ClusterError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.k8s.retrying import RetryPolicy
from mofang_gitops.k8s.transport import DirectTransport


def _kubeconfig(path: Path, server: str, token: str = "t", **cluster: Any) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server, **cluster}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path.write_text(json.dumps(config))
    return path


class _Counting(ThreadingHTTPServer):
    connections = 0
    requests = 0
    close_after_reply = False


@contextmanager
def _http_server(*, close_after_reply: bool) -> Iterator[_Counting]:
    """An HTTP/1.1 server answering ``{}``; optionally closing each connection after a reply
    without saying so (no ``Connection: close``), as a server whose idle timeout passed does."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            server.connections += 1

        def do_GET(self) -> None:
            server.requests += 1
            body = b"{}"
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
            if server.close_after_reply:
                self.close_connection = True

    server = _Counting(("127.0.0.1", 0), Handler)
    server.close_after_reply = close_after_reply
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _get(cluster: Cluster) -> int:
    status, _ = cluster.request("GET", "/api", subject="test", verb="get")
    return status


def test_requests_reuse_one_kept_alive_connection(tmp_path: Path) -> None:
    with _http_server(close_after_reply=False) as server:
        host, port = server.server_address[:2]
        cluster = Cluster("c", _kubeconfig(tmp_path / "kc", f"http://{host!s}:{port}"), "c")
        statuses = [_get(cluster) for _ in range(5)]
        cluster.close()
    assert statuses == [200] * 5
    assert (server.requests, server.connections) == (5, 1)


def test_an_answer_read_is_freed_at_once_not_left_to_the_garbage_collector(
    tmp_path: Path,
) -> None:
    # The engine pauses collections during a run: an answer kept by a reference cycle would
    # hold its body until the run ends (every LIST page of a pass at once).
    with _http_server(close_after_reply=False) as server:
        host, port = server.server_address[:2]
        transport = DirectTransport(
            f"http://{host!s}:{port}",
            tls=None,
            server_hostname=None,
            connect_timeout=5,
            read_timeout=5,
            pool_size=1,
        )
        transport.request("GET", "/api", None, {})
        gc.disable()
        try:
            with warnings.catch_warnings():
                # Clears garbage earlier tests of this worker left (once an unclosed TLS socket
                # of another test, whose ResourceWarning failed this one): not what is measured.
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()
            answers = [transport.request("GET", "/api", None, {}) for _ in range(5)]
            unreachable = gc.collect()
        finally:
            gc.enable()
            transport.close()
    assert [a.status for a in answers] == [200] * 5
    assert unreachable == 0


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_retry(
    tmp_path: Path,
) -> None:
    with _http_server(close_after_reply=True) as server:
        host, port = server.server_address[:2]
        cluster = Cluster("c", _kubeconfig(tmp_path / "kc", f"http://{host!s}:{port}"), "c")
        first = _get(cluster)
        # Let the server's close reach the client before the next request takes a connection.
        time.sleep(0.2)
        second = _get(cluster)
        cluster.close()
    assert (first, second) == (200, 200)
    assert server.connections == 2
    assert cluster.budget.spent == 0, "the stale connection cost a retry"


@pytest.mark.parametrize(
    ("server_name", "accepted"),
    [("kubernetes.default.svc", True), ("not-in-the-certificate.example", False)],
)
def test_the_certificate_is_checked_against_the_kubeconfigs_tls_server_name(
    control_plane: ControlPlane, tmp_path: Path, server_name: str, accepted: bool
) -> None:
    kubeconfig = _kubeconfig(
        tmp_path / "kc",
        control_plane.server,
        control_plane.admin_token,
        **{"certificate-authority": str(control_plane.ca_file), "tls-server-name": server_name},
    )
    cluster = Cluster("c", kubeconfig, "c", retry=RetryPolicy(attempts=1))
    if accepted:
        assert _get(cluster) == 200
    else:
        with pytest.raises(ClusterError, match="certificate"):
            _get(cluster)
    cluster.close()


@contextmanager
def _connect_proxy() -> Iterator[tuple[int, list[str]]]:
    """A CONNECT proxy on 127.0.0.1 that records each tunnel's target and relays bytes."""
    listener = socket.create_server(("127.0.0.1", 0))
    tunnels: list[str] = []

    def relay(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                end.close()

    def serve_one(client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        if method != "CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        tunnels.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=relay, args=(client, upstream), daemon=True).start()
        threading.Thread(target=relay, args=(upstream, client), daemon=True).start()

    def accept() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve_one, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1], tunnels
    finally:
        listener.close()


def test_a_kubeconfig_proxy_carries_every_request(
    control_plane: ControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    with _connect_proxy() as (proxy_port, tunnels):
        kubeconfig = _kubeconfig(
            tmp_path / "kc",
            control_plane.server,
            control_plane.admin_token,
            **{
                "certificate-authority": str(control_plane.ca_file),
                "proxy-url": f"http://127.0.0.1:{proxy_port}",
            },
        )
        cluster = Cluster("c", kubeconfig, "c")
        assert _get(cluster) == 200
        cluster.close()
    server_port = control_plane.server.rsplit(":", 1)[1]
    assert tunnels and all(t.endswith(f":{server_port}") for t in tunnels)


def test_a_control_character_in_a_path_is_refused_before_anything_is_sent(tmp_path: Path) -> None:
    with _http_server(close_after_reply=False) as server:
        host, port = server.server_address[:2]
        cluster = Cluster("c", _kubeconfig(tmp_path / "kc", f"http://{host!s}:{port}"), "c")
        smuggled = "/api/v1/namespaces/a\r\nX-Injected: 1\r\n\r\nGET /api"
        with pytest.raises(ClusterError, match="not sent") as refused:
            cluster.request("GET", smuggled, subject="test", verb="get")
        cluster.close()
    assert refused.value.status == 400, "a malformed request is not retried as if unanswered"
    assert (server.requests, cluster.budget.spent) == (0, 0)
