"""Whose an object is: the tool never takes over what it did not create (issue 12, item 5).

The live read sees only objects with our labels, so an object that exists without them (a
namespace made by hand, another tool's PV) looks absent, and a server-side apply would silently
adopt it: set our fields, then a later prune would delete it. Before creating, the engine
therefore checks that the name is free; an object that exists unlabelled, or labelled for another
project or environment, fails with a reason and is never written. Namespaces the tool creates get
the ``mofang.io/created-by`` annotation in the creating request itself (and keep it on every later
apply); prune deletes no Namespace without it.

Existence is checked by GET per object, or by one unselected LIST of a kind when a stage creates
many of it (a fresh platform creates thousands of PVs). Objects inside a namespace this run has
just created need no check: nothing else can be there yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
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
    Target,
)

REFUSED = "refusing to take it over"
"""In the reason of every ownership refusal (the manager blocks a refused Namespace's contents)."""
LIST_ABOVE = 16
"""More creations of one kind (in one namespace, or cluster-scoped) than this: one LIST."""


def owner_labels(manifest: Manifest, target: Target) -> tuple[str, str]:
    """``(project, environment)`` a desired object claims (its labels, else its target's)."""
    labels = manifest.body.get("metadata", {}).get("labels") or {}
    return (
        str(labels.get(LABEL_PROJECT, target.project)),
        str(labels.get(LABEL_ENVIRONMENT, target.environment)),
    )


def foreign_reason(live: Mapping[str, Any], project: str, environment: str) -> str:
    """Why ``live`` is not ours to write for ``project``/``environment`` ('' when it is)."""
    labels = live.get("metadata", {}).get("labels") or {}
    if labels.get(LABEL_MANAGED_BY) != MANAGER:
        return (
            f"exists and is not managed by {MANAGER} (no {LABEL_MANAGED_BY}={MANAGER} label); "
            f"{REFUSED}: delete or rename it, or rename the project"
        )
    other = (labels.get(LABEL_PROJECT, ""), labels.get(LABEL_ENVIRONMENT, ""))
    if other != (project, environment):
        return (
            f"belongs to project {other[0]!r} environment {other[1]!r}; {REFUSED} for project "
            f"{project!r} environment {environment!r}"
        )
    return ""


def created_by_us(live: Mapping[str, Any]) -> bool:
    """Whether the tool created this object (the Namespace marker annotation)."""
    annotations = live.get("metadata", {}).get("annotations") or {}
    return annotations.get(ANNOTATION_CREATED_BY) == MANAGER


def desired_body(manifest: Manifest, live: Mapping[str, Any] | None) -> dict[str, Any]:
    """What to apply: the rendered body, plus the creation marker on Namespaces we create.

    The marker is sent with the creating apply and every later one (a field our manager stops
    sending would be removed), never added to a Namespace that exists without it.
    """
    body = manifest.body
    if manifest.ref.kind != "Namespace" or (live is not None and not created_by_us(live)):
        return body
    meta = dict(body.get("metadata", {}))
    meta["annotations"] = {**(meta.get("annotations") or {}), ANNOTATION_CREATED_BY: MANAGER}
    return {**body, "metadata": meta}


Existing = dict[str, Any] | None | ClusterError
"""The live object, None where the name is free, or why that could not be read."""


def find_existing(
    cluster: Cluster, wanted: Iterable[tuple[str, ObjectRef]], concurrency: int = 8
) -> dict[ObjectRef, Existing]:
    """The live object (labelled or not) at each ``(apiVersion, ref)``."""
    groups: dict[tuple[str, str, str], list[ObjectRef]] = {}
    for api_version, ref in wanted:
        groups.setdefault((api_version, ref.kind, ref.namespace), []).append(ref)
    found: dict[ObjectRef, Existing] = {}
    singles: list[tuple[str, ObjectRef]] = []
    for (api_version, kind, namespace), refs in sorted(groups.items()):
        if len(refs) <= LIST_ABOVE:
            singles.extend((api_version, ref) for ref in refs)
            continue
        try:
            listed = cluster.list(api_version, kind, [namespace] if namespace else None)
        except ClusterError as err:
            found.update((ref, err) for ref in refs)
            continue
        by_name = {str(o.get("metadata", {}).get("name")): o for o in listed}
        for ref in refs:
            found[ref] = by_name.get(ref.name)

    def get(item: tuple[str, ObjectRef]) -> tuple[ObjectRef, Existing]:
        api_version, ref = item
        try:
            return ref, cluster.get(api_version, ref.kind, ref.namespace, ref.name)
        except ClusterError as err:
            return ref, err

    if singles:
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(singles)))) as pool:
            found.update(pool.map(get, singles))
    return found
