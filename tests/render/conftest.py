"""Render-test helpers: server-side dry-run of rendered manifests on the real control plane."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.manifests import Manifest

DryRun = Callable[[Sequence[Manifest]], list[str]]


@pytest.fixture
def server_dry_run(control_plane: ControlPlane, binaries: Path, tmp_path: Path) -> DryRun:
    """Create the manifests' Namespaces for real, then dry-run every other object server-side.

    Returns kubectl's error lines: empty means the real API server (with the upstream CRD
    schemas) accepted every object.
    """
    kubectl = str(binaries / "kubectl")
    base = [kubectl, "--kubeconfig", str(control_plane.kubeconfig)]

    def run(manifests: Sequence[Manifest]) -> list[str]:
        namespaces = [m for m in manifests if m.ref.kind == "Namespace"]
        others = [m for m in manifests if m.ref.kind != "Namespace"]
        for index, group in enumerate((namespaces, others)):
            if not group:
                continue
            path = tmp_path / f"objects-{index}.yaml"
            path.write_text("---\n".join(m.text for m in group))
            argv = [
                *base,
                "apply",
                "--server-side",
                "--field-manager",
                "mofang-gitops",
                "--force-conflicts",
                "-f",
                str(path),
            ]
            if index:
                argv.insert(-2, "--dry-run=server")
            done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
            errors = [line for line in done.stderr.splitlines() if line.strip()]
            if done.returncode or errors:
                return errors or [f"kubectl exited {done.returncode}: {done.stdout[-2000:]}"]
        return []

    return run
