"""A person's home is mounted only where that person agreed, in ``people/<identity>.yaml``.

Listing someone as a member no longer creates a volume for their home in the project; the only
way in is a workload they own that mounts ``user``, in a project their own file lists. The file
is theirs in CODEOWNERS, so no project owner can agree on their behalf.
"""

from __future__ import annotations

from typing import Any

from mofang_gitops.sources.loading import Loaded
from mofang_gitops.validation.context import RuleContext
from mofang_gitops.validation.placement import home_owner


def check_homes(ctx: RuleContext) -> None:
    """Refuse every workload that mounts the home of someone who did not allow this project."""
    for loaded in ctx.specs.workloads():
        owner = home_owner(loaded.model, ctx.project)
        if owner is None:
            continue
        person = ctx.repo.people.get(owner)
        if person is not None and person.model.allows_home_in(ctx.project.name):
            continue
        _refuse(ctx, loaded, owner, person is not None)


def _refuse(ctx: RuleContext, loaded: Loaded[Any], owner: str, has_file: bool) -> None:
    mounts = list(loaded.model.spec.mounts)
    whose = "" if getattr(loaded.model.spec, "owner", None) else " (the first project owner)"
    why = (
        f"people/{owner}.yaml does not list it in spec.home.projects"
        if has_file
        else f"there is no people/{owner}.yaml"
    )
    ctx.error(
        loaded,
        ("spec", "mounts", mounts.index("user")),
        f"mounts the home of {owner}{whose}, who has not allowed project {ctx.project.name}: {why}",
        f"remove 'user' from mounts, or ask {owner} to add {ctx.project.name!r} to "
        f"spec.home.projects in people/{owner}.yaml",
    )
