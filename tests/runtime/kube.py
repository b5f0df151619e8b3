"""Small helpers the runtime tests share: create objects, wait for a state, read it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from mofang_gitops.devtools.controlplane import ControlPlane, api_call


def create(plane: ControlPlane, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = api_call(plane, "POST", path, json.dumps(body).encode())
    assert status in (200, 201), (status, answer)
    return answer


def get(plane: ControlPlane, path: str) -> dict[str, Any]:
    status, answer = api_call(plane, "GET", path)
    assert status == 200, (path, status, answer)
    return answer


def eventually(
    what: str, check: Callable[[], Any], timeout: float = 120, interval: float = 0.5
) -> Any:
    """Poll until ``check()`` is truthy; fail with ``what`` and the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}")


def namespace(plane: ControlPlane, name: str) -> str:
    create(plane, "/api/v1/namespaces", {"metadata": {"name": name}})
    return name


def node_group(plane: ControlPlane, node: str) -> str:
    labels = get(plane, f"/api/v1/nodes/{node}")["metadata"].get("labels", {})
    return str(labels.get("mofang.io/resource-group", ""))


def condition(obj: dict[str, Any], kind: str) -> str | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status"))
    return None
