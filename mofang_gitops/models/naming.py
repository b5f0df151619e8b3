"""Names of the cluster-scoped objects a project gets, shared by validation and rendering.

Namespaces, Volcano queues and PersistentVolumes live in one flat namespace per cluster; two
projects that render the same name would overwrite each other. Validation refuses such
collisions before anything renders, so it must compute exactly the names the renderer uses:
both read them from here.
"""

from __future__ import annotations

from mofang_gitops.models.identities import safe_name


def queue_name(namespace: str) -> str:
    """The Volcano queue of an environment namespace (one queue per namespace)."""
    return namespace


def volume_name(namespace: str, claim: str) -> str:
    """The PersistentVolume bound to ``claim`` in ``namespace`` (PVs are cluster-scoped)."""
    return f"{namespace}-{claim}"


def user_claim(user: str) -> str:
    """The claim of a person's home volume in a project namespace: their one DNS-safe name."""
    return f"user-{safe_name(user)}"


PROJECT_CLAIM = "project"
GLOBAL_CLAIM = "global"
