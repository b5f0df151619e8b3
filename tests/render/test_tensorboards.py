"""A training's TensorBoard: served only to the project's people through the gateway (protected
like a notebook), logs read-only, pruned with the training, never a reason to start the run
again."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.cli import main
from mofang_gitops.devtools.controlplane import ControlPlane
from mofang_gitops.manifests import Manifest
from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir

TRAINING = "projects/vision/trainings/resnet50.yaml"
TENSORBOARD = "  tensorboard: {logDir: runs/resnet50/}\n"
SERVED = ["Deployment", "Service", "VirtualService"]
PROTECTED = ["AuthorizationPolicy", "NetworkPolicy"]
"""What a TensorBoard is made of: its own objects, and the access objects a notebook has too."""
GATEWAY = "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"


def _with_tensorboard(tmp_path: Path, text: str = TENSORBOARD, scenario: str | None = None) -> Path:
    root = build_repo(tmp_path, scenario)
    platform = root / "platform.yaml"
    catalogue = "  images:\n"
    image = "    tensorboard: {image: registry.example.com/mofang/tensorboard:2.16}\n"
    platform.write_text(platform.read_text().replace(catalogue, catalogue + image))
    path = root / TRAINING
    path.write_text(path.read_text() + text)
    return root


def _render(root: Path) -> list[Manifest]:
    validation = validate_dir(root)
    assert validation.errors == []
    return [m for t in render_repo(validation, environments=["prod"]) for m in t.manifests]


def _tensorboard(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {m.ref.kind: m for m in manifests if m.ref.name == "resnet50-tensorboard"}


def test_tensorboard_is_served_under_its_prefix_reading_the_log_dir_read_only(
    tmp_path: Path,
) -> None:
    objects = _tensorboard(_render(_with_tensorboard(tmp_path)))
    assert sorted(objects) == sorted(SERVED + PROTECTED)
    assert {m.source for m in objects.values()} == {"Training.resnet50"}
    assert not any(m.is_run for m in objects.values())
    pod = objects["Deployment"].body["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == [
        "--logdir=/logs/runs/resnet50",
        "--host=0.0.0.0",
        "--port=6006",
        "--path_prefix=/tensorboard/vision/resnet50",
    ]
    assert container["volumeMounts"] == [
        {"name": "project", "mountPath": "/logs", "readOnly": True}
    ]
    assert pod["volumes"] == [
        {"name": "project", "persistentVolumeClaim": {"claimName": "project", "readOnly": True}}
    ]
    assert pod["nodeSelector"] == {"mofang.io/resource-group": "cpu-general"}
    assert pod["schedulerName"] == "volcano"
    route = objects["VirtualService"].body["spec"]["http"][1]
    assert route["match"] == [{"uri": {"prefix": "/tensorboard/vision/resnet50/"}}]
    destination = route["route"][0]["destination"]
    assert destination["host"] == "resnet50-tensorboard.vision.svc.cluster.local"
    service = objects["Service"].body["spec"]
    assert service["selector"] == {"mofang.io/tensorboard": "resnet50"}


def test_only_the_projects_people_reach_the_tensorboard_and_only_through_the_gateway(
    tmp_path: Path,
) -> None:
    objects = _tensorboard(_render(_with_tensorboard(tmp_path)))
    pod = objects["Deployment"].body["spec"]["template"]
    assert pod["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    selector = {"matchLabels": {"mofang.io/tensorboard": "resnet50"}}
    policy = objects["AuthorizationPolicy"].body["spec"]
    assert (policy["selector"], policy["action"]) == (selector, "ALLOW")
    (rule,) = policy["rules"]
    assert rule["from"] == [{"source": {"principals": [GATEWAY]}}]
    routed = objects["VirtualService"].body["spec"]["http"][1]["match"][0]["uri"]["prefix"]
    assert rule["to"] == [{"operation": {"ports": ["6006"], "paths": [f"{routed}*"]}}]
    # owners and members of tests/testdata/minimal's vision, whatever the training's owner
    assert rule["when"] == [
        {"key": "request.headers[kubeflow-userid]", "values": ["alice", "bob", "carol"]}
    ]
    network = objects["NetworkPolicy"].body["spec"]
    assert network["podSelector"] == selector
    assert network["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 6006}]
    assert network["ingress"][0]["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
            "podSelector": {"matchLabels": {"istio": "ingressgateway"}},
        }
    ]


def test_the_tensorboard_is_guarded_like_a_notebook_shared_with_the_project(
    tmp_path: Path,
) -> None:
    root = _with_tensorboard(tmp_path)
    notebook = root / "projects/vision/notebooks/bob-dev.yaml"
    notebook.write_text(notebook.read_text() + "  access: project\n")
    manifests = _render(root)
    tensorboard = _tensorboard(manifests)
    shared = {m.ref.kind: m.body for m in manifests if m.ref.name == "bob-dev"}

    def guard(body: dict[str, Any]) -> dict[str, Any]:
        """A policy without what names the pod it protects (selector, port, path)."""
        spec = copy.deepcopy(body["spec"])
        spec.pop("selector", None)
        spec.pop("podSelector", None)
        for rule in spec.get("rules", []):
            rule.pop("to")
        for rule in spec.get("ingress", []):
            rule.pop("ports")
        return spec

    for kind in PROTECTED:
        assert guard(tensorboard[kind].body) == guard(shared[kind])
    # exec is a notebook owner's right; a TensorBoard's pod is nobody's to exec into
    assert not [m for m in manifests if m.ref.kind == "Role" and "tensorboard" in m.ref.name]


def test_jwt_mode_verifies_the_token_at_the_tensorboard_too(tmp_path: Path) -> None:
    objects = _tensorboard(_render(_with_tensorboard(tmp_path, scenario="render-jwt")))
    (rule,) = objects["AuthorizationPolicy"].body["spec"]["rules"]
    assert rule["when"][0]["key"].startswith("request.auth.claims[")
    assert rule["from"][0]["source"]["requestPrincipals"]
    authn = objects["RequestAuthentication"].body["spec"]
    assert authn["selector"] == {"matchLabels": {"mofang.io/tensorboard": "resnet50"}}


def test_adding_a_tensorboard_leaves_the_run_untouched(tmp_path: Path) -> None:
    plain = [m for m in _render(build_repo(tmp_path / "plain")) if m.is_run]
    served = [m for m in _render(_with_tensorboard(tmp_path / "served")) if m.is_run]
    assert [(m.ref, m.text) for m in served] == [(m.ref, m.text) for m in plain]


def test_a_search_gets_a_tensorboard_too(tmp_path: Path) -> None:
    search = (
        "  search:\n    objective: {metric: loss, type: minimize}\n"
        "    parameters: [{name: lr, type: double, min: 0.1, max: 0.2}]\n"
    )
    manifests = _render(_with_tensorboard(tmp_path, TENSORBOARD + search))
    assert "Experiment" in {m.ref.kind for m in manifests if m.is_run}
    assert sorted(_tensorboard(manifests)) == sorted(SERVED + PROTECTED)


@pytest.mark.parametrize(
    ("log_dir", "message"),
    [("../other-project", "must stay inside the project volume"), ("/etc", "should match")],
)
def test_a_log_dir_outside_the_project_volume_is_refused(
    tmp_path: Path, log_dir: str, message: str
) -> None:
    root = _with_tensorboard(tmp_path, f"  tensorboard: {{logDir: {json.dumps(log_dir)}}}\n")
    (problem,) = [p for p in validate_dir(root).errors if p.location.path == TRAINING]
    assert problem.field == "spec.tensorboard.logDir"
    assert message in problem.message
    assert (problem.location.line, problem.location.column) == (14, 25)


def test_a_platform_without_a_tensorboard_image_refuses_one(tmp_path: Path) -> None:
    root = _with_tensorboard(tmp_path)
    platform = root / "platform.yaml"
    platform.write_text(
        "\n".join(line for line in platform.read_text().splitlines() if "tensorboard" not in line)
    )
    (problem,) = validate_dir(root).errors
    assert problem.field == "spec.tensorboard"
    assert "no 'tensorboard' image" in problem.message


def test_the_tensorboard_is_pruned_when_the_training_leaves_git(
    tmp_path: Path,
    control_plane: ControlPlane,
    unique_name: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = _with_tensorboard(tmp_path)
    (root / "projects/vision").rename(root / f"projects/{unique_name}")
    for path in root.rglob("*.yaml"):
        path.write_text(path.read_text().replace("vision", unique_name))
    argv = ["--repo", str(root), "--kubeconfig", str(control_plane.kubeconfig)]
    argv += ["--context", control_plane.name, "-e", "prod"]
    assert main([*argv, "apply", "--prune"]) == 0
    out = capsys.readouterr().out
    assert f"Deployment/{unique_name}/resnet50-tensorboard" in out
    (root / f"projects/{unique_name}/trainings/resnet50.yaml").unlink()
    pipeline = root / f"projects/{unique_name}/pipelines/daily-features.yaml"
    pipeline.unlink()  # it runs resnet50 as a step
    assert main([*argv, "apply", "--prune"]) == 0
    out = capsys.readouterr().out
    for kind in SERVED + PROTECTED:
        assert f"deleted     central:{kind}/{unique_name}/resnet50-tensorboard" in out, out
    assert main([*argv, "plan", "--format", "json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert not [e for e in entries if "tensorboard" in json.dumps(e)]


def test_a_notebook_named_like_the_tensorboard_is_refused(tmp_path: Path) -> None:
    root = _with_tensorboard(tmp_path)
    notebooks = root / "projects/vision/notebooks"
    text = (notebooks / "bob-dev.yaml").read_text().replace("bob-dev", "resnet50-tensorboard")
    (notebooks / "resnet50-tensorboard.yaml").write_text(text)
    (problem,) = validate_dir(root).errors
    assert (problem.location.path, problem.field) == (TRAINING, "spec.tensorboard")
    assert "notebook 'resnet50-tensorboard' already uses the name" in problem.message
