"""Git revisions as file trees, and what changed between two of them.

With ``remote`` this is the only code that imports ``git`` (gitpython): every other stage sees a
revision as a ``FileTree``, so loading a commit is loading a directory. Commits are read blob by
blob from the object database and never checked out, so the user's working tree, index and HEAD are
left alone (``diff`` runs in the middle of someone's work). The repository may hold the platform in
a subdirectory (``--repo`` below the git root); paths are reported relative to that directory.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from mofang_gitops.errors import GitError
from mofang_gitops.sources.trees import SKIP_DIRS, WALKED_TOPS, check_size
from mofang_gitops.yamlio import MAX_FILE_BYTES

log = logging.getLogger(__name__)

_SYMLINK_MODE = "120000"
PREFETCH_BYTES = 64 * 1024 * 1024
"""Most bytes of blobs a tree reads ahead in one stream."""
_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}
"""Paths given to git are names, never glob patterns."""


@contextmanager
def _opened(repo_path: Path | str) -> Iterator[tuple[git.Repo, str]]:
    """Open the git repository holding ``repo_path``; yield it and the path's prefix in it."""
    repo = _open(repo_path)
    try:
        yield repo, _prefix(repo, Path(repo_path))
    finally:
        repo.close()


def _open(repo_path: Path | str) -> git.Repo:
    try:
        return git.Repo(repo_path, search_parent_directories=True)
    except (InvalidGitRepositoryError, NoSuchPathError) as e:
        raise GitError(f"{repo_path}: not a git repository (or any parent)") from e


def _prefix(repo: git.Repo, repo_path: Path) -> str:
    """``repo_path`` relative to the top of the work tree as a path prefix: ``''`` or ``a/``."""
    if repo.bare or repo.working_tree_dir is None:
        return ""
    top = Path(repo.working_tree_dir).resolve()
    relative = repo_path.resolve().relative_to(top).as_posix()
    return "" if relative == "." else relative + "/"


def _check_rev(rev: str) -> None:
    if not rev or rev.startswith("-") or any(c.isspace() or c == "\0" for c in rev):
        raise GitError(f"{rev!r} is not a revision name")


def _resolve(repo: git.Repo, rev: str) -> str:
    _check_rev(rev)
    try:
        sha: str = repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}")
    except GitCommandError as e:
        where = repo.working_tree_dir or repo.git_dir
        raise GitError(
            f"unknown revision {rev!r} in {where} (fetch it first, e.g. `git fetch origin`)"
        ) from e
    return sha.strip()


def resolve(repo_path: Path | str, rev: str) -> str:
    """Return the full commit sha ``rev`` names; raise ``GitError`` when it names none."""
    with _opened(repo_path) as (repo, _):
        return _resolve(repo, rev)


def merge_base(repo_path: Path | str, base: str, head: str | None) -> str:
    """Return the best common ancestor of ``base`` and ``head`` (``HEAD`` when None)."""
    with _opened(repo_path) as (repo, _):
        base_sha, head_sha = _resolve(repo, base), _resolve(repo, head or "HEAD")
        try:
            found: str = repo.git.merge_base(base_sha, head_sha)
        except GitCommandError as e:
            raise GitError(f"{base} and {head or 'HEAD'} have no common ancestor") from e
        return found.strip()


def _pathspecs(prefix: str, tops: Sequence[str] = WALKED_TOPS) -> list[str]:
    return [prefix + top for top in tops]


def _strip(paths: list[str], prefix: str) -> list[str]:
    return sorted({p[len(prefix) :] for p in paths if p.startswith(prefix)})


def _split_z(output: str) -> list[str]:
    return [item for item in output.split("\0") if item]


def changed_paths(repo_path: Path | str, base: str, head: str | None = None) -> list[str]:
    """Platform files that differ between ``base`` and ``head``, relative to ``repo_path``.

    With ``head`` None the working tree is compared, staged or not, untracked files included.
    A rename is reported as its old and its new path.
    """
    with _opened(repo_path) as (repo, prefix):
        specs = _pathspecs(prefix)
        base_sha = _resolve(repo, base)
        revs = [base_sha] if head is None else [base_sha, _resolve(repo, head)]
        try:
            diff = repo.git.diff(
                "--name-only",
                "-z",
                "--no-renames",
                "--no-ext-diff",
                *revs,
                "--",
                *specs,
                env=_LITERAL,
            )
            untracked = ""
            if head is None and not repo.bare:
                # Ignored files too: the working-tree loader sees them, so they can change output.
                untracked = repo.git.ls_files("--others", "-z", "--", *specs, env=_LITERAL)
        except GitCommandError as e:
            raise GitError(f"git diff {base}..{head or 'working tree'} failed: {e.stderr}") from e
        return _strip(_split_z(diff) + _split_z(untracked), prefix)


class GitTree:
    """The platform files of one commit, read from the object database (``FileTree``).

    Use it as a context manager (or call ``close``): gitpython keeps ``git cat-file`` processes.
    ``tops`` limits it to some paths of the layout (``projects/<name>/``: one project's files).
    """

    def __init__(self, repo_path: Path | str, rev: str, tops: Sequence[str] = WALKED_TOPS) -> None:
        self._tops = tuple(tops)
        self._repo = _open(repo_path)
        try:
            self._prefix = _prefix(self._repo, Path(repo_path))
            self.rev = rev
            self.sha = _resolve(self._repo, rev)
        except BaseException:
            self._repo.close()
            raise
        self._entries: dict[str, tuple[str, str, int]] | None = None
        self._cache: dict[str, bytes] | None = None
        self._files: list[tuple[str, bool]] | None = None
        self._ids: dict[str, str] | None = None
        self._owner = True

    def narrowed(self, tops: Sequence[str]) -> GitTree:
        """The same commit limited to ``tops`` (listed on first use, not by this call).

        It shares this tree's git processes: closing it does nothing, closing this tree closes it.
        """
        tree = GitTree.__new__(GitTree)
        tree.__dict__.update(self.__dict__)
        tree._tops, tree._entries, tree._files, tree._owner = tuple(tops), None, None, False
        return tree

    def ids(self) -> dict[str, str]:
        """Object ids of the layout's entries, directories unopened (their path ends in ``/``).

        One non-recursive ``git ls-tree`` of the top entries, ``people/`` and ``projects/``: a
        thousand entries, where the recursive listing is every file of every project. A
        ``projects/<p>/`` id changes whenever any file below it does.
        """
        if self._ids is None:
            tops = [*("platform.yaml", "platform.yml", "environments", "components")]
            tops += ["people/", "projects/"]
            listing = self._ls_tree(tops)
            self._ids = {}
            for record in _split_z(listing):
                info, _, full_path = record.partition("\t")
                _, kind, sha = info.split()
                path = full_path[len(self._prefix) :] + ("/" if kind == "tree" else "")
                self._ids[path] = sha
        return dict(self._ids)

    def __enter__(self) -> GitTree:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the git helper processes (those of the trees narrowed from this one too)."""
        if self._owner:
            self._repo.close()

    @property
    def state_dir(self) -> Path:
        """Where the tool keeps what it derives from this repository (inside its git directory).

        Shared by every worktree of the repository; never part of any revision.
        """
        return Path(self._repo.common_dir) / "mofang-gitops"

    @property
    def label(self) -> str:
        """``<rev>:`` as git writes a path in a revision."""
        return f"{self.rev}:"

    def files(self) -> list[tuple[str, bool]]:
        """Every platform file of the commit as ``(path, is_symlink)``, sorted."""
        if self._files is None:  # sorted once: a preview lists each revision several times
            self._files = sorted(
                (path, mode == _SYMLINK_MODE) for path, (mode, _, _) in self._index().items()
            )
        return list(self._files)

    def read(self, path: str) -> bytes:
        """Return a blob's bytes; oversized blobs are refused before they are read."""
        entry = self._index().get(path)
        if entry is None:
            raise FileNotFoundError(f"{self.label}{path}: no such file")
        mode, sha, size = entry
        if mode == _SYMLINK_MODE:
            raise PermissionError(f"{self.label}{path}: is a symlink")
        check_size(path, size)  # the size ls-tree reported: the object's header, not its bytes
        blobs = self._blobs()
        if sha in blobs:
            return blobs[sha]
        stream = self._repo.odb.stream(bytes.fromhex(sha))
        check_size(path, int(stream.size))
        data: bytes = stream.read()
        return data

    def read_ahead(self, paths: Collection[str]) -> None:
        """Fetch only these blobs in one stream (a preview reads a fraction of a large tree).

        Without it the first read fetches every blob of the tree; paths not named here (in this
        call or an earlier one) are still read, one by one.
        """
        index, have = self._index(), self._cache or {}
        entries = {index[p] for p in paths if p in index and index[p][1] not in have}
        self._cache = {**have, **self._prefetch(entries)} if entries else have

    def _blobs(self) -> dict[str, bytes]:
        """Every readable blob, fetched in one ``git cat-file --batch`` stream on first use.

        One request per file would cost a round trip to git each; a repository of a thousand
        projects is read in one stream instead. Above ``PREFETCH_BYTES`` blobs are read one by one.
        """
        if self._cache is None:
            self._cache = self._prefetch(set(self._index().values()))
        return self._cache

    def _prefetch(self, entries: set[tuple[str, str, int]]) -> dict[str, bytes]:
        wanted = {
            sha for mode, sha, size in entries if mode != _SYMLINK_MODE and size <= MAX_FILE_BYTES
        }
        sizes = sum(size for _, sha, size in entries if sha in wanted)
        return self._fetch(sorted(wanted)) if sizes <= PREFETCH_BYTES else {}

    def _fetch(self, shas: list[str]) -> dict[str, bytes]:
        with tempfile.TemporaryFile() as requests:
            requests.write("".join(f"{sha}\n" for sha in shas).encode())
            requests.seek(0)
            try:
                out = self._repo.git.execute(
                    ["git", "cat-file", "--batch"],
                    istream=requests,
                    stdout_as_string=False,
                    strip_newline_in_stdout=False,
                )
            except GitCommandError as e:
                raise GitError(f"cannot read the files of {self.rev}: {e.stderr}") from e
        return _parse_batch(out)

    def _index(self) -> dict[str, tuple[str, str, int]]:
        """``path -> (mode, blob sha, size)`` from one ``git ls-tree`` call (cheap on big trees)."""
        if self._entries is None and not self._tops:
            self._entries = {}  # no pathspec would list everything
        if self._entries is None:
            listing = self._ls_tree(self._tops, "-r", "-l")
            self._entries = self._parse_listing(listing)
        return self._entries

    def _ls_tree(self, tops: Sequence[str], *flags: str) -> str:
        """One ``git ls-tree -z`` of ``tops`` under the prefix (literal pathspecs), or GitError."""
        try:
            return str(
                self._repo.git.ls_tree(
                    *flags,
                    "-z",
                    "--full-tree",
                    self.sha,
                    "--",
                    *_pathspecs(self._prefix, tops),
                    env=_LITERAL,
                )
            )
        except GitCommandError as e:
            raise GitError(f"cannot list {self.rev}: {e.stderr}") from e

    def _parse_listing(self, listing: str) -> dict[str, tuple[str, str, int]]:
        entries = {}
        for record in _split_z(listing):
            info, _, full_path = record.partition("\t")
            mode, kind, sha, size = info.split()
            path = full_path[len(self._prefix) :]
            if kind != "blob" or SKIP_DIRS.intersection(path.split("/")[:-1]):
                log.debug("%s%s: skipped (%s)", self.label, path, kind)
                continue
            entries[path] = (mode, sha, int(size) if size.isdigit() else 0)
        return entries


def _parse_batch(out: bytes) -> dict[str, bytes]:
    """Split ``git cat-file --batch`` output: a ``<sha> <type> <size>`` line, then the content."""
    blobs = {}
    pos = 0
    while pos < len(out):
        end = out.index(b"\n", pos)
        header = out[pos:end].split()
        pos = end + 1
        if len(header) != 3:  # "<sha> missing": read it one by one later, with a clear error
            continue
        size = int(header[2])
        blobs[header[0].decode()] = out[pos : pos + size]
        pos += size + 1
    return blobs
