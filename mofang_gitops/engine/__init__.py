"""Diff, apply and prune rendered objects on live clusters (model: fluxcd/pkg ``ssa``).

The CLI and the controller need only :class:`ResourceManager`, :class:`ApplyOptions` and the
change-set formatters; the modules below are one per verb.
"""

from mofang_gitops.engine.applying import ApplyOptions
from mofang_gitops.engine.changesets import (
    Action,
    ChangeSet,
    ChangeSetEntry,
    format_json,
    format_text,
)
from mofang_gitops.engine.manager import Progress, ResourceManager, connect

__all__ = [
    "Action",
    "ApplyOptions",
    "ChangeSet",
    "ChangeSetEntry",
    "Progress",
    "ResourceManager",
    "connect",
    "format_json",
    "format_text",
]
