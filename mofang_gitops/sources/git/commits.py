"""Who wrote a revision and why: the commit's subject, author and time, for people to read.

The controller shows these next to the short SHA it applied. They are strings from git, so they
stay data: one line, bounded in length, escaped by whoever renders them. Only the author's name
is kept, not the e-mail address (a status page is no place to collect addresses).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from mofang_gitops.errors import GitError
from mofang_gitops.sources.git.remote import opened_cache

MAX_SUBJECT = 200
"""Characters of a subject kept (a subject is one line by convention, not by rule)."""
MAX_AUTHOR = 100


@dataclass(frozen=True)
class CommitInfo:
    """The part of a commit a person recognises it by."""

    sha: str
    subject: str
    author: str
    time: float
    """Commit time (when it was made to be what it is: rebases and amends move it), epoch."""

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"sha": self.sha, "subject": self.subject, "author": self.author, "time": self.time}


def _line(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def read_commit(repo_path: Path, sha: str) -> CommitInfo:
    """Subject, author and time of ``sha`` in the repository (a bare cache or a checkout).

    Raises:
        GitError: the commit is not in the repository.
    """
    try:
        with opened_cache(repo_path) as repo:
            commit = repo.commit(sha)
            message = commit.message
            text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
            subject = text.strip().split("\n", 1)[0] if text.strip() else ""
            return CommitInfo(
                sha=commit.hexsha,
                subject=_line(subject, MAX_SUBJECT),
                author=_line(str(commit.author.name or ""), MAX_AUTHOR),
                time=float(commit.committed_date),
            )
    except (ValueError, git.BadName, git.GitCommandError, OSError) as e:
        raise GitError(f"commit {sha[:12]}: {e}") from e
