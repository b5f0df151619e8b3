"""controller/: the manifests pass the real API server, and the RBAC is enough and no more.

Every manifest is server-side dry-run with kubectl (strict field validation, warnings are errors,
PodSecurity `restricted` on mofang-system). The ClusterRole is checked by the real RBAC authorizer
(SubjectAccessReviews) for every kind the repository's example platform renders, and the example
itself is applied as the controller's ServiceAccount (server-side dry run), which exercises the
escalation checks on Roles and RoleBindings that no review can.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from mofang_gitops.cli import build_parser
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo
from tests.scenarios import build_repo, validate_dir

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "controller" / "manifests"
NAMESPACE_FILE = MANIFESTS / "00-namespace.yaml"
ACCOUNT = "system:serviceaccount:mofang-system:mofang-gitops-controller"
ENGINE_VERBS = ("get", "list", "create", "patch", "delete")
SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


@pytest.fixture
def kubectl(control_plane, binaries):
    base = [str(binaries / "kubectl"), "--kubeconfig", str(control_plane.kubeconfig)]

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [*base, "--warnings-as-errors", *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        if check:
            assert done.returncode == 0 and not done.stderr.strip(), (args, done.stderr)
        return done

    return run


@pytest.fixture
def admin(control_plane):
    cluster = Cluster("admin", control_plane.kubeconfig, control_plane.name)
    yield cluster
    cluster.close()


def apply(kubectl, path: Path, *extra: str) -> None:
    kubectl("apply", "--server-side", "--field-manager=kubectl", "--force-conflicts", *extra,
            "-f", str(path))  # fmt: skip


def install_controller_rbac(kubectl) -> None:
    """Namespace, ServiceAccount and RBAC for real (the authorizer needs them to exist)."""
    for name in ("00-namespace", "10-serviceaccount", "20-clusterrole", "21-clusterrolebinding",
                 "22-role-leader-election"):  # fmt: skip
        apply(kubectl, MANIFESTS / f"{name}.yaml")


def allowed(admin, verb, group, resource, namespace="", name="") -> bool:
    attributes = {"verb": verb, "group": group, "resource": resource}
    if namespace:
        attributes["namespace"] = namespace
    if name:
        attributes["name"] = name
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": ACCOUNT,
            "groups": ["system:serviceaccounts", "system:serviceaccounts:mofang-system",
                       "system:authenticated"],
            "resourceAttributes": attributes,
        },
    }  # fmt: skip
    _, review = admin.request("POST", SAR, subject="SubjectAccessReview", verb="create", body=body)
    return bool(review.get("status", {}).get("allowed"))


def example_targets(tmp_path: Path, prefix: str):
    """The repository's example platform, namespaces prefixed so the test owns them."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(ROOT / "platform.yaml", repo / "platform.yaml")
    for folder in ("environments", "components", "people", "projects"):
        if (ROOT / folder).is_dir():  # components/ and people/ are optional
            shutil.copytree(ROOT / folder, repo / folder)
    for env in (repo / "environments").glob("*.yaml"):
        env.write_text(
            env.read_text().replace('namespace: "{project}', f'namespace: "{prefix}-{{project}}')
        )
    validation = validate_repo(load_repo(DirectoryTree(repo)))
    assert not validation.errors, validation.errors[:3]
    targets = render_repo(validation)
    assert targets
    return targets


def test_manifests_are_what_the_brief_asks_for():
    docs = [d for f in sorted(MANIFESTS.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    kinds = {d["kind"]: d for d in docs}
    assert {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role",
            "RoleBinding", "Deployment", "Service"} <= set(kinds)  # fmt: skip
    assert kinds["Namespace"]["metadata"]["name"] == "mofang-system"
    deployment = kinds["Deployment"]["spec"]
    pod = deployment["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["replicas"] == 2 and "--leader-election" in container["args"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] and security["allowPrivilegeEscalation"] is False
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["webhook-secret"]["secret"]["secretName"]
    assert "emptyDir" in volumes["cache"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert f"--cache-dir={mounts['cache']}" in container["args"]
    assert f"--webhook-secret-file={mounts['webhook-secret']}/secret" in container["args"]
    ports = {p["name"]: p["targetPort"] for p in kinds["Service"]["spec"]["ports"]}
    assert ports == {"webhook": "http", "metrics": "metrics"}
    assert container["livenessProbe"]["httpGet"]["port"] == "metrics"  # not the public port
    assert container["readinessProbe"]["httpGet"]["port"] == "metrics"
    args = build_parser().parse_args(["controller", *container["args"]])  # real flags only
    assert args.webhook_provider == "github" and args.metrics_listen == "0.0.0.0:9090"
    by_name = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert args.listen.endswith(f":{by_name['http']}")
    assert args.metrics_listen.endswith(f":{by_name['metrics']}")
    rules = kinds["ClusterRole"]["rules"]
    assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in rules)
    assert not any("update" in r["verbs"] for r in rules)
    assert all(r.get("resourceNames") for r in rules if "escalate" in r["verbs"])


def test_dockerfile_builds_the_package_as_a_non_root_controller():
    text = (ROOT / "controller" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text and "pip install" in text
    assert 'ENTRYPOINT ["mofang-gitops", "controller"]' in text
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and not users[-1].startswith(("root", "0"))
    ignore = (ROOT / "controller" / "Dockerfile.dockerignore").read_text().splitlines()
    assert "*" in ignore and "!mofang_gitops" in ignore and "!pyproject.toml" in ignore


def test_every_manifest_passes_a_server_side_dry_run(kubectl):
    apply(kubectl, NAMESPACE_FILE)
    files = sorted(MANIFESTS.glob("*.yaml"))
    assert len(files) >= 8
    for path in files:
        if path != NAMESPACE_FILE:
            apply(kubectl, path, "--dry-run=server")


def test_cluster_role_grants_every_kind_the_example_renders(kubectl, admin, tmp_path):
    install_controller_rbac(kubectl)
    targets = example_targets(tmp_path, "rbac")
    namespace = next(t.namespace for t in targets)
    kinds = {(m.api_version, m.ref.kind) for t in targets for m in t.manifests}
    missing = []
    for api_version, kind in sorted(kinds - {("v1", "Secret")}):
        info = admin.resource(api_version, kind)
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
        where = namespace if info.namespaced else ""
        for verb in ENGINE_VERBS:
            if not allowed(admin, verb, group, info.plural, where):
                missing.append(f"{verb} {info.plural}.{group}")
        if info.namespaced and not allowed(admin, "list", group, info.plural):
            missing.append(f"cluster-wide list {info.plural}.{group}")  # one LIST per kind
    # Secrets are held by name only and read with a GET each (engine/livestate.read_by_name).
    for secret in {m.ref.name for t in targets for m in t.manifests if m.ref.kind == "Secret"}:
        for verb in ("get", "create", "patch", "delete"):
            if not allowed(admin, verb, "", "secrets", namespace, secret):
                missing.append(f"{verb} secrets/{secret}")
    assert not missing, missing
    for verb in ("create", "patch"):
        assert allowed(admin, verb, "", "events", namespace)
    for verb in ("get", "update"):
        assert allowed(admin, verb, "coordination.k8s.io", "leases", "mofang-system",
                       "mofang-gitops-controller")  # fmt: skip
    assert allowed(admin, "create", "coordination.k8s.io", "leases", "mofang-system")


def test_cluster_role_grants_nothing_more(kubectl, admin):
    install_controller_rbac(kubectl)
    assert not allowed(
        admin, "bind", "rbac.authorization.k8s.io", "clusterroles", name="cluster-admin"
    )
    # The render binds no ClusterRole unless the platform allows one (policies.access).
    assert not allowed(admin, "bind", "rbac.authorization.k8s.io", "clusterroles", name="edit")
    assert not allowed(admin, "escalate", "rbac.authorization.k8s.io", "clusterroles", name="admin")
    assert not allowed(admin, "escalate", "rbac.authorization.k8s.io", "roles", "p", "other-role")
    assert not allowed(admin, "update", "rbac.authorization.k8s.io", "clusterroles", name="admin")
    assert not allowed(admin, "create", "rbac.authorization.k8s.io", "clusterrolebindings")
    assert not allowed(admin, "create", "", "pods", "default")
    assert not allowed(admin, "delete", "", "nodes")
    assert not allowed(admin, "update", "coordination.k8s.io", "leases", "kube-system", "x")
    assert not allowed(admin, "update", "coordination.k8s.io", "leases", "mofang-system", "other")
    assert not allowed(admin, "update", "apps", "statefulsets", "default")  # apply is a PATCH


def test_the_controller_account_may_apply_the_whole_example(kubectl, tmp_path, unique_name):
    install_controller_rbac(kubectl)
    targets = example_targets(tmp_path, unique_name)
    manifests = [m for t in targets for m in t.manifests]
    namespaces = tmp_path / "namespaces.yaml"
    namespaces.write_text("---\n".join(m.text for m in manifests if m.ref.kind == "Namespace"))
    apply(kubectl, namespaces)  # for real, as admin: namespaced dry runs need them
    # Roles for real, as the controller (its own escalation check: it must hold what they
    # grant); the engine applies them a stage before the RoleBindings that name them.
    roles = tmp_path / "roles.yaml"
    roles.write_text("---\n".join(m.text for m in manifests if m.ref.kind == "Role"))
    kubectl("apply", "--server-side", "--field-manager=mofang-gitops", f"--as={ACCOUNT}",
            "-f", str(roles))  # fmt: skip
    others = tmp_path / "objects.yaml"
    others.write_text("---\n".join(m.text for m in manifests if m.ref.kind != "Namespace"))
    kubectl("apply", "--server-side", "--field-manager=mofang-gitops", "--dry-run=server",
            f"--as={ACCOUNT}", "-f", str(others))  # fmt: skip
    kubectl("apply", "--server-side", "--field-manager=mofang-gitops", "--dry-run=server",
            f"--as={ACCOUNT}", "-f", str(namespaces))  # fmt: skip


def _rules(kind: str) -> list[dict]:
    docs = [d for f in sorted(MANIFESTS.glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    (role,) = [d for d in docs if d["kind"] == kind and "controller" in d["metadata"]["name"]]
    return role["rules"]


HEALTH_READS = {("", "pods", "list"), ("", "events", "list")}
"""What health reads beside the rendered kinds (mofang_gitops/health/reading.py)."""


def test_cluster_role_holds_nothing_the_render_does_not_need(admin, tmp_path):
    """Every grant is justified by the render: a kind it applies (engine verbs), a rule of a Role
    it renders (RBAC lets us grant only what we hold), Events, or a name it binds or writes."""
    # The example, plus one training of every framework (kinds the example does not use).
    scenario = validate_dir(build_repo(tmp_path / "trainings", "render-trainings"))
    # And a platform in jwt mode (RequestAuthentication per notebook; the example uses a header).
    jwt = validate_dir(build_repo(tmp_path / "jwt", "render-jwt"))
    targets = [*example_targets(tmp_path, "narrow"), *render_repo(scenario), *render_repo(jwt)]
    manifests = [m for t in targets for m in t.manifests]
    applied = set()
    for m in manifests:
        info = admin.resource(m.api_version, m.ref.kind)
        applied.add((m.ref.group, info.plural))
    granted_by_roles = {
        (group, resource, verb)
        for m in manifests if m.ref.kind == "Role"
        for rule in m.body["rules"]
        for group in rule["apiGroups"] for resource in rule["resources"] for verb in rule["verbs"]
    }  # fmt: skip
    bound = {
        (m.body["roleRef"]["kind"], m.body["roleRef"]["name"])
        for m in manifests if m.ref.kind in ("RoleBinding", "ClusterRoleBinding")
    }  # fmt: skip
    secrets = {m.ref.name for m in manifests if m.ref.kind == "Secret"}
    rendered_roles = {m.ref.name for m in manifests if m.ref.kind == "Role"}
    unjustified = []
    for rule in _rules("ClusterRole"):
        names = rule.get("resourceNames")
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    grant = (group, resource, verb)
                    if names is not None:
                        if resource == "secrets":
                            ok = set(names) <= secrets and verb in ENGINE_VERBS
                        elif verb == "bind":
                            kind = "ClusterRole" if resource == "clusterroles" else "Role"
                            ok = {(kind, n) for n in names} <= bound
                        elif verb == "escalate":
                            ok = resource == "roles" and set(names) <= rendered_roles
                        else:
                            ok = False
                    else:
                        ok = (
                            ((group, resource) in applied and verb in ENGINE_VERBS)
                            or grant in granted_by_roles
                            or (resource == "events" and verb in ("create", "patch"))
                            or (group, resource, verb) in HEALTH_READS
                        )
                    if not ok:
                        unjustified.append(f"{verb} {resource}.{group} {names or ''}")
    assert not unjustified, unjustified
    for rule in _rules("ClusterRole"):
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
        assert "escalate" not in rule["verbs"] or rule["resources"] == ["roles"]
        assert "cluster-admin" not in rule.get("resourceNames", [])
        assert "secrets" not in rule["resources"] or rule.get("resourceNames")


def test_no_secret_is_readable_or_writable_beyond_the_one_the_render_writes(kubectl, admin):
    install_controller_rbac(kubectl)
    token = "mofang-pipeline-executor.service-account-token"
    for verb in ("get", "list", "watch", "create", "patch", "delete"):
        assert not allowed(admin, verb, "", "secrets", "kube-system", "ceph-secret"), verb
        assert not allowed(admin, verb, "", "secrets"), verb  # cluster-wide
    for verb in ("get", "create", "patch", "delete"):
        assert allowed(admin, verb, "", "secrets", "some-project", token), verb
    assert not allowed(admin, "list", "", "secrets", "some-project")
