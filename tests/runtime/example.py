"""The bundled example repository, rendered and applied to the running cluster as users do.

Runtime tests that want "what we render really runs" take their objects from here rather than
writing manifests by hand: ``apply`` is the real command line (server-side apply in stages), and
``rendered`` returns the very bodies it applied.
"""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from mofang_gitops.cli import main
from mofang_gitops.devtools.controlplane import ControlPlane, api_call
from mofang_gitops.manifests import RenderedTarget
from mofang_gitops.rendering import render_repo
from tests.scenarios import validate_dir

REPO = Path(__file__).resolve().parents[2]
CLUSTER = "central"
"""The platform cluster the ``running_cluster`` fixture plays."""


@cache
def _targets() -> tuple[RenderedTarget, ...]:
    validation = validate_dir(REPO)
    assert validation.errors == [], "\n".join(str(p) for p in validation.errors)
    return tuple(render_repo(validation))


def rendered(environment: str, project: str, kind: str) -> list[dict[str, Any]]:
    """Deep copies of the ``kind`` objects the example renders for one central target."""
    (target,) = [
        t
        for t in _targets()
        if (t.target.environment, t.target.cluster, t.target.project)
        == (environment, CLUSTER, project)
    ]
    return [json.loads(json.dumps(m.body)) for m in target.manifests if m.ref.kind == kind]


def apply(plane: ControlPlane, environment: str, project: str) -> None:
    """``mofang-gitops apply`` one project of one environment onto the running cluster."""
    (namespace,) = rendered(environment, project, "Namespace")
    wait_namespaces_gone(plane, [namespace["metadata"]["name"]], terminating_only=True)
    argv = ["--repo", str(REPO), "--kubeconfig", str(plane.kubeconfig), "--context", plane.name]
    argv += ["apply", "-e", environment, "-c", CLUSTER, "-p", project]
    assert main(argv) == 0, f"apply -e {environment} -p {project} failed (see captured output)"


def wait_namespaces_gone(
    plane: ControlPlane, names: list[str], *, terminating_only: bool = False, timeout: float = 300
) -> None:
    """Wait until each namespace is gone (or, ``terminating_only``, at least not terminating).

    Tests on the shared running cluster reuse the example's namespace names; one deleted by an
    earlier test keeps deleting whatever is created in it until the namespace controller is done.
    """
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            status, answer = api_call(plane, "GET", f"/api/v1/namespaces/{name}")
            if status == 404:
                break
            phase = (answer.get("status") or {}).get("phase") if status == 200 else None
            if terminating_only and status == 200 and phase != "Terminating":
                break
            assert time.monotonic() < deadline, f"namespace {name} still there: {status} {phase}"
            time.sleep(1)
