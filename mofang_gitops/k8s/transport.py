"""Keep-alive HTTP(S) connections to one API server: sockets, and ``httptools`` to parse answers.

An apply is one request per object, so the client's CPU per request bounds how close an apply
from empty gets to the API server's own floor. Measured on the same API server and bodies
(`docs/decisions.md`, "Client CPU of an apply"): urllib3's pool costs about 1.6 ms of client CPU
a request, ``http.client`` underneath it about 0.9 ms, of which a third is parsing the answer's
headers through the ``email`` package. This module keeps only what a connection to one API server
needs: a bounded pool of idle connections, TLS exactly as the kubeconfig describes it, timeouts,
a stale-connection check before reuse (as urllib3 does), requests written as one buffer, and
answers parsed by ``httptools`` (llhttp, the parser Node.js and uvicorn use), which handles
``Content-Length``, chunked bodies and keep-alive.

Untrusted text never reaches the wire unchecked: a request line or header with a control
character (CR, LF, NUL...) is refused before anything is sent. Proxies are not handled here:
:class:`~mofang_gitops.k8s.cluster.Cluster` keeps urllib3's proxy managers (CONNECT, SOCKS) for
hosts that go through one.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httptools

_READ_SIZE = 256 * 1024
_UNSAFE = re.compile(r"[\x00-\x20\x7f]")
"""Characters a request target may not contain (what ``http.client`` refuses too)."""
_UNSAFE_VALUE = re.compile(r"[\x00\r\n]")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class TransportError(ConnectionError):
    """The server's answer could not be read (malformed, or the connection ended mid-answer)."""


@dataclass(frozen=True)
class Response:
    """What a caller reads of an answer: status, the body, and ``Retry-After``."""

    status: int
    data: bytes
    retry_after: str | None


class _Answer:
    """Collects one answer from the parser's callbacks."""

    __slots__ = ("chunks", "done", "keep_alive", "parser", "retry_after", "status")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.done = False
        self.keep_alive = False
        self.status = 0
        self.retry_after: str | None = None
        self.parser = httptools.HttpResponseParser(self)

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self.retry_after = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        # Asked here: once the callback returns, llhttp resets for the next message and
        # forgets what this one's headers said about the connection.
        self.keep_alive = self.parser.should_keep_alive()
        self.status = self.parser.get_status_code()
        self.done = True


class _Connection:
    """One socket to the server, used by one request at a time."""

    __slots__ = ("sock",)

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def exchange(self, request: bytes) -> tuple[Response, bool]:
        """Send ``request`` and read its whole answer; return it and whether to keep the socket."""
        self.sock.sendall(request)
        answer = _Answer()
        parser = answer.parser
        try:
            while not answer.done:
                data = self.sock.recv(_READ_SIZE)
                if not data:
                    raise TransportError(
                        "the server closed the connection before answering in full"
                    )
                try:
                    parser.feed_data(data)
                except httptools.HttpParserError as e:
                    raise TransportError(f"malformed answer from the server: {e}") from e
            response = Response(answer.status, b"".join(answer.chunks), answer.retry_after)
        finally:
            # The parser holds its callbacks' object and the answer holds the parser: a cycle
            # that only a collection frees, and the engine pauses collections during a run, so
            # every answer's chunks would stay until it ends. Break it now.
            del answer.parser
            answer.chunks.clear()
        return response, answer.keep_alive

    def dropped(self) -> bool:
        """Whether the server closed this idle connection (readable while idle = EOF or junk)."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class DirectTransport:
    """A bounded pool of keep-alive connections to the API server at ``base_url``.

    Thread-safe: each request takes an idle connection (or opens one) and gives it back once the
    whole answer is read, so concurrent workers never share a connection.
    """

    def __init__(
        self,
        base_url: str,
        *,
        tls: ssl.SSLContext | None,
        server_hostname: str | None,
        connect_timeout: float,
        read_timeout: float,
        pool_size: int,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        https = parts.scheme == "https"
        if https and tls is None:
            raise ValueError("an https server needs a TLS context")
        self.base_url = base_url
        self._host = parts.hostname
        self._port = parts.port or (443 if https else 80)
        self._host_header = parts.netloc.rsplit("@", 1)[-1]
        self._prefix = parts.path.rstrip("/")
        """A server URL with a path (an API proxy such as Rancher's) prefixes every request."""
        self._tls = tls if https else None
        self._server_hostname = server_hostname or self._host
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._pool_size = pool_size
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()

    def request(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> Response:
        """Send one request and read the whole answer; raise ``OSError`` (``TransportError``)."""
        message = self._message(method, path, body, headers)
        conn = self._take()
        try:
            response, keep = conn.exchange(message)
        except BaseException:
            conn.close()
            raise
        if keep:
            self._give_back(conn)
        else:
            conn.close()
        return response

    def close(self) -> None:
        """Close every idle connection (connections in use close when their request ends)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __del__(self) -> None:
        # A client dropped without close() (a short-lived command, a test) must not leave its
        # sockets to the garbage collector, which warns about each; the Kubernetes client's
        # ApiClient closes its urllib3 pool the same way.
        self.close()

    def _message(
        self, method: str, path: str, body: bytes | None, headers: Mapping[str, str]
    ) -> bytes:
        target = self._prefix + path
        if not _TOKEN.fullmatch(method) or _UNSAFE.search(target):
            raise ValueError(f"refusing to send a malformed request line: {method} {target!r}")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        for name, value in headers.items():
            if not _TOKEN.fullmatch(name) or _UNSAFE_VALUE.search(value):
                raise ValueError(f"refusing to send a malformed header: {name!r}")
            lines.append(f"{name}: {value}")
        if body is not None or method in _BODY_METHODS:
            lines.append(f"Content-Length: {len(body or b'')}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head + body if body else head

    def _take(self) -> _Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._open()
            if not conn.dropped():
                return conn
            conn.close()

    def _give_back(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < self._pool_size:
                self._idle.append(conn)
                return
        conn.close()

    def _open(self) -> _Connection:
        sock = socket.create_connection((self._host, self._port), timeout=self._connect_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                sock = self._tls.wrap_socket(sock, server_hostname=self._server_hostname)
            sock.settimeout(self._read_timeout)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)


def tls_context(configuration: Any) -> tuple[ssl.SSLContext, str | None] | None:
    """The TLS context and certificate name a kubeconfig's configuration asks for.

    Mirrors what the Kubernetes client hands urllib3 (CA file or data, client certificate and
    key, ``insecure-skip-tls-verify``, ``tls-server-name``); ``None`` when it asks for something
    this transport does not reproduce (a pinned ``assert_hostname``), so the caller keeps urllib3.
    """
    if isinstance(configuration.assert_hostname, str):
        return None
    context = ssl.create_default_context(
        cafile=configuration.ssl_ca_cert or None, cadata=configuration.ca_cert_data or None
    )
    if configuration.cert_file:
        context.load_cert_chain(configuration.cert_file, configuration.key_file or None)
    if not configuration.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif configuration.assert_hostname is False:
        context.check_hostname = False
    return context, configuration.tls_server_name or None
