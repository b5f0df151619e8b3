"""Hostile values are refused with a located error, fast; valid extremes still validate and render.

Every spec here is the minimal repository with one file rewritten, so each test names the one
value it is about.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mofang_gitops.rendering import render_repo
from mofang_gitops.validation.repository import Validation
from mofang_gitops.yamlio import load_manifest
from tests.scenarios import build_repo, validate_dir

TRAINING = "projects/vision/trainings/resnet50.yaml"
NOTEBOOK = "projects/vision/notebooks/bob-dev.yaml"
PIPELINE = "projects/vision/pipelines/daily-features.yaml"
PROJECT = "projects/vision/project.yaml"
QUOTA = "projects/vision/quota.yaml"


def _training(command: str = "[python, train.py]", extra: str = "", replicas: int = 2) -> str:
    return f"""apiVersion: mofang.io/v1alpha1
kind: Training
metadata: {{name: resnet50}}
spec:
  framework: horovod
  image: registry.example.com/vision/resnet:1.3
  command: {command}
  resourceGroup: gpu-a100
  roles:
    launcher: {{replicas: 1, resources: {{cpu: "1", memory: 2Gi}}}}
    worker: {{replicas: {replicas}, resources: {{cpu: "1", memory: 1Gi, gpu: 0}}}}
{extra}"""


def _notebook(resources: str = '{cpu: "4", memory: 16Gi, gpu: 1}', idle: str = "24h") -> str:
    return f"""apiVersion: mofang.io/v1alpha1
kind: Notebook
metadata: {{name: bob-dev}}
spec:
  owner: bob
  image: jupyter-pytorch
  resourceGroup: gpu-a100
  resources: {resources}
  idleTimeout: {idle}
"""


def _validate(tmp_path: Path, files: dict[str, str | bytes]) -> Validation:
    root = build_repo(tmp_path)
    for path, content in files.items():
        target = root / path
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return validate_dir(root)


def _errors_at(validation: Validation, path: str) -> list[str]:
    return [str(p) for p in validation.errors if p.location.path == path and p.location.line]


@pytest.mark.parametrize(
    ("escape", "name"),
    [
        ("\\x7f", "U+007F DELETE"),
        ("\\x9b", "U+009B control character"),
        ("\\x85", "U+0085 NEXT LINE (NEL)"),
        ("\\uffff", "U+FFFF noncharacter"),
        ("\\ufdd0", "U+FDD0 noncharacter"),
        ("\\U0001FFFE", "U+1FFFE noncharacter"),
        ("\\L", "U+2028 LINE SEPARATOR"),
        ("\\P", "U+2029 PARAGRAPH SEPARATOR"),
        ("\\x1b", "U+001B ESCAPE"),
        ("\\r", "U+000D CARRIAGE RETURN"),
    ],
)
def test_refused_characters_in_a_command_are_named_with_their_position(
    tmp_path: Path, escape: str, name: str
) -> None:
    validation = _validate(tmp_path, {TRAINING: _training(f'[python, "train{escape}.py"]')})
    errors = _errors_at(validation, TRAINING)
    assert any(f"{TRAINING}:7:" in e and f"{name} is not allowed" in e for e in errors), errors
    assert "vision" not in validation.valid_projects()


@pytest.mark.parametrize(
    ("path", "old", "new", "line"),
    [
        (PROJECT, "owners: [alice]", 'owners: ["ali\\x7fce"]', 5),
        (PROJECT, "environments: [prod]", 'environments: [prod]\n  description: "a\\x9fb"', 8),
        (NOTEBOOK, "image: jupyter-pytorch", 'image: "jupyter\\uffff"', 6),
        (QUOTA, 'cpu: "32"', 'cpu: "32\\x85"', 6),
        (NOTEBOOK, "idleTimeout: 24h", 'idleTimeout: "24h\\L"', 10),
        (PIPELINE, 'cron: "0 2 * * *"', 'cron: "0 2 * * *\\x7f"', 6),
        (PIPELINE, "startingDeadline: 1h", 'startingDeadline: "1h\\x80"', 9),
        ("platform.yaml", "region: cn-guangzhou", 'region: "cn\\x7fgz"', 6),
        ("platform.yaml", 'monitors: ["10.0.0.1:6789"]', 'monitors: ["10.0.0.1:6789\\x85"]', 18),
        ("platform.yaml", "registries: [registry.example.com/]", 'registries: ["r\\P/"]', 22),
    ],
)
def test_refused_characters_in_every_kind_of_string_are_located(
    tmp_path: Path, path: str, old: str, new: str, line: int
) -> None:
    original = (build_repo(tmp_path / "orig") / path).read_text()
    assert old in original
    validation = _validate(tmp_path, {path: original.replace(old, new)})
    errors = [e for e in _errors_at(validation, path) if "is not allowed" in e]
    assert any(e.startswith(f"{path}:{line}:") and "U+" in e for e in errors), validation.errors


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("\u0085", "U+0085 NEXT LINE (NEL)"),
        ("\u2028", "U+2028 LINE SEPARATOR"),
        ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),
    ],
)
def test_raw_yaml11_line_breaks_are_refused_where_they_are_not_folded_into_spaces(
    tmp_path: Path, raw: str, name: str
) -> None:
    # libyaml reads these as line breaks: "train<NEL>.py" would reach the model as "train .py".
    validation = _validate(tmp_path, {TRAINING: _training(f'[python, "train{raw}.py"]')})
    errors = _errors_at(validation, TRAINING)
    assert errors == [f"{TRAINING}:7:27: {name} is not allowed (YAML 1.1 readers take it for a "
                      "line break; remove it (or write a real line break))"]  # fmt: skip


def test_a_line_separator_in_a_comment_does_not_turn_the_rest_into_yaml(tmp_path: Path) -> None:
    text = _training().replace("kind: Training\n", "kind: Training\n# note\u2028kind: Notebook\n")
    validation = _validate(tmp_path, {TRAINING: text})
    assert [e.split(": ", 1)[0] for e in _errors_at(validation, TRAINING)] == [f"{TRAINING}:3:7"]


def test_raw_control_characters_are_located_by_line_and_column(tmp_path: Path) -> None:
    text = _training('[python, "tráin\x7f.py"]')
    validation = _validate(tmp_path, {TRAINING: text.encode("utf-8")})
    assert _errors_at(validation, TRAINING) == [
        f"{TRAINING}:7:27: U+007F DELETE is not allowed (remove it)"
    ]


def test_multi_line_kinds_keep_line_feeds_and_tabs(tmp_path: Path) -> None:
    command = '[sh, -c, "set -e\\n\\tpython train.py\\n"]'
    validation = _validate(
        tmp_path,
        {
            TRAINING: _training(command, extra='  env: {NOTE: "two\\nlines"}\n'),
            PROJECT: (build_repo(tmp_path / "o") / PROJECT).read_text()
            + '  description: "line one\\n\\tline two"\n',
        },
    )
    assert validation.errors == []
    spec = validation.repo.projects["vision"].trainings["resnet50"].model.spec
    assert spec.command[2] == "set -e\n\tpython train.py\n"
    _assert_renders_readable(validation)


def test_a_line_feed_in_a_single_line_kind_is_refused(tmp_path: Path) -> None:
    validation = _validate(tmp_path, {NOTEBOOK: _notebook().replace("bob\n", '"bob\\n"\n')})
    assert any("U+000A LINE FEED is not allowed" in e for e in _errors_at(validation, NOTEBOOK))


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ('{cpu: "1e1000000", memory: 16Gi}', "exponent 1000000 is out of range"),
        ('{cpu: "4", memory: "1e999999"}', "exponent 999999 is out of range"),
        ('{cpu: "20000000", memory: 16Gi}', "above 10000000 cores"),
        ('{cpu: "4", memory: 2Ei}', "above 1Ei"),
        ("{cpu: .inf, memory: 16Gi}", "not a finite quantity"),
        (f'{{cpu: "{"9" * 40}", memory: 16Gi}}', "at most 32 characters"),
        ("{cpu: 4, memory: 16Gi, gpu: 2000000}", "less than or equal to 1000000"),
    ],
)
def test_huge_quantities_are_refused_fast_with_their_position(
    tmp_path: Path, resources: str, message: str
) -> None:
    started = time.perf_counter()
    validation = _validate(tmp_path, {NOTEBOOK: _notebook(resources)})
    assert time.perf_counter() - started < 2.0
    errors = _errors_at(validation, NOTEBOOK)
    assert any(e.startswith(f"{NOTEBOOK}:8:") and message in e for e in errors), errors


@pytest.mark.parametrize(
    ("idle", "message"),
    [
        ("99999999999d", "longer than 366d"),
        ("367d", "longer than 366d"),
        ("1" * 40 + "s", "is not a duration"),
    ],
)
def test_huge_durations_are_refused_with_their_position(
    tmp_path: Path, idle: str, message: str
) -> None:
    validation = _validate(tmp_path, {NOTEBOOK: _notebook(idle=idle)})
    errors = _errors_at(validation, NOTEBOOK)
    assert any(e.startswith(f"{NOTEBOOK}:9:") and message in e for e in errors), errors


def test_a_number_literal_of_thousands_of_digits_is_refused_by_the_reader(tmp_path: Path) -> None:
    validation = _validate(tmp_path, {NOTEBOOK: _notebook(f"{{cpu: {'9' * 5000}, memory: 1Gi}}")})
    assert any("a number of 5000 digits" in e for e in _errors_at(validation, NOTEBOOK))


def test_deeply_nested_values_are_refused_by_the_reader_with_a_position(tmp_path: Path) -> None:
    # The reader builds values recursively: 500 levels used to raise RecursionError.
    nested = "[" * 500 + "]" * 500
    validation = _validate(tmp_path, {NOTEBOOK: _notebook().replace("24h", nested)})
    errors = _errors_at(validation, NOTEBOOK)
    assert any("nested more than 64 levels deep" in e for e in errors), errors


def test_three_million_replicas_are_refused_in_milliseconds(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    (root / TRAINING).write_text(_training(replicas=3_000_000))
    started = time.perf_counter()
    validation = validate_dir(root)
    assert time.perf_counter() - started < 1.0
    errors = _errors_at(validation, TRAINING)
    assert any("less than or equal to 10000" in e for e in errors), errors


def test_quota_check_costs_the_same_for_many_replicas_as_for_few(tmp_path: Path) -> None:
    # 10,000 replicas times 1,000 parallel trials used to build a list of ten million requests.
    platform = (build_repo(tmp_path / "o") / "platform.yaml").read_text()
    platform = platform.replace("maxWorkers: 8", "maxWorkers: 10000")
    search = """  search:
    objective: {metric: accuracy, type: maximize}
    maxTrials: 1000
    parallelTrials: 1000
    parameters: [{name: lr, type: double, min: 0.001, max: 0.1}]
"""
    started = time.perf_counter()
    validation = _validate(
        tmp_path,
        {"platform.yaml": platform, TRAINING: _training(replicas=10_000, extra=search)},
    )
    assert time.perf_counter() - started < 2.0
    errors = _errors_at(validation, TRAINING)
    assert any("requests cpu 10000000 on 'gpu-a100'" in e for e in errors), errors


def _chain(count: int) -> str:
    """Step s<i> waits for s<i+1>: a depth-first walk from s0 goes ``count`` steps deep."""
    tasks = "".join(
        f"    - {{name: s{i}, image: registry.example.com/vision/etl:2, command: [run],"
        f" dependencies: [s{i + 1}]}}\n"
        if i < count - 1
        else f"    - {{name: s{i}, image: registry.example.com/vision/etl:2, command: [run]}}\n"
        for i in range(count)
    )
    return f"""apiVersion: mofang.io/v1alpha1
kind: Pipeline
metadata: {{name: daily-features}}
spec:
  tasks:
{tasks}"""


def test_a_chain_of_1500_tasks_validates_and_renders(tmp_path: Path) -> None:
    validation = _validate(tmp_path, {PIPELINE: _chain(1500)})
    assert validation.errors == []
    rendered = _assert_renders_readable(validation)
    template = next(m for m in rendered if m["kind"] == "WorkflowTemplate")
    assert len(template["spec"]["templates"][0]["dag"]["tasks"]) == 1500


def test_a_cycle_through_1500_tasks_is_reported_shortened(tmp_path: Path) -> None:
    text = _chain(1500).replace("command: [run]}\n", "command: [run], dependencies: [s0]}\n")
    validation = _validate(tmp_path, {PIPELINE: text})
    errors = _errors_at(validation, PIPELINE)
    assert any("task dependencies form a cycle: s0 -> s1 -> s2" in e for e in errors), errors
    assert all(len(e) < 400 for e in errors)


@pytest.mark.parametrize("value", ['a\\"b', "x,y", "$(rm -rf /)", "a b", "{x}", "é"])
def test_katib_values_outside_the_safe_set_are_refused(tmp_path: Path, value: str) -> None:
    search = f"""  search:
    objective: {{metric: accuracy, type: maximize}}
    parameters: [{{name: opt, type: categorical, values: [adam, "{value}"]}}]
"""
    validation = _validate(tmp_path, {TRAINING: _training(extra=search)})
    errors = _errors_at(validation, TRAINING)
    assert any(f"{TRAINING}:14:" in e and "Katib substitutes" in e for e in errors), errors


@pytest.mark.parametrize("bound", ["min: .nan, max: 1", "min: 0, max: 1e300", "min: -.inf, max: 1"])
def test_search_bounds_must_be_finite_and_of_sane_magnitude(tmp_path: Path, bound: str) -> None:
    search = f"""  search:
    objective: {{metric: accuracy, type: maximize}}
    parameters: [{{name: lr, type: double, {bound}}}]
"""
    validation = _validate(tmp_path, {TRAINING: _training(extra=search)})
    assert any(f"{TRAINING}:14:" in e for e in _errors_at(validation, TRAINING))


def _assert_renders_readable(validation: Validation) -> list[dict[str, object]]:
    """Render every target and read every manifest back with the manifest reader."""
    objects = []
    for target in render_repo(validation):
        for manifest in target.manifests:
            objects.append(load_manifest(manifest.text))
    assert objects
    return objects
