"""Training jobs as typed values: every operator field decided here, laid out by templates.

horovod becomes an MPIJob (mpi-operator ``kubeflow.org/v2beta1``); tensorflow, pytorch and
xgboost a TFJob, PyTorchJob or XGBoostJob (training-operator ``kubeflow.org/v1``); ray a RayJob
(KubeRay ``ray.io/v1``); volcano a Volcano ``Job`` (``batch.volcano.sh/v1alpha1``). The same
``Job`` value renders a standalone run (``training/job.yaml.j2``) and a Katib trial template
(``training/experiment.yaml.j2``), through the one ``job_spec`` macro of ``training/_jobs.j2``.

Every pod is placed by ``TargetContext.pod`` (Volcano scheduler and queue, nodeSelector and
tolerations of its role's group, the project ServiceAccount, GPU packing for GPU roles); the job
is gang-scheduled with ``minAvailable`` = all replicas, so it starts whole or waits instead of
holding half of its GPUs while the rest are busy.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mofang_gitops.models import Training
from mofang_gitops.models.quantities import duration_seconds
from mofang_gitops.models.workloads import TrainingSpec
from mofang_gitops.rendering import spark
from mofang_gitops.rendering.context import Container, Pod, TargetContext
from mofang_gitops.validation.placement import role_group


@dataclass(frozen=True)
class Kind:
    """How one operator spells its job, and the container name it looks for."""

    api_version: str
    kind: str
    replica_key: str = ""
    container: str = ""
    port: tuple[str, int] | None = None


KINDS = {
    "horovod": Kind("kubeflow.org/v2beta1", "MPIJob", "mpiReplicaSpecs", "launcher"),
    "tensorflow": Kind(
        "kubeflow.org/v1", "TFJob", "tfReplicaSpecs", "tensorflow", ("tfjob-port", 2222)
    ),
    "pytorch": Kind(
        "kubeflow.org/v1",
        "PyTorchJob",
        "pytorchReplicaSpecs",
        "pytorch",
        ("pytorchjob-port", 23456),
    ),
    "xgboost": Kind(
        "kubeflow.org/v1", "XGBoostJob", "xgbReplicaSpecs", "xgboost", ("xgboostjob-port", 9999)
    ),
    "ray": Kind("ray.io/v1", "RayJob", container="ray-head"),
    "volcano": Kind("batch.volcano.sh/v1alpha1", "Job"),
    "spark": Kind(spark.API_VERSION, spark.KIND),
}
"""Container names and ports are the training-operator defaults, written out so none is added."""
REPLICA_TYPES = {
    "launcher": "Launcher",
    "master": "Master",
    "chief": "Chief",
    "ps": "PS",
    "worker": "Worker",
    "evaluator": "Evaluator",
}
"""Spec role -> Kubeflow replica type, in the order they are written."""
RAY_SCHEDULER_LABEL = "ray.io/scheduler-name"
RAY_QUEUE_LABEL = "volcano.sh/queue-name"
MPI_HOSTFILE = "/etc/mpi/hostfile"
"""Where mpi-operator v2 mounts the worker list (``host slots=N``), a format horovodrun reads."""
SUBMITTER_REQUESTS = {"cpu": "500m", "memory": "1Gi"}
"""The RayJob submitter only runs ``ray job submit`` and follows the logs."""


@dataclass
class Replica:
    """One replica type (a spec role) of a job, named as its operator spells it."""

    name: str
    replicas: int
    pod: Pod
    restart_policy: str = ""
    start_params: dict[str, str] = field(default_factory=dict)
    """``rayStartParams`` (Ray only)."""


@dataclass
class Job:
    """One training job with every value decided; ``training/_jobs.j2`` lays it out."""

    api_version: str
    kind: str
    queue: str
    replicas: list[Replica]
    backoff_limit: int
    ttl_seconds: int | None
    deadline_seconds: int | None
    replica_key: str = ""
    slots_per_worker: int = 1
    entrypoint: str = ""
    submitter: Pod | None = None
    policies: list[dict[str, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    """Extra labels on the job object itself (KubeRay reads its scheduler and queue there)."""
    spark: spark.SparkApp | None = None
    """The Spark application (``SparkApplication`` only; its roles are not ``replicas``)."""

    @property
    def min_available(self) -> int:
        """Gang size: every replica of every role."""
        return sum(r.replicas for r in self.replicas)


ReplicaBuilder = Callable[[TargetContext, Training, str, list[str]], list[Replica]]


def build_job(
    ctx: TargetContext, training: Training, name: str, extra_args: Sequence[str] = ()
) -> Job:
    """The job of the run ``name``; ``extra_args`` follow the args of every training command."""
    spec = training.spec
    kind = KINDS[spec.framework]
    builders: dict[str, ReplicaBuilder] = {
        "ray": _ray_replicas,
        "volcano": _volcano_replicas,
        "spark": _no_replicas,
    }
    replicas = builders.get(spec.framework, _kubeflow_replicas)(
        ctx, training, name, list(extra_args)
    )
    policy = spec.runPolicy
    job = Job(
        kind.api_version,
        kind.kind,
        ctx.queue,
        replicas,
        policy.backoffLimit,
        duration_seconds(policy.ttlAfterFinished) if policy.ttlAfterFinished else None,
        duration_seconds(policy.activeDeadline) if policy.activeDeadline else None,
        replica_key=kind.replica_key,
    )
    if job.kind == "MPIJob":
        job.slots_per_worker = _slots_per_worker(spec)
    elif job.kind == "RayJob":
        job.entrypoint = shlex.join([*spec.command, *spec.args])
        job.submitter = _submitter_pod(ctx, training, name, replicas[0].pod)
        # KubeRay's Volcano integration reads both labels from the RayJob (copied to its cluster).
        job.labels = {RAY_SCHEDULER_LABEL: "volcano", RAY_QUEUE_LABEL: ctx.queue}
    elif job.kind == "Job":
        job.policies = _volcano_policies(job.backoff_limit)
    elif job.kind == spark.KIND:
        job.spark = spark.build_app(ctx, training, name)
    return job


def _no_replicas(
    ctx: TargetContext, training: Training, job: str, extra_args: list[str]
) -> list[Replica]:
    """Spark sizes its driver and executors itself (``spark.build_app``)."""
    return []


def _volcano_policies(backoff_limit: int) -> list[dict[str, str]]:
    """Restart the whole gang when a pod fails (Volcano counts that against ``maxRetry``).

    With no retries allowed the job ends at the first failure instead: Volcano's webhook would
    turn ``maxRetry: 0`` into 3. An evicted (preempted) pod always restarts the gang.
    """
    return [
        {"event": "PodEvicted", "action": "RestartJob"},
        {"event": "PodFailed", "action": "RestartJob" if backoff_limit else "TerminateJob"},
    ]


def _role_pod(
    ctx: TargetContext, training: Training, job: str, role: str, main: Container, restart: str = ""
) -> Pod:
    """Complete ``main`` with the role's image, resources, env and mounts; place its pod."""
    spec = training.spec
    settings = spec.roles[role]
    group = ctx.group(role_group(ctx.platform, ctx.project, training, role))
    main.image = ctx.image(settings.image or spec.image)
    main.requests, main.limits = ctx.resources(settings.resources, group)
    main.env = list(spec.env.items())
    volumes, main.volume_mounts = ctx.mounts(spec.mounts, spec.owner or ctx.project.spec.owners[0])
    gpus = settings.resources.gpu > 0
    return ctx.pod(
        group, [main], job=job, role=role, volumes=volumes, pack_gpus=gpus, restart_policy=restart
    )


def _command(spec: TrainingSpec, role: str) -> list[str]:
    """A role's own command, else the training's."""
    return list(spec.roles[role].command or spec.command)


def _kubeflow_replicas(
    ctx: TargetContext, training: Training, job: str, extra_args: list[str]
) -> list[Replica]:
    """Replica specs of an MPIJob or training-operator job, with the upstream restart policies.

    The restart policy lives on the replica spec, not the pod: the operators copy it onto pods.
    """
    spec = training.spec
    kind = KINDS[spec.framework]
    args = [*spec.args, *extra_args]
    replicas = []
    for role in [r for r in REPLICA_TYPES if r in spec.roles]:
        if spec.framework == "horovod" and role == "worker":
            # Workers run the image's default (sshd) for the launcher's horovodrun to reach.
            main, restart = Container("worker", "", list(spec.roles[role].command or [])), "Never"
        elif spec.framework == "horovod":
            command = launcher_command(_command(spec, role), _processes(spec))
            main, restart = Container("launcher", "", command, args), "OnFailure"
        else:
            ports = [kind.port] if kind.port else []
            main = Container(kind.container, "", _command(spec, role), args, ports=ports)
            restart = "OnFailure"
        pod = _role_pod(ctx, training, job, role, main)
        replicas.append(Replica(REPLICA_TYPES[role], spec.roles[role].replicas, pod, restart))
    return replicas


def _slots_per_worker(spec: TrainingSpec) -> int:
    return spec.roles["worker"].resources.gpu or 1


def _processes(spec: TrainingSpec) -> int:
    return spec.roles["worker"].replicas * _slots_per_worker(spec)


def launcher_command(command: list[str], processes: int) -> list[str]:
    """The MPI launcher's command: the user's, with horovodrun told the process count and hosts.

    ``mpirun``/``mpiexec`` commands are kept as written (OpenMPI finds the hostfile through the
    environment mpi-operator sets). ``horovodrun`` gets ``-np`` and ``--hostfile`` unless given.
    Any other command is wrapped in horovodrun: on its own it would train alone on the CPU node.
    """
    program = posixpath.basename(command[0])
    if program in ("mpirun", "mpiexec"):
        return command
    rest = command[1:] if program == "horovodrun" else command
    given = {arg.split("=", 1)[0] for arg in rest}
    added = [] if given & {"-np", "--num-proc"} else ["-np", str(processes)]
    if not given & {"-H", "--hosts", "-hostfile", "--hostfile"}:
        added += ["--hostfile", MPI_HOSTFILE]
    launcher = command[0] if program == "horovodrun" else "horovodrun"
    return [launcher, *added, *rest]


def _ray_replicas(
    ctx: TargetContext, training: Training, job: str, extra_args: list[str]
) -> list[Replica]:
    """Head and worker group; KubeRay writes their ``ray start`` commands itself.

    ``num-gpus`` is passed explicitly because KubeRay only counts ``nvidia.com/gpu`` limits, and
    a group may use a vGPU resource name. Role commands do not apply: KubeRay owns them.
    """
    spec = training.spec
    replicas = []
    for role in ("head", "worker"):
        if role not in spec.roles:
            continue
        pod = _role_pod(ctx, training, job, role, Container(f"ray-{role}", "", []))
        gpus = spec.roles[role].resources.gpu
        params = {"num-gpus": str(gpus)} if gpus else {}
        replicas.append(Replica(role, spec.roles[role].replicas, pod, start_params=params))
    return replicas


def _submitter_pod(ctx: TargetContext, training: Training, job: str, head: Pod) -> Pod:
    """The pod that submits the entrypoint: on the head's group, with the head's image.

    Its command is left to KubeRay (``ray job submit ...``); ``Never`` because it runs as a Job.
    """
    main = Container(
        "ray-job-submitter",
        head.containers[0].image,
        [],
        requests=dict(SUBMITTER_REQUESTS),
        limits={"memory": SUBMITTER_REQUESTS["memory"]},
    )
    group = ctx.group(role_group(ctx.platform, ctx.project, training, "head"))
    return ctx.pod(group, [main], job=job, role="submitter", volumes=[], restart_policy="Never")


def _volcano_replicas(
    ctx: TargetContext, training: Training, job: str, extra_args: list[str]
) -> list[Replica]:
    """One task per role in name order; pods never restart in place, Volcano's policies decide."""
    spec = training.spec
    args = [*spec.args, *extra_args]
    replicas = []
    for role in sorted(spec.roles):
        main = Container(role, "", _command(spec, role), args)
        pod = _role_pod(ctx, training, job, role, main, restart="Never")
        replicas.append(Replica(role, spec.roles[role].replicas, pod))
    return replicas
