"""A running cluster: control plane, scheduler, controllers, kwok, operators, platform nodes."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mofang_gitops.devtools.controlplane import ControlPlane, start_control_plane
from mofang_gitops.devtools.nodes import NodePlan, create_nodes, plan_nodes
from mofang_gitops.devtools.runtime import OPERATORS, Runtime, start_runtime
from mofang_gitops.models.platform import PlatformSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunningCluster:
    """One platform cluster played locally: its API server, its runtime and its kwok nodes."""

    cluster: str
    """The platform cluster whose resource groups became nodes."""
    plane: ControlPlane
    runtime: Runtime
    nodes: tuple[NodePlan, ...]

    def stop(self) -> None:
        """Stop the runtime before the API server it talks to."""
        self.runtime.stop()
        self.plane.stop()


def start_running_cluster(
    name: str,
    workdir: Path,
    spec: PlatformSpec,
    cluster: str,
    *,
    crds_dir: Path | None | Literal["auto"] = "auto",
    binaries: Path | None = None,
    runtime_binaries: Path | None = None,
    operators: Sequence[str] = OPERATORS,
) -> RunningCluster:
    """Start a control plane named ``name``, its runtime, and kwok nodes for ``cluster``'s groups.

    Raises:
        MofangError: a binary is missing, a process died, or the nodes never became ready.
    """
    return start_cluster_with_nodes(
        name,
        workdir,
        cluster,
        plan_nodes(spec, cluster),
        crds_dir=crds_dir,
        binaries=binaries,
        runtime_binaries=runtime_binaries,
        operators=operators,
    )


def start_cluster_with_nodes(
    name: str,
    workdir: Path,
    cluster: str,
    nodes: Sequence[NodePlan],
    *,
    crds_dir: Path | None | Literal["auto"] = "auto",
    binaries: Path | None = None,
    runtime_binaries: Path | None = None,
    operators: Sequence[str] = OPERATORS,
) -> RunningCluster:
    """Like :func:`start_running_cluster`, with the nodes already planned.

    ``dev up --runtime`` plans the nodes where platform.yaml is loaded and starts the clusters in
    a detached process that only receives the plans.

    Raises:
        MofangError: a binary is missing, a process died, or the nodes never became ready.
    """
    started = time.monotonic()
    plane = start_control_plane(name, workdir, crds_dir=crds_dir, binaries=binaries)
    try:
        runtime = start_runtime(plane, binaries=runtime_binaries, operators=operators)
    except BaseException:
        plane.stop()
        raise
    running = RunningCluster(cluster=cluster, plane=plane, runtime=runtime, nodes=tuple(nodes))
    try:
        create_nodes(plane, running.nodes)
    except BaseException:
        running.stop()
        raise
    log.info(
        "running cluster %s (%s): %d nodes, %s in %.1fs",
        name,
        cluster,
        len(running.nodes),
        ", ".join(runtime.pids),
        time.monotonic() - started,
    )
    return running
