"""Rendered Kubernetes objects and the labels that mark them as ours.

A manifest keeps the exact text the templates produced (what ``render`` prints and ``diff``
compares) and parses it to a dict only when a cluster operation needs the body.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mofang_gitops.yamlio import load_manifest

MANAGER = "mofang-gitops"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_PROJECT = "mofang.io/project"
LABEL_ENVIRONMENT = "mofang.io/environment"
LABEL_SOURCE = "mofang.io/source"
ANNOTATION_SOURCE_PATH = "mofang.io/source-path"
ANNOTATION_CREATED_BY = "mofang.io/created-by"
"""Set (to ``MANAGER``) only on Namespaces the tool itself created: prune deletes no other, and
the admission policy in controller/manifests refuses deleting a namespace without it."""
SYSTEM_NAMESPACE = "mofang-system"
"""Namespace of the controller and of the inventories."""


def api_group(api_version: str) -> str:
    """The API group of an ``apiVersion`` (``""`` for the core group's ``v1``)."""
    return api_version.rsplit("/", 1)[0] if "/" in api_version else ""


@dataclass(frozen=True, slots=True, order=True)
class ObjectRef:
    """Identity of a Kubernetes object: API group, kind, namespace ('' if cluster-scoped), name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> ObjectRef:
        """Build the reference of a live or rendered object."""
        meta = obj.get("metadata", {})
        return cls(
            group=api_group(str(obj.get("apiVersion", ""))),
            kind=str(obj.get("kind", "")),
            namespace=str(meta.get("namespace", "")),
            name=str(meta["name"]),
        )


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """One output set: the objects of one project in one environment on one cluster."""

    environment: str
    cluster: str
    project: str

    def __str__(self) -> str:
        return f"{self.environment}/{self.cluster}/{self.project}"


@dataclass(frozen=True)
class Manifest:
    """One rendered object: its identity, its text, and where in git it comes from."""

    ref: ObjectRef
    api_version: str
    text: str
    source: str = ""
    """``<Kind>.<name>`` of the spec it was rendered from."""
    source_path: str = ""
    """Repository path of that spec."""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Facts other stages need without parsing (e.g. ``{"run": True}`` for one-shot runs)."""

    @cached_property
    def body(self) -> dict[str, Any]:
        """The object as a dict (parsed on first use, then cached)."""
        parsed = load_manifest(self.text)
        if not isinstance(parsed, dict):
            raise ValueError(f"{self.ref}: rendered text is not a mapping")
        return parsed

    def forget_body(self) -> None:
        """Drop the parsed body (the text stays; ``body`` parses it again when next read).

        Parsed bodies of every desired object are a pass' largest allocation after the live
        read; a caller done with a body frees it (docs/decisions.md, "Controller memory").
        """
        self.__dict__.pop("body", None)

    @property
    def is_run(self) -> bool:
        """True for one-shot runs (Training jobs, backfill Workflows) never re-created."""
        return bool(self.meta.get("run"))

    def packed(self) -> Manifest:
        """An equal manifest that keeps its text compressed and decompresses it when read.

        For what is kept long and read seldom: the controller's render cache holds every
        rendered object between passes, and a pass reads each text once (to parse its body).
        At 1,000 projects the texts were 26 MB of the controller's memory, compressed 9 MB;
        compressing costs about 35 µs per object when rendered, reading it back 10 µs.
        """
        copy = object.__new__(Manifest)
        kept = {k: v for k, v in self.__dict__.items() if k not in ("text", "body")}
        copy.__dict__.update(kept, _packed=_compress(self.text))
        return copy

    if not TYPE_CHECKING:  # hidden from mypy, which would accept any attribute name otherwise

        def __getattr__(self, name: str) -> Any:
            """``text`` of a ``packed()`` manifest (asked only when it has no plain text)."""
            packed = self.__dict__.get("_packed") if name == "text" else None
            if packed is None:
                raise AttributeError(name)
            return _decompress(packed)


_PRESET = (
    "apiVersion: v1\nkind: \nmetadata:\n  name: \n  namespace: \n  labels:\n"
    f"    {LABEL_MANAGED_BY}: {MANAGER}\n    {LABEL_ENVIRONMENT}: \n    {LABEL_PROJECT}: \n"
    f"    {LABEL_SOURCE}: \n  annotations:\n    {ANNOTATION_SOURCE_PATH}: projects/\n"
    "spec:\n  template:\n    spec:\n      containers:\n      - name: \n        image: \n"
    "        resources:\n          requests:\n            cpu: \n            memory: \n"
    "          limits:\n        securityContext:\n          allowPrivilegeEscalation: false\n"
    "          capabilities:\n            drop:\n            - ALL\n"
    "          runAsNonRoot: true\n          seccompProfile:\n            type: RuntimeDefault\n"
).encode()
"""zlib's preset dictionary for manifest texts: what most of them start with (ratio 2.3 -> 2.9)."""


def _compress(text: str) -> bytes:
    packer = zlib.compressobj(6, zdict=_PRESET)
    return packer.compress(text.encode()) + packer.flush()


def _decompress(packed: bytes) -> str:
    unpacker = zlib.decompressobj(zdict=_PRESET)
    return (unpacker.decompress(packed) + unpacker.flush()).decode()


@dataclass(frozen=True)
class RenderedTarget:
    """Every manifest of one target, in a stable order."""

    target: Target
    namespace: str
    manifests: tuple[Manifest, ...]
    kube_context: str = ""
    """kubeconfig context of the target's cluster."""
    identities: tuple[tuple[str, str], ...] = ()
    """(identity, safe name) of every person of the project whose objects are named by a
    name other than their identity; ``render`` prints them as comments, never on objects."""
