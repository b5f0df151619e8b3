"""The pull-request comment: parses as intended, stays within GitHub's limit, is stable."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from markdown_it import MarkdownIt
from syrupy.assertion import SnapshotAssertion

from mofang_gitops.previewing import LIMIT, MARKER

from .conftest import MINIMAL, Cli, GitRepo, init_repo

PROJECT = """apiVersion: mofang.io/v1alpha1
kind: Project
metadata: {{name: {name}}}
spec:
  owners: [alice]
  members: [{members}]
  environments: [prod]
  resourceGroups: [gpu-a100, cpu-general]
"""
QUOTA = """apiVersion: mofang.io/v1alpha1
kind: Quota
metadata: {{name: {name}}}
spec:
  resourceGroups:
    gpu-a100: {{cpu: "8", memory: 32Gi, gpu: 1}}
    cpu-general: {{cpu: "4", memory: 8Gi}}
  storage: 100Gi
"""


def _parse(markdown: str) -> list:  # type: ignore[type-arg]
    return MarkdownIt("commonmark").enable("table").parse(markdown)


def _check_structure(markdown: str, sections: int) -> None:
    tokens = _parse(markdown)
    html = [t.content for t in tokens if t.type == "html_block"]
    assert html[0].strip() == MARKER
    assert sum(h.count("<details>") for h in html) == sections
    assert sum(h.count("</details>") for h in html) == sections
    assert tokens[1].type == "heading_open"
    assert any(t.type == "table_open" for t in tokens)
    rendered = MarkdownIt("commonmark").enable("table").render(markdown)
    assert rendered.count("<details>") == rendered.count("</details>") == sections
    assert "<table>" in rendered
    # Every fence is closed: an open one would swallow the rest of the comment as code.
    assert not any(t.type == "fence" and "</details>" in t.content for t in tokens)


def test_markdown_has_summary_table_details_per_project_and_diff_fences(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    two_project_repo.replace("platform.yaml", "rootPath: /mofang", "rootPath: /data")
    result = cli(two_project_repo, "diff", "--base", "HEAD", "--format", "markdown")
    assert result.code == 1, result.err
    _check_structure(result.out, sections=2)
    tokens = _parse(result.out)
    fences = [t for t in tokens if t.type == "fence"]
    assert fences and all(t.info == "diff" for t in fences)
    cells = [t.content for t in tokens if t.type == "inline"]
    assert "vision" in cells and "nlp" in cells and "prod / central" in cells
    first_details = next(i for i, t in enumerate(tokens) if "<details>" in t.content)
    first_table = next(i for i, t in enumerate(tokens) if t.type == "table_open")
    assert first_table < first_details


def test_markdown_is_deterministic_and_matches_the_snapshot(
    cli: Cli, minimal_repo: GitRepo, snapshot: SnapshotAssertion
) -> None:
    minimal_repo.replace(
        "projects/vision/quota.yaml",
        'gpu-a100: {cpu: "32", memory: 256Gi, gpu: 8}',
        'gpu-a100: {cpu: "32", memory: 256Gi, gpu: 10}',
    )
    minimal_repo.replace(
        "projects/vision/project.yaml",
        "{user: carol, role: view}",
        "{user: carol, role: view}, {user: dave, role: view}",
    )
    head = minimal_repo.commit("more GPUs, dave joins")
    argv = ("diff", "--base", "HEAD~1", "--head", head, "--format", "markdown")
    first, second = cli(minimal_repo, *argv), cli(minimal_repo, *argv)
    assert first.code == 1, first.err
    assert first.out == second.out
    _check_structure(first.out, sections=1)
    assert first.out == snapshot


def _many_projects_repo(root: Path, count: int) -> GitRepo:
    shutil.copytree(MINIMAL, root)
    shutil.rmtree(root / "projects" / "vision")
    platform = (root / "platform.yaml").read_text()
    platform = platform.replace(
        '{cpu: "64", memory: 512Gi, gpu: 16}', '{cpu: "9999", memory: 9999Ti, gpu: 9999}'
    )
    platform = platform.replace('{cpu: "128", memory: 512Gi}', '{cpu: "9999", memory: 9999Ti}')
    (root / "platform.yaml").write_text(platform)
    for index in range(count):
        name = f"team-{index:03d}"
        (root / "projects" / name).mkdir(parents=True)
        (root / "projects" / name / "project.yaml").write_text(
            PROJECT.format(name=name, members="{user: bob, role: edit}")
        )
        (root / "projects" / name / "quota.yaml").write_text(QUOTA.format(name=name))
    return init_repo(root)


def test_a_change_to_300_projects_stays_within_the_limit_with_the_summary_intact(
    cli: Cli, tmp_path: Path
) -> None:
    repo = _many_projects_repo(tmp_path / "platform", 300)
    for index in range(300):
        name = f"team-{index:03d}"
        repo.write(
            f"projects/{name}/project.yaml",
            PROJECT.format(name=name, members="{user: bob, role: edit}, {user: erin, role: view}"),
        )
    started = time.perf_counter()
    result = cli(repo, "diff", "--base", "HEAD", "--format", "markdown")
    elapsed = time.perf_counter() - started
    assert result.code == 1, result.err
    markdown = result.out
    assert len(markdown) <= LIMIT
    assert "300 projects changed" in markdown
    tokens = _parse(markdown)
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == 1 + 300  # header + one row per project: the summary is never cut
    assert "not shown" in markdown and "locally for the full preview" in markdown
    html = [t.content for t in tokens if t.type == "html_block"]
    opened = sum(h.count("<details>") for h in html)
    assert opened == sum(h.count("</details>") for h in html) and opened > 0
    assert elapsed < 60  # a sanity bound only; the target is measured in benchmarks/


def test_a_small_limit_truncates_sections_with_a_visible_marker(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    two_project_repo.replace("platform.yaml", "rootPath: /mofang", "rootPath: /data")
    full = cli(two_project_repo, "diff", "--base", "HEAD", "-o", "markdown").out
    cut = cli(
        two_project_repo, "diff", "--base", "HEAD", "-o", "markdown", "--max-chars", "2500"
    ).out
    assert len(full) > 2500 >= len(cut)
    assert "diffs left out (size limit)" in cut or "truncated" in cut
    assert "locally for the full preview" in cut
    summary = full[: full.index("<details>")]
    assert cut.startswith(summary)
    _check_structure(cut, sections=2)
