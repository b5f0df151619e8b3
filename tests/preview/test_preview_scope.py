"""A one-project preview loads only part of the repository: its result must be the full one's.

Each change is previewed three ways: scoped with a cold summary store (nothing stored yet),
scoped with a warm one (filled by that run, and by the previews of the other changes), and the
full computation; the two scoped ones are identical, and equal to the full one.

Except one thing, by design: the full computation also lists every other project on a resource
group whose allocated total moved (a quota raised, lowered or removed), figures only.

The full computation is the same preview told that every file of both revisions changed (and so
``platform.yaml``): then every project and person of both revisions is loaded from its own
revision in full (nothing borrowed from the other), validated and rendered. Real git, on a
generated platform whose GPU group is exactly full, so a quota raise trips the capacity check
across projects.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from benchmarks.generate import generate, project_name
from mofang_gitops.previewing import (
    PreviewOptions,
    SummaryStore,
    comparing,
    preview_data,
    preview_trees,
    scoping,
)
from mofang_gitops.previewing.comparing import changed_projects
from mofang_gitops.previewing.scoping import plan_scope
from mofang_gitops.sources.git import GitTree, changed_paths

PROJECTS = 12
NOW = PreviewOptions(now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
RESERVED = "  policies: {reservedNamespaces: [team-0002]}\n"
"""Makes an unchanged project invalid: a summary made under another platform.yaml must not say
otherwise."""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo), *args],
        check=True,
        capture_output=True,
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def notebook_cpu(repo: Path) -> None:
    nb = repo / "projects" / project_name(3) / "notebooks/nb.yaml"
    edit(nb, 'cpu: "2"', 'cpu: "3"')


def quota_over_capacity(repo: Path) -> None:
    edit(repo / "projects" / project_name(3) / "quota.yaml", "gpu: 4", "gpu: 6")


def quota_lowered(repo: Path) -> None:
    edit(repo / "projects" / project_name(3) / "quota.yaml", "gpu: 4", "gpu: 2")


def person_consent_withdrawn(repo: Path) -> None:
    edit(repo / "people/member-3.yaml", f"projects: [{project_name(3)}]", "projects: []")


def project_removed(repo: Path) -> None:
    subprocess.run(["rm", "-r", str(repo / "projects" / project_name(5))], check=True)


def member_added(repo: Path) -> None:
    edit(
        repo / "projects" / project_name(4) / "project.yaml",
        "role: edit}]",
        "role: edit}, {user: member-9, role: view}]",
    )


def _rename_project(repo: Path, old: str, new: str) -> None:
    (repo / "projects" / old).rename(repo / "projects" / new)
    for path in (repo / "projects" / new).rglob("*.yaml"):
        path.write_text(path.read_text().replace(old, new))


def project_renamed(repo: Path) -> None:
    _rename_project(repo, project_name(6), project_name(6) + "-b")


def project_renamed_to_a_reserved_namespace(repo: Path) -> None:
    _rename_project(repo, project_name(7), "kube-" + project_name(7))


def quota_moved_between_projects(repo: Path) -> None:
    """Two quotas change at once: totals stay, so only exact per-project figures can tell."""
    edit(repo / "projects" / project_name(3) / "quota.yaml", "gpu: 4", "gpu: 2")
    edit(repo / "projects" / project_name(8) / "quota.yaml", "gpu: 4", "gpu: 6")


def project_renamed_onto_an_unchanged_projects_volume(repo: Path) -> None:
    """team-0002 (untouched) has member x-global: PV team-0002-user-x-global, now claimed twice."""
    _rename_project(repo, project_name(9), project_name(2) + "-user-x")


CHANGES: dict[str, Callable[[Path], None]] = {
    "notebook": notebook_cpu,
    "quota-over-capacity": quota_over_capacity,
    "quota-lowered": quota_lowered,
    "person": person_consent_withdrawn,
    "project-removed": project_removed,
    "project-yaml": member_added,
    "project-renamed": project_renamed,
    "project-renamed-reserved": project_renamed_to_a_reserved_namespace,
    "quota-moved": quota_moved_between_projects,
    "collides-with-unchanged": project_renamed_onto_an_unchanged_projects_volume,
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = generate(tmp_path_factory.mktemp("scope") / "platform", PROJECTS)
    member_added_to(repo / "projects" / project_name(2) / "project.yaml", "x-global")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated")
    for name, change in CHANGES.items():
        git(repo, "checkout", "-q", "-b", name, "main")
        change(repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", name)
    git(repo, "checkout", "-q", "-b", "reserved", "main")
    edit(repo / "platform.yaml", "  registries:", RESERVED + "  registries:")
    git(repo, "commit", "-q", "-am", "reserve team-0002")
    git(repo, "checkout", "-q", "-b", "reserved-notebook", "reserved")
    notebook_cpu(repo)
    git(repo, "commit", "-q", "-am", "notebook")
    git(repo, "checkout", "-q", "-b", "collided-notebook", "collides-with-unchanged")
    notebook_cpu(repo)
    git(repo, "commit", "-q", "-am", "notebook")
    git(repo, "checkout", "-q", "main")
    return repo


def member_added_to(path: Path, user: str) -> None:
    edit(path, "role: edit}]", f"role: edit}}, {{user: {user}, role: view}}]")


def scoped(repo: Path, base: str, head: str, store: Path) -> dict[str, Any]:
    """The preview as ``diff`` makes it, with the summary store at ``store``."""
    changed = changed_paths(repo, base, head)
    with GitTree(repo, base) as base_tree, GitTree(repo, head) as head_tree:
        summaries = SummaryStore.load(store)
        return preview_data(preview_trees(base_tree, head_tree, changed, NOW, store=summaries))


def summarised(repo: Path, base: str, head: str, store: Path) -> set[str]:
    """Projects a preview with this store leaves out before checking collisions."""
    changed = changed_paths(repo, base, head)
    touched, _ = changed_projects(changed, lambda path: set())
    with GitTree(repo, head) as head_tree:
        scope = plan_scope(head_tree, touched, changed, SummaryStore.load(store))
    return set(scope.summarised)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One store for every change of the module, as a CI runner's clone keeps it."""
    return tmp_path_factory.mktemp("store") / "preview-summaries.json"


@pytest.mark.parametrize("branch", sorted(CHANGES))
def test_scoped_preview_equals_the_full_computation_with_a_cold_or_a_warm_store(
    platform: Path, branch: str, tmp_path: Path, shared_store: Path
) -> None:
    changed = changed_paths(platform, "main", branch)
    assert changed and "platform.yaml" not in changed
    store = tmp_path / "preview-summaries.json"
    cold = scoped(platform, "main", branch, store)
    assert store.is_file()
    assert summarised(platform, "main", branch, store) >= {project_name(10), project_name(11)}
    assert scoped(platform, "main", branch, store) == cold  # warm from this very change
    assert scoped(platform, "main", branch, shared_store) == cold  # warm from the others too
    assert scoped(platform, "main", branch, shared_store) == cold
    assert preview_data(_preview(platform, "main", branch, None)) == cold  # no store at all
    with pytest.MonkeyPatch.context() as patch:  # whole directories listed, loads filtering
        patch.setattr(scoping, "MAX_PATHSPECS", 1)
        assert scoped(platform, "main", branch, tmp_path / "wholesale.json") == cold
        assert scoped(platform, "main", branch, tmp_path / "wholesale.json") == cold  # warm
    with GitTree(platform, "main") as base, GitTree(platform, branch) as head:
        all_paths = sorted({p for tree in (base, head) for p, _ in tree.files()})
        assert "platform.yaml" in all_paths
        full = preview_data(preview_trees(base, head, all_paths, NOW))
    assert_scoped_equals_full(cold, full)


def assert_scoped_equals_full(scoped: dict[str, Any], full: dict[str, Any]) -> None:
    """Equal, except the other projects whose only change is their group's allocated total."""
    assert full["allRendered"] and not scoped["allRendered"]
    assert len(scoped["rendered"]) <= 2
    assert len(full["rendered"]) in ((PROJECTS, PROJECTS + 1) if full["valid"] else (0,))
    for key in ("valid", "changed", "summary", "errors", "warnings"):
        assert scoped[key] == full[key], key
    assert scoped["changed"] or scoped["errors"]  # every branch does something
    everything = {p["name"]: p for p in full["projects"]}
    for project in scoped["projects"]:
        assert project == everything.pop(project["name"])
    # What the scoped preview leaves out by design: other projects on a group whose allocated
    # total moved (a quota changed or went), with nothing else changed.
    for project in everything.values():
        assert not project["targets"], project["name"]
        for row in project["impact"]:
            before, after = dict(row["before"]), dict(row["after"])
            before.pop("allocated"), after.pop("allocated")
            assert before == after, (project["name"], row)


def _preview(repo: Path, base: str, head: str, store: SummaryStore | None) -> Any:
    changed = changed_paths(repo, base, head)
    with GitTree(repo, base) as base_tree, GitTree(repo, head) as head_tree:
        return preview_trees(base_tree, head_tree, changed, NOW, store=store)


def test_an_unchanged_project_meeting_a_changed_ones_names_is_loaded_and_refused(
    platform: Path, tmp_path: Path
) -> None:
    store = tmp_path / "preview-summaries.json"
    scoped(platform, "main", "notebook", store)
    assert project_name(2) in summarised(platform, "main", "collides-with-unchanged", store)
    warm = scoped(platform, "main", "collides-with-unchanged", store)
    blamed = {e["path"].split("/")[1] for e in warm["errors"] if "also rendered" in e["message"]}
    assert blamed == {project_name(2), project_name(2) + "-user-x"}, warm["errors"]


def test_unchanged_projects_claiming_the_same_name_are_both_loaded_and_refused(
    platform: Path, tmp_path: Path
) -> None:
    """Two projects colliding in both revisions, neither touched: each summary is clean on its
    own, so only comparing the summaries with each other finds them."""
    store = tmp_path / "preview-summaries.json"
    base, head = "collides-with-unchanged", "collided-notebook"
    cold = scoped(platform, base, head, store)
    colliders = {project_name(2), project_name(2) + "-user-x"}
    left_out = summarised(platform, base, head, store)
    assert project_name(4) in left_out and not colliders & left_out
    assert scoped(platform, base, head, store) == cold
    assert preview_data(_preview(platform, base, head, None)) == cold
    # Both are refused in both revisions, so neither's GPU quota (4 each) is allocated.
    main = scoped(platform, "main", "notebook", tmp_path / "main.json")
    assert _allocated_gpus(cold) == _allocated_gpus(main) - 8


@pytest.mark.parametrize(
    ("branch", "project"),
    [
        ("quota-moved", project_name(3)),
        ("quota-moved", project_name(8)),
        ("quota-over-capacity", project_name(3)),
        ("collides-with-unchanged", project_name(2) + "-user-x"),
        ("project-removed", project_name(5)),
        ("notebook", project_name(4)),  # untouched: nothing to render
    ],
)
def test_a_project_filtered_preview_uses_the_store_and_equals_the_one_without(
    platform: Path, tmp_path: Path, branch: str, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--project`` narrows what is rendered; summaries still stand in for the others."""
    plans: list[scoping.Scope] = []

    def plan(*args: Any) -> scoping.Scope:
        plans.append(plan_scope(*args))
        return plans[-1]

    monkeypatch.setattr(comparing, "plan_scope", plan)
    options = PreviewOptions(now=NOW.now, projects=frozenset({project}))
    store = tmp_path / "preview-summaries.json"
    scoped(platform, "main", "notebook", store)  # warm: every project but team-0003
    plans.clear()
    changed = changed_paths(platform, "main", branch)

    def preview(summaries: SummaryStore | None) -> dict[str, Any]:
        with GitTree(platform, "main") as base, GitTree(platform, branch) as head:
            return preview_data(preview_trees(base, head, changed, options, store=summaries))

    plain = preview(None)
    assert preview(SummaryStore.load(store)) == plain  # warm
    touched = {path.split("/")[1] for path in changed}
    assert not plans or len(plans[-1].summarised) >= PROJECTS - len(touched) - 3, plans
    assert plans or project not in touched  # planned unless nothing is rendered
    assert preview(SummaryStore.load(tmp_path / "cold.json")) == plain  # cold
    assert preview(SummaryStore.load(tmp_path / "cold.json")) == plain  # warm from the filtered one
    assert plain["rendered"] == sorted({project} & touched) or not plain["valid"], plain


def test_a_corrupt_store_is_ignored_and_replaced(platform: Path, tmp_path: Path) -> None:
    store = tmp_path / "preview-summaries.json"
    expected = scoped(platform, "main", "quota-over-capacity", store)
    text = store.read_text()
    for garbage in (text[: len(text) // 2], "[]", '{"format": 1}', "\xff\x00"):
        store.write_text(garbage)
        assert scoped(platform, "main", "quota-over-capacity", store) == expected
        assert summarised(platform, "main", "quota-over-capacity", store) >= {project_name(11)}


def test_a_store_filled_under_another_platform_yaml_is_not_used(
    platform: Path, tmp_path: Path
) -> None:
    store = tmp_path / "preview-summaries.json"
    scoped(platform, "main", "notebook", store)  # team-0002 is clean under main's platform.yaml
    assert summarised(platform, "reserved", "reserved-notebook", store) == set()
    warm = scoped(platform, "reserved", "reserved-notebook", store)
    cold = scoped(platform, "reserved", "reserved-notebook", tmp_path / "cold.json")
    plain = preview_data(_preview(platform, "reserved", "reserved-notebook", None))
    assert warm == cold == plain
    # team-0002 is refused under this platform.yaml, so its GPU quota is not allocated.
    main = scoped(platform, "main", "notebook", store)
    assert _allocated_gpus(warm) == _allocated_gpus(main) - 4


def _project_data(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in data["projects"] if p["name"] == name)
    return found


def _allocated_gpus(data: dict[str, Any]) -> int:
    impact = _project_data(data, project_name(3))["impact"]
    row = next(r for r in impact if r["resourceGroup"] == "gpu-a100")
    return int(row["after"]["allocated"]["gpu"])


def test_a_quota_over_capacity_is_refused_in_the_scoped_preview(platform: Path) -> None:
    changed = changed_paths(platform, "main", "quota-over-capacity")
    with GitTree(platform, "main") as base, GitTree(platform, "quota-over-capacity") as head:
        preview = preview_data(preview_trees(base, head, changed))
    assert not preview["valid"]
    assert any("capacity" in e["message"] for e in preview["errors"]), preview["errors"]
