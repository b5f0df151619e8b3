"""Load the two revisions of a preview, leaving out what stored summaries already tell.

The rules across projects (names claimed in the clusters, capacity) and the impact figures
(quota allocated per group) need something from every project; the changed ones are loaded in
full, the others only for that. A project unchanged between the revisions, with the same
platform.yaml and environments/, and whose stored summary says it is clean, is not loaded at
all: its summary gives its names and quota, and it is valid in both revisions, because a clean
project is invalid only when another project claims one of its names. So every summarised
project whose names meet a loaded project's (in either revision), or another summarised one's,
is loaded after all, its collisions then reported as without summaries. Unchanged ``people/``
files with a clean summary are not loaded either, except those of identities the changed
projects name (owners, members, workload owners): the home rule reads only those.

Without summaries (a cold store, a working-tree head, different shared inputs) everything
other than the changed projects' workloads is loaded, and the store is filled afterwards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from mofang_gitops.models import Person
from mofang_gitops.previewing.impact import project_allocation
from mofang_gitops.previewing.summaries import (
    KeyMaker,
    PersonSummary,
    ProjectSummary,
    SummaryStore,
    claim_text,
)
from mofang_gitops.sources.loading import Loaded, ProjectSpecs, Repo, load_repo
from mofang_gitops.sources.trees import KnowsIds
from mofang_gitops.validation.capacity import project_usage
from mofang_gitops.validation.namespaces import claims_reserved, project_claims
from mofang_gitops.validation.repository import Validation

SHARED_TOPS = ("platform.yaml", "platform.yml", "environments")
"""What a project's own verdict, names and quota depend on besides its directory."""
LISTED_TOPS = ("platform.yaml", "platform.yml", "environments", "components")
MAX_PATHSPECS = 64


@dataclass
class Scope:
    """What a preview loads of each revision and what it takes from summaries."""

    touched: set[str]
    """Projects whose files changed: loaded in full."""
    summarised: dict[str, ProjectSummary] = field(default_factory=dict)
    """Unchanged clean projects left out of both loads."""
    quiet_people: dict[str, PersonSummary] = field(default_factory=dict)
    """Unchanged clean ``people/`` files left out, by path."""
    project_keys: dict[str, str] = field(default_factory=dict)
    """Store key of every unchanged project (to fill the store)."""
    people_keys: dict[str, str] = field(default_factory=dict)
    """Store key of every unchanged ``people/`` file, by path."""
    people_paths: list[str] = field(default_factory=list)
    """Every ``people/`` file of the head."""
    people_entries: set[str] = field(default_factory=set)
    """Every ``people/`` entry of either revision (subdirectories too: the loader refuses them)."""
    loaded: list[str] = field(default_factory=list)
    """Project directories (and stray ``projects/`` entries) each revision lists."""

    def tops(self) -> list[str]:
        """The paths a narrowed tree shows: shared files, people not left out, loaded projects.

        Past ``MAX_PATHSPECS`` paths a whole directory is listed instead (git matches every
        entry against every pathspec); the loads still filter out what summaries stand for.
        """
        people = sorted(self.people_entries - self.quiet_people.keys())
        if len(people) > MAX_PATHSPECS:
            people = ["people/"]
        loaded = self.loaded if len(self.loaded) <= MAX_PATHSPECS else ["projects/"]
        return [*LISTED_TOPS, *people, *loaded]


def plan_scope(
    head: KnowsIds, touched: set[str], changed: Collection[str], store: SummaryStore
) -> Scope:
    """Which projects and people to leave out of both loads.

    ``changed`` is what differs between the revisions (as for the preview itself): a project
    with no changed path has the same subtree in both, a ``people/`` file not listed the same
    blob, and the shared inputs are the same when no platform-wide path changed (the caller
    plans only then). So only the head is listed, once, without opening any directory.
    """
    differ = set(changed)
    shared: dict[str, str] = {}
    projects: dict[str, str] = {}
    scope = Scope(touched=set(touched))
    stray = {p for p in differ if p.startswith("projects/") and p.count("/") == 1}
    people: dict[str, str] = {}
    for path, sha in head.ids().items():
        top, _, rest = path.partition("/")
        if top == "projects":
            if rest.endswith("/") and rest.count("/") == 1:
                projects[rest[:-1]] = sha
            else:
                stray.add(path)
        elif top == "people":
            people[path] = sha
        elif top in SHARED_TOPS:
            shared[path] = sha
    keys = KeyMaker(shared)
    for name, tree in projects.items():
        if name not in touched:
            key = scope.project_keys[name] = keys.project(name, tree)
            summary = store.projects.get(key)
            if summary is not None and summary.clean:
                scope.summarised[name] = summary
    _unsummarise(scope, _shared_claims(scope.summarised.values()))
    scope.people_entries = {*people, *(p for p in differ if p.startswith("people/"))}
    for path, blob in people.items():
        if path.endswith("/"):
            continue
        scope.people_paths.append(path)
        if path not in differ:
            key = scope.people_keys[path] = keys.person(path, blob)
            person = store.people.get(key)
            if person is not None and person.clean and person.identity is not None:
                scope.quiet_people[path] = person
    loaded = (projects.keys() | touched) - scope.summarised.keys()
    scope.loaded = sorted([*(f"projects/{name}/" for name in loaded), *stray])
    return scope


def _shared_claims(summaries: Iterable[ProjectSummary]) -> set[str]:
    """Claims of more than one summary; set operations per summary rather than per claim."""
    claims = [summary.claims for summary in summaries]
    seen: set[str] = set().union(*claims)
    if len(seen) == sum(map(len, claims)):
        return set()  # the usual case: every name is claimed once
    counts = Counter(claim for names in claims for claim in names)
    return {claim for claim, count in counts.items() if count > 1}


def _unsummarise(scope: Scope, claims: set[str]) -> list[str]:
    """Drop the summaries that claim any of ``claims``: those projects are loaded."""
    dropped = sorted(n for n, s in scope.summarised.items() if s.claims & claims)
    for name in dropped:
        del scope.summarised[name]
    return dropped


def add_colliders(scope: Scope, head: KnowsIds, repos: list[Repo]) -> None:
    """Load the summarised projects whose names meet a loaded project's, into every repo.

    They are loaded like any unchanged project (project and quota only) and shared by both
    revisions (their files are the same bytes in both).
    """
    if not scope.summarised:
        return  # a cold store: every project was loaded already
    claims = {
        claim_text(claim)
        for repo in repos
        for specs in repo.projects.values()
        for claim in project_claims(repo, specs)
    }
    dropped = _unsummarise(scope, claims)
    if not dropped:
        return
    tops = [f"projects/{name}/" for name in dropped]
    scope.loaded = sorted({*scope.loaded, *tops})
    extra = load_repo(head.narrowed(tops), set()).projects
    for repo in repos:
        for name in dropped:
            if name in extra:
                repo.projects.setdefault(name, extra[name])
        repo.projects = dict(sorted(repo.projects.items()))


def add_people(scope: Scope, head: KnowsIds, repos: list[Repo]) -> None:
    """Load the left-out ``people/`` files of identities the changed projects name."""
    named: set[str] = set()
    for repo in repos:
        for name in scope.touched:
            specs = repo.projects.get(name)
            if specs is not None and specs.project is not None:
                named.update(_identities(specs))
    wanted = sorted(p for p, s in scope.quiet_people.items() if s.identity in named)
    if not wanted:
        return
    loaded = load_repo(head.narrowed(wanted), set())
    found = {person.doc.path: (identity, person) for identity, person in loaded.people.items()}
    for repo in repos:
        for path in wanted:
            if path in found:
                repo.people.setdefault(*found[path])
        repo.problems.extend(p for p in loaded.problems if p.location.path in wanted)
        repo.people = dict(sorted(repo.people.items(), key=lambda item: item[1].doc.path))


def _identities(specs: ProjectSpecs) -> set[str]:
    """Everyone whose home a project's workloads may mount: its owners and workload owners."""
    assert specs.project is not None
    found = set(specs.project.model.spec.owners) | set(specs.project.model.users())
    for loaded in specs.workloads():
        owner = getattr(loaded.model.spec, "owner", None)
        if isinstance(owner, str):
            found.add(owner)
    return found


def fill_store(store: SummaryStore, scope: Scope, head: Validation) -> None:
    """Summarise the unchanged projects and people the head loaded, and save the store."""
    repo = head.repo
    for name, key in scope.project_keys.items():
        specs = repo.projects.get(name)
        if name in scope.summarised or specs is None or specs.workloads_loaded:
            continue
        store.put_project(key, summarise_project(head, specs))
    people = {person.doc.path: person for person in repo.people.values()}
    for path, key in scope.people_keys.items():
        if path in scope.quiet_people:
            continue
        store.put_person(key, summarise_person(repo, path, people.get(path)))
    store.save()


def summarise_project(head: Validation, specs: ProjectSpecs) -> ProjectSummary:
    """What the others' checks and figures read from an unchanged project."""
    repo = head.repo
    check = head.checks.get(specs.name)
    clean = (
        repo.platform is not None
        and check is not None
        and check.resolved is not None
        and not check.problems
        and not claims_reserved(repo, repo.platform.model, specs)
    )
    return ProjectSummary(
        clean=clean,
        claims=frozenset(claim_text(c) for c in project_claims(repo, specs)),
        usage=project_usage(repo, specs) or {},
        allocated={
            group: (amount.cpu, amount.memory, amount.gpu)
            for group, amount in project_allocation(repo, specs).items()
        },
    )


def summarise_person(repo: Repo, path: str, person: Loaded[Person] | None) -> PersonSummary:
    """Whose a ``people/`` file is, and whether it loaded without any problem."""
    problems = any(p.location.path == path for p in repo.problems)
    identity = person.model.identity if person is not None else None
    return PersonSummary(clean=not problems and identity is not None, identity=identity)
