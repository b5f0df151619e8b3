"""Pipeline components: typed inputs checked with positions, placeholders replaced as data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir

COMPONENT = """apiVersion: mofang.io/v1alpha1
kind: Component
metadata: {name: export}
spec:
  version: 1.0.0
  image: registry.example.com/vision/export:1
  command: [python, -m, export, "--table={{inputs.table}}", "--limit={{ inputs.limit }}"]
  args: ["--ratio={{inputs.ratio}}", "--dry-run={{inputs.dryRun}}"]
  env: {EXPORT_TABLE: "{{inputs.table}}"}
  inputs:
    - {name: table, type: string}
    - {name: limit, type: int, default: 100}
    - {name: ratio, type: float, default: 0.5}
    - {name: dryRun, type: bool, default: false}
  outputs: [{name: rows, path: /tmp/rows}]
  resources: {cpu: "1", memory: 2Gi}
"""
PIPELINE = """apiVersion: mofang.io/v1alpha1
kind: Pipeline
metadata: {name: exports}
spec:
  tasks:
"""


def _repo(tmp_path: Path, tasks: str, component: str = COMPONENT) -> Path:
    root = build_repo(tmp_path)
    (root / "components").mkdir()
    (root / "components" / "export.yaml").write_text(component)
    (root / "projects" / "vision" / "pipelines" / "exports.yaml").write_text(PIPELINE + tasks)
    return root


def _errors(root: Path) -> list[tuple[int, int, str, str]]:
    return [
        (p.location.line, p.location.column, p.field, p.message) for p in validate_dir(root).errors
    ]


def _step(root: Path, pipeline: str = "exports", step: str = "step-one") -> dict[str, Any]:
    validation = validate_dir(root)
    assert validation.errors == []
    for target in render_repo(validation):
        for manifest in target.manifests:
            if (
                manifest.source == f"Pipeline.{pipeline}"
                and manifest.ref.kind == "WorkflowTemplate"
            ):
                templates = {t["name"]: t for t in manifest.body["spec"]["templates"]}
                return templates[step]
    raise AssertionError("no WorkflowTemplate rendered")


def test_a_component_step_gets_the_components_container_with_inputs_and_defaults(
    tmp_path: Path,
) -> None:
    step = _step(_repo(tmp_path, "    - {name: one, component: export, inputs: {table: users}}\n"))
    container = step["container"]
    assert container["image"] == "registry.example.com/vision/export:1"
    assert container["command"] == ["python", "-m", "export", "--table=users", "--limit=100"]
    assert container["args"] == ["--ratio=0.5", "--dry-run=false"]
    assert container["env"] == [{"name": "EXPORT_TABLE", "value": "users"}]
    assert container["resources"]["requests"] == {"cpu": "1", "memory": "2Gi"}
    assert step["outputs"] == {"parameters": [{"name": "rows", "valueFrom": {"path": "/tmp/rows"}}]}
    assert step["schedulerName"] == "volcano"
    assert step["nodeSelector"] == {"mofang.io/resource-group": "cpu-general"}


def test_task_values_replace_defaults_and_a_task_may_override_resources(tmp_path: Path) -> None:
    tasks = (
        "    - name: one\n      component: export\n      version: 1.0.0\n"
        "      inputs: {table: t, limit: 7, ratio: 2, dryRun: true}\n"
        '      resources: {cpu: "3", memory: 6Gi}\n'
    )
    container = _step(_repo(tmp_path, tasks))["container"]
    assert container["command"][-2:] == ["--table=t", "--limit=7"]
    assert container["args"] == ["--ratio=2", "--dry-run=true"]
    assert container["resources"]["requests"] == {"cpu": "3", "memory": "6Gi"}


def test_input_values_are_data_never_placeholders_or_yaml(tmp_path: Path) -> None:
    evil = "{{inputs.limit}} {{workflow.name}}\\n  hostNetwork: true"
    tasks = f'    - {{name: one, component: export, inputs: {{table: "{evil}"}}}}\n'
    step = _step(_repo(tmp_path, tasks))
    container = step["container"]
    literal = "{{inputs.limit}} {{workflow.name}}\n  hostNetwork: true"
    assert container["command"][3] == f"--table={literal}"
    assert container["env"] == [{"name": "EXPORT_TABLE", "value": literal}]
    assert set(container) == {
        "image",
        "command",
        "args",
        "env",
        "resources",
        "volumeMounts",
        "securityContext",
    }
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert "hostNetwork" not in yaml.safe_dump({k: v for k, v in step.items() if k != "container"})


def test_bad_component_calls_are_located_errors(tmp_path: Path) -> None:
    tasks = (
        "    - {name: one, component: exprot, inputs: {table: t}}\n"
        "    - {name: two, component: export, inputs: {tabel: t}}\n"
        "    - {name: three, component: export, inputs: {table: t, limit: many}}\n"
        "    - {name: four, component: export, inputs: {table: 5, dryRun: 'yes'}}\n"
        "    - {name: five, component: export, version: 2.0.0, inputs: {table: t}}\n"
    )
    errors = _errors(_repo(tmp_path, tasks))
    by_field = {field: message for _, _, field, message in errors}
    assert by_field == {
        "spec.tasks.0.component": "unknown component 'exprot'",
        "spec.tasks.1.inputs.tabel": "component 'export' has no input 'tabel'",
        "spec.tasks.1.inputs": "component 'export' needs inputs ['table']",
        "spec.tasks.2.inputs.limit": "input 'limit' takes a int, not 'many'",
        "spec.tasks.3.inputs.table": "input 'table' takes a string, not 5",
        "spec.tasks.3.inputs.dryRun": "input 'dryRun' takes a bool, not 'yes'",
        "spec.tasks.4.version": "component 'export' is at version 1.0.0, not 2.0.0",
    }
    # Each error points at its task's line (tasks start on line 6), at the field itself.
    lines = {field: line for line, _, field, _ in errors}
    assert {field: lines[field] - 6 for field in lines} == {
        field: int(field.split(".")[2]) for field in lines
    }
    columns = {field: column for _, column, field, _ in errors}
    assert columns["spec.tasks.3.inputs.dryRun"] > columns["spec.tasks.3.inputs.table"] > 40


def test_a_placeholder_must_name_a_declared_input(tmp_path: Path) -> None:
    broken = COMPONENT.replace('"--limit={{ inputs.limit }}"', '"--limit={{inputs.lmit}}"')
    root = _repo(tmp_path, "    - {name: one, component: export, inputs: {table: t}}\n", broken)
    validation = validate_dir(root)
    problems = {(p.location.path, p.message) for p in validation.errors}
    assert ("components/export.yaml", "placeholders name undeclared inputs: lmit") in problems
    assert (
        "projects/vision/pipelines/exports.yaml",
        "unknown component 'export' (its file has errors)",
    ) in problems
    # Only the project whose pipeline calls it is invalid; the platform stays usable.
    assert validation.platform_ok


def test_a_broken_shared_component_blocks_only_the_projects_that_call_it(tmp_path: Path) -> None:
    root = _repo(tmp_path, "    - {name: one, component: export, inputs: {table: t}}\n", "x: [")
    (root / "projects" / "vision" / "pipelines" / "exports.yaml").unlink()
    validation = validate_dir(root)
    assert [p.location.path for p in validation.errors] == ["components/export.yaml"]
    assert validation.valid_projects() == ["vision"]


def test_a_project_component_is_usable_but_may_not_shadow_a_platform_one(tmp_path: Path) -> None:
    root = _repo(tmp_path, "    - {name: one, component: mine, inputs: {table: t}}\n")
    own = root / "projects" / "vision" / "components"
    own.mkdir()
    (own / "mine.yaml").write_text(COMPONENT.replace("name: export", "name: mine"))
    assert _step(root)["container"]["command"][3] == "--table=t"
    (own / "export.yaml").write_text(COMPONENT)
    problems = [(p.location.path, p.message) for p in validate_dir(root).errors]
    assert problems == [
        (
            "projects/vision/components/export.yaml",
            "component 'export' is also a platform component (components/export.yaml)",
        )
    ]
