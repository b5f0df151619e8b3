"""A tiny fault-injecting HTTP proxy in front of the real API server.

It answers the first requests of chosen methods with chosen statuses (429, 503, 409...) and
forwards everything else to the real kube-apiserver, so retries are exercised against real
apply/list/delete semantics rather than a mock.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from mofang_gitops.devtools.controlplane import ControlPlane


@dataclass
class FaultPlan:
    """Statuses to answer, per method, before forwarding; and what was injected."""

    pending: dict[str, list[int]] = field(default_factory=dict)
    injected: list[tuple[str, str, int]] = field(default_factory=list)
    forwarded: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, method: str, path: str) -> int | None:
        with self.lock:
            queue = self.pending.get(method)
            if queue:
                status = queue.pop(0)
                self.injected.append((method, path, status))
                return status
            self.forwarded += 1
            return None


@contextmanager
def fault_proxy(plane: ControlPlane, plan: FaultPlan, kubeconfig: Path) -> Iterator[Path]:
    """Serve the proxy on 127.0.0.1 and write a kubeconfig (context "faulty") that uses it."""
    context = ssl.create_default_context(cafile=str(plane.ca_file))

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def handle_any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            status = plan.take(self.command, self.path)
            if status is not None:
                self.reply(
                    status,
                    {"kind": "Status", "code": status, "message": f"injected {status}"},
                    {"Retry-After": "0"},
                )
                return
            headers = {
                k: v
                for k, v in self.headers.items()
                if k.lower() not in ("host", "content-length", "connection")
            }
            request = urllib.request.Request(
                plane.server + self.path, body, headers, method=self.command
            )
            try:
                with urllib.request.urlopen(request, context=context, timeout=30) as resp:
                    self.reply_raw(resp.status, resp.read())
            except urllib.error.HTTPError as err:
                self.reply_raw(err.code, err.read())

        def reply(self, status: int, data: dict[str, object], extra: dict[str, str]) -> None:
            raw = json.dumps(data).encode()
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def reply_raw(self, status: int, raw: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = handle_any  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "faulty", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
        ],
        "users": [{"name": "faulty", "user": {"token": plane.admin_token}}],
        "contexts": [{"name": "faulty", "context": {"cluster": "faulty", "user": "faulty"}}],
        "current-context": "faulty",
    }
    kubeconfig.write_text(json.dumps(config))
    try:
        yield kubeconfig
    finally:
        server.shutdown()
        server.server_close()
