"""What teams run: notebooks, trainings (with optional hyper-parameter search) and pipelines."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from mofang_gitops.models.base import (
    MAX_REPLICAS,
    Duration,
    EnvVarName,
    MountTier,
    Name,
    Resources,
    SpecDocument,
    StrictModel,
    UserName,
    register,
)
from mofang_gitops.models.components import InputName, InputValue, Version
from mofang_gitops.models.schedules import check_cron, zone
from mofang_gitops.models.text import (
    Arg,
    EnvValue,
    Identifier,
    ImageName,
    KatibValue,
    SingleLine,
)

MAX_TASKS = 2000
"""Most steps of a pipeline: an Argo Workflow of 2,000 steps still fits etcd's object size."""
MAX_ARGS = 256
"""Most words of a command or argument list."""
MAX_SEARCH_NUMBER = 1e15
"""Largest magnitude of a search bound or goal (Katib passes them on as decimal strings)."""
SearchNumber = Annotated[
    float, Field(ge=-MAX_SEARCH_NUMBER, le=MAX_SEARCH_NUMBER, allow_inf_nan=False)
]
Env = Annotated[dict[EnvVarName, EnvValue], Field(max_length=256)]
Args = Annotated[list[Arg], Field(max_length=MAX_ARGS)]

FRAMEWORK_ROLES: dict[str, tuple[set[str], set[str]]] = {
    # framework: (allowed roles, required roles)
    "horovod": ({"launcher", "worker"}, {"launcher", "worker"}),
    "tensorflow": ({"ps", "chief", "worker", "evaluator"}, {"worker"}),
    "pytorch": ({"master", "worker"}, {"master"}),
    "xgboost": ({"master", "worker"}, {"master"}),
    "ray": ({"head", "worker"}, {"head"}),
    "volcano": (set(), set()),  # any task names
    "spark": ({"driver", "executor"}, {"driver", "executor"}),
}
SINGLETON_ROLES = {"launcher", "chief", "master", "head", "evaluator", "driver"}
"""Roles that always run exactly one replica."""


def _user_and_project() -> list[MountTier]:
    return ["user", "project"]


def _project_only() -> list[MountTier]:
    return ["project"]


class Workload(SpecDocument):
    """Fields every workload shares."""

    @property
    def environments(self) -> list[str] | None:
        """Environments listed by the workload itself (None: all of the project's)."""
        envs: list[str] | None = getattr(getattr(self, "spec", None), "environments", None)
        return envs


class NotebookSpec(StrictModel):
    """A Jupyter notebook server for one person."""

    owner: UserName
    """The member who uses it; its user volume is mounted."""
    image: ImageName
    """A platform image name, or a full image from an allowed registry."""
    resourceGroup: Name
    """Where it runs."""
    resources: Resources
    """Requests (GPUs also set limits)."""
    mounts: list[MountTier] = Field(default_factory=_user_and_project)
    """Storage tiers to mount."""
    idleTimeout: Duration | None = None
    """Cull after this long idle; defaults to the platform policy."""
    environments: Annotated[list[Name], Field(max_length=64)] | None = None
    """Environments to deploy to; defaults to all of the project's."""
    access: Literal["owner", "project"] = "owner"
    """Who may open it through the gateway: its ``owner`` only, or every owner and member of the
    ``project`` (who then also run code in the owner's session, with the owner's home)."""


@register
class Notebook(Workload):
    """A notebook (``projects/<p>/notebooks/<name>.yaml``)."""

    KIND: ClassVar[str] = "Notebook"
    kind: Literal["Notebook"]
    """Always ``Notebook``."""
    spec: NotebookSpec
    """The notebook definition."""


class Role(StrictModel):
    """One replica type of a distributed training job."""

    replicas: int = Field(default=1, ge=1, le=MAX_REPLICAS)
    """Replica count (at most 10000; the platform policy ``maxWorkers`` may allow fewer)."""
    resources: Resources
    """Requests per replica."""
    resourceGroup: Name | None = None
    """Where this role runs; default: CPU group for GPU-less coordinator roles, else the job's."""
    image: ImageName | None = None
    """Image override for this role."""
    command: Args | None = None
    """Command override for this role."""


class RunPolicy(StrictModel):
    """Retries and clean-up of a job."""

    backoffLimit: int = Field(default=3, ge=0, le=100)
    """Retries before the job is failed."""
    ttlAfterFinished: Duration | None = None
    """Delete the finished job after this long (at most 366d)."""
    activeDeadline: Duration | None = None
    """Fail the job when it runs longer (at most 366d)."""


class Objective(StrictModel):
    """What a hyper-parameter search optimises."""

    metric: Identifier
    """Metric name the training prints (``name=value``)."""
    type: Literal["maximize", "minimize"]
    """Direction."""
    goal: SearchNumber | None = None
    """Stop when reached (a finite number of magnitude at most 1e15)."""
    additionalMetrics: list[Identifier] = Field(default_factory=list, max_length=32)
    """Other metrics to collect (at most 32)."""


class Parameter(StrictModel):
    """One searched hyper-parameter; passed to the command as ``--<name>=<value>``."""

    name: Annotated[str, SingleLine, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$", max_length=63)]
    """Parameter (and command-line flag) name."""
    type: Literal["double", "int", "categorical", "discrete"]
    """Parameter type."""
    min: SearchNumber | None = None
    """Lower bound (double, int); finite, magnitude at most 1e15."""
    max: SearchNumber | None = None
    """Upper bound (double, int); finite, magnitude at most 1e15."""
    step: Annotated[float, Field(gt=0, le=MAX_SEARCH_NUMBER, allow_inf_nan=False)] | None = None
    """Step (double, int); positive, at most 1e15."""
    values: list[KatibValue] = Field(default_factory=list, max_length=256)
    """Choices (categorical, discrete), at most 256: letters, digits and ``. _ + : / @ = -``
    only, because Katib substitutes them into the trial's JSON and command line unquoted."""

    @model_validator(mode="after")
    def _bounds_or_values(self) -> Parameter:
        if self.type in ("double", "int"):
            if self.min is None or self.max is None:
                raise ValueError(f"a {self.type} parameter needs min and max")
            if self.min > self.max:
                raise ValueError(f"min {self.min} is above max {self.max}")
            if self.values:
                raise ValueError(f"a {self.type} parameter takes min/max, not values")
        elif not self.values:
            raise ValueError(f"a {self.type} parameter needs values")
        return self


class Search(StrictModel):
    """Hyper-parameter search (Katib Experiment) around the training job."""

    objective: Objective
    """What to optimise."""
    algorithm: Literal[
        "random", "grid", "bayesianoptimization", "tpe", "multivariate-tpe", "cmaes"
    ] = "random"
    """Katib suggestion algorithm (hyperband is left out: it needs settings this spec lacks)."""
    maxTrials: int = Field(default=10, ge=1, le=10_000)
    """Most trials in total (at most 10000)."""
    parallelTrials: int = Field(default=1, ge=1, le=1000)
    """Trials at once (at most 1000, and at most maxTrials)."""
    maxFailedTrials: int | None = Field(default=None, ge=0, le=10_000)
    """Stop after this many failed trials (at most 10000)."""
    parameters: list[Parameter] = Field(min_length=1, max_length=64)
    """Searched parameters (at most 64)."""

    @model_validator(mode="after")
    def _parallel_within_max(self) -> Search:
        if self.parallelTrials > self.maxTrials:
            raise ValueError(f"parallelTrials {self.parallelTrials} exceeds maxTrials")
        return self


SPARK_MIN_MEMORY = 1024**3
"""Smallest Spark pod: the JVM heap plus at least 384 MiB of overhead must fit (see jobs.py)."""


class Spark(StrictModel):
    """How spark-operator submits the application (``framework: spark`` only)."""

    type: Literal["Python", "Scala", "Java", "R"] = "Python"
    """Language of the application file."""
    mainClass: (
        Annotated[str, SingleLine, Field(max_length=255, pattern=r"^[A-Za-z_$][A-Za-z0-9_$.]*$")]
        | None
    ) = None
    """Main class (Scala and Java applications)."""
    version: Annotated[
        str, SingleLine, Field(pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)?$", max_length=20)
    ] = "3.5.5"
    """Spark version of the image (spark-operator records it; it does not pick the image)."""
    conf: dict[
        Annotated[str, SingleLine, Field(pattern=r"^spark\.[A-Za-z0-9_.-]+$", max_length=200)],
        Annotated[str, SingleLine, Field(max_length=4096)],
    ] = Field(default_factory=dict, max_length=256)
    """Extra ``spark.*`` properties, as ``--conf`` of spark-submit (at most 256)."""

    @model_validator(mode="after")
    def _main_class_for_jvm(self) -> Spark:
        if self.type in ("Scala", "Java") and not self.mainClass:
            raise ValueError(f"a {self.type} application needs mainClass")
        return self


class TensorBoard(StrictModel):
    """A TensorBoard over a log directory of the project volume, for the project's people."""

    logDir: Annotated[
        str,
        SingleLine,
        Field(max_length=255, pattern=r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*/?$"),
    ]
    """Directory under the project volume, relative (``runs/resnet50``); mounted read-only."""

    @field_validator("logDir")
    @classmethod
    def _inside_volume(cls, value: str) -> str:
        if any(part in (".", "..") for part in value.split("/")):
            raise ValueError(f"{value!r} must stay inside the project volume (no . or ..)")
        return value.rstrip("/")


class TrainingSpec(StrictModel):
    """A distributed training job on a Kubeflow operator, Ray, Volcano or Spark."""

    framework: Literal["horovod", "tensorflow", "pytorch", "xgboost", "ray", "volcano", "spark"]
    """Operator: horovod (MPIJob), tensorflow (TFJob), pytorch, xgboost, ray (RayJob), volcano,
    spark (SparkApplication)."""
    image: ImageName
    """A platform image name, or a full image from an allowed registry."""
    command: Annotated[Args, Field(min_length=1)]
    """Command of the main container (the launcher for horovod, the entrypoint for ray; for spark
    the application file, e.g. ``local:///opt/app/job.py``, then its arguments); at most 256 words
    of 4096 characters, line feeds and tabs allowed."""
    args: Args = Field(default_factory=list)
    """Extra arguments (at most 256)."""
    env: Env = Field(default_factory=dict)
    """Environment variables (at most 256; values up to 4096 characters, several lines allowed)."""
    resourceGroup: Name
    """Default resource group of every role."""
    roles: dict[Name, Role] = Field(min_length=1, max_length=16)
    """Replica types; which names are allowed depends on the framework."""
    mounts: list[MountTier] = Field(default_factory=_project_only)
    """Storage tiers to mount."""
    owner: UserName | None = None
    """Member whose home the ``user`` mount means (they must allow the project in
    ``people/<owner>.yaml``); defaults to the first project owner."""
    runPolicy: RunPolicy = Field(default_factory=RunPolicy)
    """Retries, deadline and clean-up."""
    search: Search | None = None
    """Optional hyper-parameter search."""
    spark: Spark | None = None
    """Spark application settings (``framework: spark``; defaults: a Python application)."""
    tensorboard: TensorBoard | None = None
    """Serve a TensorBoard over the run's logs at ``/tensorboard/<namespace>/<name>/``."""
    environments: Annotated[list[Name], Field(max_length=64)] | None = None
    """Environments to deploy to; defaults to all of the project's."""

    @model_validator(mode="after")
    def _spark_fields(self) -> TrainingSpec:
        if self.framework != "spark":
            if self.spark is not None:
                raise ValueError("spark settings need framework: spark")
            return self
        if self.runPolicy.activeDeadline is not None:
            raise ValueError(
                "a SparkApplication has no active deadline; remove runPolicy.activeDeadline"
            )
        small = [n for n, r in self.roles.items() if r.resources.memory_value < SPARK_MIN_MEMORY]
        if small:
            raise ValueError(f"spark roles need at least 1Gi of memory: {sorted(small)}")
        if any(role.command for role in self.roles.values()):
            raise ValueError("spark roles take no command: spark-submit starts them")
        return self

    @model_validator(mode="after")
    def _roles_fit_framework(self) -> TrainingSpec:
        allowed, required = FRAMEWORK_ROLES[self.framework]
        names = set(self.roles)
        if allowed and names - allowed:
            raise ValueError(
                f"{self.framework} takes roles {sorted(allowed)}, not {sorted(names - allowed)}"
            )
        if required - names:
            raise ValueError(f"{self.framework} needs roles {sorted(required - names)}")
        for role in names & SINGLETON_ROLES:
            if self.roles[role].replicas != 1:
                raise ValueError(f"role {role} runs exactly 1 replica")
        if self.search is not None and self.framework in ("ray", "volcano", "spark"):
            raise ValueError(
                f"search is not available for {self.framework}: Katib cannot run it as a trial"
            )
        if self.framework == "volcano" and self.runPolicy.activeDeadline is not None:
            raise ValueError(
                "a volcano job has no active deadline; remove runPolicy.activeDeadline"
            )
        if self.framework == "volcano" and any(len(n) > 15 for n in names):
            raise ValueError("volcano task names are at most 15 characters (pod host names)")
        return self


@register
class Training(Workload):
    """A training job (``projects/<p>/trainings/<name>.yaml``)."""

    KIND: ClassVar[str] = "Training"
    kind: Literal["Training"]
    """Always ``Training``."""
    spec: TrainingSpec
    """The training definition."""

    @model_validator(mode="after")
    def _name_fits_derived_names(self) -> Training:
        # Runs are named <name>-<6 hex>; operators and Katib append role, index and trial
        # suffixes, and the result must stay a 63-character DNS label starting with a letter.
        limit = 24 if self.spec.search is not None else 30
        if len(self.name) > limit or not self.name[0].isalpha():
            raise ValueError(
                f"training name {self.name!r} must start with a letter and have at most "
                f"{limit} characters (derived job, pod and trial names must stay under 63)"
            )
        return self


DEFAULT_DEPENDENCY_TIMEOUT = "1h"
"""How long a run waits for its upstream run unless the dependency says otherwise."""


class Backfill(StrictModel):
    """Past dates whose every scheduled time runs once (hourly over two days: 48 runs)."""

    from_: date = Field(alias="from")
    """First date (inclusive), ``YYYY-MM-DD`` in the schedule's time zone."""
    to: date
    """Last date (inclusive)."""

    @model_validator(mode="after")
    def _ordered(self) -> Backfill:
        if self.to < self.from_:
            raise ValueError(f"to {self.to} is before from {self.from_}")
        if (self.to - self.from_).days > 366:
            raise ValueError("a backfill covers at most 366 days; split it")
        return self


class Schedule(StrictModel):
    """When a pipeline runs."""

    cron: Annotated[str, SingleLine, Field(max_length=100, pattern=r"^[ -~]+$")]
    """Five-field cron expression (or @daily, @hourly …), checked by cronsim."""
    timezone: Annotated[str, SingleLine, Field(max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")] = (
        "UTC"
    )
    """IANA time zone of the cron expression."""
    concurrency: int = Field(default=1, ge=1, le=100)
    """Most runs at once, cron and backfill together (at most 100)."""
    startingDeadline: Duration | None = None
    """A run that cannot start within this is skipped (at most 366d)."""
    backfill: Backfill | None = None
    """Past dates: every time the cron fires on them runs once."""
    suspend: bool = False
    """Stop scheduling new runs."""

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        return check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        zone(value)
        return value


class Dependency(StrictModel):
    """An upstream pipeline whose run for this run's scheduled time must succeed first."""

    pipeline: Name
    """A pipeline of this project with a schedule (any cron and time zone)."""
    timeout: Duration = DEFAULT_DEPENDENCY_TIMEOUT
    """How long to wait for that run to exist and succeed before this run fails."""


def _as_dependency(value: object) -> object:
    """The plain list form (``dependsOn: [raw-import]``) means the default timeout."""
    return {"pipeline": value} if isinstance(value, str) else value


class Retry(StrictModel):
    """How failed steps are retried."""

    limit: int = Field(default=0, ge=0, le=20)
    """Retries per step (at most 20)."""
    backoff: Duration | None = None
    """Wait before the first retry; doubles each time (at most 366d)."""


class Task(StrictModel):
    """A step of a pipeline: a container, a Training of the same project, or a component."""

    name: Name
    """Step name."""
    image: ImageName | None = None
    """Container image (container steps)."""
    command: Args | None = None
    """Container command (container steps)."""
    args: Args = Field(default_factory=list)
    """Container arguments (at most 256)."""
    env: Env = Field(default_factory=dict)
    """Environment variables (at most 256)."""
    resources: Resources | None = None
    """Container requests."""
    resourceGroup: Name | None = None
    """Where the container runs; defaults to the pipeline's."""
    training: Name | None = None
    """Run this Training of the project as the step."""
    component: Name | None = None
    """Run this component (the project's own, else the platform's) as the step."""
    version: Version | None = None
    """Pin the component's version: validation fails when the component has another one."""
    inputs: dict[InputName, InputValue] = Field(default_factory=dict, max_length=256)
    """Values of the component's inputs (typed as the component declares; at most 256)."""
    dependencies: list[Name] = Field(default_factory=list, max_length=MAX_TASKS)
    """Steps that must succeed first."""

    @model_validator(mode="after")
    def _container_or_training(self) -> Task:
        if self.component is None and (self.inputs or self.version):
            raise ValueError("inputs and version belong to a component step")
        if self.component is not None:
            extra = [f for f in ("image", "command", "training") if getattr(self, f)]
            if extra or self.args or self.env:
                raise ValueError(
                    f"a component step takes no {', '.join(extra) or 'args/env'}: "
                    "the component defines them"
                )
        elif self.training is not None:
            extra = [
                f for f in ("image", "command", "resources", "resourceGroup") if getattr(self, f)
            ]
            if extra or self.args or self.env:
                raise ValueError(
                    f"a training step takes no container fields ({', '.join(extra) or 'args/env'})"
                )
        elif self.image is None or self.command is None:
            raise ValueError("a step needs either training, or image and command")
        return self


class PipelineSpec(StrictModel):
    """A DAG of steps run on a schedule by Argo Workflows."""

    schedule: Schedule | None = None
    """When to run; without it the pipeline is only a WorkflowTemplate."""
    retry: Retry = Field(default_factory=Retry)
    """Retries of failed steps."""
    dependsOn: list[
        Annotated[
            Dependency,
            BeforeValidator(_as_dependency, json_schema_input_type=Name | Dependency),
        ]
    ] = Field(default_factory=list, max_length=100)
    """Upstream pipelines (a name, or ``{pipeline, timeout}``; at most 100): a run scheduled at T
    waits for each upstream's run scheduled at the latest time at or before T in its time zone."""
    resourceGroup: Name | None = None
    """Default resource group of container steps; default: a CPU group of the project."""
    mounts: list[MountTier] = Field(default_factory=_project_only)
    """Storage tiers mounted into container steps."""
    tasks: list[Task] = Field(min_length=1, max_length=MAX_TASKS)
    """Steps (at most 2000)."""
    environments: Annotated[list[Name], Field(max_length=64)] | None = None
    """Environments to deploy to; defaults to all of the project's."""

    @model_validator(mode="after")
    def _dag(self) -> PipelineSpec:
        names = [t.name for t in self.tasks]
        dupes = sorted(n for n, count in Counter(names).items() if count > 1)
        if dupes:
            raise ValueError(f"task names must be unique: {', '.join(dupes)}")
        known = set(names)
        for task in self.tasks:
            missing = [d for d in task.dependencies if d not in known]
            if missing:
                raise ValueError(f"task {task.name} depends on unknown tasks {missing}")
        check_acyclic({t.name: t.dependencies for t in self.tasks}, "task")
        return self


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle of ``graph`` (node -> predecessors) as ``[a, b, ..., a]``, or None.

    Iterative depth-first search with an explicit stack: a chain of thousands of steps is a
    valid pipeline and must not hit Python's recursion limit.
    """
    done: set[str] = set()
    for root in sorted(graph):
        if root in done:
            continue
        trail: list[str] = [root]
        on_trail = {root}
        stack = [iter(graph.get(root, []))]
        while stack:
            node = next(stack[-1], None)
            if node is None:
                stack.pop()
                finished = trail.pop()
                on_trail.discard(finished)
                done.add(finished)
            elif node in on_trail:
                return [*trail[trail.index(node) :], node]
            elif node not in done:
                trail.append(node)
                on_trail.add(node)
                stack.append(iter(graph.get(node, [])))
    return None


def describe_cycle(cycle: list[str], what: str) -> str:
    """``task dependencies form a cycle: a -> b -> a``, shortened in the middle when long."""
    shown = cycle if len(cycle) <= 12 else [*cycle[:6], "...", *cycle[-5:]]
    return f"{what} dependencies form a cycle: {' -> '.join(shown)}"


def check_acyclic(graph: dict[str, list[str]], what: str) -> None:
    """Raise ValueError naming a cycle when ``graph`` has one."""
    cycle = find_cycle(graph)
    if cycle is not None:
        raise ValueError(describe_cycle(cycle, what))


@register
class Pipeline(Workload):
    """A scheduled pipeline (``projects/<p>/pipelines/<name>.yaml``)."""

    KIND: ClassVar[str] = "Pipeline"
    kind: Literal["Pipeline"]
    """Always ``Pipeline``."""
    spec: PipelineSpec
    """The pipeline definition."""

    @property
    def upstreams(self) -> list[str]:
        """Names of the pipelines this one depends on, in spec order."""
        return [dep.pipeline for dep in self.spec.dependsOn]
