"""What a preview needs from a project or person it does not load, stored by content id.

A one-project preview of a large repository reads, from every other project, only what the
rules across projects and the impact figures take from it: whether it is valid on its own, the
cluster-scoped names it claims, its quota per resource group. A summary holds exactly that, keyed
by the ids of everything it was computed from (the project's git subtree and name, platform.yaml,
environments/, and the code that computed it); a ``people/`` file's summary (its identity, and
whether it loaded cleanly) is keyed by its blob id and path. So a summary is only ever used for
the very bytes it was made from: content of a pull request cannot stand in for another revision,
and whatever a changed file decides is always computed from the file.

All summaries of a repository live in one JSON file under the git directory, read in one go and
rewritten atomically (a per-file cache of parsed documents cost as much as parsing). A file that
is unreadable, of another version or too large is ignored: the preview then loads what it needs,
as it would without a store, and writes a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import mofang_gitops

log = logging.getLogger(__name__)

SUMMARY_FILE = "preview-summaries.json"
"""The store's name in the tool's directory of a repository (``GitTree.state_dir``)."""
FORMAT = 3
"""Version of the file's layout; any other is ignored (3: each distinct amount list stored and
parsed once, entries refer to it by index)."""
MAX_ENTRIES = 25_000
"""Most summaries kept of projects, and of people; the oldest (least recently put) go first."""
MAX_BYTES = 64 * 1024 * 1024
"""A store file larger than this is ignored (and replaced)."""
Usage = tuple[Decimal, Decimal, Decimal]
"""cpu, memory, gpu as the capacity rule sums them."""


class ProjectSummary(NamedTuple):
    """An unchanged project as the other projects' checks and figures see it.

    A named tuple: a thousand are read per preview, and a tuple is the cheapest to build.
    """

    clean: bool
    """No problem of its own (load, own rules, reserved namespace): it is valid unless another
    project claims one of its names. Only clean summaries stand in for a project."""
    claims: frozenset[str]
    """Every cluster-scoped name it renders, as ``claim_text`` writes it."""
    usage: Mapping[str, Usage]
    """Its quota per resource group times the environments on the group's cluster (read-only:
    summaries read from the store share equal mappings)."""
    allocated: Mapping[str, Usage]
    """Its quota per resource group over its environments, as the impact rows sum it."""


class PersonSummary(NamedTuple):
    """An unchanged ``people/`` file: whose it is, and whether it loaded without a problem."""

    clean: bool
    identity: str | None


@cache
def code_version() -> str:
    """A digest of the code summaries are computed by (loading, models, rules), and ``FORMAT``.

    Summaries made by other code are not used: a fixed rule must not keep an old verdict.
    """
    root = Path(mofang_gitops.__file__).parent
    digest = hashlib.sha256(f"format {FORMAT}\n".encode())
    for package in ("models", "sources", "validation", "yamlio", "previewing"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


class KeyMaker:
    """Store keys: the entry's own ids after a digest of what it shares with the others.

    A project's key is ``<digest>:<subtree>:<name>``, the digest covering the code and
    ``shared`` (the ids of platform.yaml and environments/); a person's is ``<blob>:<path>``
    (the whole file is of one code version, ``SummaryStore.load``). Ids are hex, so the first
    colons split the key unambiguously. Plain text rather than a digest per key: two thousand
    keys are made per preview.
    """

    def __init__(self, shared: Mapping[str, str]) -> None:
        text = "\0".join(["project", code_version(), *_pairs(shared)])
        self._shared = hashlib.sha256(text.encode()).hexdigest()

    def project(self, name: str, subtree: str) -> str:
        """Key of a project's summary."""
        return f"{self._shared}:{subtree}:{name}"

    @staticmethod
    def person(path: str, blob: str) -> str:
        """Key of a ``people/`` file's summary."""
        return f"{blob}:{path}"


def _pairs(shared: Mapping[str, str]) -> list[str]:
    return [f"{path}={sha}" for path, sha in sorted(shared.items())]


def claim_text(claim: tuple[str, str, str]) -> str:
    """A ``(what, cluster, name)`` claim as one string (as the store keeps it)."""
    return "/".join(claim)


@dataclass
class SummaryStore:
    """The summaries of one repository, in one file (``load`` once, ``save`` once)."""

    path: Path
    projects: dict[str, ProjectSummary] = field(default_factory=dict)
    people: dict[str, PersonSummary] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def load(cls, path: Path) -> SummaryStore:
        """Read the store; an absent, unreadable or foreign file gives an empty one."""
        store = cls(path)
        try:
            if path.stat().st_size > MAX_BYTES:
                raise ValueError(f"over {MAX_BYTES} bytes")
            data = json.loads(path.read_bytes())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("format") != FORMAT or data.get("code") != code_version():
                return store
            amounts = [_parse(tuple(flat)) for flat in data["amounts"]]
            store.projects = {k: _project(v, amounts) for k, v in data["projects"].items()}
            store.people = {k: PersonSummary(v[0] is True, v[1]) for k, v in data["people"].items()}
        except FileNotFoundError:
            pass
        except (OSError, ValueError, LookupError, TypeError, AttributeError, InvalidOperation) as e:
            log.warning("%s: preview summaries ignored (%s)", path, e)
            store.projects, store.people = {}, {}
        return store

    def put_project(self, key: str, summary: ProjectSummary) -> None:
        """Keep a project's summary (moved to the newest end)."""
        self.projects.pop(key, None)
        self.projects[key] = summary
        self.changed = True

    def put_person(self, key: str, summary: PersonSummary) -> None:
        """Keep a person file's summary (moved to the newest end)."""
        self.people.pop(key, None)
        self.people[key] = summary
        self.changed = True

    def save(self) -> None:
        """Write the store atomically if anything was added; failures only cost a warning."""
        if not self.changed:
            return
        for table in (self.people, self.projects):
            for key in list(_oldest(table, len(table) - MAX_ENTRIES)):
                del table[key]
        shapes: dict[tuple[str, ...], int] = {}
        projects = {k: _project_json(v, shapes) for k, v in self.projects.items()}
        data = {
            "format": FORMAT,
            "code": code_version(),
            "amounts": [list(flat) for flat in shapes],
            "projects": projects,
            "people": {k: [v.clean, v.identity] for k, v in self.people.items()},
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".summaries-")
            try:
                with os.fdopen(fd, "wb") as file:
                    # One dumps, not dump: the file object would take the slow pure-Python encoder.
                    file.write(json.dumps(data, separators=(",", ":")).encode())
                os.replace(temp, self.path)
            except BaseException:
                os.unlink(temp)
                raise
        except OSError as e:
            log.warning("%s: preview summaries not saved (%s)", self.path, e)
        self.changed = False


def _oldest(table: dict[str, Any], count: int) -> Iterator[str]:
    for i, key in enumerate(table):
        if i >= count:
            return
        yield key


def _project_json(summary: ProjectSummary, shapes: dict[tuple[str, ...], int]) -> list[Any]:
    """``[clean, claims, usage, allocated]``, amounts as indexes into ``shapes`` (added to)."""
    usage = shapes.setdefault(_flat(summary.usage), len(shapes))
    allocated = shapes.setdefault(_flat(summary.allocated), len(shapes))
    # The two differ only for a project listing an environment twice: store it once otherwise.
    return [summary.clean, sorted(summary.claims), usage, None if allocated == usage else allocated]


def _flat(amounts: Mapping[str, Usage]) -> tuple[str, ...]:
    """``(group, cpu, memory, gpu, group, ...)``: one flat tuple, a key for equal amounts."""
    return tuple(text for group, usage in amounts.items() for text in (group, *map(str, usage)))


def _project(value: list[Any], amounts: Sequence[Mapping[str, Usage]]) -> ProjectSummary:
    """An entry read back; its amounts are shared with the entries of equal amounts.

    Most projects share a few quota shapes, so the store keeps each distinct one once and a
    thousand summaries cost a few ``Decimal`` parses (issue 19: reading it grew with size).
    """
    clean, claims, usage, allocated = value
    parsed = amounts[_index(usage, amounts)]
    if allocated is not None:
        return ProjectSummary(
            clean is True, frozenset(claims), parsed, amounts[_index(allocated, amounts)]
        )
    return ProjectSummary(clean is True, frozenset(claims), parsed, parsed)


def _index(value: Any, amounts: Sequence[Mapping[str, Usage]]) -> int:
    if type(value) is not int or not 0 <= value < len(amounts):  # not True, not -1
        raise ValueError(f"amount index {value!r} out of range")
    return value


def _parse(flat: tuple[str, ...]) -> dict[str, Usage]:
    if len(flat) % 4 or not all(isinstance(text, str) for text in flat):
        raise ValueError("amounts are not [group, cpu, memory, gpu, ...] strings")
    return {
        flat[i]: (Decimal(flat[i + 1]), Decimal(flat[i + 2]), Decimal(flat[i + 3]))
        for i in range(0, len(flat), 4)
    }
