"""Who reaches a notebook, and how: mesh policy, network policy, and ``kubectl exec`` rights.

A notebook runs code with its owner's home and the project volume mounted, so it answers only
its own people (README, Security model):

- Istio ``AuthorizationPolicy`` on the notebook's pod: requests must come from the ingress
  gateway's mesh identity (mTLS principal) *and* name an allowed person: the trusted header the
  auth proxy sets (``ingress.auth.mode: header``), or a JWT the pod's sidecar verified itself
  (``jwt``: a ``RequestAuthentication`` per notebook). Allowed: the owner, or every owner and
  member with ``access: project``. The namespace's allow-nothing policy denies everything else.
- ``NetworkPolicy``: only the gateway's pods may open a connection to the Jupyter port, so a pod
  outside the mesh (a training, another notebook, another namespace) cannot even connect.
- RBAC: exec, attach-free port-forward into the notebook's one pod (``<name>-0``), for its owner
  only; ``access: project`` shares the web UI, never a shell.

Jupyter itself keeps an empty token: these three layers are the authentication (docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mofang_gitops.models import Notebook
from mofang_gitops.models.platform import JwtAuth
from mofang_gitops.rendering.context import TargetContext

RBAC = "rbac.authorization.k8s.io/v1"
SECURITY = "security.istio.io/v1"
INJECT_LABEL = "sidecar.istio.io/inject"
"""Asks Istio for a sidecar on the notebook pod only: batch pods without one keep working."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
EXEC_RULES: list[tuple[str, list[str], list[str]]] = [
    ("", ["pods/exec", "pods/portforward"], ["create", "get"]),
]
"""``create`` is what exec and port-forward need; ``get`` too, for clients that open them as a
websocket GET on API servers that still authorize that verb."""


@dataclass(frozen=True)
class AccessPolicy:
    """The values of one notebook's ALLOW policy (``project/authorizationpolicy.yaml.j2``)."""

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
        return sorted(ctx.project.users())
    return [notebook.spec.owner]


def access_policy(
    ctx: TargetContext, notebook: Notebook, selector: dict[str, str], port: int, prefix: str
) -> AccessPolicy:
    """Gateway principal and the allowed people's identities, per the platform's auth mode."""
    ingress = ctx.platform.spec.ingress
    auth = ingress.auth
    identities = [f"{auth.prefix}{person}" for person in allowed_people(ctx, notebook)]
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


def render_access(
    ctx: TargetContext,
    notebook: Notebook,
    path: str,
    *,
    selector: dict[str, str],
    port: int,
    prefix: str,
) -> None:
    """Emit the notebook's AuthorizationPolicy (+ RequestAuthentication), NetworkPolicy and RBAC."""
    name = notebook.name
    ingress = ctx.platform.spec.ingress

    def emit(
        template: str, api_version: str, kind: str, obj_name: str = name, **values: Any
    ) -> None:
        ctx.emitter.emit(
            template,
            api_version=api_version,
            kind=kind,
            name=obj_name,
            namespace=ctx.namespace,
            source=f"Notebook.{name}",
            source_path=path,
            **values,
        )

    policy = access_policy(ctx, notebook, selector, port, prefix)
    emit("project/authorizationpolicy.yaml.j2", SECURITY, "AuthorizationPolicy", policy=policy)
    if isinstance(ingress.auth, JwtAuth):
        emit(
            "notebook/requestauthentication.yaml.j2", SECURITY, "RequestAuthentication",
            selector=selector, auth=ingress.auth,
        )  # fmt: skip
    gateway = ingress.gatewayWorkload
    emit(
        "notebook/networkpolicy.yaml.j2", "networking.k8s.io/v1", "NetworkPolicy",
        selector=selector, port=port,
        namespace_selector={NAMESPACE_NAME_LABEL: gateway.namespace},
        pod_selector=dict(gateway.labels),
    )  # fmt: skip
    exec_name = f"mofang-notebook-{name}"
    pod = f"{name}-0"  # a StatefulSet's one pod
    rules = [(group, resources, verbs, [pod]) for group, resources, verbs in EXEC_RULES]
    emit("project/role.yaml.j2", RBAC, "Role", exec_name, rules=rules)
    emit(
        "project/rolebinding.yaml.j2", RBAC, "RoleBinding", exec_name,
        role_kind="Role", role=exec_name, users=[notebook.spec.owner],
    )  # fmt: skip
