"""Planning decisions without a cluster: removed projects, unreadable last good revisions."""

from mofang_gitops.controller.plans import (
    ControllerState,
    StoredTarget,
    gone_projects,
    namespace_of,
    plan_targets,
    removed_targets,
)
from mofang_gitops.engine.inventory import Inventory, InventoryEntry
from mofang_gitops.errors import GitError
from mofang_gitops.manifests import ObjectRef, Target
from tests.controller.test_reconcile_loop import BROKEN
from tests.scenarios import build_repo, validate_dir


def stored(project: str) -> StoredTarget:
    return StoredTarget(Target("prod", "central", project), project, "central")


def test_only_known_projects_without_a_directory_are_gone(tmp_path):
    head = validate_dir(build_repo(tmp_path))
    state = ControllerState({"vision": "a", "gone": "b"}, frozenset({"pruning"}))
    assert gone_projects(head, state) == {"gone", "pruning"}
    assert gone_projects(head, ControllerState()) == frozenset()  # others' inventories: not ours


def test_removed_targets_are_empty_and_marked(tmp_path):
    (removed,) = removed_targets("abc", [stored("gone")])
    assert removed.removed and removed.rendered.manifests == () and removed.revision == "abc"
    assert removed.rendered.namespace == "gone" and removed.rendered.kube_context == "central"


def test_a_head_without_projects_or_with_a_broken_platform_decides_nothing(tmp_path):
    state = ControllerState({"vision": "a"})
    root = build_repo(tmp_path)
    (root / "platform.yaml").write_text("kind: Platform\n")
    assert gone_projects(validate_dir(root), state) is None
    empty = build_repo(tmp_path / "empty")
    for path in sorted((empty / "projects").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert gone_projects(validate_dir(empty), state) is None


def test_an_unreadable_last_good_revision_strands_the_project_with_a_reason(tmp_path):
    root = build_repo(tmp_path)
    (root / "projects/vision/notebooks/broken.yaml").write_text(BROKEN)
    head = validate_dir(root)

    def load(sha):
        raise GitError(f"revision {sha[:12]} is not in the cache")

    plan = plan_targets(head, "head", {"vision": "f" * 40}, load)
    assert not plan.targets and "vision" not in plan.good_revisions
    assert any("not in the cache" in p for p in plan.stranded["vision"])
    assert any("broken.yaml" in p for p in plan.stranded["vision"])


def test_namespace_of_an_inventory():
    def entry(kind, namespace, name):
        return InventoryEntry(ObjectRef("", kind, namespace, name), "v1")

    with_ns = Inventory(
        "prod", "p", frozenset({entry("Namespace", "", "p-ns"), entry("Service", "x", "s")})
    )
    assert namespace_of(with_ns) == "p-ns"
    services = {entry("Service", "a", "s"), entry("Service", "a", "t"), entry("Service", "b", "u")}
    without = Inventory("prod", "p", frozenset(services))
    assert namespace_of(without) == "a"
    assert namespace_of(Inventory("prod", "p")) == ""


def test_the_project_that_tips_a_group_keeps_its_last_good_revision_the_others_apply_the_head(
    tmp_path,
):
    # Revision "old": vision and aaa hold 8 GPUs each of gpu-a100's 16. Head: aaa raises to 9
    # and vision changes a label. aaa sorts first; vision must still get its head revision.
    from mofang_gitops.controller.plans import quota_baseline
    from mofang_gitops.sources.loading import load_repo
    from mofang_gitops.sources.trees import DirectoryTree
    from mofang_gitops.validation.repository import validate_repo
    from tests.validation.test_capacity_blame import _add_project, _set_gpu

    old = build_repo(tmp_path / "old")
    _add_project(old, "aaa", 8)
    head_root = build_repo(tmp_path / "head")
    _add_project(head_root, "aaa", 8)
    _set_gpu(head_root, "aaa", 8, 9)
    project = head_root / "projects/vision/project.yaml"
    project.write_text(project.read_text().replace("role: view", "role: edit"))
    revisions = {"old": validate_repo(load_repo(DirectoryTree(old)), capacity=False)}
    good = {"vision": "old", "aaa": "old"}
    baseline = quota_baseline(good, revisions.__getitem__)
    head = validate_repo(load_repo(DirectoryTree(head_root)), baseline)
    plan = plan_targets(head, "head", good, revisions.__getitem__)
    assert plan.good_revisions == {"vision": "head", "aaa": "old"}
    by_project = {p.rendered.target.project: p for p in plan.targets}
    assert by_project["vision"].revision == "head" and not by_project["vision"].problems
    assert by_project["aaa"].revision == "old"
    assert any("raised from 8" in p for p in by_project["aaa"].problems)
    quota = next(m for m in by_project["aaa"].rendered.manifests if m.ref.kind == "ResourceQuota")
    assert quota.body["spec"]["hard"]["requests.nvidia.com/gpu"] in ("8", 8)
