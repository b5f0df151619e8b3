"""The controller's HTTP face: a public listener for webhooks, an internal one for status.

The public listener (``--listen``) is what the git host reaches, so it serves only webhooks and
the probes. ``/status`` (project names, users, error texts) and ``/metrics`` are served only on
the internal listener (``--metrics-listen``, loopback by default), which also answers the probes:
the kubelet probes it, so a flood on the public port cannot fail liveness and restart the pod. With
a status token (``--status-token-file``) the internal listener wants ``Authorization: Bearer``
for ``/status`` and ``/metrics``, too; the probes never do.

Handlers only translate: webhook verification lives in ``webhooks``, state in the controller's
status board and metrics, connection handling in ``serving``. Nothing logs headers, so signatures
and tokens are not written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from mofang_gitops.controller.loop import Controller
from mofang_gitops.controller.metrics import CONTENT_TYPE
from mofang_gitops.controller.serving import HttpLimits, Listener, StartResponse
from mofang_gitops.controller.webhooks import NOT_FOUND, REPLAYED, WebhookReceiver
from mofang_gitops.web import SECURITY_HEADERS, PerUser, Response, Site

log = logging.getLogger(__name__)

WEBHOOK_PREFIX = "/webhook/"
_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    503: "Service Unavailable",
}


def _reply(
    start: StartResponse, status: int, body: bytes, content_type: str = "application/json"
) -> list[bytes]:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start(f"{status} {_REASONS.get(status, 'Error')}", headers)
    return [body]


def _json(start: StartResponse, status: int, data: Any) -> list[bytes]:
    return _reply(start, status, json.dumps(data, indent=2).encode() + b"\n")


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """Request headers by their HTTP names (WSGI keeps two of them outside ``HTTP_``)."""
    found = {
        k[5:].replace("_", "-").lower(): str(v) for k, v in environ.items() if k.startswith("HTTP_")
    }
    for key in ("CONTENT_LENGTH", "CONTENT_TYPE"):
        if environ.get(key):
            found[key.replace("_", "-").lower()] = str(environ[key])
    return found


class ControllerServer:
    """Both listeners of one controller; start, then ``shutdown`` when the controller stops."""

    def __init__(
        self,
        address: tuple[str, int],
        controller: Controller,
        webhooks: WebhookReceiver,
        *,
        internal_address: tuple[str, int] = ("127.0.0.1", 0),
        status_token: bytes = b"",
        limits: HttpLimits | None = None,
        per_user: PerUser | None = None,
    ) -> None:
        self.controller = controller
        self.webhooks = webhooks
        self._token = hashlib.sha256(status_token).digest() if status_token else b""
        limits = replace(limits or HttpLimits(), max_body_bytes=webhooks.max_body)
        self.public = Listener(address, self._public_app, limits, "http")
        internal_limits = replace(limits, threads=2, connection_limit=64)
        self.internal = Listener(internal_address, self._internal_app, internal_limits, "http-int")
        self.site = Site(controller.board, per_user=per_user)

    @property
    def url(self) -> str:
        """The public listener's ``http://host:port``."""
        return self.public.url

    @property
    def internal_url(self) -> str:
        """The internal listener's ``http://host:port`` (status, metrics)."""
        return self.internal.url

    def start(self) -> None:
        """Serve both listeners in daemon threads."""
        self.public.start()
        self.internal.start()

    def shutdown(self) -> None:
        """Close both listeners and their connections."""
        self.public.stop()
        self.internal.stop()

    # --- applications -----------------------------------------------------------------------

    def _probe(self, path: str, start: StartResponse) -> list[bytes] | None:
        if path == "/healthz":
            return _json(start, 200, {"status": "ok"})
        if path == "/readyz":
            ready = self.controller.ready.is_set()
            return _json(start, 200 if ready else 503, {"ready": ready})
        return None

    def _public_app(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = str(environ.get("PATH_INFO", "")), environ.get("REQUEST_METHOD")
        if method == "POST" and path.startswith(WEBHOOK_PREFIX):
            return self._webhook(path[len(WEBHOOK_PREFIX) :], environ, start)
        if method == "GET":
            answered = self._probe(path, start)
            if answered is not None:
                return answered
        return _json(start, 404, {"error": f"no route {path[:100]}"})

    def _internal_app(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path, method = str(environ.get("PATH_INFO", "")), environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            start("405 Method Not Allowed", [("Allow", "GET, HEAD"), ("Content-Length", "0")])
            return [b""]
        if method == "HEAD":  # the same headers as GET, no body
            sent = list(self._internal_app({**environ, "REQUEST_METHOD": "GET"}, start))
            return [b""] if sent else []
        answered = self._probe(path, start)
        if answered is not None:
            return answered
        pages = Site.handles(path)
        if path not in ("/status", "/metrics") and not pages:
            missing = self.site.not_found(path)
            return self._page(start, missing.status, missing)
        # With people named by JWT, Authorization holds the person's token: the pages check it.
        if not (pages and self._jwt_people()) and not self._authorized(environ):
            return _json(start, 401, {"error": "a bearer token is required"})
        if pages:
            query = str(environ.get("QUERY_STRING", ""))
            page = self.site.get(path, query, _headers(environ))
            return self._page(start, page.status, page)
        if path == "/status":
            return _reply(start, 200, self.controller.board.encoded() + b"\n")
        return _reply(start, 200, self.controller.metrics.render(), CONTENT_TYPE)

    @staticmethod
    def _page(start: StartResponse, status: int, page: Response) -> list[bytes]:
        headers = [
            ("Content-Type", page.content_type),
            ("Content-Length", str(len(page.body))),
            *SECURITY_HEADERS,
        ]
        start(f"{status} {_REASONS.get(status, 'Error')}", headers)
        return [page.body]

    def _jwt_people(self) -> bool:
        """Whether pages name people by JWT (then ``Authorization`` holds theirs, not ours)."""
        if self.site.per_user is None:
            return False
        platform = self.controller.board.fact("platform") or {}
        return bool((platform.get("auth") or {}).get("mode") == "jwt")

    def _authorized(self, environ: dict[str, Any]) -> bool:
        if not self._token:
            return True
        scheme, _, given = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
        digest = hashlib.sha256(given.strip().encode()).digest()
        return scheme.lower() == "bearer" and hmac.compare_digest(digest, self._token)

    def _webhook(
        self, provider: str, environ: dict[str, Any], start: StartResponse
    ) -> Iterable[bytes]:
        metrics = self.controller.metrics
        result = self.webhooks.receive(provider, _headers(environ), environ["wsgi.input"])
        label = provider if result.status != NOT_FOUND else "unknown"
        metrics.webhook_requests.labels(label, str(result.status)).inc()
        if result.status == REPLAYED:
            metrics.webhook_replays.labels(label).inc()
        log.info("webhook %s: %d %s", label, result.status, result.reason)
        if result.triggers:
            self.controller.trigger()
        return _json(start, result.status, {"status": result.status, "reason": result.reason})
