"""controller/manifests/25-admission-policy.yaml on a real API server (issue 12, item 7).

RBAC grants the controller its kinds cluster-wide; the ValidatingAdmissionPolicy keeps its writes
(and every person's) inside namespaces labelled as managed by mofang-gitops, and keeps it from
deleting a namespace the tool did not create. Each rule is exercised by impersonating the
controller's ServiceAccount (and a person) with kubectl ``--as``: RBAC allows the request, so a
refusal with the policy's name is the policy's doing; the same request in a managed namespace
passes. Cluster admins are not bound by it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mofang_gitops.devtools.controlplane import write_kubeconfig
from mofang_gitops.engine import Action, ApplyOptions, ResourceManager
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import ANNOTATION_CREATED_BY, LABEL_MANAGED_BY, MANAGER
from tests.engine.builders import FAST_RETRY, labels, project_bodies, target

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "controller" / "manifests"
POLICY_FILE = MANIFESTS / "25-admission-policy.yaml"
CONTROLLER = "system:serviceaccount:mofang-system:mofang-gitops-controller"
PERSON = "mallory"
POLICIES = ("mofang-gitops-managed-namespaces-only", "mofang-gitops-namespace-ownership")


class Kubectl:
    """kubectl against the test control plane, as admin or as someone impersonated."""

    def __init__(self, binary: Path, kubeconfig: Path) -> None:
        self.base = [str(binary), "--kubeconfig", str(kubeconfig)]

    def __call__(self, *args: str, stdin: str = "", as_user: str = "") -> tuple[int, str]:
        argv = [*self.base, *args]
        if as_user:
            argv.append(f"--as={as_user}")
        done = subprocess.run(
            argv, input=stdin, capture_output=True, text=True, timeout=120, check=False
        )
        return done.returncode, done.stdout + done.stderr

    def ok(self, *args: str, stdin: str = "") -> str:
        code, out = self(*args, stdin=stdin)
        assert code == 0, (args, out)
        return out


@pytest.fixture
def kubectl(control_plane, binaries) -> Kubectl:
    return Kubectl(binaries / "kubectl", control_plane.kubeconfig)


@pytest.fixture
def policy(kubectl: Kubectl) -> Iterator[None]:
    """The controller's account, RBAC and admission policy installed; the policy removed after.

    Removed so the rest of the session's tests (which write in unlabelled test namespaces as
    a plain user) run without it.
    """
    for name in ("00-namespace", "10-serviceaccount", "20-clusterrole", "21-clusterrolebinding",
                 "22-role-leader-election", "25-admission-policy"):  # fmt: skip
        kubectl.ok(
            "apply", "--server-side", "--force-conflicts", "-f", str(MANIFESTS / f"{name}.yaml")
        )
    try:
        yield
    finally:
        for name in POLICIES:
            kubectl("delete", "validatingadmissionpolicybinding", name, "--ignore-not-found")
            kubectl("delete", "validatingadmissionpolicy", name, "--ignore-not-found")


def _namespace(kubectl: Kubectl, name: str, *, managed: bool, marked: bool = False) -> str:
    meta: dict[str, object] = {"name": name}
    if managed:
        meta["labels"] = {LABEL_MANAGED_BY: MANAGER}
    if marked:
        meta["annotations"] = {ANNOTATION_CREATED_BY: MANAGER}
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}
    kubectl.ok("apply", "--server-side", "-f", "-", stdin=json.dumps(body))
    return name


def _configmap(namespace: str, name: str = "probe") -> str:
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace}, "data": {"k": "v"}}  # fmt: skip
    return json.dumps(body)


def _write_configmap(
    kubectl: Kubectl, namespace: str, as_user: str, *, dry_run: bool = False
) -> tuple[int, str]:
    extra = ["--dry-run=server"] if dry_run else []
    return kubectl("apply", "--server-side", "--field-manager=mofang-gitops", *extra, "-f", "-",
                   stdin=_configmap(namespace), as_user=as_user)  # fmt: skip


def _wait_enforced(kubectl: Kubectl, namespace: str) -> None:
    """Policies take effect a moment after they are stored: wait until each of them refuses.

    Both are probed: on a loaded machine the second policy can lag the first by seconds, and a
    test that waited for one only saw the other let a request through.
    """
    label = f"{LABEL_MANAGED_BY}={MANAGER}"
    probes: dict[str, tuple[Callable[[], tuple[int, str]], str]] = {
        # A dry run: a probe sent before the policy took effect must leave no object behind
        # (it did, and a later write of the same name was then refused as an update).
        POLICIES[0]: (
            lambda: _write_configmap(kubectl, namespace, CONTROLLER, dry_run=True),
            POLICIES[0],
        ),
        POLICIES[1]: (
            lambda: kubectl(
                "label", "namespace", namespace, label, "--dry-run=server", as_user=CONTROLLER
            ),  # fmt: skip
            "cannot become managed by mofang-gitops",
        ),
    }
    deadline = time.monotonic() + 60
    waiting = dict(probes)
    out = ""
    while waiting and time.monotonic() < deadline:
        for name, (probe, refusal) in list(waiting.items()):
            code, out = probe()
            if code != 0 and refusal in out:
                del waiting[name]
        if waiting:
            time.sleep(0.5)
    if waiting:
        pytest.fail(f"admission policies never enforced: {sorted(waiting)}: {out}")


def _wait_granted(
    kubectl: Kubectl, user: str, verb: str, resource: str, namespace: str = ""
) -> None:
    """RBAC grants reach the authorizer through an informer: wait until it says yes.

    Without this a person's request right after the RoleBinding is created may be refused by RBAC
    rather than by the policy under test (the order-dependent failure of the full-suite run).
    """
    scope = ["-n", namespace] if namespace else []
    deadline = time.monotonic() + 60
    answer = ""
    while time.monotonic() < deadline:
        code, answer = kubectl("auth", "can-i", verb, resource, *scope, as_user=user)
        if code == 0:  # "yes"; kubectl may add warnings to the output
            return
        time.sleep(0.3)
    pytest.fail(f"RBAC never granted {user} {verb} {resource} {namespace}: {answer}")


def test_the_controller_may_not_write_outside_managed_namespaces(
    kubectl: Kubectl, policy: None, unique_name: str
) -> None:
    outside = _namespace(kubectl, unique_name + "-out", managed=False)
    inside = _namespace(kubectl, unique_name + "-in", managed=True)
    _wait_enforced(kubectl, outside)
    code, out = _write_configmap(kubectl, outside, CONTROLLER)
    assert code != 0
    assert f"namespace {outside} is not managed by mofang-gitops" in out
    assert CONTROLLER in out and POLICIES[0] in out
    assert _write_configmap(kubectl, inside, CONTROLLER)[0] == 0
    assert _write_configmap(kubectl, "mofang-system", CONTROLLER)[0] == 0  # its inventories
    code, out = _write_configmap(kubectl, "kube-system", CONTROLLER)
    assert code != 0 and POLICIES[0] in out
    # RBAC would allow all of it: the refusals above are the policy's.
    assert kubectl("auth", "can-i", "create", "configmaps", "-n", outside,
                   as_user=CONTROLLER)[1].strip() == "yes"  # fmt: skip
    # Cluster admins are not bound by it.
    assert _write_configmap(kubectl, outside, "")[0] == 0


def test_the_controller_may_delete_only_namespaces_it_created(
    kubectl: Kubectl, policy: None, unique_name: str
) -> None:
    _wait_enforced(kubectl, _namespace(kubectl, unique_name + "-w", managed=False))
    foreign = _namespace(kubectl, unique_name + "-f", managed=True)
    ours = _namespace(kubectl, unique_name + "-o", managed=True, marked=True)
    code, out = kubectl("delete", "namespace", foreign, "--dry-run=server", as_user=CONTROLLER)
    assert code != 0 and f"namespace {foreign} was not created by mofang-gitops" in out
    code, out = kubectl("delete", "namespace", ours, "--dry-run=server", as_user=CONTROLLER)
    assert code == 0, out


def test_nobody_but_admins_can_turn_an_existing_namespace_into_a_managed_one(
    kubectl: Kubectl, policy: None, unique_name: str
) -> None:
    plain = _namespace(kubectl, unique_name, managed=False)
    _wait_enforced(kubectl, plain)
    label = f"{LABEL_MANAGED_BY}={MANAGER}"
    code, out = kubectl("label", "namespace", plain, label, "--dry-run=server", as_user=CONTROLLER)
    assert code != 0 and "cannot become managed by mofang-gitops" in out
    code, out = kubectl("annotate", "namespace", plain, f"{ANNOTATION_CREATED_BY}={MANAGER}",
                        "--dry-run=server", as_user=CONTROLLER)  # fmt: skip
    assert code != 0 and "cannot become managed by mofang-gitops" in out


def test_people_are_kept_inside_managed_namespaces_too(
    kubectl: Kubectl, policy: None, unique_name: str
) -> None:
    outside = _namespace(kubectl, unique_name + "-out", managed=False)
    inside = _namespace(kubectl, unique_name + "-in", managed=True)
    _wait_enforced(kubectl, outside)
    for namespace in (outside, inside):  # RBAC lets the person write ConfigMaps in both
        kubectl.ok("create", "role", "cm-writer", "-n", namespace, "--verb=create,patch,get",
                   "--resource=configmaps")  # fmt: skip
        kubectl.ok("create", "rolebinding", "cm-writer", "-n", namespace, "--role=cm-writer",
                   f"--user={PERSON}")  # fmt: skip
        for verb in ("create", "patch"):
            _wait_granted(kubectl, PERSON, verb, "configmaps", namespace)
    code, out = _write_configmap(kubectl, outside, PERSON)
    assert code != 0 and f"{PERSON} may not create configmaps there" in out
    assert _write_configmap(kubectl, inside, PERSON)[0] == 0
    fake = {"name": unique_name + "-fake", "labels": {LABEL_MANAGED_BY: MANAGER}}
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": fake}
    role = f"{unique_name}-ns"
    kubectl.ok("create", "clusterrole", role, "--verb=create", "--resource=namespaces")
    kubectl.ok("create", "clusterrolebinding", role, f"--clusterrole={role}", f"--user={PERSON}")
    _wait_granted(kubectl, PERSON, "create", "namespaces")
    code, out = kubectl("create", "--dry-run=server", "-f", "-", stdin=json.dumps(body),
                        as_user=PERSON)  # fmt: skip
    assert code != 0 and "only the mofang-gitops controller creates" in out


@pytest.fixture
def as_controller(control_plane, policy: None, tmp_path: Path) -> Iterator[Cluster]:
    """The engine's cluster adapter with a token of the controller's own ServiceAccount."""
    admin = Cluster("admin", control_plane.kubeconfig, control_plane.name)
    path = "/api/v1/namespaces/mofang-system/serviceaccounts/mofang-gitops-controller/token"
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600}}  # fmt: skip
    _, answer = admin.request("POST", path, subject="token", verb="create", body=body)
    admin.close()
    kubeconfig = write_kubeconfig(
        tmp_path / "controller.kubeconfig", [("test-a", control_plane)], answer["status"]["token"]
    )
    cluster = Cluster("test-a", kubeconfig, "test-a", retry=FAST_RETRY)
    yield cluster
    cluster.close()


def test_the_engine_runs_a_project_with_only_the_controllers_rights(
    kubectl: Kubectl, as_controller: Cluster, unique_name: str
) -> None:
    _wait_enforced(kubectl, _namespace(kubectl, unique_name + "-w", managed=False))
    token = {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
        "metadata": {
            "name": "mofang-pipeline-executor.service-account-token", "namespace": unique_name,
            "labels": labels(unique_name),
            "annotations": {"kubernetes.io/service-account.name": "mofang-pipeline-executor"},
        },
    }  # fmt: skip
    bodies = [*project_bodies(unique_name, notebooks=["a"]), token]
    manager = ResourceManager({"test-a": as_controller})
    applied = manager.apply([target(unique_name, bodies)])
    assert not applied.with_action(Action.FAILED), applied.with_action(Action.FAILED)
    assert {e.ref.kind for e in applied.with_action(Action.CREATED)} >= {"Namespace", "Secret"}
    # Secrets cannot be listed by this account: the next run reads the token Secret by name.
    again = manager.plan([target(unique_name, bodies)])
    assert not again.changes and not again.with_action(Action.FAILED)
    removed = ApplyOptions(
        prune=True, removed_projects=frozenset({unique_name}), allow_namespace_deletion=True
    )
    gone = manager.apply([target(unique_name, [])], removed)
    assert ("Namespace", Action.DELETED) in [(e.ref.kind, e.action) for e in gone.entries]
    assert not gone.with_action(Action.FAILED)
