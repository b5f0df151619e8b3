"""`mofang-gitops new`: each kind writes a commented spec that validates at once."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from mofang_gitops.cli import main
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from tests.scenarios import validate_dir

EXAMPLE = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of the bundled example platform (catalogue, projects, shared components)."""
    root = tmp_path / "platform"
    root.mkdir()
    shutil.copy(EXAMPLE / "platform.yaml", root)
    for folder in ("environments", "people", "projects", "components"):
        shutil.copytree(EXAMPLE / folder, root / folder)
    return root


CASES = [
    (
        ["project", "speech", "--owner", "zoe"],
        ["projects/speech/project.yaml", "projects/speech/quota.yaml"],
    ),
    (
        ["notebook", "bob-scratch", "--project", "vision"],
        ["projects/vision/notebooks/bob-scratch.yaml"],
    ),
    (
        ["notebook", "gpu-box", "--project", "vision", "--gpu", "1"],
        ["projects/vision/notebooks/gpu-box.yaml"],
    ),
    (["training", "asr", "--project", "vision"], ["projects/vision/trainings/asr.yaml"]),
    (
        ["training", "etl", "--project", "nlp", "--framework", "spark"],
        ["projects/nlp/trainings/etl.yaml"],
    ),
    (["pipeline", "nightly", "--project", "vision"], ["projects/vision/pipelines/nightly.yaml"]),
    (["component", "dedup"], ["components/dedup.yaml"]),
    (["component", "tokenize", "--project", "nlp"], ["projects/nlp/components/tokenize.yaml"]),
]


@pytest.mark.parametrize(("argv", "files"), CASES, ids=[" ".join(c[0][:2]) for c in CASES])
def test_new_then_validate_is_clean(
    repo: Path, argv: list[str], files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--repo", str(repo), "new", *argv, "--no-input"]) == 0, capsys.readouterr().err
    for path in files:
        text = (repo / path).read_text()
        assert text.startswith("# yaml-language-server: $schema=")
        assert text.count("#") >= 3, text
    validation = validate_dir(repo)
    assert validation.problems == []
    loaded = load_repo(DirectoryTree(repo))
    kind = argv[0]
    name = argv[1]
    if kind == "component":
        project = argv[3] if len(argv) > 2 else None
        found = loaded.components if project is None else loaded.projects[project].components
        assert name in found
    elif kind != "project":
        project = argv[argv.index("--project") + 1]
        assert name in getattr(loaded.projects[project], f"{kind}s")
    assert main(["--repo", str(repo), "validate"]) == 0


def test_new_pipeline_calls_a_shared_component_with_typed_inputs(repo: Path) -> None:
    assert main(["--repo", str(repo), "new", "pipeline", "nightly", "-p", "vision"]) == 0
    pipeline = load_repo(DirectoryTree(repo)).projects["vision"].pipelines["nightly"].model
    (step,) = [t for t in pipeline.spec.tasks if t.component]
    assert (step.component, step.version) == ("table-export", "1.2.0")
    assert step.inputs == {"table": "change-me", "date": "change-me"}


def test_new_refuses_to_overwrite(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = repo / "projects/vision/notebooks/bob-pytorch.yaml"
    before = path.read_bytes()
    assert main(["--repo", str(repo), "new", "notebook", "bob-pytorch", "-p", "vision"]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_new_asks_on_a_terminal_and_takes_the_answers(
    repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = io.StringIO("carol\njupyter-scipy\ncpu-general\n")
    monkeypatch.setattr("sys.stdin", answers)
    monkeypatch.setattr(answers, "isatty", lambda: True, raising=False)
    assert main(["--repo", str(repo), "new", "notebook", "carol-cpu", "-p", "vision"]) == 0
    spec = load_repo(DirectoryTree(repo)).projects["vision"].notebooks["carol-cpu"].model.spec
    assert (spec.owner, spec.image, spec.resourceGroup) == ("carol", "jupyter-scipy", "cpu-general")


def test_new_names_and_choices_are_checked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(repo), "new", "notebook", "Bad_Name", "-p", "vision"]) == 2
    assert "not a DNS-1123 name" in capsys.readouterr().err
    argv = ["new", "notebook", "x", "-p", "vision", "--resource-group", "edge-gpu"]
    assert main(["--repo", str(repo), *argv]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert main(["--repo", str(repo), "new", "training", "x"]) == 2
    assert "needs --project" in capsys.readouterr().err
