"""Fetch the watched branch of a remote into a local bare cache and read revisions from it.

Part of ``gitsource``, the one package that imports ``git``. The cache is a bare repository per
remote URL; the URL (which may hold a token) is passed on every fetch instead of being stored in the
cache's config, and is masked in every message. Revisions that were applied are pinned under
``refs/mofang/`` so a force-push that drops them from the remote never makes the last good tree
unreadable.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import git

from mofang_gitops.errors import GitError
from mofang_gitops.sources.trees import SKIP_DIRS, WALKED_TOPS, check_size

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 120.0
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")
_SYMLINK_MODE = 0o120000


def mask_url(text: str) -> str:
    """Replace ``user:password@`` in any URL inside ``text`` with ``***@``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def cache_path(url: str, cache_dir: Path) -> Path:
    """The bare cache repository of ``url`` (named by a hash, so no credential reaches disk)."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return cache_dir / f"{digest}.git"


def _environment() -> dict[str, str]:
    """Never prompt; ssh keys and askpass helpers come from the environment or mounted files."""
    env = {"GIT_TERMINAL_PROMPT": "0"}
    key = os.environ.get("MOFANG_GIT_SSH_KEY")
    if key:
        env["GIT_SSH_COMMAND"] = f"ssh -i {key} -o IdentitiesOnly=yes -o BatchMode=yes"
    return env


@contextmanager
def opened_cache(path: Path) -> Iterator[git.Repo]:
    """Open a repository and close it on exit.

    Reading objects starts persistent ``git cat-file`` processes; an unclosed ``Repo`` keeps
    them (and their pipes) until the cyclic collector frees it, so a controller pass would
    leave one or two behind per fetch.
    """
    repo = git.Repo(path)
    try:
        yield repo
    finally:
        repo.close()


def fetch_branch(url: str, branch: str, cache_dir: Path, timeout: float = FETCH_TIMEOUT) -> str:
    """Fetch ``branch`` of ``url`` into the cache and return the commit it points to.

    Raises:
        GitError: the remote is unreachable, refuses access, or has no such branch.
    """
    path = cache_path(url, cache_dir)
    try:
        if not path.exists():
            git.Repo.init(path, bare=True, mkdir=True).close()
        with opened_cache(path) as repo:
            refspec = f"+refs/heads/{branch}:refs/remotes/origin/{branch}"
            with repo.git.custom_environment(**_environment()):
                repo.git.fetch("--no-tags", "--force", url, refspec, kill_after_timeout=timeout)
            sha: str = repo.rev_parse(f"refs/remotes/origin/{branch}").hexsha
    except (git.GitCommandError, git.BadName, ValueError, OSError) as e:
        raise GitError(f"fetch {mask_url(url)} {branch}: {mask_url(str(e)).strip()}") from e
    return sha


def is_ancestor(repo_path: Path, older: str, newer: str) -> bool:
    """Whether ``older`` is in the history of ``newer`` (False after a force-push)."""
    try:
        with opened_cache(repo_path) as repo:
            repo.git.merge_base("--is-ancestor", older, newer)
    except git.GitCommandError:
        return False
    return True


def pin_revision(repo_path: Path, sha: str, name: str = "last-good") -> None:
    """Keep ``sha`` reachable under ``refs/mofang/<name>`` whatever the remote does."""
    try:
        with opened_cache(repo_path) as repo:
            repo.git.update_ref(f"refs/mofang/{name}", sha)
    except git.GitCommandError as e:
        raise GitError(f"pin {sha[:12]} as {name}: {e}") from e


def pin_revisions(repo_path: Path, pins: Mapping[str, str], drop: Iterable[str] = ()) -> None:
    """Pin several revisions (``name -> sha``) and drop pins (names) in one ``update-ref``.

    The controller pins each last good revision; a ``git update-ref`` per project cost a
    process per project on every pass that moved the head.
    """
    lines = [f"update refs/mofang/{name} {sha}\n" for name, sha in sorted(pins.items())]
    lines += [f"delete refs/mofang/{name}\n" for name in sorted(drop)]
    if not lines:
        return
    try:
        with tempfile.TemporaryFile() as requests:
            requests.write("".join(lines).encode())
            requests.seek(0)
            with opened_cache(repo_path) as repo:
                repo.git.execute(["git", "update-ref", "--stdin"], istream=requests)
    except (git.GitCommandError, ValueError, OSError) as e:
        raise GitError(f"pin {len(pins)} revision(s): {e}") from e


@dataclass(frozen=True)
class RevisionTree:
    """One commit of the cache as a :class:`~mofang_gitops.sources.trees.FileTree`."""

    repo_path: Path
    sha: str

    @property
    def label(self) -> str:
        """``<short sha>:`` for messages."""
        return f"{self.sha[:12]}:"

    def _tree(self, repo: git.Repo) -> git.Tree:
        try:
            return repo.commit(self.sha).tree
        except (ValueError, git.BadName, git.GitCommandError) as e:
            raise GitError(f"revision {self.sha[:12]} is not in the cache: {e}") from e

    def files(self) -> list[tuple[str, bool]]:
        """Every blob of the platform layout (``WALKED_TOPS``) as ``(path, is_symlink)``, sorted.

        Like a checkout on disk: the repository may hold other files (CI workflows, docs, the
        tool's own sources), which are not specs and must not make every project invalid.
        """
        with opened_cache(self.repo_path) as repo:
            found = [
                (str(item.path), item.mode == _SYMLINK_MODE)
                for item in self._tree(repo).traverse()
                if isinstance(item, git.Blob) and _in_layout(str(item.path))
            ]
        return sorted(found)

    def read(self, path: str) -> bytes:
        """Return the bytes of ``path`` at this revision; oversized blobs are refused unread.

        ``blob.size`` comes from the object's header (``git cat-file --batch-check``), so a huge
        blob costs one header read, not its bytes in memory.
        """
        with opened_cache(self.repo_path) as repo:
            try:
                blob = self._tree(repo) / path
            except KeyError as e:
                raise GitError(f"{self.label}{path}: no such file") from e
            check_size(path, int(blob.size))
            data: bytes = blob.data_stream.read()
        return data


def _in_layout(path: str) -> bool:
    parts = path.split("/")
    return parts[0] in WALKED_TOPS and not SKIP_DIRS.intersection(parts[:-1])


SHARED_INPUTS = ("platform.yaml", "platform.yml", "environments", "components", "people")
"""What every project's render reads besides its own directory (a change re-renders them all)."""


@dataclass(frozen=True)
class RevisionDigest:
    """The git tree hashes a render depends on, at one commit: equal hashes, equal files."""

    shared: str
    """One digest of the shared inputs (and of any stray file directly under ``projects/``)."""
    projects: dict[str, str]
    """Tree hash of ``projects/<name>`` per project directory."""

    def key(self, project: str) -> str | None:
        """What a render of ``project`` at this commit is keyed on (None: no such directory)."""
        tree = self.projects.get(project)
        return None if tree is None else f"{self.shared}:{tree}"


def revision_digest(repo_path: Path, sha: str) -> RevisionDigest:
    """Tree hashes of the shared inputs and of each project directory, from two ``ls-tree``.

    Reads tree objects only (no blob), so it costs milliseconds whatever the repository's size.

    Raises:
        GitError: the revision is not in the cache.
    """
    try:
        with opened_cache(repo_path) as repo:
            shared = repo.git.ls_tree("-z", "--full-tree", sha, "--", *SHARED_INPUTS)
            listing = repo.git.ls_tree("-z", "--full-tree", sha, "--", "projects/")
    except (git.GitCommandError, ValueError, OSError) as e:
        raise GitError(f"cannot list the trees of {sha[:12]}: {e}") from e
    projects: dict[str, str] = {}
    stray = []
    for record in (r for r in listing.split("\0") if r):
        info, _, path = record.partition("\t")
        _, kind, tree = info.split()
        if kind == "tree":
            projects[path.removeprefix("projects/")] = tree
        else:  # a file directly under projects/ is a repository-level problem: shared
            stray.append(record)
    digest = hashlib.sha256("\0".join([shared, *stray]).encode()).hexdigest()[:20]
    return RevisionDigest(digest, projects)
