"""Diff, apply and prune rendered objects on live clusters (model: fluxcd/pkg ``ssa``).

The CLI and the controller import only what this package exports (an import-linter contract
keeps them out of the submodules); the modules below are one per verb.
"""

from mofang_gitops.engine.applying import RUN_SKIPPED
from mofang_gitops.engine.changesets import (
    Action,
    ChangeSet,
    ChangeSetEntry,
    format_json,
    format_text,
)
from mofang_gitops.engine.inventory import LABEL_INVENTORY, Inventory, find_inventories
from mofang_gitops.engine.manager import UNREACHABLE, Progress, ResourceManager, connect
from mofang_gitops.engine.options import ApplyOptions
from mofang_gitops.engine.pruning import PROTECTED_KINDS
from mofang_gitops.engine.upstream import UpstreamRun, WaitOutcome, wait_for_upstream

__all__ = [
    "LABEL_INVENTORY",
    "PROTECTED_KINDS",
    "RUN_SKIPPED",
    "UNREACHABLE",
    "Action",
    "ApplyOptions",
    "ChangeSet",
    "ChangeSetEntry",
    "Inventory",
    "Progress",
    "ResourceManager",
    "UpstreamRun",
    "WaitOutcome",
    "connect",
    "find_inventories",
    "format_json",
    "format_text",
    "wait_for_upstream",
]
