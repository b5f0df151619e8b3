"""Tenant attacks against the real API server: every one refused, with the reason visible.

Requests are sent as the project's people (``Impersonate-User``), so RBAC and Pod Security
admission judge them exactly as they would judge ``kubectl --as``. The tenant (the minimal
platform, carol's notebook added) was rendered by the tool and applied by the engine.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from .conftest import Tenant, notebook_pod

GATEWAY = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
SAR = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


def _pods(tenant: Tenant) -> str:
    return f"/api/v1/namespaces/{tenant.namespace}/pods"


def _pod(tenant: Tenant, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": tenant.namespace},
        "spec": spec,
    }


def _container(**extra: Any) -> dict[str, Any]:
    return {"name": "x", "image": "registry.example.com/busybox:1", **extra}


HOSTILE_SPECS = {
    "privileged": {"containers": [_container(securityContext={"privileged": True})]},
    "hostPath /": {
        "containers": [_container(volumeMounts=[{"name": "root", "mountPath": "/host"}])],
        "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
    },
    "hostNetwork": {"hostNetwork": True, "containers": [_container()]},
    "hostPID": {"hostPID": True, "containers": [_container()]},
}
"""What the security review did as a member with ``edit``: node root, then the Ceph key."""
PSA_REASON = {
    "privileged": "privileged",
    "hostPath /": 'uses restricted volume type "hostPath"',
    "hostNetwork": "host namespaces",
    "hostPID": "host namespaces",
}


def _can(
    tenant: Tenant, user: str, verb: str, resource: str, name: str = "", sub: str = ""
) -> bool:
    attributes = {"namespace": tenant.namespace, "verb": verb, "resource": resource}
    if name:
        attributes["name"] = name
    if sub:
        attributes["subresource"] = sub
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:authenticated"],
            "resourceAttributes": attributes,
        },
    }
    status, review = tenant.call(None, "POST", SAR, body)
    assert status == 201, review
    return bool(review["status"].get("allowed"))


# --- Pod Security -------------------------------------------------------------------------------


@pytest.mark.parametrize("attack", sorted(HOSTILE_SPECS))
def test_pod_security_refuses_host_access_in_a_tool_owned_namespace_even_for_admin(
    tenant: Tenant, attack: str
) -> None:
    # Whoever creates the pod (a member granted edit, an operator from a job spec, the admin):
    # the namespace's enforce label refuses it. This also proves the plugin runs on this plane.
    body = _pod(tenant, "hostile", HOSTILE_SPECS[attack])
    status, answer = tenant.call(None, "POST", _pods(tenant), body, dryRun="All")
    assert status == 403, answer
    assert 'violates PodSecurity "restricted:latest"' in answer["message"]
    assert PSA_REASON[attack] in answer["message"]


def test_a_member_cannot_create_any_pod(tenant: Tenant) -> None:
    for attack, spec in HOSTILE_SPECS.items():
        status, answer = tenant.call("bob", "POST", _pods(tenant), _pod(tenant, "h", spec))
        assert status == 403, (attack, answer)
        assert 'User "bob" cannot create resource "pods"' in answer["message"]


def test_a_member_granted_pod_creation_is_still_refused_host_access(tenant: Tenant) -> None:
    # Stands in for a platform granting `edit` (empty on this plane: no controller-manager
    # aggregates it): an explicit Role with create on pods, bound to a user of its own.
    ns = tenant.namespace
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "pods-create", "namespace": ns},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "pods-create", "namespace": ns},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods-create"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "granted"}],
    }
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"
    for path, body in ((f"{rbac}/roles", role), (f"{rbac}/rolebindings", binding)):
        status, answer = tenant.call(None, "POST", path, body)
        assert status == 201, answer
    for attack, spec in HOSTILE_SPECS.items():
        status, answer = tenant.call(
            "granted", "POST", _pods(tenant), _pod(tenant, "h", spec), dryRun="All"
        )
        assert status == 403, (attack, answer)
        assert "violates PodSecurity" in answer["message"], answer
    # What the tool renders passes the same check (the notebook pods were created for real).
    ours = notebook_pod(tenant.target, "bob-dev")
    ours["metadata"]["name"] = "copy-of-ours"
    status, answer = tenant.call("granted", "POST", _pods(tenant), ours, dryRun="All")
    assert status == 201, answer


def test_the_namespace_carries_the_platforms_pod_security_levels(tenant: Tenant) -> None:
    status, namespace = tenant.call(None, "GET", f"/api/v1/namespaces/{tenant.namespace}")
    assert status == 200
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"


# --- exec, port-forward, reading ----------------------------------------------------------------


@pytest.mark.parametrize("sub", ["exec", "portforward"])
def test_only_the_owner_can_exec_or_port_forward_into_a_notebook(tenant: Tenant, sub: str) -> None:
    query = (
        {"command": "sh", "container": "notebook", "stdout": "true"}
        if sub == "exec"
        else {"ports": "8888"}
    )
    for user, pod, allowed in [
        ("bob", "bob-dev-0", True),
        ("bob", "carol-nb-0", False),
        ("carol", "bob-dev-0", False),
        ("alice", "bob-dev-0", False),  # the project owner, too: no shell in bob's session
        ("dave", "bob-dev-0", False),  # not a member at all
    ]:
        status, answer = tenant.call(user, "POST", f"{_pods(tenant)}/{pod}/{sub}", **query)
        if allowed:
            # Authorized: the server then wants a protocol upgrade this client never offers.
            assert status != 403, (user, pod, answer)
        else:
            assert status == 403, (user, pod, answer)
            assert f'User "{user}" cannot create resource "pods/{sub}"' in answer["message"]
        assert _can(tenant, user, "create", "pods", pod, sub) is allowed


def test_members_read_pods_and_logs_but_never_secrets(tenant: Tenant) -> None:
    ns = tenant.namespace
    # The platform writes the project's Ceph key here; the pipeline executor's token is ours.
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ceph-vision", "namespace": ns},
        "stringData": {"userID": "mofang-vision", "userKey": "not-a-real-key"},
    }
    status, answer = tenant.call(None, "POST", f"/api/v1/namespaces/{ns}/secrets", secret)
    assert status == 201, answer
    for user in ("alice", "bob", "carol"):
        assert tenant.call(user, "GET", _pods(tenant))[0] == 200
        assert _can(tenant, user, "get", "pods", "bob-dev-0", "log")
        for path in (
            "secrets",
            "secrets/ceph-vision",
            "secrets/mofang-pipeline-executor.service-account-token",
        ):
            status, answer = tenant.call(user, "GET", f"/api/v1/namespaces/{ns}/{path}")
            assert status == 403, (user, path, answer)
            assert "cannot" in answer["message"] and 'resource "secrets"' in answer["message"]


def test_members_cannot_change_workloads_policies_or_rights_outside_git(tenant: Tenant) -> None:
    ns = tenant.namespace
    patch = {"metadata": {"labels": {"x": "y"}}}
    for path in (
        f"/apis/apps/v1/namespaces/{ns}/statefulsets/bob-dev",
        f"/apis/security.istio.io/v1/namespaces/{ns}/authorizationpolicies/mofang-default-deny",
        f"/apis/security.istio.io/v1/namespaces/{ns}/authorizationpolicies/carol-nb",
        f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies/bob-dev",
        f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings/mofang-member",
        f"/api/v1/namespaces/{ns}",
    ):
        status, answer = tenant.call("bob", "PATCH", path + "?fieldManager=x", patch)
        assert status == 403, (path, answer)
    assert (
        tenant.call("bob", "DELETE", f"/apis/apps/v1/namespaces/{ns}/statefulsets/carol-nb")[0]
        == 403
    )


def test_a_member_reads_nothing_in_namespaces_that_are_not_their_projects(tenant: Tenant) -> None:
    for namespace in ("default", "kube-system", "mofang-system"):
        status, answer = tenant.call("bob", "GET", f"/api/v1/namespaces/{namespace}/pods")
        assert status == 403, answer


# --- homes ------------------------------------------------------------------------------------


def test_a_member_cannot_mount_another_persons_home_by_hand(tenant: Tenant) -> None:
    ns = tenant.namespace
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "steal", "namespace": ns},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": "mofang-cephfs-static",
            "volumeName": f"{ns}-user-alice",
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    status, answer = tenant.call(
        "bob", "POST", f"/api/v1/namespaces/{ns}/persistentvolumeclaims", claim
    )
    assert status == 403, answer
    assert 'cannot create resource "persistentvolumeclaims"' in answer["message"]
    pod = notebook_pod(tenant.target, "bob-dev")
    pod["metadata"]["name"] = "steal"
    pod["spec"] = copy.deepcopy(pod["spec"])
    pod["spec"]["volumes"] = [
        {"name": "user", "persistentVolumeClaim": {"claimName": "user-alice"}}
    ]
    status, answer = tenant.call("bob", "POST", _pods(tenant), pod)
    assert status == 403, answer
    status, answer = tenant.call(
        "bob", "PATCH", f"/api/v1/persistentvolumes/{ns}-user-alice?fieldManager=x", {"spec": {}}
    )
    assert status == 403, answer


def test_each_home_volume_is_the_persons_own_directory_with_the_projects_ceph_key(
    tenant: Tenant,
) -> None:
    status, pv = tenant.call(None, "GET", f"/api/v1/persistentvolumes/{tenant.namespace}-user-bob")
    assert status == 200, pv
    csi = pv["spec"]["csi"]
    assert csi["volumeAttributes"]["rootPath"] == "/mofang/user/bob"
    assert csi["nodeStageSecretRef"] == {"name": "ceph-vision", "namespace": tenant.namespace}
    assert pv["spec"]["claimRef"]["namespace"] == tenant.namespace
    # carol mounts no home in vision: none was created for her.
    status, _ = tenant.call(None, "GET", f"/api/v1/persistentvolumes/{tenant.namespace}-user-carol")
    assert status == 404


# --- notebook reachability ----------------------------------------------------------------------


def test_live_authorization_policies_admit_only_the_gateway_carrying_the_owner(
    tenant: Tenant,
) -> None:
    base = f"/apis/security.istio.io/v1/namespaces/{tenant.namespace}/authorizationpolicies"
    status, deny = tenant.call(None, "GET", f"{base}/mofang-default-deny")
    assert status == 200 and deny["spec"] == {}
    for notebook, owner in (("bob-dev", "bob"), ("carol-nb", "carol")):
        status, policy = tenant.call(None, "GET", f"{base}/{notebook}")
        assert status == 200, policy
        spec = policy["spec"]
        assert spec["action"] == "ALLOW"
        assert spec["selector"] == {"matchLabels": {"mofang.io/notebook": notebook}}
        (rule,) = spec["rules"]
        assert rule["from"] == [{"source": {"principals": [GATEWAY]}}]
        assert rule["when"] == [{"key": "request.headers[kubeflow-userid]", "values": [owner]}]


def test_live_network_policy_admits_only_gateway_pods_to_the_jupyter_port(tenant: Tenant) -> None:
    path = f"/apis/networking.k8s.io/v1/namespaces/{tenant.namespace}/networkpolicies/bob-dev"
    status, policy = tenant.call(None, "GET", path)
    assert status == 200, policy
    (rule,) = policy["spec"]["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 8888}]
    (peer,) = rule["from"]
    assert peer["podSelector"] == {"matchLabels": {"istio": "ingressgateway"}}
    assert peer["namespaceSelector"] == {
        "matchLabels": {"kubernetes.io/metadata.name": "istio-system"}
    }
