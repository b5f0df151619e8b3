"""What is in the cluster now, read with one LIST per kind.

A GET per object would cost one round trip for each of ~20,000 objects on every plan; a LIST per
kind (label-selected, cluster-wide when several namespaces are wanted) costs one per kind and
lets the API server answer from its watch cache. Lists run concurrently. A kind the cluster does
not serve fails only the objects of that kind; a cluster that does not answer at all fails the
whole read, so the caller can mark that cluster's targets failed and go on with the others.

Lists are read in pages of ``PAGE_SIZE`` and each page is reduced as it arrives: an object the
caller can settle at once (the engine: "our apply would change nothing") is kept only as its
``stub``, and a caller that never reads field sets (health) drops them. Holding every live object
whole was what a controller pass peaked on (docs/decisions.md, "Controller memory").
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from mofang_gitops.errors import ClusterError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import (
    ANNOTATION_CREATED_BY,
    LABEL_ENVIRONMENT,
    LABEL_MANAGED_BY,
    LABEL_PROJECT,
    MANAGER,
    Manifest,
    ObjectRef,
    RenderedTarget,
    api_group,
)

log = logging.getLogger(__name__)

SELECTOR = f"{LABEL_MANAGED_BY}={MANAGER}"
"""Only objects carrying our managed-by label are read (and so can ever be pruned)."""
MAX_SELECTED_PROJECTS = 100
"""Up to this many projects, LISTs also select by project label (a run for a few projects
reads only theirs); beyond, the whole platform is wanted anyway and the URL would grow long."""

PAGE_SIZE = 5000
"""Objects per LIST page: a bound on what one listing holds decoded at once, large enough that
a kind of up to 5,000 objects still costs one request (DESIGN's no-op plan: one LIST per kind
for a 1,000-project platform). client-go pages by 500; a page of ours is reduced as it
arrives, so the bound matters only for the largest kinds."""

KindKey = tuple[str, str]
"""``(apiVersion, kind)``."""
Settle = Callable[[ObjectRef, dict[str, Any]], bool]
"""Whether a listed object is settled already: then only its ``stub`` is kept."""


@dataclass
class LiveState:
    """Live objects by reference (API version ignored), and the kinds that could not be read."""

    objects: dict[ObjectRef, dict[str, Any]] = field(default_factory=dict)
    errors: dict[tuple[str, str], ClusterError] = field(default_factory=dict)
    """By ``(group, kind)``."""
    settled: set[ObjectRef] = field(default_factory=set)
    """Objects the reader's ``Settle`` accepted: ``objects`` holds only their stubs."""

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The live object, or None when it is not there (with our label)."""
        return self.objects.get(ref)

    def error(self, ref: ObjectRef) -> ClusterError | None:
        """Why ``ref``'s kind could not be read, if it could not."""
        return self.errors.get((ref.group, ref.kind))

    def is_settled(self, ref: ObjectRef) -> bool:
        """Whether ``ref``'s live object was settled on read (only its stub is here)."""
        return ref in self.settled

    def add(
        self, items: Iterable[dict[str, Any]], settled: Mapping[ObjectRef, dict[str, Any]] = {}
    ) -> None:
        """Index listed objects by reference, and the settled ones' kept forms.

        When a kind is listed in two API versions the last listing wins, settled or not.
        """
        for item in items:
            ref = ObjectRef.from_object(item)
            self.objects[ref] = item
            self.settled.discard(ref)
        for ref, kept in settled.items():
            self.objects[ref] = kept
            self.settled.add(ref)


_OWNERSHIP_LABELS = (LABEL_MANAGED_BY, LABEL_PROJECT, LABEL_ENVIRONMENT)
"""The labels read of a settled object (``ownership.foreign_reason``, ``pruning.is_ours``)."""


def stub(obj: dict[str, Any]) -> dict[str, Any]:
    """What the engine keeps of a settled object: name, uid, ownership labels, our marker.

    Enough for everything read of it after the decision: ownership (three labels), a
    Namespace's creation marker (``ownership.desired_body``, prune) and a prune's uid
    precondition. Label values repeat across a project's objects, so they are interned.
    """
    meta = obj.get("metadata", {})
    kept: dict[str, Any] = {k: meta[k] for k in ("name", "namespace", "uid") if k in meta}
    labels = meta.get("labels") or {}
    kept["labels"] = _shared_labels(
        tuple(v if isinstance(v := labels.get(k), str) else None for k in _OWNERSHIP_LABELS)
    )
    marker = (meta.get("annotations") or {}).get(ANNOTATION_CREATED_BY)
    if marker is not None:
        kept["annotations"] = {ANNOTATION_CREATED_BY: marker}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"), "metadata": kept}


@lru_cache(maxsize=16384)
def _shared_labels(values: tuple[str | None, ...]) -> Mapping[str, str]:
    """One read-only mapping per combination of ownership label values.

    Every object of a project carries the same three values: a dict per stub was 7 MB of a
    full pass at 1,000 projects, one per project is 0.2 MB.
    """
    return MappingProxyType(
        {k: sys.intern(v) for k, v in zip(_OWNERSHIP_LABELS, values, strict=True) if v is not None}
    )


_JUDGED: dict[str, Any] = {}


def no_stub(obj: dict[str, Any]) -> dict[str, Any]:
    """What a reader keeps of a settled object it never reads again (health: its verdict).

    One shared empty mapping stands for every such object (never written).
    """
    return _JUDGED


def compact_fields(obj: dict[str, Any], *, keep: bool) -> None:
    """Share the leaves of ``obj``'s field sets (``keep``), or drop its ``managedFields``."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return
    if not keep:
        meta.pop("managedFields", None)
        return
    for entry in meta.get("managedFields") or ():
        fields = entry.get("fieldsV1")
        if isinstance(fields, dict):
            share_leaves(fields)


LEAF: dict[str, Any] = {}
"""The one empty mapping every leaf of a live read's ``fieldsV1`` points to (never written)."""


def share_leaves(fields: dict[str, Any]) -> None:
    """Make every empty mapping under ``fields`` the shared ``LEAF``.

    A ``fieldsV1`` set is as large as the object it describes and a third of it is ``{}``
    leaves, one dict each (64 bytes): a live read of every object is what a full pass peaks on
    (issue 19's heap profile), so each leaf costs once, not once per field. The engine only
    reads field sets (``normalizing``, ``diffing``); nothing may write into them.
    """
    for key, value in fields.items():
        if isinstance(value, dict):
            if value:
                share_leaves(value)
            else:
                fields[key] = LEAF


def desired_once(
    targets: Iterable[RenderedTarget],
) -> dict[ObjectRef, tuple[RenderedTarget, Manifest]]:
    """Each object rendered by exactly one target, with that target and its manifest.

    What a read may decide as each object's page arrives (settle it, judge it): an object
    desired twice is left for whoever reads it whole (which target wins is the apply's
    business, and its failure's).
    """
    desired: dict[ObjectRef, tuple[RenderedTarget, Manifest]] = {}
    twice: set[ObjectRef] = set()
    for rt in targets:
        for m in rt.manifests:
            if m.ref in desired:
                twice.add(m.ref)
            desired[m.ref] = (rt, m)
    for ref in twice:
        del desired[ref]
    return desired


def wanted_kinds(refs: Iterable[tuple[str, ObjectRef]]) -> dict[KindKey, set[str] | None]:
    """Namespaces to list per kind from ``(apiVersion, ref)`` pairs; None means cluster-scoped."""
    wanted: dict[KindKey, set[str] | None] = {}
    for api_version, ref in refs:
        key = (api_version, ref.kind)
        if not ref.namespace:
            wanted[key] = None
        else:
            namespaces = wanted.setdefault(key, set())
            if namespaces is not None:
                namespaces.add(ref.namespace)
    return wanted


def selector_for(projects: Iterable[str] | None) -> str:
    """Label selector for LISTs: ours, narrowed to ``projects`` when they are few."""
    wanted = sorted(set(projects)) if projects is not None else []
    if not wanted or len(wanted) > MAX_SELECTED_PROJECTS:
        return SELECTOR
    return f"{SELECTOR},{LABEL_PROJECT} in ({','.join(wanted)})"


def check_reachable(cluster: Cluster) -> None:
    """Fail fast with ``ClusterError`` (status 0) when the cluster does not answer."""
    cluster.resource("v1", "Namespace")


def drop_field_sets(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A page filter for ``Cluster.list`` callers that never read managed fields (health)."""
    for item in page:
        compact_fields(item, keep=False)
    return page


_KindRead = tuple[KindKey, list[dict[str, Any]] | ClusterError, dict[ObjectRef, dict[str, Any]]]
"""One kind's listing (or why it failed) and the stubs of the objects settled on read."""


def read_live(
    cluster: Cluster,
    wanted: Mapping[KindKey, set[str] | None],
    *,
    into: LiveState | None = None,
    concurrency: int = 8,
    selector: str = SELECTOR,
    settle: Settle | None = None,
    settled_form: Callable[[dict[str, Any]], dict[str, Any]] = stub,
    field_sets: bool = True,
    page_size: int = PAGE_SIZE,
) -> LiveState:
    """LIST every wanted kind once (concurrently, page by page) with our label selector.

    ``settle`` is asked about each object as its page arrives (in the listing thread); of a
    settled object only its ``settled_form`` is kept (the engine's ``stub`` by default).
    Without ``field_sets`` the objects' managed fields are dropped as they arrive (a reader
    that judges status never reads them).

    Raises:
        ClusterError: only when the cluster gave no answer (status 0); other failures are kept
            per kind in ``LiveState.errors``.
    """
    state = into if into is not None else LiveState()

    def read(key: KindKey) -> _KindRead:
        api_version, kind = key
        stubs: dict[ObjectRef, dict[str, Any]] = {}

        def keep(page: list[dict[str, Any]]) -> list[dict[str, Any]]:
            kept = []
            for item in page:
                ref = ObjectRef.from_object(item)
                if settle is not None and settle(ref, item):
                    stubs[ref] = settled_form(item)
                else:
                    compact_fields(item, keep=field_sets)
                    kept.append(item)
            return kept

        try:
            found = cluster.list(
                api_version, kind, wanted[key], selector, page_size=page_size, keep=keep
            )
        except ClusterError as err:
            return key, err, stubs
        return key, found, stubs

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(read, sorted(wanted)))
    for (api_version, kind), result, stubs in results:
        if isinstance(result, ClusterError):
            if result.status == 0:
                raise result
            log.warning("%s:%s: cannot list: %s", cluster.name, kind, result)
            state.errors[(api_group(api_version), kind)] = result
        else:
            state.add(result, stubs)
    log.debug(
        "%s: read %d live objects of %d kinds (%d settled on read)",
        cluster.name,
        len(state.objects),
        len(wanted),
        len(state.settled),
    )
    return state


def read_by_name(
    cluster: Cluster,
    state: LiveState,
    refs: Iterable[tuple[str, ObjectRef]],
    *,
    concurrency: int = 8,
) -> None:
    """Read with one GET per object the kinds whose LIST was forbidden (403).

    The controller may hold a kind only by name (``resourceNames``: the pipeline executor's
    token Secret, never Secrets cluster-wide); RBAC cannot grant a LIST that way. Objects found
    are recorded whatever their labels, so the engine sees, and refuses to adopt, a foreign one.
    The kind's error is cleared only when every GET answered.
    """
    forbidden = {key for key, err in state.errors.items() if err.status == 403}
    wanted = sorted({(v, r) for v, r in refs if (api_group(v), r.kind) in forbidden})
    if not wanted:
        return

    def get(item: tuple[str, ObjectRef]) -> tuple[ObjectRef, dict[str, Any] | None | ClusterError]:
        api_version, ref = item
        try:
            return ref, cluster.get(api_version, ref.kind, ref.namespace, ref.name)
        except ClusterError as err:
            return ref, err

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(wanted)))) as pool:
        results = list(pool.map(get, wanted))
    failed = {(r.group, r.kind) for r, found in results if isinstance(found, ClusterError)}
    for ref, found in results:
        if isinstance(found, dict):
            state.objects[ref] = found
            state.settled.discard(ref)
    for key in forbidden - failed:
        if any((api_group(v), r.kind) == key for v, r in wanted):
            del state.errors[key]
