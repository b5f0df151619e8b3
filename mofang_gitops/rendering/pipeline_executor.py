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
    project = ctx.project.name
    path = f"projects/{project}/project.yaml"
    emit = ctx.spec_emitter(f"Project.{project}", path, EXECUTOR_ACCOUNT).emit
    emit("pipeline/executor-serviceaccount.yaml.j2", "v1", "ServiceAccount")
    emit("pipeline/executor-token.yaml.j2", "v1", "Secret", name=token, annotations=annotations)
    emit("pipeline/executor-role.yaml.j2", RBAC, "Role", rules=EXECUTOR_RULES)
    emit(
        "pipeline/executor-rolebinding.yaml.j2", RBAC, "RoleBinding",
        role=EXECUTOR_ACCOUNT, account=EXECUTOR_ACCOUNT,
    )  # fmt: skip
