"""Parse and verify push webhooks from GitHub, Gitea and GitLab.

Pure functions over headers and a bounded body stream so the HTTP server stays thin and every
refusal is a value the caller can count (``/metrics``) and answer with a status code. The body size
is checked against ``Content-Length`` before anything is read and the read itself is bounded, so a
huge or lying request never makes the controller allocate more than the cap.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

MAX_BODY_BYTES = 1024 * 1024
PROVIDERS = ("github", "gitea", "gitlab")

ACCEPTED, IGNORED = 200, 202
BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, TOO_LARGE = 400, 401, 404, 413


class Readable(Protocol):
    """The part of a file object a bounded read needs (``rfile`` of a request handler)."""

    def read(self, size: int = -1, /) -> bytes:
        """Read at most ``size`` bytes."""
        ...


@dataclass(frozen=True)
class WebhookResult:
    """What to answer a webhook request and whether it triggers a reconcile."""

    status: int
    reason: str
    provider: str = ""
    branch: str = ""
    revision: str = ""

    @property
    def triggers(self) -> bool:
        """Whether this push is for the watched branch and should start a reconcile."""
        return self.status == ACCEPTED


def _lower_keys(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def read_body(headers: Mapping[str, str], stream: Readable, limit: int = MAX_BODY_BYTES) -> bytes:
    """Read the request body, never more than ``limit`` bytes.

    Raises:
        BodyTooLargeError: when ``Content-Length`` or the bytes actually sent exceed ``limit``.
        MalformedRequestError: when ``Content-Length`` is missing or not a number.
    """
    raw = _lower_keys(headers).get("content-length")
    if raw is None:
        raise MalformedRequestError("Content-Length header is required")
    try:
        length = int(raw)
    except ValueError:
        raise MalformedRequestError(f"Content-Length {raw[:20]!r} is not a number") from None
    if length < 0:
        raise MalformedRequestError("Content-Length is negative")
    if length > limit:
        raise BodyTooLargeError(f"body of {length} bytes exceeds the {limit} byte limit")
    body = stream.read(length)
    return body[:limit]


class WebhookRefusedError(Exception):
    """Base of refusals raised while reading; ``status`` is the HTTP answer."""

    status = BAD_REQUEST


class BodyTooLargeError(WebhookRefusedError):
    """The body is larger than the cap (413)."""

    status = TOO_LARGE


class MalformedRequestError(WebhookRefusedError):
    """The request cannot be understood (400)."""

    status = BAD_REQUEST


def _hmac_hex(secret: bytes, body: bytes) -> str:
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def _verify(provider: str, headers: dict[str, str], body: bytes, secret: bytes) -> bool:
    """Check the signature or token of ``provider`` in constant time."""
    if not secret:
        return False
    if provider == "github":
        given = headers.get("x-hub-signature-256", "")
        expected = "sha256=" + _hmac_hex(secret, body)
    elif provider == "gitea":
        given = headers.get("x-gitea-signature", "")
        expected = _hmac_hex(secret, body)
    else:
        given = headers.get("x-gitlab-token", "")
        return hmac.compare_digest(given.encode(), secret)
    return hmac.compare_digest(given.strip().lower().encode(), expected.encode())


def _event(provider: str, headers: dict[str, str]) -> tuple[str, bool]:
    """Return the event name and whether it is a push."""
    if provider == "github":
        event = headers.get("x-github-event", "")
        return event, event == "push"
    if provider == "gitea":
        event = headers.get("x-gitea-event", "")
        return event, event == "push"
    event = headers.get("x-gitlab-event", "")
    return event, event == "Push Hook"


def handle_webhook(
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    secret: bytes,
    branch: str,
) -> WebhookResult:
    """Verify and interpret one push webhook; never raises.

    The signature is checked before the body is parsed, so unauthenticated senders learn nothing
    about what the parser accepts.
    """
    if provider not in PROVIDERS:
        return WebhookResult(NOT_FOUND, f"unknown provider {provider[:40]!r}")
    lowered = _lower_keys(headers)
    if not _verify(provider, lowered, body, secret):
        return WebhookResult(UNAUTHORIZED, "bad or missing signature", provider)
    event, is_push = _event(provider, lowered)
    if not is_push:
        return WebhookResult(IGNORED, f"event {event[:40]!r} is not a push", provider)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return WebhookResult(BAD_REQUEST, "body is not valid JSON", provider)
    ref = payload.get("ref") if isinstance(payload, dict) else None
    if not isinstance(ref, str) or not ref:
        return WebhookResult(BAD_REQUEST, "push payload has no 'ref'", provider)
    after = payload.get("after")
    revision = after if isinstance(after, str) else ""
    if ref != f"refs/heads/{branch}":
        return WebhookResult(IGNORED, f"ref {ref[:100]} is not the watched branch", provider)
    return WebhookResult(ACCEPTED, "push to the watched branch", provider, branch, revision)


def receive_webhook(
    provider: str,
    headers: Mapping[str, str],
    stream: Readable,
    secret: bytes,
    branch: str,
    limit: int = MAX_BODY_BYTES,
) -> WebhookResult:
    """Read a bounded body from ``stream`` and hand it to :func:`handle_webhook`."""
    try:
        body = read_body(headers, stream, limit)
    except WebhookRefusedError as e:
        return WebhookResult(e.status, str(e), provider)
    return handle_webhook(provider, headers, body, secret, branch)
