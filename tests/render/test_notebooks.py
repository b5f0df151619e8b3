"""Notebooks render into a Jupyter StatefulSet, a Service and an Istio VirtualService."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.manifests import Manifest, RenderedTarget
from mofang_gitops.models.identities import safe_name
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import Loaded
from mofang_gitops.validation.repository import Validation
from tests.scenarios import build_repo, validate_dir

NOTEBOOK = "projects/vision/notebooks/bob-dev.yaml"
CAROL_ALLOWS_VISION = (
    "apiVersion: mofang.io/v1alpha1\nkind: Person\nmetadata: {name: carol}\n"
    "spec: {home: {projects: [vision]}}\n"
)


def _validate(tmp_path: Path, files: dict[str, str] | None = None) -> Validation:
    root = build_repo(tmp_path)
    for relative, text in (files or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    validation = validate_dir(root)
    assert validation.errors == [], "\n".join(str(p) for p in validation.errors)
    return validation


def _render(tmp_path: Path, files: dict[str, str] | None = None) -> list[RenderedTarget]:
    return render_repo(_validate(tmp_path, files))


def _notebook_objects(targets: list[RenderedTarget], name: str = "bob-dev") -> list[Manifest]:
    return [m for t in targets for m in t.manifests if m.source == f"Notebook.{name}"]


def _one(manifests: list[Manifest], kind: str) -> dict[str, Any]:
    found = [m.body for m in manifests if m.ref.kind == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def _notebook_yaml(**spec: str) -> str:
    fields = {
        "owner": "bob",
        "image": "jupyter-pytorch",
        "resourceGroup": "gpu-a100",
        "resources": '{cpu: "4", memory: 16Gi, gpu: 1}',
        "mounts": "[user, project, global]",
        "idleTimeout": "24h",
        **spec,
    }
    body = "\n".join(f"  {key}: {value}" for key, value in fields.items() if value)
    return (
        "apiVersion: mofang.io/v1alpha1\nkind: Notebook\nmetadata: {name: bob-dev}\n"
        f"spec:\n{body}\n"
    )


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


def test_notebook_objects_match_snapshot(tmp_path: Path, snapshot: Any) -> None:
    manifests = _notebook_objects(_render(tmp_path))
    assert [m.ref.kind for m in manifests] == [
        "StatefulSet",
        "Service",
        "VirtualService",
        "AuthorizationPolicy",
        "NetworkPolicy",
        "Role",
        "RoleBinding",
    ]
    assert "---\n".join(m.text for m in manifests) == snapshot


def test_statefulset_runs_jupyter_under_the_notebook_prefix(tmp_path: Path) -> None:
    sts = _one(_notebook_objects(_render(tmp_path)), "StatefulSet")
    spec = sts["spec"]
    assert sts["metadata"]["namespace"] == "vision"
    assert spec["serviceName"] == "bob-dev"
    # Left to the API server's default of 1, so the idle culler may own it (scale to 0).
    assert "replicas" not in spec
    pod = spec["template"]
    assert spec["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert pod["spec"]["schedulerName"] == "volcano"
    assert pod["spec"]["serviceAccountName"] == "mofang-workload"
    assert pod["metadata"]["annotations"]["scheduling.volcano.sh/queue-name"] == "vision"
    assert pod["spec"]["nodeSelector"] == {"mofang.io/resource-group": "gpu-a100"}
    assert "restartPolicy" not in pod["spec"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == "registry.example.com/mofang/jupyter-pytorch:2.4"
    assert "--ServerApp.base_url=/notebook/vision/bob-dev/" in container["args"]
    assert {"name": "NB_PREFIX", "value": "/notebook/vision/bob-dev"} in container["env"]
    assert container["ports"] == [
        {"name": "http-notebook", "containerPort": 8888, "protocol": "TCP"}
    ]


def test_gpu_requests_equal_limits(tmp_path: Path) -> None:
    sts = _one(_notebook_objects(_render(tmp_path)), "StatefulSet")
    resources = sts["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["requests"]["nvidia.com/gpu"] == resources["limits"]["nvidia.com/gpu"] == "1"
    assert resources["requests"]["cpu"] == "4"
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == "16Gi"


def test_cpu_notebook_asks_for_no_gpu(tmp_path: Path) -> None:
    files = {
        NOTEBOOK: _notebook_yaml(resourceGroup="cpu-general", resources='{cpu: "2", memory: 4Gi}')
    }
    sts = _one(_notebook_objects(_render(tmp_path, files)), "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"mofang.io/resource-group": "cpu-general"}
    resources = pod["containers"][0]["resources"]
    assert set(resources["requests"]) == {"cpu", "memory"}
    assert set(resources["limits"]) == {"memory"}


def test_user_tier_mounts_the_owners_volume(tmp_path: Path) -> None:
    files = {
        NOTEBOOK: _notebook_yaml(owner="carol", mounts="[user]"),
        "people/carol.yaml": CAROL_ALLOWS_VISION,
    }
    sts = _one(_notebook_objects(_render(tmp_path, files)), "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    assert pod["volumes"] == [
        {"name": "user", "persistentVolumeClaim": {"claimName": "user-carol", "readOnly": False}}
    ]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "user", "mountPath": "/home/jovyan/work", "readOnly": False}
    ]


def test_global_tier_is_mounted_read_only(tmp_path: Path) -> None:
    sts = _one(_notebook_objects(_render(tmp_path)), "StatefulSet")
    mounts = sts["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "global", "mountPath": "/mnt/global", "readOnly": True} in mounts


@pytest.mark.parametrize(
    ("idle", "environment_policy", "seconds"),
    [
        ("24h", "", 86400),
        ("", "", 72 * 3600),  # the platform policy default
        ("", "  policies: {notebook: {idleTimeout: 12h}}\n", 12 * 3600),
        ("90m", "", 5400),
    ],
)
def test_idle_timeout_reaches_the_culler_and_jupyter(
    tmp_path: Path, idle: str, environment_policy: str, seconds: int
) -> None:
    files = {
        NOTEBOOK: _notebook_yaml(idleTimeout=idle),
        "environments/prod.yaml": (
            "apiVersion: mofang.io/v1alpha1\nkind: Environment\nmetadata: {name: prod}\n"
            'spec:\n  clusters: [central]\n  namespace: "{project}"\n' + environment_policy
        ),
    }
    sts = _one(_notebook_objects(_render(tmp_path, files)), "StatefulSet")
    assert sts["metadata"]["annotations"]["mofang.io/idle-timeout-seconds"] == str(seconds)
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    assert f"--MappingKernelManager.cull_idle_timeout={seconds}" in args


def test_service_sends_port_80_to_jupyter(tmp_path: Path) -> None:
    manifests = _notebook_objects(_render(tmp_path))
    service = _one(manifests, "Service")
    sts = _one(manifests, "StatefulSet")
    assert service["metadata"]["name"] == sts["spec"]["serviceName"]
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["selector"] == sts["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http-notebook", "protocol": "TCP"}
    ]


def test_virtualservice_routes_the_prefix_on_the_gateway_and_environment_host(
    tmp_path: Path,
) -> None:
    files = {
        "environments/prod.yaml": (
            "apiVersion: mofang.io/v1alpha1\nkind: Environment\nmetadata: {name: prod}\n"
            'spec: {clusters: [central], namespace: "{project}-prod", host: prod.example.com}\n'
        )
    }
    vs = _one(_notebook_objects(_render(tmp_path, files)), "VirtualService")
    assert vs["apiVersion"] == "networking.istio.io/v1"
    spec = vs["spec"]
    assert spec["hosts"] == ["prod.example.com"]
    assert spec["gateways"] == ["istio-system/mofang-gateway"]
    redirect, route = spec["http"]
    assert redirect["match"] == [{"uri": {"exact": "/notebook/vision-prod/bob-dev"}}]
    assert redirect["redirect"] == {"uri": "/notebook/vision-prod/bob-dev/"}
    assert route["match"] == [{"uri": {"prefix": "/notebook/vision-prod/bob-dev/"}}]
    assert route["route"] == [
        {
            "destination": {
                "host": "bob-dev.vision-prod.svc.cluster.local",
                "port": {"number": 80},
            }
        }
    ]
    # Jupyter serves the prefix itself, and any route timeout would cut its websockets.
    assert "rewrite" not in route
    assert "timeout" not in route


def test_notebook_limited_to_other_environments_is_not_rendered(tmp_path: Path) -> None:
    files = {
        "environments/dev.yaml": (
            "apiVersion: mofang.io/v1alpha1\nkind: Environment\nmetadata: {name: dev}\n"
            'spec: {clusters: [central], namespace: "{project}-dev"}\n'
        ),
        "projects/vision/project.yaml": (
            "apiVersion: mofang.io/v1alpha1\nkind: Project\nmetadata: {name: vision}\n"
            "spec:\n  owners: [alice]\n  members: [{user: bob, role: edit}]\n"
            "  environments: [dev, prod]\n  resourceGroups: [gpu-a100, cpu-general]\n"
        ),
        NOTEBOOK: _notebook_yaml(environments="[dev]", resources='{cpu: "4", memory: 16Gi}'),
    }
    targets = {str(t.target): t for t in _render(tmp_path, files)}
    assert set(targets) == {"dev/central/vision", "prod/central/vision"}
    assert _notebook_objects([targets["dev/central/vision"]])
    assert _notebook_objects([targets["prod/central/vision"]]) == []


def test_invalid_notebook_strings_are_rejected_before_rendering(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    (root / NOTEBOOK).write_text(
        _notebook_yaml(image='"registry.example.com/x:1\\n  hostNetwork: true"')
    )
    validation = validate_dir(root)
    assert [p.field for p in validation.errors] == ["spec.image"]
    assert render_repo(validation) == []


@pytest.mark.parametrize(
    "evil",
    [
        "registry.example.com/x:1\n  hostNetwork: true",
        "registry.example.com/x:1\nhostNetwork: true\n---\nkind: Pod",
        'a: b, "hostNetwork": true, c: {d: e}',
        "{{ hostNetwork }}: true # ]}'\"",
    ],
)
def test_a_notebook_string_cannot_add_a_key(tmp_path: Path, evil: str) -> None:
    # Validation would refuse these strings; force them past it to prove the templates alone
    # keep any string one scalar.
    validation = _validate(tmp_path)
    resolved = validation.resolved["vision"]
    loaded = resolved.notebooks["bob-dev"]
    spec = loaded.model.spec.model_copy(update={"image": evil, "owner": evil})
    notebooks = {
        **resolved.notebooks,
        "bob-dev": Loaded(loaded.model.model_copy(update={"spec": spec}), loaded.doc),
    }
    validation.resolved["vision"] = dataclasses.replace(resolved, notebooks=notebooks)
    manifests = _notebook_objects(render_repo(validation))
    sts = _one(manifests, "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == evil
    # Derived names go through safe_name: even a forced owner string becomes a DNS label.
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == f"user-{safe_name(evil)}"
    for manifest in manifests:
        assert "hostNetwork" not in set(_keys(manifest.body)), manifest.ref


def test_rendering_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first = _render(tmp_path / "a")
    second = _render(tmp_path / "b")
    assert [m.text for t in first for m in t.manifests] == [
        m.text for t in second for m in t.manifests
    ]
    assert _notebook_objects(first)


def test_minimal_repo_project_and_notebook_objects_pass_server_dry_run(
    tmp_path: Path, server_dry_run: Any
) -> None:
    manifests = [
        m
        for t in _render(tmp_path)
        for m in t.manifests
        if m.source.split(".")[0] in ("Project", "Quota", "Notebook")
    ]
    assert {m.ref.kind for m in manifests} >= {"Namespace", "StatefulSet", "VirtualService"}
    assert server_dry_run(manifests) == []
