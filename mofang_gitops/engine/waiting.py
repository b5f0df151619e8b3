"""Waiting for the cluster to catch up, where the next step depends on it.

Most of apply needs no waiting: a Namespace is Active as soon as it is created. Two things do:
a replaced object must be gone before it is created again, and a new CRD must be Established
before objects of its kind are accepted. Polls are GETs of a single object, bounded in time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from mofang_gitops.errors import ClusterError
from mofang_gitops.k8s.cluster import Cluster, object_id

log = logging.getLogger(__name__)


def wait_until(
    check: Callable[[], bool], *, what: str, timeout: float = 30.0, interval: float = 0.1
) -> None:
    """Poll ``check`` until it is true; raise ``ClusterError(what, ...)`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() >= deadline:
            raise ClusterError(what, f"still waiting after {timeout:.0f}s")
        time.sleep(interval)
        interval = min(interval * 2, 2.0)


def wait_deleted(
    cluster: Cluster, api_version: str, kind: str, namespace: str, name: str, *, uid: str = ""
) -> None:
    """Wait until the object (that incarnation, when ``uid`` is given) no longer exists."""

    def gone() -> bool:
        obj = cluster.get(api_version, kind, namespace, name)
        return obj is None or bool(uid) and obj.get("metadata", {}).get("uid") != uid

    wait_until(gone, what=f"{object_id(cluster.name, kind, namespace, name)}: deletion")


def wait_established(cluster: Cluster, names: Iterable[str], *, timeout: float = 60.0) -> None:
    """Wait until each CRD is Established, then forget cached discovery."""
    for name in names:

        def established(crd: str = name) -> bool:
            obj = cluster.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", crd)
            conditions = (obj or {}).get("status", {}).get("conditions") or ()
            return any(
                c.get("type") == "Established" and c.get("status") == "True" for c in conditions
            )

        wait_until(
            established, what=f"{cluster.name}:CustomResourceDefinition/{name}", timeout=timeout
        )
        log.info("%s:CustomResourceDefinition/%s: established", cluster.name, name)
    cluster.invalidate_discovery()
