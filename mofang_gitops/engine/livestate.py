"""What is in the cluster now, read with one LIST per kind.

A GET per object would cost one round trip for each of ~20,000 objects on every plan; a LIST per
kind (label-selected, cluster-wide when several namespaces are wanted) costs one per kind and
lets the API server answer from its watch cache. Lists run concurrently. A kind the cluster does
not serve fails only the objects of that kind; a cluster that does not answer at all fails the
whole read, so the caller can mark that cluster's targets failed and go on with the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from mofang_gitops.errors import ClusterError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import LABEL_MANAGED_BY, LABEL_PROJECT, MANAGER, ObjectRef, api_group

log = logging.getLogger(__name__)

SELECTOR = f"{LABEL_MANAGED_BY}={MANAGER}"
"""Only objects carrying our managed-by label are read (and so can ever be pruned)."""
MAX_SELECTED_PROJECTS = 100
"""Up to this many projects, LISTs also select by project label (a run for a few projects
reads only theirs); beyond, the whole platform is wanted anyway and the URL would grow long."""

KindKey = tuple[str, str]
"""``(apiVersion, kind)``."""


@dataclass
class LiveState:
    """Live objects by reference (API version ignored), and the kinds that could not be read."""

    objects: dict[ObjectRef, dict[str, Any]] = field(default_factory=dict)
    errors: dict[tuple[str, str], ClusterError] = field(default_factory=dict)
    """By ``(group, kind)``."""

    def get(self, ref: ObjectRef) -> dict[str, Any] | None:
        """The live object, or None when it is not there (with our label)."""
        return self.objects.get(ref)

    def error(self, ref: ObjectRef) -> ClusterError | None:
        """Why ``ref``'s kind could not be read, if it could not."""
        return self.errors.get((ref.group, ref.kind))

    def add(self, items: Iterable[dict[str, Any]]) -> None:
        """Index listed objects by reference (their field sets compacted, see ``share_leaves``)."""
        for item in items:
            for entry in item.get("metadata", {}).get("managedFields") or ():
                fields = entry.get("fieldsV1")
                if isinstance(fields, dict):
                    share_leaves(fields)
            self.objects[ObjectRef.from_object(item)] = item


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


def read_live(
    cluster: Cluster,
    wanted: Mapping[KindKey, set[str] | None],
    *,
    into: LiveState | None = None,
    concurrency: int = 8,
    selector: str = SELECTOR,
) -> LiveState:
    """LIST every wanted kind once (concurrently) with our label selector.

    Raises:
        ClusterError: only when the cluster gave no answer (status 0); other failures are kept
            per kind in ``LiveState.errors``.
    """
    state = into if into is not None else LiveState()

    def read(key: KindKey) -> tuple[KindKey, list[dict[str, Any]] | ClusterError]:
        api_version, kind = key
        try:
            return key, cluster.list(api_version, kind, wanted[key], selector)
        except ClusterError as err:
            return key, err

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = list(pool.map(read, sorted(wanted)))
    for (api_version, kind), result in results:
        if isinstance(result, ClusterError):
            if result.status == 0:
                raise result
            log.warning("%s:%s: cannot list: %s", cluster.name, kind, result)
            state.errors[(api_group(api_version), kind)] = result
        else:
            state.add(result)
    log.debug("%s: read %d live objects of %d kinds", cluster.name, len(state.objects), len(wanted))
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
    for key in forbidden - failed:
        if any((api_group(v), r.kind) == key for v, r in wanted):
            del state.errors[key]
