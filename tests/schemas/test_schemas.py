"""The checked-in JSON Schemas: fresh, valid, and accepting every example spec of the repo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from mofang_gitops.cli import main
from mofang_gitops.models import KIND_MODELS
from mofang_gitops.models.schemas import (
    JSON_SCHEMA_DIALECT,
    generate_schemas,
    schema_file_name,
    stale_schemas,
    write_schemas,
)
from mofang_gitops.yamlio import load_documents

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
MODELINE = "# yaml-language-server: $schema="


def _spec_files() -> list[Path]:
    files = [REPO / "platform.yaml", *sorted((REPO / "environments").glob("*.yaml"))]
    files += sorted((REPO / "projects").rglob("*.yaml"))
    return files


SPEC_FILES = _spec_files()


def _schema(kind: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / schema_file_name(kind)).read_text("utf-8"))
    return loaded


def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(_schema(kind), format_checker=FormatChecker())


def test_checked_in_schemas_are_fresh() -> None:
    assert stale_schemas(SCHEMAS) == [], "run `mofang-gitops schemas` and commit schemas/"


def test_one_schema_per_kind_and_nothing_else() -> None:
    expected = {schema_file_name(kind) for kind in KIND_MODELS}
    assert set(generate_schemas()) == expected
    assert {p.name for p in SCHEMAS.glob("*.json")} == expected


def test_generation_is_deterministic() -> None:
    first = generate_schemas()
    assert first == generate_schemas()
    for text in first.values():
        assert text.endswith("}\n")
        assert json.dumps(
            json.loads(text), indent=2, sort_keys=True, ensure_ascii=False
        ) + "\n" == (text)


@pytest.mark.parametrize("kind", sorted(KIND_MODELS))
def test_schema_is_valid_draft_2020_12(kind: str) -> None:
    schema = _schema(kind)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["$id"].endswith("/" + schema_file_name(kind))
    assert kind in schema["title"]
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_example_spec_matches_its_schema(path: Path) -> None:
    rel = path.relative_to(REPO).as_posix()
    (doc,) = load_documents(rel, path.read_bytes())
    kind = doc.data["kind"]
    errors = sorted(_validator(kind).iter_errors(doc.data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_example_spec_names_its_schema_on_the_first_line(path: Path) -> None:
    rel = path.relative_to(REPO).as_posix()
    lines = path.read_text("utf-8").splitlines()
    assert lines[0].startswith(MODELINE), f"{rel}: first line must be the schema modeline"
    assert lines[1].startswith("# ") and len(lines[1]) > 10, f"{rel}: say what the file shows"
    (doc,) = load_documents(rel, path.read_bytes())
    target = (path.parent / lines[0].removeprefix(MODELINE)).resolve()
    assert target == SCHEMAS / schema_file_name(doc.data["kind"])


@pytest.mark.parametrize(
    ("kind", "patch", "bad_field"),
    [
        ("Notebook", {"spec": {"gpus": 1}}, "gpus"),
        ("Notebook", {"metadata": {"name": "Bob_Notebook"}}, "name"),
        (
            "Quota",
            {"spec": {"resourceGroups": {"GPU_A100": {"cpu": "1", "memory": "1Gi"}}}},
            "GPU_A100",
        ),
        ("Training", {"spec": {"framework": "mxnet"}}, "framework"),
        (
            "Pipeline",
            {"spec": {"schedule": {"cron": "0 2 * * *", "backfill": {"from": "x"}}}},
            "from",
        ),
    ],
)
def test_schema_rejects_what_the_model_rejects(
    kind: str, patch: dict[str, Any], bad_field: str
) -> None:
    """A few invalid documents: both the model and the schema refuse them, naming the field."""
    broken = _merge(_example_of(kind), patch)
    with pytest.raises(ValueError):
        KIND_MODELS[kind].model_validate(broken)
    errors = list(_validator(kind).iter_errors(broken))
    assert any(
        bad_field in e.message or bad_field in [str(p) for p in e.absolute_path] for e in errors
    ), [e.message for e in errors]


def _example_of(kind: str) -> dict[str, Any]:
    for path in SPEC_FILES:
        (doc,) = load_documents(path.name, path.read_bytes())
        if doc.data["kind"] == kind:
            data: dict[str, Any] = doc.data
            return data
    raise AssertionError(f"no example of {kind}")


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = value
    return result


def test_write_then_check(tmp_path: Path) -> None:
    assert sorted(stale_schemas(tmp_path / "missing")) == sorted(generate_schemas())
    assert sorted(write_schemas(tmp_path / "out")) == sorted(generate_schemas())
    assert write_schemas(tmp_path / "out") == []
    assert stale_schemas(tmp_path / "out") == []
    (tmp_path / "out" / "quota.json").write_text("{}\n", encoding="utf-8")
    assert stale_schemas(tmp_path / "out") == ["quota.json"]


def test_command_check_and_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(tmp_path), "schemas", "--check"]) == 1
    err = capsys.readouterr().err
    assert "training.json" in err and "stale" in err
    assert main(["--repo", str(tmp_path), "schemas"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert (tmp_path / "schemas" / "platform.json").is_file()
    assert main(["--repo", str(tmp_path), "schemas", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out
    out = tmp_path / "elsewhere"
    assert main(["schemas", "--out", str(out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["written"] == sorted(generate_schemas())
    assert main(["schemas", "--out", str(out), "--check", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["stale"] == []


def test_command_checks_the_repository_schemas() -> None:
    assert main(["--repo", str(REPO), "schemas", "--check"]) == 0
