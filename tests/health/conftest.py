"""Health test fixtures: a control plane of their own with scheduler, controllers and kwok."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane, start_control_plane
from tests.health.running import find_runtime_binaries, start_runtime


@pytest.fixture(scope="session")
def health_cluster(
    tmp_path_factory: pytest.TempPathFactory, binaries: Path, crds_dir: Path
) -> Iterator[ControlPlane]:
    """A plane named ``central`` (the minimal platform's cluster) that schedules and runs pods."""
    runtime_dir = find_runtime_binaries()
    if runtime_dir is None:
        pytest.skip("runtime binaries not built (scripts/runtime-binaries)")
    plane = start_control_plane(
        "central", tmp_path_factory.mktemp("health"), crds_dir=crds_dir, binaries=binaries
    )
    runtime = start_runtime(plane, runtime_dir)
    yield plane
    runtime.stop()
    plane.stop()
