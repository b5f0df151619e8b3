"""Reserved namespaces and cluster-scoped names unique across projects and environments."""

from __future__ import annotations

from pathlib import Path

from tests.scenarios import build_repo, validate_dir


def _add_project(root: Path, name: str, members: str = "[]") -> None:
    folder = root / "projects" / name
    folder.mkdir(parents=True)
    (folder / "project.yaml").write_text(
        "apiVersion: mofang.io/v1alpha1\nkind: Project\n"
        f"metadata: {{name: {name}}}\n"
        f"spec: {{owners: [zed], members: {members}, environments: [prod], "
        "resourceGroups: [cpu-general]}\n"
    )
    (folder / "quota.yaml").write_text(
        "apiVersion: mofang.io/v1alpha1\nkind: Quota\n"
        f"metadata: {{name: {name}}}\n"
        'spec:\n  resourceGroups:\n    cpu-general: {cpu: "1", memory: 1Gi}\n'
    )


def _with_policy(platform: str, reserved: str) -> str:
    assert "  policies:\n" in platform
    return platform.replace("  policies:\n", f"  policies:\n    reservedNamespaces: {reserved}\n")


def test_persistent_volume_names_may_not_collide_across_projects(tmp_path: Path) -> None:
    # Project "a" gives a person called "project" a home: PV a-user-project, which is also the
    # project volume of project "a-user".
    root = build_repo(tmp_path)
    _add_project(root, "a", "[{user: project, role: view}]")
    _add_project(root, "a-user")
    validation = validate_dir(root)
    assert validation.invalid_projects == {"a", "a-user"}
    messages = [str(p) for p in validation.errors]
    assert any(
        m.startswith("projects/a/project.yaml:4:")
        and "PersistentVolume 'a-user-project'" in m
        and "project 'a-user'" in m
        for m in messages
    ), messages


def test_the_platform_policy_and_the_gateway_namespace_are_reserved(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    platform = root / "platform.yaml"
    text = platform.read_text()
    platform.write_text(_with_policy(text, "[lab-*]"))
    gateway = text.split("gateway: ", 1)[1].split("/", 1)[0]
    _add_project(root, "lab-one")
    _add_project(root, gateway)
    _add_project(root, "istio-extra")  # reserved by default, allowed once the policy replaces it
    validation = validate_dir(root)
    assert validation.invalid_projects == {"lab-one", gateway}
    assert validation.valid_projects() == ["istio-extra", "vision"]


def test_kube_default_and_the_tools_namespace_cannot_be_unreserved(tmp_path: Path) -> None:
    root = build_repo(tmp_path)
    platform = root / "platform.yaml"
    platform.write_text(_with_policy(platform.read_text(), "[]"))
    for name in ("kube-public", "default", "mofang-system"):
        _add_project(root, name)
    assert validate_dir(root).invalid_projects == {"kube-public", "default", "mofang-system"}
