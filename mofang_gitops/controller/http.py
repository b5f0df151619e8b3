"""The controller's HTTP face: webhooks, probes, status and metrics on one stdlib server.

Handlers only translate: webhook verification lives in ``webhooks``, state in the controller's
status board and metrics. Request logging goes through ``logging`` (never stderr) and never
includes headers, so signatures and tokens are not written anywhere.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mofang_gitops.controller.loop import Controller
from mofang_gitops.controller.metrics import CONTENT_TYPE
from mofang_gitops.controller.webhooks import MAX_BODY_BYTES, receive_webhook

log = logging.getLogger(__name__)

WEBHOOK_PREFIX = "/webhook/"


class ControllerServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its controller and webhook secret."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        controller: Controller,
        secret: bytes,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        super().__init__(address, _Handler)
        self.controller = controller
        self.secret = secret
        self.max_body = max_body

    @property
    def url(self) -> str:
        """``http://host:port`` the server listens on."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> threading.Thread:
        """Serve in a daemon thread; stop with ``shutdown()``."""
        thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: ControllerServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("http %s: " + format, self.client_address[0], *args)

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, indent=2).encode() + b"\n")

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        controller = self.server.controller
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._json(200, {"status": "ok"})
        elif path == "/readyz":
            ready = controller.ready.is_set()
            self._json(200 if ready else 503, {"ready": ready})
        elif path == "/status":
            self._json(200, controller.board.snapshot())
        elif path == "/metrics":
            self._send(200, controller.metrics.render(), CONTENT_TYPE)
        else:
            self._json(404, {"error": f"no route {path[:100]}"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        path = self.path.split("?", 1)[0]
        if not path.startswith(WEBHOOK_PREFIX):
            self.close_connection = True
            self._json(404, {"error": f"no route {path[:100]}"})
            return
        server, provider = self.server, path[len(WEBHOOK_PREFIX) :]
        branch = server.controller.options.branch
        headers = {k: v for k, v in self.headers.items()}
        result = receive_webhook(
            provider, headers, self.rfile, server.secret, branch, server.max_body
        )
        label = provider if result.status != 404 else "unknown"
        server.controller.metrics.webhook_requests.labels(label, str(result.status)).inc()
        log.info("webhook %s: %d %s", label, result.status, result.reason)
        if result.status >= 400:
            # The unread body may still be in the socket: never reuse this connection.
            self.close_connection = True
        if result.triggers:
            server.controller.trigger()
        self._json(result.status, {"status": result.status, "reason": result.reason})
