"""Each tests/testdata/<scenario>/ overlay yields exactly the problems its `expect` file lists."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mofang_gitops.cli import main
from tests.scenarios import TESTDATA, build_repo, validate_dir

SCENARIOS = sorted(p.name for p in TESTDATA.iterdir() if p.name.startswith(("invalid-", "warn-")))


def _expected(scenario: str) -> list[tuple[str, str, int, str]]:
    found = []
    for line in (TESTDATA / scenario / "expect").read_text().splitlines():
        severity = "error"
        if line.startswith("warning "):
            severity, line = "warning", line.removeprefix("warning ")
        path, lineno, text = line.split(":", 2)
        found.append((severity, path, int(lineno), text.strip()))
    return found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario_reports_its_problems_with_positions(tmp_path: Path, scenario: str) -> None:
    validation = validate_dir(build_repo(tmp_path, scenario))
    for severity, path, lineno, text in _expected(scenario):
        matches = [
            p
            for p in validation.problems
            if p.severity == severity
            and p.location.path == path
            and p.location.line == lineno
            and text in str(p)
        ]
        assert matches, (
            f"{scenario}: no {severity} at {path}:{lineno} containing {text!r}:\n"
            + "\n".join(str(p) for p in validation.problems)
        )
    if scenario.startswith("warn-"):
        assert validation.errors == []


def test_minimal_repo_is_valid(tmp_path: Path) -> None:
    validation = validate_dir(build_repo(tmp_path))
    assert validation.problems == []
    assert validation.valid_projects() == ["vision"]


def test_one_broken_project_leaves_the_others_valid(tmp_path: Path) -> None:
    validation = validate_dir(build_repo(tmp_path, "invalid-one-project"))
    assert validation.invalid_projects == {"zeta"}
    assert validation.valid_projects() == ["vision"]


def test_clamp_rewrites_the_request_that_renders(tmp_path: Path) -> None:
    validation = validate_dir(build_repo(tmp_path, "warn-clamp"))
    notebook = validation.resolved["vision"].notebooks["bob-dev"].model
    assert notebook.spec.resources.gpu == 2


def test_validation_never_changes_the_loaded_specs(tmp_path: Path) -> None:
    validation = validate_dir(build_repo(tmp_path, "warn-clamp"))
    written = validation.repo.projects["vision"].notebooks["bob-dev"].model
    assert written.spec.resources.gpu > 2
    assert validation.resolved["vision"].notebooks["bob-dev"].model is not written


def test_alias_bomb_is_refused_within_a_second(tmp_path: Path) -> None:
    root = build_repo(tmp_path, "invalid-alias-bomb")
    started = time.perf_counter()
    validation = validate_dir(root)
    assert time.perf_counter() - started < 1.0
    assert any("aliases are not allowed" in p.message for p in validation.errors)


def test_symlink_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    secret = tmp_path / "outside.yaml"
    secret.write_text("kind: Notebook\n")
    (root / "projects/vision/notebooks/leak.yaml").symlink_to(secret)
    (root / "projects/vision/trainings/linked").symlink_to(tmp_path)
    validation = validate_dir(root)
    paths = {p.location.path for p in validation.errors if "symlinks" in p.message}
    assert paths == {"projects/vision/notebooks/leak.yaml", "projects/vision/trainings/linked"}


def test_non_utf8_file_is_refused_at_its_line(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    (root / "projects/vision/notebooks/bad.yaml").write_bytes(b"kind: Notebook\nname: \xff\xfe\n")
    errors = validate_dir(root).errors
    assert [str(p.location) for p in errors if "UTF-8" in p.message] == [
        "projects/vision/notebooks/bad.yaml:2:1"
    ]


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    (root / "projects/vision/notebooks/big.yaml").write_text("# x\n" * 100_000)
    errors = validate_dir(root).errors
    assert any("over the" in p.message and "limit" in p.message for p in errors)


def test_validate_command_exit_codes_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = build_repo(tmp_path / "good")
    assert main(["--repo", str(good), "validate"]) == 0
    bad = build_repo(tmp_path / "bad", "invalid-gpu-over-policy")
    assert main(["--repo", str(bad), "validate"]) == 1
    err = capsys.readouterr().err
    assert "projects/vision/notebooks/bob-dev.yaml:8:" in err
    assert "Notebook vision/bob-dev: spec.resources.gpu: 4 exceeds policy maxGpu 2" in err
    assert main(["validate", "--repo", str(bad), "--format", "json"]) == 1
    out = capsys.readouterr().out
    assert '"field": "spec.resources.gpu"' in out


def test_validate_command_refuses_a_missing_repo(tmp_path: Path) -> None:
    assert main(["--repo", str(tmp_path / "nope"), "validate"]) == 2
