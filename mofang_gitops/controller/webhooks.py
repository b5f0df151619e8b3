"""Parse and verify push webhooks from GitHub, Gitea and GitLab.

Pure functions over headers and a bounded body stream so the HTTP server stays thin and every
refusal is a value the caller can count (``/metrics``) and answer with a status code. The body size
is checked against ``Content-Length`` before anything is read and the read itself is bounded, so a
huge or lying request never makes the controller allocate more than the cap.

A :class:`WebhookReceiver` is bound to the one provider the controller is configured for (another
provider's path or headers are refused) and remembers the deliveries it accepted, so a replay is
refused. GitLab's plain ``X-Gitlab-Token`` is a shared secret sent in clear on every request; when
the configured secret is a GitLab signing token (``whsec_...``, Standard Webhooks), only the HMAC
``webhook-signature`` over id, timestamp and body is accepted, with the timestamp within
``TIMESTAMP_TOLERANCE`` of our clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from mofang_gitops.controller.deliveries import DeliveryMemory

MAX_BODY_BYTES = 1024 * 1024
PROVIDERS = ("github", "gitea", "gitlab")
SIGNING_TOKEN_PREFIX = b"whsec_"
TIMESTAMP_TOLERANCE = 300.0
"""Seconds a Standard Webhooks timestamp may differ from our clock (the spec's suggestion)."""

ACCEPTED, IGNORED = 200, 202
BAD_REQUEST, UNAUTHORIZED, NOT_FOUND, REPLAYED, TOO_LARGE = 400, 401, 404, 409, 413

DELIVERY_HEADERS = {
    "github": ("x-github-delivery",),
    "gitea": ("x-gitea-delivery",),
    "gitlab": ("webhook-id", "idempotency-key", "x-gitlab-webhook-uuid", "x-gitlab-event-uuid"),
}
"""Headers naming a delivery, first found wins (GitLab's ``webhook-id`` is signed)."""
FOREIGN_HEADERS = {
    "github": ("x-gitea-", "x-gogs-", "x-gitlab-", "webhook-signature"),
    "gitea": ("x-gitlab-", "webhook-signature"),  # Gitea also sends GitHub's and Gogs' headers
    "gitlab": ("x-github-", "x-hub-signature", "x-gitea-", "x-gogs-"),
}
"""Header name prefixes that only another provider sends."""


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


def _verify(provider: str, headers: dict[str, str], body: bytes, secret: bytes, now: float) -> bool:
    """Check the signature or token of ``provider`` in constant time."""
    if not secret:
        return False
    if provider == "github":
        given = headers.get("x-hub-signature-256", "")
        expected = "sha256=" + _hmac_hex(secret, body)
    elif provider == "gitea":
        given = headers.get("x-gitea-signature", "")
        expected = _hmac_hex(secret, body)
    elif secret.startswith(SIGNING_TOKEN_PREFIX):
        return _verify_standard(headers, body, secret, now)
    else:
        # Digests of equal length, so not even the token's length leaks through timing.
        token = hashlib.sha256(headers.get("x-gitlab-token", "").encode()).digest()
        return hmac.compare_digest(token, hashlib.sha256(secret).digest())
    return hmac.compare_digest(given.strip().lower().encode(), expected.encode())


def _verify_standard(headers: dict[str, str], body: bytes, secret: bytes, now: float) -> bool:
    """Standard Webhooks: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, fresh timestamp."""
    delivery, stamp = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "").split()
    if not delivery or not stamp.isdigit() or not signatures:
        return False
    if abs(now - int(stamp)) > TIMESTAMP_TOLERANCE:
        return False
    try:
        key = base64.b64decode(secret[len(SIGNING_TOKEN_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return False
    signed = delivery.encode() + b"." + stamp.encode() + b"." + body
    expected = b"v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    # Compare every candidate (the header may list several during a key rotation).
    return any([hmac.compare_digest(s.encode(), expected) for s in signatures])


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
    now: float | None = None,
) -> WebhookResult:
    """Verify and interpret one push webhook; never raises.

    The signature is checked before the body is parsed, so unauthenticated senders learn nothing
    about what the parser accepts. ``now`` (Unix seconds) is the clock signed timestamps are
    compared with.
    """
    if provider not in PROVIDERS:
        return WebhookResult(NOT_FOUND, f"unknown provider {provider[:40]!r}")
    lowered = _lower_keys(headers)
    if not _verify(provider, lowered, body, secret, time.time() if now is None else now):
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


@dataclass
class WebhookReceiver:
    """Webhooks of the one configured provider, each delivery accepted once."""

    provider: str
    secret: bytes
    branch: str
    max_body: int = MAX_BODY_BYTES
    memory: DeliveryMemory = field(default_factory=DeliveryMemory)

    def receive(self, provider: str, headers: Mapping[str, str], stream: Readable) -> WebhookResult:
        """Check binding and delivery ID, read a bounded body, verify, refuse replays."""
        if not self.provider or provider != self.provider:
            return WebhookResult(NOT_FOUND, f"no webhook route for {provider[:40]!r}")
        lowered = _lower_keys(headers)
        foreign = [k for k in lowered if k.startswith(FOREIGN_HEADERS[self.provider])]
        if foreign:
            return WebhookResult(
                BAD_REQUEST, f"header {foreign[0][:60]} is not sent by {self.provider}", provider
            )
        names = DELIVERY_HEADERS[self.provider]
        delivery = next((lowered[n].strip() for n in names if lowered.get(n, "").strip()), "")
        if not delivery:
            return WebhookResult(BAD_REQUEST, f"a delivery ID ({names[0]}) is required", provider)
        try:
            body = read_body(headers, stream, self.max_body)
        except WebhookRefusedError as e:
            return WebhookResult(e.status, str(e), provider)
        result = handle_webhook(provider, headers, body, self.secret, self.branch)
        if result.status not in (ACCEPTED, IGNORED):
            return result
        # The ID and the body digest both: GitHub and Gitea sign the body only, so a replay with
        # a fresh ID header still repeats a signed body that was seen.
        keys = (f"id:{delivery}", f"body:{hashlib.sha256(body).hexdigest()}")
        if not self.memory.remember(keys):
            return WebhookResult(
                REPLAYED, f"delivery {delivery[:64]!r} was already received", provider
            )
        return result
