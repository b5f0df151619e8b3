"""Render notebooks: a Jupyter StatefulSet, its Service and an Istio VirtualService each.

A notebook is served at ``https://<host>/notebook/<namespace>/<name>/`` through the platform's
Istio gateway. Jupyter itself is started with that path as its base URL, so the gateway forwards
requests unchanged (no rewrite) and every link Jupyter generates leads back through the gateway.
Jupyter runs without a token: only the gateway may connect, and only for the notebook's own
people, which ``notebook_access`` enforces (AuthorizationPolicy, NetworkPolicy, exec RBAC).

Idle culling has two layers. Jupyter culls idle kernels itself (frees GPU memory while the pod
lives); the platform culler scales an idle StatefulSet to zero, reading the timeout from an
annotation. That is why ``replicas`` is never rendered: the API server defaults it to 1 and,
because we do not own the field under server-side apply, the culler's scale-down survives every
reconcile instead of being undone by the next apply.
"""

from __future__ import annotations

from mofang_gitops.models import Notebook
from mofang_gitops.models.quantities import duration_seconds
from mofang_gitops.rendering.context import Container, Pod, TargetContext
from mofang_gitops.rendering.notebook_access import INJECT_LABEL, render_access
from mofang_gitops.validation.placement import effective_policy

ROLE = "notebook"
NOTEBOOK_LABEL = "mofang.io/notebook"
"""Selects a notebook's pod; its own key, so no training task can ever match the Service."""
IDLE_TIMEOUT_ANNOTATION = "mofang.io/idle-timeout-seconds"
"""Read by the culler that scales an idle notebook's StatefulSet to zero."""
JUPYTER_PORT = 8888
JUPYTER_PORT_NAME = "http-notebook"
SERVICE_PORT = 80
KERNEL_CULL_INTERVAL = 300
"""Seconds between Jupyter's idle-kernel checks (its own default, written out to be explicit)."""


def render(ctx: TargetContext) -> None:
    """Render every notebook of the project whose resource group lives on this target's cluster."""
    for name in sorted(ctx.resolved.notebooks):
        loaded = ctx.resolved.notebooks[name]
        if ctx.lands_here(loaded.model, loaded.model.spec.resourceGroup):
            _render_notebook(ctx, loaded.model, loaded.doc.path)


def base_url(namespace: str, name: str) -> str:
    """The URL path a notebook is served under; unique per cluster since it has the namespace."""
    return f"/notebook/{namespace}/{name}/"


def idle_timeout_seconds(ctx: TargetContext, notebook: Notebook) -> int:
    """The notebook's idle timeout, else the environment's (or platform's) policy default."""
    timeout = notebook.spec.idleTimeout
    if timeout is None:
        timeout = effective_policy(ctx.platform, ctx.environment).notebook.idleTimeout
    return duration_seconds(timeout)


def jupyter_args(prefix: str, idle_seconds: int) -> list[str]:
    """Arguments of ``jupyter lab``: serve under ``prefix`` and cull idle kernels.

    Only kernels are culled here, not the server (``shutdown_no_activity_timeout``): a server
    that exits is simply restarted by its StatefulSet, so scaling to zero is the culler's job.
    Connected kernels are culled too, so a forgotten browser tab cannot pin a GPU.
    """
    return [
        "--ip=0.0.0.0",
        f"--port={JUPYTER_PORT}",
        "--no-browser",
        f"--ServerApp.base_url={prefix}",
        "--ServerApp.token=",
        f"--MappingKernelManager.cull_idle_timeout={idle_seconds}",
        f"--MappingKernelManager.cull_interval={KERNEL_CULL_INTERVAL}",
        "--MappingKernelManager.cull_connected=True",
    ]


def notebook_pod(ctx: TargetContext, notebook: Notebook, prefix: str, idle_seconds: int) -> Pod:
    """The Jupyter pod: placed on the notebook's group, with the owner's storage mounted."""
    spec = notebook.spec
    group = ctx.group(spec.resourceGroup)
    requests, limits = ctx.resources(spec.resources, group)
    volumes, mounts = ctx.mounts(spec.mounts, spec.owner)
    container = Container(
        name=ROLE,
        image=ctx.image(spec.image),
        command=["jupyter", "lab"],
        args=jupyter_args(prefix, idle_seconds),
        # Kubeflow's notebook images and tools read the prefix from NB_PREFIX (no trailing /).
        env=[("NB_PREFIX", prefix.rstrip("/"))],
        requests=requests,
        limits=limits,
        volume_mounts=mounts,
        ports=[(JUPYTER_PORT_NAME, JUPYTER_PORT)],
    )
    pod = ctx.pod(group, [container], job=notebook.name, role=ROLE, volumes=volumes)
    pod.labels[NOTEBOOK_LABEL] = notebook.name
    # The sidecar is what enforces the notebook's AuthorizationPolicy.
    pod.labels[INJECT_LABEL] = "true"
    return pod


def _render_notebook(ctx: TargetContext, notebook: Notebook, path: str) -> None:
    """Emit the StatefulSet, Service and VirtualService of one notebook."""
    name = notebook.name
    prefix = base_url(ctx.namespace, name)
    idle_seconds = idle_timeout_seconds(ctx, notebook)
    selector = {NOTEBOOK_LABEL: name}

    emit = ctx.spec_emitter(f"Notebook.{name}", path, name).emit
    emit(
        "notebook/statefulset.yaml.j2",
        "apps/v1",
        "StatefulSet",
        annotations={IDLE_TIMEOUT_ANNOTATION: str(idle_seconds)},
        selector=selector,
        pod=notebook_pod(ctx, notebook, prefix, idle_seconds),
    )
    emit(
        "notebook/service.yaml.j2",
        "v1",
        "Service",
        selector=selector,
        port=SERVICE_PORT,
        target_port=JUPYTER_PORT_NAME,
    )
    emit(
        "notebook/virtualservice.yaml.j2",
        "networking.istio.io/v1",
        "VirtualService",
        host=ctx.host,
        gateway=ctx.platform.spec.ingress.gateway,
        prefix=prefix,
        service_host=f"{name}.{ctx.namespace}.svc.cluster.local",
        port=SERVICE_PORT,
    )
    render_access(ctx, notebook, path, selector=selector, port=JUPYTER_PORT, prefix=prefix)
