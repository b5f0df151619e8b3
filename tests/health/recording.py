"""Record live status documents for the pure rule tests (``MOFANG_RECORD_STATUS=1``).

A running test calls :func:`record_status` when an object reaches a state worth keeping; with the
variable set, the object as a LIST returns it (metadata trimmed), its pods and the Warning Events
about it are written to ``tests/testdata/status/<name>.yaml`` under the ``# expect:`` line that
``tests/health/test_rules.py`` checks. The document is judged again from the file's own content
before it is written, so a recording always passes the rule test it feeds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mofang_gitops.health import Health, ObjectHealth, Related, judge
from mofang_gitops.health.below import JOB_LABEL, NOTEBOOK_LABEL
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import api_group
from mofang_gitops.yamlio import dump
from tests.health.test_rules import NOW

STATUS = Path(__file__).parents[1] / "testdata" / "status"
RECORDING = os.environ.get("MOFANG_RECORD_STATUS") == "1"
GROUPS = {"gpu-a100": {"mofang.io/resource-group": "gpu-a100"}}
"""What test_rules.py judges with."""


def _trimmed(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj["metadata"]
    kept = {k: meta[k] for k in ("name", "namespace", "generation") if k in meta}
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "metadata": kept,
        "spec": obj.get("spec", {}),
        "status": obj.get("status", {}),
    }


def _pod(pod: dict[str, Any]) -> dict[str, Any]:
    meta = pod["metadata"]
    spec = pod.get("spec", {})
    return {
        "metadata": {"name": meta["name"], "labels": meta.get("labels", {})},
        "spec": {k: spec[k] for k in ("nodeName", "nodeSelector") if k in spec},
        "status": pod.get("status", {}),
    }


def _event(event: dict[str, Any]) -> dict[str, Any]:
    keep = ("type", "reason", "message", "count", "lastTimestamp", "eventTime")
    involved = event.get("involvedObject", {})
    return {
        **{k: event[k] for k in keep if event.get(k) is not None},
        "involvedObject": {"kind": involved.get("kind"), "name": involved.get("name")},
    }


def record_status(cluster: Cluster, seen: ObjectHealth, name: str) -> bool:
    """Write ``seen``'s live object as ``<name>.yaml`` if it still judges as ``seen`` did.

    Returns whether a file was written (never, unless ``MOFANG_RECORD_STATUS=1``).
    """
    if not RECORDING:
        return False
    ns, group = seen.namespace, api_group(seen.api_version)
    live = [
        o
        for o in cluster.list(seen.api_version, seen.kind, [ns])
        if o["metadata"]["name"] == seen.name
    ]
    if not live:
        return False
    notebook = seen.kind == "StatefulSet"
    label = NOTEBOOK_LABEL if notebook else JOB_LABEL
    pods = [
        _pod(p)
        for p in cluster.list("v1", "Pod", [ns])
        if (v := (p["metadata"].get("labels") or {}).get(label, "")) == seen.name
        or (not notebook and v.startswith(f"{seen.name}-"))
    ]
    events = [
        _event(e)
        for e in cluster.list("v1", "Event", [ns])
        if e.get("type") == "Warning"
        and str(e.get("involvedObject", {}).get("name", "")).startswith(seen.name)
    ]
    document = _trimmed(live[0])
    verdict = judge(
        group,
        seen.kind,
        document,
        Related(pods=pods, events=events, groups=GROUPS, now=NOW),
    )
    if (verdict.health, verdict.phase) != (seen.health, seen.verdict.phase):
        return False
    body: dict[str, Any] = dict(document)
    if pods:
        body["pods"] = pods
    if events:
        body["events"] = events
    header = f"# expect: {verdict.health} {verdict.reason}\n"
    test = os.environ.get("PYTEST_CURRENT_TEST", "a test").split(" ")[0]
    header += f"# recorded live by {test} (MOFANG_RECORD_STATUS=1)\n"
    (STATUS / f"{name}.yaml").write_text(header + dump(body))
    return verdict.health is not Health.UNKNOWN
