"""User identities as identity providers give them, and the one DNS-safe name derived from each.

Owners, members and workload owners are whatever the cluster's authenticator reports (LDAP, OIDC):
``zhang.san``, ``li_si``, ``Wang.Wu``, ``zhang.san@corp.example``. RBAC subjects keep that exact,
case-sensitive string. Everything *named* after a person (PV/PVC names, RoleBinding names, the
CephFS home ``<rootPath>/user/<x>``, label values) uses :func:`safe_name`, and only it, so two
renderers can never derive two different names for one person.

The rule (docs/decisions.md): lower-case; every character outside ``[a-z0-9]`` becomes ``-``;
runs of ``-`` collapse and leading/trailing ones go; at most 40 characters. When that changed
anything (the mapping lost information), a ``-`` and 6 hex digits of the SHA-256 of the exact
identity are appended, so ``Wang.Wu`` and ``wang.wu`` get different names. An identity that is
already such a name maps to itself (existing homes and bindings keep their names). Two identities
of one project can still meet (``zhang-san-<hash>`` written literally): validation refuses that.
"""

from __future__ import annotations

import hashlib
import re

from mofang_gitops.errors import InvalidValueError

IDENTITY_MAX = 128
"""Longest identity accepted (an e-mail address fits; longer is a paste error)."""
SAFE_MAX = 40
"""Longest safe name, so derived object names stay within Kubernetes' 63-character labels."""
_HASH_LENGTH = 6
_UNSAFE = re.compile(r"[^a-z0-9]+")
_SAFE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RESERVED_PREFIX = "system:"
_HINT = "write the identity as the identity provider gives it, e.g. zhang.san@corp.example"


def check_identity(value: str) -> str:
    """``value`` when it is an identity we accept; ValueError saying why not otherwise.

    Printable, no whitespace, at most 128 characters; nothing that could smuggle a path
    (``/``, a backslash, ``..``), no ``*`` (an Istio policy wildcard) and no ``system:`` names
    (Kubernetes' own users and groups).
    """
    if not value:
        raise InvalidValueError("a user identity cannot be empty", _HINT)
    if len(value) > IDENTITY_MAX:
        raise InvalidValueError(
            f"user identity is {len(value)} characters, at most {IDENTITY_MAX}", _HINT
        )
    bad = next((c for c in value if not c.isprintable() or c.isspace()), None)
    if bad is not None:
        raise InvalidValueError(
            f"user identity {value!r} contains {bad!r} (whitespace or control)", _HINT
        )
    # "*" is a wildcard in Istio AuthorizationPolicy values: an owner named "*" (or "a*") would
    # open their notebooks to other people.
    for token in ("/", "\\", "..", "*"):
        if token in value:
            raise InvalidValueError(f"user identity {value!r} contains {token!r}", _HINT)
    if value.lower().startswith(_RESERVED_PREFIX):
        raise InvalidValueError(
            f"user identity {value!r} is a Kubernetes system name",
            "name a person; system users and groups are granted by the platform team",
        )
    return value


def safe_name(identity: str) -> str:
    """The DNS-safe name of ``identity`` (see the module docstring for the rule)."""
    base = _UNSAFE.sub("-", identity.lower()).strip("-")
    if base == identity and len(base) <= SAFE_MAX and _SAFE.match(base):
        return base
    digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:_HASH_LENGTH]
    head = base[: SAFE_MAX - _HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{digest}" if head else f"u-{digest}"


def lossy(identity: str) -> bool:
    """Whether the safe name differs from the identity (then output shows the mapping)."""
    return safe_name(identity) != identity
