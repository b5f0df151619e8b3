"""One HTTP listener served by waitress: bounded connections, timeouts and request sizes.

The standard library's threading server gives every connection a thread and never times out, so
300 half-sent requests held 300 threads and a request announcing 1 MiB that sent 10 bytes parked
a thread forever. Waitress reads requests in one asynchronous loop and hands a request to its
small thread pool only once it is complete, so a slow or silent client costs a socket, never a
thread. On top of that: at most ``connection_limit`` open connections (past it, new ones wait in
the kernel's backlog), connections silent for ``channel_timeout`` seconds are closed, headers over
``max_header_bytes`` get 431 and a ``Content-Length`` over ``max_body_bytes`` gets 413 before a
byte of the body is read. See docs/decisions.md for why waitress.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import waitress
from waitress.server import BaseWSGIServer

log = logging.getLogger(__name__)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class HttpLimits:
    """What one listener allows; the defaults suit webhooks and probes, not file uploads."""

    connection_limit: int = 500
    """Open connections at most; a waiting connection costs a socket, not a thread."""
    channel_timeout: int = 10
    """Seconds a connection may stay silent (mid-request or idle) before it is closed."""
    cleanup_interval: int = 1
    """How often (seconds) silent connections are looked for."""
    max_header_bytes: int = 16 * 1024
    max_body_bytes: int = 1024 * 1024
    threads: int = 4
    """Worker threads running complete requests (the handlers are quick)."""
    backlog: int = 128


class Listener:
    """A waitress server on one address, running its loop in a daemon thread."""

    def __init__(
        self, address: tuple[str, int], app: WSGIApp, limits: HttpLimits, name: str
    ) -> None:
        host, port = address
        self.name = name
        self.limits = limits
        self._server: BaseWSGIServer = waitress.create_server(
            app,
            host=host,
            port=port,
            ident="mofang-gitops",
            threads=limits.threads,
            connection_limit=limits.connection_limit,
            channel_timeout=limits.channel_timeout,
            cleanup_interval=limits.cleanup_interval,
            max_request_header_size=limits.max_header_bytes,
            max_request_body_size=limits.max_body_bytes + 1,  # waitress refuses at ">="
            backlog=limits.backlog,
            asyncore_use_poll=True,  # select() cannot watch more than 1,024 sockets
            expose_tracebacks=False,
            log_socket_errors=False,
        )
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)`` (the real port when 0 was asked for)."""
        return str(self._server.effective_host), int(self._server.effective_port)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host, port = self.address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def open_connections(self) -> int:
        """Connections the loop holds now (the listening socket and wake-up pipe excluded)."""
        return len(self._server.active_channels)

    def start(self) -> threading.Thread:
        """Serve in a daemon thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self._server.run, name=self.name, daemon=True)
        self._thread.start()
        return self._thread

    def stop(self) -> None:
        """Close every connection and the listening socket, then end the worker threads."""
        server = self._server
        server.trigger.pull_trigger(lambda: _close_all(server))
        if self._thread is not None:
            self._thread.join(10)
            if self._thread.is_alive():  # the loop never ran the thunk: close from here
                _close_all(server)
                self._thread.join(10)
        server.task_dispatcher.shutdown()


def _close_all(server: BaseWSGIServer) -> None:
    """Empty the loop's socket map, which ends ``run`` (called in the loop's thread)."""
    for dispatcher in list(server._map.values()):  # waitress keeps the map on the server
        try:
            dispatcher.close()
        except OSError:
            log.debug("%s: closing a socket failed", dispatcher)
