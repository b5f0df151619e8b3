"""Read-only file trees the loader walks: a directory on disk (git revisions live in gitsource).

Symlinks are refused rather than followed, so a repository cannot point the tool at files
outside itself, and a working tree renders exactly like the same commit read from git. Every tree
checks a file's size before reading it (:func:`check_size`), so a huge file costs a stat, never
its bytes in memory.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol, runtime_checkable

from mofang_gitops.errors import Location
from mofang_gitops.yamlio import MAX_FILE_BYTES, YAMLFileError


class FileTree(Protocol):
    """What the loader needs from a repository snapshot; paths are POSIX, relative to the root."""

    @property
    def label(self) -> str:
        """Where the tree comes from, for messages (a directory or ``<ref>:``)."""
        ...

    def files(self) -> list[tuple[str, bool]]:
        """Every file below the root as ``(path, is_symlink)``, sorted."""
        ...

    def read(self, path: str) -> bytes:
        """Return a file's bytes."""
        ...


@runtime_checkable
class ReadsAhead(Protocol):
    """A tree that can fetch many files in one go (git: one ``cat-file --batch`` stream)."""

    def read_ahead(self, paths: Collection[str]) -> None:
        """Fetch these files now, so the reads that follow cost no round trip each."""
        ...


@runtime_checkable
class KnowsIds(Protocol):
    """A tree that names its content by id (git) and can be narrowed to a few paths cheaply.

    A one-project preview of a large repository lists and reads only what it loads: the ids say
    which project directories and ``people/`` files are unchanged since a summary was made.
    """

    def ids(self) -> dict[str, str]:
        """Ids of the top entries, of each ``projects/<p>`` directory and ``people/`` file."""
        ...

    def narrowed(self, tops: Sequence[str]) -> FileTree:
        """The same snapshot showing only these paths (files, or directories ending in ``/``)."""
        ...


def read_ahead(tree: FileTree, paths: Collection[str]) -> None:
    """Tell ``tree`` which files will be read, if it can use that (an optimisation only)."""
    if isinstance(tree, ReadsAhead):
        tree.read_ahead(paths)


def check_size(path: str, size: int, limit: int = MAX_FILE_BYTES) -> None:
    """Refuse a file of ``size`` bytes over ``limit`` with a located error, before any read.

    Raises:
        YAMLFileError: the file is too big to be a spec.
    """
    if size > limit:
        raise YAMLFileError(
            Location(path),
            f"file is {size} bytes, over the {limit}-byte limit",
            "split it into several files",
        )


SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache"}
WALKED_TOPS = ("platform.yaml", "platform.yml", "environments", "components", "people", "projects")


@dataclass(frozen=True)
class DirectoryTree:
    """A checkout on disk. Only the platform layout is walked (not the tool's own sources)."""

    root: Path

    @property
    def label(self) -> str:
        """The directory."""
        return str(self.root)

    def files(self) -> list[tuple[str, bool]]:
        """Walk the platform layout (``WALKED_TOPS``) without following links."""
        found: list[tuple[str, bool]] = []
        for top in WALKED_TOPS:
            start = self.root / top
            if start.is_symlink():
                found.append((top, True))
            elif start.is_file():
                found.append((top, False))
            elif start.is_dir():
                found.extend(self._walk(start))
        return sorted(found)

    def _walk(self, start: Path) -> list[tuple[str, bool]]:
        found = []
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            here = Path(dirpath)
            for d in list(dirnames):
                if d in SKIP_DIRS:
                    dirnames.remove(d)
                elif (here / d).is_symlink():
                    dirnames.remove(d)
                    found.append(((here / d).relative_to(self.root).as_posix(), True))
            for f in filenames:
                p = here / f
                found.append((p.relative_to(self.root).as_posix(), p.is_symlink()))
        return found

    @cached_property
    def _resolved_root(self) -> str:
        return os.path.realpath(self.root)

    def read(self, path: str) -> bytes:
        """Read a file, refusing anything that resolves outside the root."""
        root = self._resolved_root
        full = os.path.realpath(os.path.join(root, path))
        if os.path.commonpath((root, full)) != root:
            raise PermissionError(f"{path} leaves the repository")
        with open(full, "rb") as file:
            check_size(path, os.fstat(file.fileno()).st_size)
            return file.read(MAX_FILE_BYTES + 1)  # a file growing since the stat stays bounded
