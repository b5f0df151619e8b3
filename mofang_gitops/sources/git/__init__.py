"""Git, and nothing else imports it: revisions as file trees (``revisions``), remotes (``remote``).

The diff preview reads two revisions of a local checkout; the controller fetches a remote branch
into a bare cache and reads revisions from there. Either way a revision becomes a ``FileTree``.
"""

from mofang_gitops.sources.git.commits import CommitInfo, read_commit
from mofang_gitops.sources.git.remote import (
    SHARED_INPUTS,
    RevisionDigest,
    RevisionTree,
    cache_path,
    fetch_branch,
    is_ancestor,
    mask_url,
    pin_revision,
    pin_revisions,
    revision_digest,
)
from mofang_gitops.sources.git.revisions import GitTree, changed_paths, merge_base, resolve

__all__ = [
    "SHARED_INPUTS",
    "CommitInfo",
    "GitTree",
    "RevisionDigest",
    "RevisionTree",
    "cache_path",
    "changed_paths",
    "fetch_branch",
    "is_ancestor",
    "mask_url",
    "merge_base",
    "pin_revision",
    "pin_revisions",
    "read_commit",
    "resolve",
    "revision_digest",
]
