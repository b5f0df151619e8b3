"""A notebook answers only its people: mesh policy, network policy, exec RBAC, restricted pods."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mofang_gitops.manifests import Manifest
from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir

GATEWAY = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"
JWT_AUTH = (
    "    auth: {mode: jwt, issuer: https://login.example.com, "
    "jwksUri: https://login.example.com/keys, claim: email, prefix: 'u:'}\n"
)


def _objects(tmp_path: Path, access: str = "", platform_extra: str = "") -> list[Manifest]:
    root = build_repo(tmp_path)
    if access:
        notebook = root / "projects/vision/notebooks/bob-dev.yaml"
        notebook.write_text(notebook.read_text() + f"  access: {access}\n")
    if platform_extra:
        platform = root / "platform.yaml"
        text = platform.read_text()
        assert "  ingress: {gateway: istio-system/mofang-gateway, host: ml.example.com}\n" in text
        platform.write_text(
            text.replace(
                "  ingress: {gateway: istio-system/mofang-gateway, host: ml.example.com}\n",
                "  ingress:\n    gateway: istio-system/mofang-gateway\n    host: ml.example.com\n"
                + platform_extra,
            )
        )
    validation = validate_dir(root)
    assert validation.errors == [], validation.errors
    return [m for t in render_repo(validation) for m in t.manifests]


def _one(manifests: list[Manifest], kind: str, name: str = "bob-dev") -> dict[str, Any]:
    (body,) = [m.body for m in manifests if m.ref.kind == kind and m.ref.name == name]
    return body


def test_authorization_policy_admits_only_the_gateway_carrying_the_owners_identity(
    tmp_path: Path,
) -> None:
    policy = _one(_objects(tmp_path), "AuthorizationPolicy")["spec"]
    assert policy["selector"] == {"matchLabels": {"mofang.io/notebook": "bob-dev"}}
    assert policy["action"] == "ALLOW"
    (rule,) = policy["rules"]
    assert rule["from"] == [{"source": {"principals": [GATEWAY]}}]
    assert rule["to"] == [
        {"operation": {"ports": ["8888"], "paths": ["/notebook/vision/bob-dev/*"]}}
    ]
    assert rule["when"] == [{"key": "request.headers[kubeflow-userid]", "values": ["bob"]}]


def test_project_access_admits_every_owner_and_member_but_exec_stays_the_owners(
    tmp_path: Path,
) -> None:
    objects = _objects(tmp_path, access="project")
    (rule,) = _one(objects, "AuthorizationPolicy")["spec"]["rules"]
    assert rule["when"][0]["values"] == ["alice", "bob", "carol"]
    binding = _one(objects, "RoleBinding", "mofang-notebook-bob-dev")
    assert [s["name"] for s in binding["subjects"]] == ["bob"]


def test_jwt_mode_verifies_the_token_at_the_notebook_and_matches_the_claim(
    tmp_path: Path,
) -> None:
    objects = _objects(tmp_path, platform_extra=JWT_AUTH)
    (rule,) = _one(objects, "AuthorizationPolicy")["spec"]["rules"]
    assert rule["from"] == [
        {"source": {"principals": [GATEWAY], "requestPrincipals": ["https://login.example.com/*"]}}
    ]
    assert rule["when"] == [{"key": "request.auth.claims[email]", "values": ["u:bob"]}]
    authn = _one(objects, "RequestAuthentication")["spec"]
    assert authn["selector"] == {"matchLabels": {"mofang.io/notebook": "bob-dev"}}
    assert authn["jwtRules"] == [
        {
            "issuer": "https://login.example.com",
            "jwksUri": "https://login.example.com/keys",
            "forwardOriginalToken": False,
        }
    ]


def test_header_mode_renders_no_request_authentication(tmp_path: Path) -> None:
    assert not [m for m in _objects(tmp_path) if m.ref.kind == "RequestAuthentication"]


def test_the_namespace_denies_every_mesh_request_no_policy_allows(tmp_path: Path) -> None:
    objects = _objects(tmp_path)
    assert _one(objects, "AuthorizationPolicy", "mofang-default-deny")["spec"] == {}


def test_network_policy_admits_only_the_gateway_pods_on_the_jupyter_port(tmp_path: Path) -> None:
    spec = _one(_objects(tmp_path), "NetworkPolicy")["spec"]
    assert spec["podSelector"] == {"matchLabels": {"mofang.io/notebook": "bob-dev"}}
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "istio-system"}
                    },
                    "podSelector": {"matchLabels": {"istio": "ingressgateway"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 8888}],
        }
    ]


def test_exec_and_port_forward_are_granted_on_the_notebooks_one_pod_only(tmp_path: Path) -> None:
    objects = _objects(tmp_path)
    role = _one(objects, "Role", "mofang-notebook-bob-dev")
    assert role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["pods/exec", "pods/portforward"],
            "verbs": ["create", "get"],
            "resourceNames": ["bob-dev-0"],
        }
    ]
    binding = _one(objects, "RoleBinding", "mofang-notebook-bob-dev")
    assert binding["roleRef"]["name"] == "mofang-notebook-bob-dev"
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "bob"}
    ]


def test_the_notebook_pod_gets_a_sidecar_and_runs_restricted(tmp_path: Path) -> None:
    pod = _one(_objects(tmp_path), "StatefulSet")["spec"]["template"]
    assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    assert pod["spec"]["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "runAsGroup": 100,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    (container,) = pod["spec"]["containers"]
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
