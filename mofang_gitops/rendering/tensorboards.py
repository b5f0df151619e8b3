"""TensorBoards of trainings: a Deployment, its Service and a VirtualService each.

A training with ``tensorboard: {logDir: runs/x}`` gets a TensorBoard served at
``https://<host>/tensorboard/<namespace>/<training>/`` through the platform's Istio gateway,
reading ``<project volume>/runs/x`` through a read-only mount (it can never change what it
shows). TensorBoard serves under that prefix itself (``--path_prefix``), so the route does not
rewrite. Its pod runs on a CPU group of the training's cluster, scheduled like every pod.

It is protected exactly like a notebook, by the same code (``notebook_access``): a sidecar, an
AuthorizationPolicy admitting only the gateway carrying the identity of one of the project's
owners or members, and a NetworkPolicy letting only the gateway's pods connect. Nobody gets exec
into it (a notebook's owner does into theirs): it only reads logs.

Unlike the run, it is an ordinary owned object named ``<training>-tensorboard`` (source
``Training.<name>``): it stays while the Training is in git, outlives the run (to look at it
afterwards), and prune removes it with the Training. Its settings are not part of the run name,
so adding a TensorBoard never starts the training again.
"""

from __future__ import annotations

import posixpath

from mofang_gitops.models import Training
from mofang_gitops.rendering.context import Container, Mount, Pod, TargetContext, Volume
from mofang_gitops.rendering.notebook_access import (
    INJECT_LABEL,
    Served,
    project_people,
    render_gateway_access,
)
from mofang_gitops.validation.placement import (
    TENSORBOARD_IMAGE,
    TENSORBOARD_REQUESTS,
    tensorboard_group,
)

ROLE = "tensorboard"
TENSORBOARD_LABEL = "mofang.io/tensorboard"
"""Selects a TensorBoard's pod; its own key, so no training pod can match the Service."""
PORT = 6006
PORT_NAME = "http-tb"
"""Istio reads the protocol from the "http-" prefix; port names have at most 15 characters."""
SERVICE_PORT = 80
LOGS_PATH = "/logs"


def render(ctx: TargetContext) -> None:
    """Render the TensorBoard of every training that asks for one and lands on this target."""
    for name in sorted(ctx.resolved.trainings):
        loaded = ctx.resolved.trainings[name]
        training = loaded.model
        if training.spec.tensorboard is None:
            continue
        if ctx.lands_here(training, training.spec.resourceGroup):
            _render_tensorboard(ctx, training, loaded.doc.path)


def object_name(training: str) -> str:
    """Name of the Deployment, Service and VirtualService of a training's TensorBoard."""
    return f"{training}-tensorboard"


def base_url(namespace: str, training: str) -> str:
    """The URL path a training's TensorBoard is served under."""
    return f"/tensorboard/{namespace}/{training}/"


def tensorboard_pod(ctx: TargetContext, training: Training, prefix: str) -> Pod:
    """The TensorBoard pod: the project volume read-only, the log directory as ``--logdir``."""
    assert training.spec.tensorboard is not None
    group = ctx.group(tensorboard_group(ctx.platform, ctx.project, training))
    requests, limits = ctx.resources(TENSORBOARD_REQUESTS, group)
    log_dir = posixpath.join(LOGS_PATH, training.spec.tensorboard.logDir)
    container = Container(
        name=ROLE,
        image=ctx.image(TENSORBOARD_IMAGE),
        command=["tensorboard"],
        args=[
            f"--logdir={log_dir}",
            "--host=0.0.0.0",
            f"--port={PORT}",
            f"--path_prefix={prefix.rstrip('/')}",
        ],
        requests=requests,
        limits=limits,
        volume_mounts=[Mount("project", LOGS_PATH, True)],
        ports=[(PORT_NAME, PORT)],
    )
    volumes = [Volume("project", "project", True)]
    pod = ctx.pod(group, [container], job=training.name, role=ROLE, volumes=volumes)
    pod.labels[TENSORBOARD_LABEL] = training.name
    # The sidecar is what enforces the TensorBoard's AuthorizationPolicy.
    pod.labels[INJECT_LABEL] = "true"
    return pod


def _render_tensorboard(ctx: TargetContext, training: Training, path: str) -> None:
    name = object_name(training.name)
    prefix = base_url(ctx.namespace, training.name)
    selector = {TENSORBOARD_LABEL: training.name}

    emit = ctx.spec_emitter(f"Training.{training.name}", path, name).emit
    emit(
        "tensorboard/deployment.yaml.j2",
        "apps/v1",
        "Deployment",
        selector=selector,
        pod=tensorboard_pod(ctx, training, prefix),
    )
    emit(
        "notebook/service.yaml.j2",
        "v1",
        "Service",
        selector=selector,
        port=SERVICE_PORT,
        target_port=PORT_NAME,
    )
    emit(
        "tensorboard/virtualservice.yaml.j2",
        "networking.istio.io/v1",
        "VirtualService",
        host=ctx.host,
        gateway=ctx.platform.spec.ingress.gateway,
        prefix=prefix,
        service_host=f"{name}.{ctx.namespace}.svc.cluster.local",
        port=SERVICE_PORT,
    )
    served = Served(
        name=name,
        source=f"Training.{training.name}",
        source_path=path,
        selector=selector,
        port=PORT,
        prefix=prefix,
    )
    render_gateway_access(ctx, served, project_people(ctx))
