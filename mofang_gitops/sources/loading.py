"""Load a platform repository: walk the layout, parse YAML safely, build the spec models.

Problems are collected, never raised one by one: a broken file makes its own project invalid and
is reported with ``path:line:column``; other projects load normally.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from mofang_gitops.errors import GitError, Location, Problem, Severity, field_path
from mofang_gitops.models import (
    KIND_MODELS,
    Component,
    Environment,
    Notebook,
    Person,
    Pipeline,
    Platform,
    Project,
    Quota,
    SpecDocument,
    Training,
)
from mofang_gitops.models.base import DNS1123_LABEL
from mofang_gitops.sources.trees import FileTree, read_ahead
from mofang_gitops.yamlio import Document, YAMLFileError, load_documents

log = logging.getLogger(__name__)

M = TypeVar("M", bound=SpecDocument)
YAML_SUFFIXES = (".yaml", ".yml")
WORKLOAD_DIRS: dict[str, str] = {
    "notebooks": "Notebook",
    "trainings": "Training",
    "pipelines": "Pipeline",
    "components": "Component",
}


@dataclass(frozen=True)
class Loaded(Generic[M]):
    """A spec model together with the document it came from (for error positions)."""

    model: M
    doc: Document

    @property
    def name(self) -> str:
        """The spec's name."""
        return self.model.metadata.name

    def locate(self, *at: str | int) -> Location:
        """Position of a field of this spec."""
        return self.doc.locate(at)

    def problem(
        self,
        at: tuple[str | int, ...],
        message: str,
        *,
        subject: str,
        hint: str = "",
        severity: Severity = Severity.ERROR,
    ) -> Problem:
        """A finding at a field of this spec: the field path is written once, here."""
        return Problem(
            location=self.locate(*at),
            subject=subject,
            field=field_path(at),
            message=message,
            hint=hint,
            severity=severity,
        )


@dataclass
class ProjectSpecs:
    """Everything under ``projects/<name>/``."""

    name: str
    project: Loaded[Project] | None = None
    quota: Loaded[Quota] | None = None
    notebooks: dict[str, Loaded[Notebook]] = field(default_factory=dict)
    trainings: dict[str, Loaded[Training]] = field(default_factory=dict)
    pipelines: dict[str, Loaded[Pipeline]] = field(default_factory=dict)
    components: dict[str, Loaded[Component]] = field(default_factory=dict)
    """The project's own pipeline components (``projects/<p>/components/``)."""
    paths: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    workloads_loaded: bool = True
    """False when only project.yaml and quota.yaml were read (a partial load for previews)."""

    def workloads(self) -> list[Loaded[Any]]:
        """Notebooks, trainings and pipelines in a stable order."""
        return [
            *self.notebooks.values(),
            *self.trainings.values(),
            *self.pipelines.values(),
        ]


@dataclass
class Repo:
    """A loaded repository snapshot."""

    label: str
    platform: Loaded[Platform] | None = None
    environments: dict[str, Loaded[Environment]] = field(default_factory=dict)
    projects: dict[str, ProjectSpecs] = field(default_factory=dict)
    components: dict[str, Loaded[Component]] = field(default_factory=dict)
    """Platform-wide pipeline components (``components/``)."""
    people: dict[str, Loaded[Person]] = field(default_factory=dict)
    """``people/<name>.yaml`` by exact identity: who lets which projects mount their home."""
    problems: list[Problem] = field(default_factory=list)
    """Problems outside any project: platform.yaml, environments, people, stray files."""

    def all_problems(self) -> list[Problem]:
        """Every problem, sorted by location."""
        found = list(self.problems)
        for project in self.projects.values():
            found.extend(project.problems)
        return sorted(found)


def load_repo(tree: FileTree, only_projects: set[str] | None = None) -> Repo:
    """Load a repository; with ``only_projects``, other projects get only project and quota."""
    repo = Repo(label=tree.label)
    _load_files(repo, tree, only_projects)
    if repo.platform is None and not any(
        p.location.path.startswith("platform.") for p in repo.problems
    ):
        repo.problems.append(
            Problem(
                location=Location("platform.yaml"),
                message="platform.yaml is missing",
                hint="add the Platform spec at the repository root",
            )
        )
    return repo


def load_projects(tree: FileTree) -> dict[str, ProjectSpecs]:
    """The project directories of ``tree`` alone, loaded exactly as ``load_repo`` loads them.

    A project's specs depend on its own files only, so the controller reloads just the projects
    whose directory changed (``tree`` limited to them) and keeps the others' from the last head.
    """
    repo = Repo(label=tree.label)
    _load_files(repo, tree, None)
    return repo.projects


def _load_files(repo: Repo, tree: FileTree, only_projects: set[str] | None) -> None:
    files = tree.files()
    read_ahead(tree, [path for path, link in files if not link and _read(path, only_projects)])
    for path, is_link in files:
        if is_link:
            repo_problem(repo, path).append(
                Problem(
                    location=Location(path),
                    message="symlinks are not allowed in a platform repository",
                    hint="replace the link with the file itself",
                )
            )
            continue
        try:
            _load_path(repo, tree, path, only_projects)
        except GitError:
            raise  # the source failed, not the file: the caller retries the whole revision
        except Exception as e:  # a bug one file triggers makes that file's project invalid
            log.exception("%s: loading raised", path)
            repo_problem(repo, path).append(internal_problem(Location(path), "loading", e))


INTERNAL_ERROR = "internal error while "
"""How the message of a problem standing for an unexpected exception starts."""
INTERNAL_STAGES = {"loading": "load", "validating": "validate", "checking projects": "validate"}
"""``stage`` of ``internal_problem`` -> the metric label it is counted under."""


def internal_problem(location: Location, stage: str, error: Exception) -> Problem:
    """A problem standing for an unexpected exception, so it is reported like bad input."""
    return Problem(
        location,
        message=f"{INTERNAL_ERROR}{stage}: {type(error).__name__}: {error}"[:2000],
        hint="this is a bug in mofang-gitops; the rest of the repository is unaffected",
    )


def internal_stage(problem: Problem) -> str | None:
    """The metric stage of a problem made by ``internal_problem``, else None."""
    if not problem.message.startswith(INTERNAL_ERROR):
        return None
    stage = problem.message[len(INTERNAL_ERROR) :].split(":", 1)[0]
    return INTERNAL_STAGES.get(stage)


def repo_problem(repo: Repo, path: str) -> list[Problem]:
    """Return the problem list a file's problems belong to (its project's, else the repo's)."""
    parts = path.split("/")
    if len(parts) >= 3 and parts[0] == "projects":
        return _project(repo, parts[1]).problems
    return repo.problems


def _project(repo: Repo, name: str) -> ProjectSpecs:
    if name not in repo.projects:
        repo.projects[name] = ProjectSpecs(name)
    return repo.projects[name]


def _read(path: str, only: set[str] | None) -> bool:
    """Whether loading reads this file (partial loads skip other projects' workloads)."""
    parts = path.split("/")
    return path.endswith(YAML_SUFFIXES) and not (
        only is not None and parts[0] == "projects" and len(parts) == 4 and parts[1] not in only
    )


def _load_path(repo: Repo, tree: FileTree, path: str, only: set[str] | None) -> None:
    parts = path.split("/")
    problems = repo_problem(repo, path)
    if not path.endswith(YAML_SUFFIXES):
        if parts[0] in ("environments", "components", "people") or (
            len(parts) == 4 and parts[2] in WORKLOAD_DIRS
        ):
            problems.append(
                Problem(
                    location=Location(path),
                    message="not a YAML file",
                    hint="spec files end in .yaml",
                )
            )
        return
    expected = _expected_kind(parts)
    if expected is None:
        problems.append(
            Problem(
                location=Location(path),
                message="YAML file outside the platform layout",
                hint="use platform.yaml, environments/<env>.yaml, components/<name>.yaml, "
                "people/<identity>.yaml, projects/<p>/project.yaml, quota.yaml, notebooks/, "
                "trainings/, pipelines/ or components/",
            )
        )
        return
    if parts[0] == "projects":
        project = _project(repo, parts[1])
        project.paths.append(path)
        if not _valid_name(parts[1]):
            problems.append(
                Problem(
                    location=Location(path),
                    message=f"project directory {parts[1]!r} is not a DNS-1123 label",
                    hint="use lowercase letters, digits and '-'",
                )
            )
            return
        if only is not None and parts[1] not in only and len(parts) == 4:
            project.workloads_loaded = False
            return
    try:
        docs = load_documents(path, tree.read(path))
    except (YAMLFileError, PermissionError, OSError) as e:
        problems.append(_file_problem(path, e))
        return
    if len(docs) != 1:
        problems.append(
            Problem(
                location=Location(path),
                message=f"holds {len(docs)} documents, expected exactly one",
                hint="put each spec in a file of its own",
            )
        )
        return
    loaded = build_model(docs[0], expected, problems)
    if loaded is not None:
        _place(repo, loaded, parts, problems)


def _file_problem(path: str, error: Exception) -> Problem:
    if isinstance(error, YAMLFileError):
        return Problem(location=error.location, message=error.message, hint=error.hint)
    return Problem(location=Location(path), message=f"cannot read: {error}")


def _valid_name(name: str) -> bool:
    import re

    return bool(re.match(DNS1123_LABEL, name)) and len(name) <= 40


def _expected_kind(parts: list[str]) -> str | None:
    """Which kind a path must hold, from the layout of DESIGN.md section 1."""
    if len(parts) == 1 and parts[0] in ("platform.yaml", "platform.yml"):
        return "Platform"
    if len(parts) == 2 and parts[0] == "environments":
        return "Environment"
    if len(parts) == 2 and parts[0] == "components":
        return "Component"
    if len(parts) == 2 and parts[0] == "people":
        return "Person"
    if parts[0] != "projects":
        return None
    if len(parts) == 3 and parts[2] in ("project.yaml", "project.yml"):
        return "Project"
    if len(parts) == 3 and parts[2] in ("quota.yaml", "quota.yml"):
        return "Quota"
    if len(parts) == 4 and parts[2] in WORKLOAD_DIRS:
        return WORKLOAD_DIRS[parts[2]]
    return None


def build_model(doc: Document, expected: str, problems: list[Problem]) -> Loaded[Any] | None:
    """Validate one document against the model of its kind; append problems on failure."""
    data = doc.data
    if not isinstance(data, dict):
        problems.append(Problem(location=doc.locate(), message="a spec document must be a mapping"))
        return None
    kind = data.get("kind")
    name = data.get("metadata", {}).get("name") if isinstance(data.get("metadata"), dict) else None
    subject = f"{kind or expected} {name or '?'}"
    if kind != expected:
        hint = f"this location holds {expected} specs"
        if kind not in KIND_MODELS:
            hint = f"known kinds: {', '.join(sorted(KIND_MODELS))}"
        problems.append(
            Problem(
                location=doc.locate(("kind",)),
                subject=subject,
                field="kind",
                message=f"expected kind {expected}, found {kind!r}",
                hint=hint,
            )
        )
        return None
    model_cls = KIND_MODELS[expected]
    try:
        model = model_cls.model_validate(data)
    except ValidationError as e:
        problems.extend(_pydantic_problems(e, doc, subject, model_cls))
        return None
    return Loaded(model, doc.without_data())


def _pydantic_problems(
    error: ValidationError, doc: Document, subject: str, model_cls: type[BaseModel]
) -> list[Problem]:
    found = []
    for item in error.errors(include_url=False):
        loc = tuple(item["loc"])
        message = item["msg"]
        hint = _hint(item["type"], loc, model_cls)
        if item["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}"
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] == "value_error":
            message = message.removeprefix("Value error, ")
            # A model that knows the fix raises an error carrying it (ScheduleError, ...).
            hint = str(getattr(item.get("ctx", {}).get("error"), "hint", "")) or hint
        found.append(
            Problem(
                location=doc.locate(loc),
                subject=subject,
                field=field_path(loc),
                message=message,
                hint=hint,
            )
        )
    return found


def _hint(error_type: str, loc: tuple[Any, ...], model_cls: type[BaseModel]) -> str:
    if error_type == "extra_forbidden":
        allowed = _fields_at(model_cls, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        if close:
            return f"did you mean {close[0]!r}?"
        return f"allowed fields: {', '.join(allowed)}" if allowed else "remove it"
    if error_type == "missing":
        return "add it"
    if error_type == "string_pattern_mismatch" and loc and loc[-1] in ("name", "project"):
        return "use lowercase letters, digits and '-', starting and ending with a letter or digit"
    if error_type in ("int_parsing", "int_type", "float_parsing", "string_type", "bool_parsing"):
        return "check the value's type (quote strings, leave numbers unquoted)"
    return ""


def _fields_at(model_cls: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names (as written, aliases included) of the model found at ``loc``."""
    current: Any = model_cls
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) or next(
            (f for f in current.model_fields.values() if f.alias == part), None
        )
        if info is None:
            return []
        current = _model_in(info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(f.alias or n for n, f in current.model_fields.items())
    return []


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside ``X | None``, ``list[X]`` or ``dict[str, X]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _place(repo: Repo, loaded: Loaded[Any], parts: list[str], problems: list[Problem]) -> None:
    """Put a model where it belongs, checking names against files and directories."""
    model = loaded.model
    path = "/".join(parts)
    stem = parts[-1].rsplit(".", 1)[0]
    if parts[0] == "platform.yaml" or parts[0] == "platform.yml":
        repo.platform = loaded
        return
    if parts[0] in ("environments", "components"):
        if model.name != stem:
            problems.append(_name_mismatch(loaded, stem, "the file name"))
            return
        if isinstance(model, Component):
            repo.components[model.name] = loaded
        else:
            repo.environments[model.name] = loaded
        return
    if parts[0] == "people":
        if model.name != stem:
            problems.append(_name_mismatch(loaded, stem, "the file name"))
            return
        repo.people[model.identity] = loaded
        return
    project_name = parts[1]
    project = _project(repo, project_name)
    declared = model.metadata.project
    if declared is not None and declared != project_name:
        problems.append(
            loaded.problem(
                ("metadata", "project"),
                f"declares project {declared!r} but lives in projects/{project_name}/",
                subject=_subject(model, project_name),
                hint=f"move the file to projects/{declared}/ or fix metadata.project",
            )
        )
        return
    if model.KIND in ("Project", "Quota"):
        if model.name != project_name:
            problems.append(
                loaded.problem(
                    ("metadata", "name"),
                    f"{model.KIND} {model.name!r} is declared in "
                    f"projects/{project_name}/ (a spec for another project)",
                    subject=_subject(model, project_name),
                    hint=f"set metadata.name to {project_name!r} or move the file",
                )
            )
            return
        if isinstance(model, Project):
            project.project = loaded
        elif isinstance(model, Quota):
            project.quota = loaded
        return
    if model.name != stem:
        problems.append(_name_mismatch(loaded, stem, "the file name", project_name))
        return
    if isinstance(model, Notebook):
        project.notebooks[model.name] = loaded
    elif isinstance(model, Training):
        project.trainings[model.name] = loaded
    elif isinstance(model, Pipeline):
        project.pipelines[model.name] = loaded
    elif isinstance(model, Component):
        project.components[model.name] = loaded
    log.debug("loaded %s from %s", _subject(model, project_name), path)


def _name_mismatch(
    loaded: Loaded[Any], stem: str, what: str, project: str | None = None
) -> Problem:
    return loaded.problem(
        ("metadata", "name"),
        f"name {loaded.name!r} differs from {what} {stem!r}",
        subject=_subject(loaded.model, project),
        hint=f"rename the file to {loaded.name}.yaml or set metadata.name to {stem!r}",
    )


def _subject(model: SpecDocument, project: str | None = None) -> str:
    if project is None:
        return f"{model.KIND} {model.name}"
    return f"{model.KIND} {project}/{model.name}"
