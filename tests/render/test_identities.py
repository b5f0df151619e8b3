"""Identities as IdPs give them: exact in RBAC subjects, one DNS-safe name for all derived."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.cli import main
from mofang_gitops.manifests import Manifest, RenderedTarget
from mofang_gitops.models.identities import check_identity, lossy, safe_name
from mofang_gitops.rendering import render_repo
from tests.scenarios import build_repo, validate_dir

SCENARIO = "render-identities"
IDENTITIES = ["zhang.san", "li_si", "Wang.Wu", "zhang.san@corp.example"]


HOME_OWNERS = ["Wang.Wu", "zhang.san@corp.example"]
"""Whose own workloads mount their home (and who agreed in people/)."""


def _render(tmp_path: Path, cluster_roles: str = "") -> list[RenderedTarget]:
    root = build_repo(tmp_path, SCENARIO)
    if cluster_roles:
        platform = root / "platform.yaml"
        text = platform.read_text()
        assert "  policies:\n" in text
        platform.write_text(
            text.replace(
                "  policies:\n", f"  policies:\n    access: {{clusterRoles: {cluster_roles}}}\n"
            )
        )
    validation = validate_dir(root)
    assert validation.errors == [], "\n".join(str(p) for p in validation.errors)
    return render_repo(validation)


def _of_kind(targets: list[RenderedTarget], kind: str) -> list[dict[str, Any]]:
    return [m.body for t in targets for m in t.manifests if m.ref.kind == kind]


@pytest.mark.parametrize("identity", IDENTITIES)
def test_safe_name_is_a_dns_label_with_a_hash_when_information_was_lost(identity: str) -> None:
    name = safe_name(identity)
    assert name == safe_name(identity)
    assert len(name) <= 40
    assert name.replace("-", "").isalnum() and name == name.lower()
    assert lossy(identity)
    head, digest = name.rsplit("-", 1)
    assert len(digest) == 6
    assert head == identity.lower().replace(".", "-").replace("_", "-").replace("@", "-")


def test_identities_that_are_already_names_keep_them_and_case_still_matters() -> None:
    assert safe_name("alice") == "alice"
    assert not lossy("alice")
    assert safe_name("Wang.Wu") != safe_name("wang.wu")
    assert safe_name("a" * 41).endswith(safe_name("a" * 41)[-6:])
    assert len(safe_name("a" * 41)) == 40


@pytest.mark.parametrize(
    "bad", ["", "a/b", "x..y", "li si", "tab\there", "bell\a", "system:masters"]
)
def test_identities_that_could_smuggle_a_path_or_a_system_name_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        check_identity(bad)


def test_rbac_subjects_keep_the_exact_identity(tmp_path: Path) -> None:
    bindings = _of_kind(_render(tmp_path, "[admin, edit, view]"), "RoleBinding")
    subjects = {s["name"] for b in bindings for s in b.get("subjects", []) if s["kind"] == "User"}
    assert set(IDENTITIES) <= subjects
    names = {b["metadata"]["name"] for b in bindings}
    assert f"mofang-admin-{safe_name('zhang.san')}" in names
    assert f"mofang-view-{safe_name('zhang.san@corp.example')}" in names
    assert "mofang-edit-bob" in names


def test_homes_volumes_and_mounts_use_the_safe_name(tmp_path: Path) -> None:
    targets = _render(tmp_path)
    volumes = {v["metadata"]["name"]: v for v in _of_kind(targets, "PersistentVolume")}
    for identity in IDENTITIES:
        safe = safe_name(identity)
        if identity not in HOME_OWNERS:  # nothing of theirs mounts a home here
            assert f"vision-user-{safe}" not in volumes
            continue
        pv = volumes[f"vision-user-{safe}"]
        assert pv["spec"]["csi"]["volumeAttributes"]["rootPath"] == f"/mofang/user/{safe}"
        assert pv["spec"]["claimRef"]["name"] == f"user-{safe}"
    claims = {c["metadata"]["name"] for c in _of_kind(targets, "PersistentVolumeClaim")}
    assert f"user-{safe_name('Wang.Wu')}" in claims
    notebook = _of_kind(targets, "StatefulSet")[0]
    claims_mounted = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in notebook["spec"]["template"]["spec"]["volumes"]
    }
    assert claims_mounted["user"] == f"user-{safe_name('Wang.Wu')}"


def test_render_shows_the_mapping_as_comments_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_repo(tmp_path, SCENARIO)
    assert main(["--repo", str(root), "render"]) == 0
    out = capsys.readouterr().out
    comments = [line for line in out.splitlines() if line.startswith("# identity ")]
    assert sorted(comments) == sorted(f"# identity {i} -> {safe_name(i)}" for i in IDENTITIES)
    assert "# identity bob" not in out


DryRun = Callable[[Sequence[Manifest]], list[str]]


@pytest.mark.cluster
def test_identity_objects_pass_server_side_dry_run(tmp_path: Path, server_dry_run: DryRun) -> None:
    manifests = [m for t in _render(tmp_path) for m in t.manifests]
    assert server_dry_run(manifests) == []
