"""Who is asking, for the optional per-user view: the same identity notebooks trust.

The platform's ``ingress.auth`` says how a request names its person (README, Security model):

- ``header``: the auth proxy in front sets a header (``kubeflow-userid``) and strips it from
  clients, so its value is trusted as written, minus the configured prefix. This is only sound
  when nothing but the proxy reaches the pages' listener, exactly as a notebook accepts the header
  only from the gateway's identity (docs/decisions.md).
- ``jwt``: the request carries ``Authorization: Bearer <JWT>``; its signature is checked against
  the issuer's published keys (``jwksUri``), with issuer, audiences and expiry, and the person is
  the configured claim, minus the prefix.

A person then sees only the projects that list them as owner or member. Nothing here decides
anything else: without the per-user view every project is shown, as before.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384", "PS512", "EdDSA"]
"""Asymmetric only: a shared-secret algorithm would let anyone holding the public key sign."""
MAX_NAME = 253


class UnidentifiedError(Exception):
    """The request names no person the pages can trust; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _strip(name: str, prefix: str, source: str) -> str:
    name = name.strip()
    if prefix:
        if not name.startswith(prefix):
            raise UnidentifiedError(401, f"{source} does not start with the platform's prefix")
        name = name[len(prefix) :]
    if not name or len(name) > MAX_NAME:
        raise UnidentifiedError(401, f"{source} names no person")
    return name


@dataclass
class JwtKeys:
    """The issuer's signing keys, fetched from ``jwksUri`` and cached (one client per URI)."""

    ssl_context: ssl.SSLContext | None = None
    """TLS trust for the key fetch (None: the system's CAs)."""

    def __post_init__(self) -> None:
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def key_for(self, uri: str, token: str) -> Any:
        """The public key that signed ``token`` (by its ``kid``)."""
        with self._lock:
            client = self._clients.get(uri)
            if client is None:
                client = jwt.PyJWKClient(uri, timeout=10, ssl_context=self.ssl_context)
                self._clients[uri] = client
        return client.get_signing_key_from_jwt(token).key


@dataclass
class PerUser:
    """The per-user view: names the person of a request by the platform's auth mode."""

    keys: JwtKeys

    def person(self, headers: Mapping[str, str], auth: Mapping[str, Any]) -> str:
        """The person a request comes from; raises :class:`UnidentifiedError` when it names none."""
        mode = auth.get("mode")
        if mode == "header":
            header = str(auth.get("header") or "").lower()
            value = headers.get(header, "")
            if not value:
                raise UnidentifiedError(
                    401, f"no {header} header: open the pages through the auth proxy"
                )
            return _strip(value, str(auth.get("prefix") or ""), f"the {header} header")
        if mode == "jwt":
            return self._from_jwt(headers, auth)
        raise UnidentifiedError(
            503, "the platform's auth mode is not known yet (no reconcile pass)"
        )

    def _from_jwt(self, headers: Mapping[str, str], auth: Mapping[str, Any]) -> str:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnidentifiedError(401, "no bearer token: open the pages through the auth proxy")
        audiences = list(auth.get("audiences") or [])
        claim = str(auth.get("claim") or "sub")
        try:
            key = self.keys.key_for(str(auth["jwksUri"]), token.strip())
            claims = jwt.decode(
                token.strip(),
                key,
                algorithms=ALGORITHMS,
                issuer=str(auth.get("issuer") or ""),
                audience=audiences or None,
                options={"verify_aud": bool(audiences), "require": ["exp", "iss"]},
            )
        except jwt.PyJWKClientConnectionError as e:
            log.warning("cannot fetch the issuer's keys: %s", e)
            raise UnidentifiedError(503, "the issuer's keys cannot be fetched; try again") from e
        except jwt.PyJWTError as e:
            raise UnidentifiedError(401, f"token refused: {e}") from e
        value = claims.get(claim)
        if not isinstance(value, str):
            raise UnidentifiedError(401, f"the token has no {claim!r} claim")
        return _strip(value, str(auth.get("prefix") or ""), f"claim {claim!r}")


def belongs(person: str, project: Mapping[str, Any]) -> bool:
    """Whether ``person`` is an owner or member of ``project``."""
    return person in project.get("owners", ()) or person in project.get("members", ())
