"""A one-project preview loads only part of the repository: its result must be the full one's.

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
from pathlib import Path

import pytest

from benchmarks.generate import generate, project_name
from mofang_gitops.previewing import PreviewOptions, preview_data, preview_trees
from mofang_gitops.sources.git import GitTree, changed_paths

PROJECTS = 12


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
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = generate(tmp_path_factory.mktemp("scope") / "platform", PROJECTS)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated")
    for name, change in CHANGES.items():
        git(repo, "checkout", "-q", "-b", name, "main")
        change(repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", name)
    git(repo, "checkout", "-q", "main")
    return repo


@pytest.mark.parametrize("branch", sorted(CHANGES))
def test_scoped_preview_equals_the_full_computation(platform: Path, branch: str) -> None:
    changed = changed_paths(platform, "main", branch)
    assert changed and "platform.yaml" not in changed
    with GitTree(platform, "main") as base, GitTree(platform, branch) as head:
        scoped = preview_data(preview_trees(base, head, changed, PreviewOptions()))
        all_paths = sorted({p for tree in (base, head) for p, _ in tree.files()})
        assert "platform.yaml" in all_paths
        full = preview_data(preview_trees(base, head, all_paths))

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


def test_a_quota_over_capacity_is_refused_in_the_scoped_preview(platform: Path) -> None:
    changed = changed_paths(platform, "main", "quota-over-capacity")
    with GitTree(platform, "main") as base, GitTree(platform, "quota-over-capacity") as head:
        preview = preview_data(preview_trees(base, head, changed))
    assert not preview["valid"]
    assert any("capacity" in e["message"] for e in preview["errors"]), preview["errors"]
