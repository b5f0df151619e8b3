"""Who reaches a notebook or a TensorBoard, and how: mesh policy, network policy, exec rights.

A notebook runs code with its owner's home and the project volume mounted, and a TensorBoard shows
what the project's trainings logged, so both answer only their own people (README, Security
model). The gateway part is one function for both (``render_gateway_access``), so a TensorBoard is
protected exactly like a notebook:

- Istio ``AuthorizationPolicy`` on the pod: requests must come from the ingress gateway's mesh
  identity (mTLS principal) *and* name an allowed person: the trusted header the auth proxy sets
  (``ingress.auth.mode: header``), or a JWT the pod's sidecar verified itself (``jwt``: a
  ``RequestAuthentication`` per pod selector). Allowed: a notebook's owner, or every owner and
  member with ``access: project``; a TensorBoard's project, always. The namespace's
  allow-nothing policy denies everything else. The pod must carry ``INJECT_LABEL``: the sidecar
  is what enforces the policy.
- ``NetworkPolicy``: only the gateway's pods may open a connection to the served port, so a pod
  outside the mesh (a training, another notebook, another namespace) cannot even connect.
- RBAC, notebooks only: exec, attach-free port-forward into the notebook's one pod (``<name>-0``),
  for its owner only; ``access: project`` shares the web UI, never a shell. A TensorBoard's pod
  has nothing to exec into for (it only reads logs), so nobody gets that right.

Jupyter and TensorBoard keep no token of their own: these layers are the authentication
(docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mofang_gitops.models import Notebook
from mofang_gitops.models.platform import JwtAuth
from mofang_gitops.rendering.context import TargetContext

RBAC = "rbac.authorization.k8s.io/v1"
SECURITY = "security.istio.io/v1"
INJECT_LABEL = "sidecar.istio.io/inject"
"""Asks Istio for a sidecar on notebook and TensorBoard pods only: batch pods with one never
finish (the sidecar outlives the main container), so they are not labelled."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
EXEC_RULES: list[tuple[str, list[str], list[str]]] = [
    ("", ["pods/exec", "pods/portforward"], ["create", "get"]),
]
"""``create`` is what exec and port-forward need; ``get`` too, for clients that open them as a
websocket GET on API servers that still authorize that verb."""


@dataclass(frozen=True)
class AccessPolicy:
    """The values of one web UI's ALLOW policy (``project/authorizationpolicy.yaml.j2``)."""

    selector: dict[str, str]
    principals: list[str]
    ports: list[str]
    paths: list[str]
    identity_key: str
    identities: list[str]
    request_principals: list[str] = field(default_factory=list)


def allowed_people(ctx: TargetContext, notebook: Notebook) -> list[str]:
    """Who may open the notebook: its owner, or everyone in the project with ``access: project``."""
    if notebook.spec.access == "project":
        return project_people(ctx)
    return [notebook.spec.owner]


def project_people(ctx: TargetContext) -> list[str]:
    """Every owner and member of the project (who may open a TensorBoard)."""
    return sorted(ctx.project.users())


def access_policy(
    ctx: TargetContext, people: list[str], selector: dict[str, str], port: int, prefix: str
) -> AccessPolicy:
    """Gateway principal and the allowed people's identities, per the platform's auth mode."""
    ingress = ctx.platform.spec.ingress
    auth = ingress.auth
    identities = [f"{auth.prefix}{person}" for person in people]
    if isinstance(auth, JwtAuth):
        key = f"request.auth.claims[{auth.claim}]"
        request_principals = [f"{auth.issuer}/*"]
    else:
        key, request_principals = f"request.headers[{auth.header}]", []
    return AccessPolicy(
        selector=selector,
        principals=[ingress.gateway_principal],
        ports=[str(port)],
        paths=[f"{prefix}*"],
        identity_key=key,
        identities=identities,
        request_principals=request_principals,
    )


@dataclass(frozen=True)
class Served:
    """One web UI behind the gateway: its objects' name and source, its pods, port and prefix."""

    name: str
    source: str
    source_path: str
    selector: dict[str, str]
    port: int
    prefix: str


def render_gateway_access(ctx: TargetContext, served: Served, people: list[str]) -> None:
    """Emit the AuthorizationPolicy (+ RequestAuthentication) and NetworkPolicy of a web UI."""
    ingress = ctx.platform.spec.ingress

    emit = ctx.spec_emitter(served.source, served.source_path, served.name).emit
    policy = access_policy(ctx, people, served.selector, served.port, served.prefix)
    emit("project/authorizationpolicy.yaml.j2", SECURITY, "AuthorizationPolicy", policy=policy)
    if isinstance(ingress.auth, JwtAuth):
        emit(
            "notebook/requestauthentication.yaml.j2", SECURITY, "RequestAuthentication",
            selector=served.selector, auth=ingress.auth,
        )  # fmt: skip
    gateway = ingress.gatewayWorkload
    emit(
        "notebook/networkpolicy.yaml.j2", "networking.k8s.io/v1", "NetworkPolicy",
        selector=served.selector, port=served.port,
        namespace_selector={NAMESPACE_NAME_LABEL: gateway.namespace},
        pod_selector=dict(gateway.labels),
    )  # fmt: skip


def render_access(
    ctx: TargetContext,
    notebook: Notebook,
    path: str,
    *,
    selector: dict[str, str],
    port: int,
    prefix: str,
) -> None:
    """Emit the notebook's gateway access objects and its owner's exec Role and RoleBinding."""
    name = notebook.name
    served = Served(
        name=name,
        source=f"Notebook.{name}",
        source_path=path,
        selector=selector,
        port=port,
        prefix=prefix,
    )
    render_gateway_access(ctx, served, allowed_people(ctx, notebook))
    exec_name = f"mofang-notebook-{name}"
    pod = f"{name}-0"  # a StatefulSet's one pod
    rules = [(group, resources, verbs, [pod]) for group, resources, verbs in EXEC_RULES]
    emit = ctx.spec_emitter(served.source, path, exec_name).emit
    emit("project/role.yaml.j2", RBAC, "Role", rules=rules)
    emit(
        "project/rolebinding.yaml.j2", RBAC, "RoleBinding",
        role_kind="Role", role=exec_name, users=[notebook.spec.owner],
    )  # fmt: skip
