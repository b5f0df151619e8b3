"""Hostile specs: what a team can write in git cannot widen its access; refused where it tries."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from mofang_gitops.devtools.controlplane import ControlPlane, api_call
from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir

from .conftest import render_tenant

STEAL_CAROLS_HOME = """apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {name: bob-steals}
spec:
  owner: carol
  image: jupyter-pytorch
  resourceGroup: cpu-general
  resources: {cpu: "1", memory: 2Gi}
  mounts: [user]
"""
PRIVILEGED_NOTEBOOK = """apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {name: bob-root}
spec:
  owner: bob
  image: jupyter-pytorch
  resourceGroup: cpu-general
  resources: {cpu: "1", memory: 2Gi}
  hostNetwork: true
  securityContext: {privileged: true}
"""
JWT = (
    "  ingress:\n    gateway: istio-system/mofang-gateway\n    host: ml.example.com\n"
    "    auth: {mode: jwt, issuer: https://login.example.com, "
    "jwksUri: https://login.example.com/keys, audiences: [mofang]}\n"
)


def test_a_notebook_mounting_someone_elses_home_is_refused_with_its_location(
    tmp_path: Path,
) -> None:
    root = build_repo(tmp_path)
    (root / "projects/vision/notebooks/bob-steals.yaml").write_text(STEAL_CAROLS_HOME)
    (problem,) = validate_dir(root).errors
    assert str(problem).startswith("projects/vision/notebooks/bob-steals.yaml:9:")
    assert "mounts the home of carol, who has not allowed project vision" in str(problem)


def test_privileged_settings_cannot_be_written_in_a_spec(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    (root / "projects/vision/notebooks/bob-root.yaml").write_text(PRIVILEGED_NOTEBOOK)
    messages = sorted(str(p) for p in validate_dir(root).errors)
    assert any(":9:" in m and "unknown field 'hostNetwork'" in m for m in messages), messages
    assert any(":10:" in m and "unknown field 'securityContext'" in m for m in messages), messages


def test_a_team_cannot_choose_its_pod_security_level(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    project = root / "projects/vision/project.yaml"
    project.write_text(
        project.read_text().replace(
            "metadata: {name: vision}",
            "metadata: {name: vision, labels: {pod-security.kubernetes.io/enforce: privileged}}",
        )
    )
    validation = validate_dir(root)
    assert validation.errors == []
    (target,) = render_repo(validation)
    (namespace,) = [m.body for m in target.manifests if m.ref.kind == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_jwt_mode_policies_pass_the_istio_crds(control_plane: ControlPlane, tmp_path: Path) -> None:
    prefix = f"j-{uuid.uuid4().hex[:8]}"
    root_platform = (build_repo(tmp_path / "p") / "platform.yaml").read_text()
    one_line = "  ingress: {gateway: istio-system/mofang-gateway, host: ml.example.com}\n"
    assert one_line in root_platform
    target = render_tenant(
        tmp_path / "t", prefix, {"platform.yaml": root_platform.replace(one_line, JWT)}
    )
    namespace = next(m for m in target.manifests if m.ref.kind == "Namespace")
    status, answer = api_call(
        control_plane, "POST", "/api/v1/namespaces", json.dumps(namespace.body).encode()
    )
    assert status == 201, answer
    kinds = {"AuthorizationPolicy": "authorizationpolicies",
             "RequestAuthentication": "requestauthentications"}  # fmt: skip
    checked = []
    for manifest in target.manifests:
        if manifest.ref.kind not in kinds:
            continue
        path = (
            f"/apis/security.istio.io/v1/namespaces/{target.namespace}/{kinds[manifest.ref.kind]}"
        )
        status, answer = api_call(
            control_plane, "POST", path + "?dryRun=All&fieldValidation=Strict",
            json.dumps(manifest.body).encode(),
        )  # fmt: skip
        assert status == 201, (manifest.ref, answer)
        checked.append((manifest.ref.kind, manifest.ref.name))
    assert ("RequestAuthentication", "bob-dev") in checked
    assert ("AuthorizationPolicy", "bob-dev") in checked
    (rule,) = next(
        m.body
        for m in target.manifests
        if (m.ref.kind, m.ref.name) == ("AuthorizationPolicy", "bob-dev")
    )["spec"]["rules"]
    assert rule["from"][0]["source"]["requestPrincipals"] == ["https://login.example.com/*"]
    assert rule["when"] == [{"key": "request.auth.claims[sub]", "values": ["bob"]}]
