"""Spark applications (spark-operator ``sparkoperator.k8s.io/v1beta2``) as typed values.

spark-operator runs ``spark-submit`` for a ``SparkApplication``; Spark then creates the driver
pod, and the driver its executors. Neither pod is a template we write: their fields are Spark's
own (``cores``, ``memory``, ``nodeSelector`` …), so this module decides them per role from the
same placement every other workload gets (``TargetContext.pod``) and ``training/_jobs.j2`` lays
them out.

Resources: a spec's ``memory`` is the whole pod. Spark adds an overhead to the JVM heap it is
given (10 % for JVM, 40 % for Python applications, at least 384 MiB) and requests the sum, so
the heap is written as ``memory - overhead`` with the overhead fixed here: the pod then requests
exactly what the quota check counted. ``cores`` (Spark's task slots) is the CPU rounded up to a
whole core, ``coreRequest`` the CPU as written.

Scheduling: ``batchScheduler: volcano`` makes spark-operator create the PodGroup in the project
queue before submitting; both pods also name the scheduler and queue themselves, like every pod.

Identity: the driver creates executor pods, services and config maps, so it runs as
``mofang-spark-driver`` (token mounted, a Role limited to those objects); executors run as the
project ServiceAccount, which mounts no token.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from mofang_gitops.models import Training
from mofang_gitops.rendering.context import SERVICE_ACCOUNT, Container, Pod, TargetContext
from mofang_gitops.validation.placement import role_group

API_VERSION = "sparkoperator.k8s.io/v1beta2"
KIND = "SparkApplication"
DRIVER_ACCOUNT = "mofang-spark-driver"
DRIVER_RULES = [
    ("", ["pods", "services", "configmaps", "persistentvolumeclaims"], ["*"]),
]
"""What a Spark driver does in its namespace (spark-operator's chart ``spark`` Role)."""
RETRY_INTERVAL_SECONDS = 10
_MIB = 1024**2
_MIN_OVERHEAD = 384 * _MIB
_OVERHEAD_FACTOR = {"Python": Decimal("0.4"), "R": Decimal("0.4")}
_JVM_OVERHEAD_FACTOR = Decimal("0.1")


@dataclass(frozen=True)
class SparkRole:
    """The driver or executors: Spark's sizing fields plus the placed pod they describe."""

    name: str
    instances: int
    cores: int
    core_request: str
    memory: str
    memory_overhead: str
    pod: Pod
    gpu: dict[str, object] | None = None


@dataclass(frozen=True)
class SparkApp:
    """Everything ``spark_spec`` in ``training/_jobs.j2`` writes."""

    type: str
    version: str
    main_file: str
    main_class: str | None
    arguments: list[str]
    image: str
    conf: dict[str, str]
    restart_policy: dict[str, object]
    driver: SparkRole
    executor: SparkRole
    volumes: list[object] = field(default_factory=list)


def build_app(ctx: TargetContext, training: Training, name: str) -> SparkApp:
    """The application of the run ``name``: its roles placed, its retries from the run policy."""
    spec = training.spec
    settings = spec.spark
    app_type = settings.type if settings else "Python"
    driver = _role(ctx, training, name, "driver", app_type)
    executor = _role(ctx, training, name, "executor", app_type)
    return SparkApp(
        type=app_type,
        version=settings.version if settings else "3.5.5",
        main_file=spec.command[0],
        main_class=settings.mainClass if settings else None,
        arguments=[*spec.command[1:], *spec.args],
        image=ctx.image(spec.image),
        conf=dict(settings.conf) if settings else {},
        restart_policy=restart_policy(spec.runPolicy.backoffLimit),
        driver=driver,
        executor=executor,
        volumes=list(driver.pod.volumes),
    )


def restart_policy(retries: int) -> dict[str, object]:
    """``Never`` without retries, else ``OnFailure`` with both retry counts and intervals set.

    The intervals are written out because spark-operator's webhook would default them.
    """
    if not retries:
        return {"type": "Never"}
    return {
        "type": "OnFailure",
        "onFailureRetries": retries,
        "onFailureRetryInterval": RETRY_INTERVAL_SECONDS,
        "onSubmissionFailureRetries": retries,
        "onSubmissionFailureRetryInterval": RETRY_INTERVAL_SECONDS,
    }


def heap_and_overhead(total_bytes: Decimal, app_type: str) -> tuple[str, str]:
    """Split a pod's memory into Spark's heap and overhead (MiB strings Spark reads)."""
    factor = _OVERHEAD_FACTOR.get(app_type, _JVM_OVERHEAD_FACTOR)
    overhead = max(Decimal(_MIN_OVERHEAD), (total_bytes * factor))
    overhead_mib = math.ceil(overhead / _MIB)
    heap_mib = int(total_bytes // _MIB) - overhead_mib
    return f"{heap_mib}m", f"{overhead_mib}m"


def _role(ctx: TargetContext, training: Training, job: str, role: str, app_type: str) -> SparkRole:
    spec = training.spec
    settings = spec.roles[role]
    group = ctx.group(role_group(ctx.platform, ctx.project, training, role))
    requests, limits = ctx.resources(settings.resources, group)
    volumes, mounts = ctx.mounts(spec.mounts, spec.owner or ctx.project.spec.owners[0])
    main = Container(
        f"spark-{role}",
        ctx.image(settings.image or spec.image),
        [],
        env=list(spec.env.items()),
        requests=requests,
        limits=limits,
        volume_mounts=mounts,
    )
    gpus = settings.resources.gpu
    pod = ctx.pod(group, [main], job=job, role=role, volumes=volumes, pack_gpus=gpus > 0)
    pod.service_account = DRIVER_ACCOUNT if role == "driver" else SERVICE_ACCOUNT
    heap, overhead = heap_and_overhead(settings.resources.memory_value, app_type)
    gpu = None
    if gpus and group.gpu is not None:
        gpu = {"name": group.gpu.resource, "quantity": gpus}
    return SparkRole(
        name=role,
        instances=settings.replicas,
        cores=max(1, math.ceil(settings.resources.cpu_value)),
        core_request=settings.resources.cpu,
        memory=heap,
        memory_overhead=overhead,
        pod=pod,
        gpu=gpu,
    )
