"""Engine test fixtures: a Cluster adapter per test on the session's control plane."""

from __future__ import annotations

import pytest

from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.k8s.cluster import Cluster
from tests.engine.builders import FAST_RETRY


@pytest.fixture
def cluster(control_plane: ControlPlane) -> Cluster:
    return Cluster(
        control_plane.name, control_plane.kubeconfig, control_plane.name, retry=FAST_RETRY
    )
