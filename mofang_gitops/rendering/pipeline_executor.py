"""The identity Argo's executor uses in a namespace with pipelines.

Pipeline pods run as the project ServiceAccount, which mounts no API token: a step's own code
gets no cluster rights. Argo's executor (the init and wait containers, and resource steps) still
must report results, read upstream runs and create training runs. With
``automountServiceAccountToken: false`` Argo mounts the token of ``executor.serviceAccountName``
into its own containers only, reading it from the Secret ``<account>.service-account-token``
(Kubernetes no longer creates such Secrets by itself). The Role grants exactly what the executor
does.
"""

from __future__ import annotations

from typing import Any

from mofang_gitops.rendering.context import TargetContext

EXECUTOR_ACCOUNT = "mofang-pipeline-executor"
RBAC = "rbac.authorization.k8s.io/v1"
_RUN_VERBS = ["create", "get", "list", "watch"]
EXECUTOR_RULES = [
    ("argoproj.io", ["workflowtaskresults"], ["create", "patch"]),
    ("argoproj.io", ["workflows"], ["get", "list", "watch"]),
    (
        "kubeflow.org",
        ["experiments", "mpijobs", "pytorchjobs", "tfjobs", "xgboostjobs"],
        _RUN_VERBS,
    ),
    ("ray.io", ["rayjobs"], _RUN_VERBS),
    ("batch.volcano.sh", ["jobs"], _RUN_VERBS),
    ("sparkoperator.k8s.io", ["sparkapplications"], _RUN_VERBS),
]
"""Report step results, read upstream runs, create and watch the training runs of steps."""


def render_executor(ctx: TargetContext) -> None:
    """ServiceAccount, token Secret, Role and RoleBinding of the executor (project-wide)."""
    token = f"{EXECUTOR_ACCOUNT}.service-account-token"
    annotations = {"kubernetes.io/service-account.name": EXECUTOR_ACCOUNT}
    _emit(ctx, "serviceaccount", "v1", "ServiceAccount")
    _emit(ctx, "token", "v1", "Secret", name=token, annotations=annotations)
    _emit(ctx, "role", RBAC, "Role", rules=EXECUTOR_RULES)
    _emit(ctx, "rolebinding", RBAC, "RoleBinding", role=EXECUTOR_ACCOUNT, account=EXECUTOR_ACCOUNT)


def _emit(
    ctx: TargetContext,
    template: str,
    api_version: str,
    kind: str,
    name: str = EXECUTOR_ACCOUNT,
    annotations: dict[str, str] | None = None,
    **values: Any,
) -> None:
    ctx.emitter.emit(
        f"pipeline/executor-{template}.yaml.j2",
        api_version=api_version,
        kind=kind,
        name=name,
        namespace=ctx.namespace,
        source=f"Project.{ctx.project.name}",
        source_path=f"projects/{ctx.project.name}/project.yaml",
        annotations=annotations,
        **values,
    )
