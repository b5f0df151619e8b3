"""`mofang-gitops diff` on real git repositories: scope, renames, exit codes, invalid heads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from mofang_gitops.previewing.comparing import PreviewOptions, preview_trees
from mofang_gitops.sources.git import GitTree
from mofang_gitops.sources.trees import DirectoryTree

from .conftest import Cli, GitRepo


def _objects(data: dict, project: str) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    found = []
    for item in data["projects"]:
        if item["name"] == project:
            for target in item["targets"]:
                found.extend((o["action"], o["id"]) for o in target["objects"])
    return found


def test_no_change_exits_0(cli: Cli, two_project_repo: GitRepo) -> None:
    result = cli(two_project_repo, "diff", "--base", "HEAD")
    assert result.code == 0, result.err
    assert "no changes" in result.out
    result = cli(two_project_repo, "diff", "--base", "HEAD", "--head", "HEAD", "-o", "json")
    assert result.code == 0
    assert json.loads(result.out)["projects"] == []


def test_a_quota_change_names_only_its_project_and_objects(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    base = two_project_repo.git("rev-parse", "HEAD")
    two_project_repo.replace("projects/nlp/quota.yaml", "weight: 2", "weight: 5")
    head = two_project_repo.commit("nlp queue weight")
    result = cli(two_project_repo, "diff", "--base", base, "--head", head, "--format", "json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert [p["name"] for p in data["projects"]] == ["nlp"]
    assert data["rendered"] == ["nlp"] and not data["allRendered"]
    assert _objects(data, "nlp") == [("changed", "Queue/nlp")]
    diff = data["projects"][0]["targets"][0]["objects"][0]["diff"]
    assert "-  weight: 2\n+  weight: 5" in diff
    assert data["projects"][0]["targets"][0]["objects"][0]["source"] == "Quota nlp"


def test_a_platform_change_rerenders_every_project(cli: Cli, two_project_repo: GitRepo) -> None:
    two_project_repo.replace("platform.yaml", "rootPath: /mofang", "rootPath: /data")
    result = cli(two_project_repo, "diff", "--base", "HEAD", "--format", "json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert data["allRendered"] and data["rendered"] == ["nlp", "vision"]
    assert [p["name"] for p in data["projects"]] == ["nlp", "vision"]
    for project in ("nlp", "vision"):
        changed = _objects(data, project)
        assert ("changed", f"PersistentVolume/{project}-project") in changed
        assert all(action == "changed" for action, _ in changed)


def test_a_rename_shows_as_delete_and_create(cli: Cli, two_project_repo: GitRepo) -> None:
    base = two_project_repo.git("rev-parse", "HEAD")
    two_project_repo.git("mv", "projects/nlp", "projects/speech")
    for name in ("project", "quota"):
        two_project_repo.replace(f"projects/speech/{name}.yaml", "{name: nlp}", "{name: speech}")
    for person in ("alice", "bob"):
        two_project_repo.replace(f"people/{person}.yaml", "vision, nlp", "vision, speech")
    head = two_project_repo.commit("rename nlp to speech")
    result = cli(two_project_repo, "diff", "--base", base, "--head", head, "-o", "json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert [p["name"] for p in data["projects"]] == ["nlp", "speech"]
    assert {a for a, _ in _objects(data, "nlp")} == {"deleted"}
    assert {a for a, _ in _objects(data, "speech")} == {"created"}
    assert ("deleted", "Namespace/nlp") in _objects(data, "nlp")
    assert ("created", "Namespace/speech") in _objects(data, "speech")


def test_an_invalid_head_exits_1_with_its_errors(cli: Cli, minimal_repo: GitRepo) -> None:
    minimal_repo.replace(
        "projects/vision/notebooks/bob-dev.yaml",
        'resources: {cpu: "4", memory: 16Gi, gpu: 1}',
        'resources: {cpu: "4", memory: 16Gi, gpu: 7}',
    )
    result = cli(minimal_repo, "diff", "--base", "HEAD")
    # Invalid specs exit 1 like validate; 2 is for usage and runtime errors.
    assert result.code == 1
    assert "projects/vision/notebooks/bob-dev.yaml:8:" in result.err
    assert "the head revision is invalid" in result.err
    assert "Traceback" not in result.err
    markdown = cli(minimal_repo, "diff", "--base", "HEAD", "--format", "markdown")
    assert markdown.code == 1
    assert "head revision is invalid" in markdown.out
    assert "projects/vision/notebooks/bob-dev.yaml:8:" in markdown.out
    data = json.loads(cli(minimal_repo, "diff", "--base", "HEAD", "-o", "json").out)
    assert not data["valid"] and data["errors"][0]["line"] == 8


def test_a_quota_raise_that_overflows_blames_the_raising_project_not_the_unchanged_one(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    # vision + nlp hold all 16 GPUs of gpu-a100: raising nlp's quota leaves no room. nlp sorts
    # first, so a name-order check would have frozen vision, whose files are unchanged.
    two_project_repo.replace("projects/nlp/quota.yaml", "gpu: 8}", "gpu: 9}")
    result = cli(two_project_repo, "diff", "--base", "HEAD")
    assert result.code == 1
    assert "projects/nlp/quota.yaml:6:" in result.err
    assert "capacity 16" in result.err and "raised from 8" in result.err
    assert "projects/vision/" not in result.err


def test_a_capacity_cut_below_granted_quota_is_blamed_on_platform_yaml(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    two_project_repo.replace("platform.yaml", "gpu: 16}", "gpu: 12}")
    result = cli(two_project_repo, "diff", "--base", "HEAD")
    assert result.code == 1
    assert "platform.yaml:" in result.err and "no project raised its quota" in result.err


def test_working_tree_head_sees_uncommitted_and_untracked_files(
    cli: Cli, minimal_repo: GitRepo
) -> None:
    minimal_repo.replace(
        "projects/vision/project.yaml",
        "{user: carol, role: view}",
        "{user: carol, role: view}, {user: dave}",
    )
    for path in ("people/bob.yaml", "projects/vision/notebooks/bob-dev.yaml"):
        minimal_repo.write(
            path.replace("bob", "dave"), minimal_repo.read(path).replace("bob", "dave")
        )
    result = cli(minimal_repo, "diff", "--base", "HEAD", "--format", "json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert data["head"] == "working tree"
    objects = _objects(data, "vision")
    assert ("changed", "RoleBinding/vision/mofang-member") in objects
    assert ("created", "StatefulSet/vision/dave-dev") in objects
    # dave's untracked consent file is read too: his home volume is created for his notebook.
    assert ("created", "PersistentVolumeClaim/vision/user-dave") in objects


def test_filters_restrict_the_preview_and_unknown_names_are_usage_errors(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    two_project_repo.replace("platform.yaml", "rootPath: /mofang", "rootPath: /data")
    result = cli(two_project_repo, "diff", "--base", "HEAD", "-p", "vision", "-o", "json")
    assert result.code == 1
    assert [p["name"] for p in json.loads(result.out)["projects"]] == ["vision"]
    result = cli(two_project_repo, "diff", "--base", "HEAD", "-p", "visoin")
    assert result.code == 2 and "unknown project ['visoin']" in result.err
    result = cli(two_project_repo, "diff", "--base", "HEAD", "-e", "dev")
    assert result.code == 2 and "unknown environment" in result.err
    two_project_repo.commit("platform")
    result = cli(two_project_repo, "diff", "--base", "HEAD", "-p", "visoin")  # nothing changed
    assert result.code == 2 and "unknown project ['visoin']" in result.err
    assert cli(two_project_repo, "diff", "--base", "HEAD", "-p", "vision").code == 0


def test_unknown_base_is_an_error_naming_the_revision(cli: Cli, minimal_repo: GitRepo) -> None:
    result = cli(minimal_repo, "diff", "--base", "origin/main")
    assert result.code == 2
    assert "unknown revision 'origin/main'" in result.err


def test_text_output_is_plain_when_piped(cli: Cli, minimal_repo: GitRepo) -> None:
    minimal_repo.replace("projects/vision/quota.yaml", "weight: 2", "weight: 3")
    result = cli(minimal_repo, "diff", "--base", "HEAD")
    assert result.code == 1
    assert "\033[" not in result.out
    assert "~ Queue/vision (Quota vision)" in result.out
    assert "-  weight: 2" in result.out and "+  weight: 3" in result.out


def test_a_notebook_change_names_only_its_project_and_objects(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    base = two_project_repo.git("rev-parse", "HEAD")
    two_project_repo.replace(
        "projects/vision/notebooks/bob-dev.yaml",
        'resources: {cpu: "4", memory: 16Gi, gpu: 1}',
        'resources: {cpu: "6", memory: 16Gi, gpu: 2}',
    )
    head = two_project_repo.commit("bob needs more")
    result = cli(two_project_repo, "diff", "--base", base, "--head", head, "--format", "json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert data["rendered"] == ["vision"]
    assert [p["name"] for p in data["projects"]] == ["vision"]
    objects = data["projects"][0]["targets"][0]["objects"]
    assert [(o["action"], o["id"], o["source"]) for o in objects] == [
        ("changed", "StatefulSet/vision/bob-dev", "Notebook bob-dev")
    ]
    assert objects[0]["sourcePath"] == "projects/vision/notebooks/bob-dev.yaml"
    gpu_row = next(r for r in data["projects"][0]["impact"] if r["resourceGroup"] == "gpu-a100")
    assert gpu_row["before"]["requested"] == {"cpu": "20", "memory": "144Gi", "gpu": "5"}
    assert gpu_row["after"]["requested"] == {"cpu": "22", "memory": "144Gi", "gpu": "6"}
    text = cli(two_project_repo, "diff", "--base", base, "--head", head).out
    assert "~ StatefulSet/vision/bob-dev (Notebook bob-dev)" in text
    assert "nlp" not in text


def test_clamped_requests_are_previewed_as_clamped_with_the_warning(
    cli: Cli, minimal_repo: GitRepo
) -> None:
    minimal_repo.replace("platform.yaml", "onViolation: reject", "onViolation: clamp")
    minimal_repo.commit("clamp instead of reject")
    minimal_repo.replace(
        "projects/vision/notebooks/bob-dev.yaml",
        'resources: {cpu: "4", memory: 16Gi, gpu: 1}',
        'resources: {cpu: "4", memory: 16Gi, gpu: 5}',
    )
    result = cli(minimal_repo, "diff", "--base", "HEAD", "-o", "json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert [w["field"] for w in data["warnings"]] == ["spec.resources.gpu"]
    gpu_row = next(r for r in data["projects"][0]["impact"] if r["resourceGroup"] == "gpu-a100")
    assert gpu_row["after"]["requested"]["gpu"] == "6"  # clamped to maxGpu 2, plus 2x2 workers
    markdown = cli(minimal_repo, "diff", "--base", "HEAD", "-o", "markdown").out
    assert "1 warning(s) and note(s)" in markdown
    assert "projects/vision/notebooks/bob-dev.yaml:8:" in markdown


COMPONENT = """apiVersion: mofang.io/v1alpha1
kind: Component
metadata: {name: export}
spec:
  version: 1.0.0
  image: registry.example.com/vision/export:1
  command: [python, -m, export, "--table={{inputs.table}}"]
  inputs: [{name: table, type: string}]
  resources: {cpu: "1", memory: 2Gi}
"""


def _pipeline_using(component: str, name: str) -> str:
    return (
        f"apiVersion: mofang.io/v1alpha1\nkind: Pipeline\nmetadata: {{name: {name}}}\n"
        f"spec:\n  tasks: [{{name: one, component: {component}, inputs: {{table: t}}}}]\n"
    )


def test_a_shared_component_change_lists_every_pipeline_and_project_it_touches(
    cli: Cli, two_project_repo: GitRepo
) -> None:
    two_project_repo.write("components/export.yaml", COMPONENT)
    two_project_repo.write(
        "projects/vision/pipelines/exports.yaml", _pipeline_using("export", "exports")
    )
    two_project_repo.write("projects/nlp/pipelines/dump.yaml", _pipeline_using("export", "dump"))
    two_project_repo.write("projects/nlp/pipelines/other.yaml", _pipeline_using("x", "other"))
    two_project_repo.write(
        "projects/nlp/components/x.yaml", COMPONENT.replace("name: export", "name: x")
    )
    base = two_project_repo.commit("pipelines from a shared component")
    two_project_repo.replace("components/export.yaml", "export:1", "export:2")
    head = two_project_repo.commit("new export image")
    result = cli(two_project_repo, "diff", "--base", base, "--head", head, "--format", "json")
    assert result.code == 1, result.err
    data = json.loads(result.out)
    assert data["notes"] == [
        "component components/export is used by 2 pipeline(s) in 2 project(s): "
        "nlp/dump, vision/exports"
    ]
    assert _objects(data, "vision") == [("changed", "WorkflowTemplate/vision/exports")]
    assert _objects(data, "nlp") == [("changed", "WorkflowTemplate/nlp/dump")]
    markdown = cli(two_project_repo, "diff", "--base", base, "--head", head, "--format", "markdown")
    assert "nlp/dump, vision/exports" in markdown.out


def test_a_changed_schedule_notes_its_next_runs_in_its_time_zone(
    cli: Cli, minimal_repo: GitRepo
) -> None:
    minimal_repo.replace(
        "projects/vision/pipelines/daily-features.yaml", 'cron: "0 2 * * *"', 'cron: "30 */6 * * *"'
    )
    result = cli(minimal_repo, "diff", "--base", "HEAD")
    assert result.code == 1, result.err
    notes = [line for line in result.out.splitlines() if "next runs:" in line]
    assert (
        len(notes) == 1
        and "vision/daily-features runs on '30 */6 * * *' (Asia/Shanghai)" in notes[0]
    )
    times = [datetime.fromisoformat(t) for t in notes[0].split("next runs: ")[1].split(", ")]
    assert len(times) == 3 and times == sorted(times)
    assert all((t.hour, t.minute) in {(0, 30), (6, 30), (12, 30), (18, 30)} for t in times)
    assert all(t.utcoffset() == timedelta(hours=8) for t in times)
    assert times[0] > datetime.now(UTC)


def test_next_runs_come_from_the_pinned_clock_and_skip_unchanged_schedules(
    minimal_repo: GitRepo,
) -> None:
    minimal_repo.replace(
        "projects/vision/pipelines/daily-features.yaml", "timezone: Asia/Shanghai", "timezone: UTC"
    )
    root = minimal_repo.root
    changed = ["projects/vision/pipelines/daily-features.yaml"]
    now = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    with GitTree(root, "HEAD") as base:
        preview = preview_trees(base, DirectoryTree(root), changed, PreviewOptions(now=now))
    assert [n for n in preview.notes if "next runs" in n] == [
        "pipeline vision/daily-features runs on '0 2 * * *' (UTC); next runs: "
        "2026-11-30T02:00+00:00, 2026-12-01T02:00+00:00, 2026-12-02T02:00+00:00"
    ]
    with GitTree(root, "HEAD") as base, GitTree(root, "HEAD") as head:
        unchanged = preview_trees(base, head, changed, PreviewOptions(now=now))
    assert not [n for n in unchanged.notes if "next runs" in n]
