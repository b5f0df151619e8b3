"""What turns a bare control plane into a running cluster: scheduler, controllers, kwok, operators.

An API server alone stores objects and runs nothing. Tests of "does the training really start on
the GPU group, does a failed pod fail the job" need the real schedulers and operators, so this
module starts the upstream binaries built by ``scripts/runtime-binaries`` against a
:class:`~mofang_gitops.devtools.controlplane.ControlPlane`, on 127.0.0.1, with their logs in
``<workdir>/runtime/``. Pods "run" on kwok's fake nodes (:mod:`mofang_gitops.devtools.nodes`), which
play the lifecycle of ``kwok-stages.yaml`` (shipped with the package).

Not simulated: Volcano. Pods with ``schedulerName: volcano`` are placed by a second profile of
kube-scheduler, one by one: gang admission (all-or-nothing PodGroups) and Volcano queues do not
exist here. docs/runtime-components.md lists each binary's flags and traps.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mofang_gitops.devtools import netns
from mofang_gitops.devtools.controlplane import (
    ControlPlane,
    _free_ports,
    _spawn,
    api_call,
    cache_root,
    install_crds,
    pid_alive,
    stop_pid,
)
from mofang_gitops.errors import MofangError

log = logging.getLogger(__name__)

REQUIRED = ("kube-scheduler", "kube-controller-manager", "kwok")
OPERATORS = (
    "training-operator",
    "mpi-operator",
    "ray-operator",
    "workflow-controller",
    "katib-controller",
)
"""Operators started when built (the last three are optional builds, skipped with the reason when
absent). What each cannot do here (no Ray dashboard, no argoexec, no Katib suggestion service
reachable over gRPC) is in docs/runtime-components.md."""
TRAINING_SCHEMES = {
    "pytorchjobs.kubeflow.org": "pytorchjob",
    "tfjobs.kubeflow.org": "tfjob",
    "xgboostjobs.kubeflow.org": "xgboostjob",
}
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
WEBHOOK_CERT_DIR = Path("/tmp/k8s-webhook-server/serving-certs")
"""Fixed in training-operator v1.8.1; in a pod its webhook Secret is mounted there."""
KCM_CONTROLLERS = (
    "serviceaccount-token-controller,serviceaccount-controller,namespace-controller,"
    "garbage-collector-controller,job-controller,cronjob-controller,ttl-after-finished-controller,"
    "deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,"
    "endpoints-controller,endpointslice-controller,resourcequota-controller,disruption-controller,"
    "pod-garbage-collector-controller,clusterrole-aggregation-controller,"
    "root-ca-certificate-publisher-controller,persistentvolume-binder-controller,"
    "persistentvolumeclaim-protection-controller,persistentvolume-protection-controller,"
    "node-lifecycle-controller"
)
_MPI_LOCK = "mpi-operator-8080.lock"
"""mpi-operator always binds ``*:8080``: one per machine, guarded by this file lock."""


@dataclass(frozen=True)
class Runtime:
    """The processes running on top of one control plane, and what was left out and why."""

    plane: ControlPlane
    workdir: Path
    pids: dict[str, int]
    """Component name -> pid, in start order."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Component name -> why it does not run (not built, no CRD, another one on the machine)."""

    def stop(self) -> None:
        """Stop the operators and controllers in reverse start order; idempotent."""
        for pid in reversed(list(self.pids.values())):
            stop_pid(pid, str(self.plane.workdir))
        _release_mpi_lock(self.workdir)

    def running(self) -> dict[str, bool]:
        """Return, per started component, whether its process still runs."""
        return {name: pid_alive(pid, str(self.plane.workdir)) for name, pid in self.pids.items()}


def find_runtime_binaries() -> Path:
    """Return the directory ``scripts/runtime-binaries`` built (``$MOFANG_RUNTIME_ASSETS`` first).

    Never builds (a cold build takes most of an hour): the newest cached directory holding the
    required binaries wins.

    Raises:
        MofangError: no directory holds kube-scheduler, kube-controller-manager and kwok.
    """
    candidates: list[Path] = []
    if assets := os.environ.get("MOFANG_RUNTIME_ASSETS"):
        candidates.append(Path(assets))
    cached = (cache_root() / "bin").glob("runtime-k8s-*")
    candidates += sorted(cached, key=lambda p: p.stat().st_mtime, reverse=True)
    for candidate in candidates:
        if all(os.access(candidate / name, os.X_OK) for name in REQUIRED):
            return candidate
    raise MofangError(
        "running cluster: kube-scheduler, kube-controller-manager and kwok not found in "
        f"$MOFANG_RUNTIME_ASSETS or {cache_root() / 'bin'}/runtime-k8s-*; run "
        "scripts/runtime-binaries once (about 40 minutes cold on two cores)"
    )


def kwok_stages() -> Path:
    """Return the kwok Stage configuration shipped with the package."""
    path = Path(str(resources.files("mofang_gitops.devtools").joinpath("kwok-stages.yaml")))
    if not path.is_file():  # pragma: no cover - a broken installation
        raise MofangError(f"running cluster: {path} is missing from the installation")
    return path


def start_runtime(
    plane: ControlPlane,
    *,
    binaries: Path | None = None,
    operators: Sequence[str] = OPERATORS,
) -> Runtime:
    """Start kube-scheduler, kube-controller-manager, kwok and the built ``operators``.

    Operators not selected, or whose binary or CRDs are missing, are skipped with the reason
    (see :attr:`Runtime.skipped`), so a caller can always tell why one is not running. When
    another mpi-operator already holds this machine's port 8080, this one runs in a network
    namespace of its own (``netns``), or is skipped where namespaces cannot be made. Each
    process is stopped when this interpreter exits, like the plane's own.

    Raises:
        MofangError: a required binary is missing or a component exited while starting.
    """
    bin_dir = binaries or find_runtime_binaries()
    workdir = plane.workdir / "runtime"
    workdir.mkdir(parents=True, exist_ok=True)
    pids: dict[str, int] = {}
    skipped: dict[str, str] = {}
    runtime = Runtime(plane=plane, workdir=workdir, pids=pids, skipped=skipped)
    try:
        pids["kube-scheduler"] = _start_scheduler(plane, bin_dir, workdir)
        pids["kube-controller-manager"] = _start_controller_manager(plane, bin_dir, workdir)
        pids["kwok"] = _start_kwok(plane, bin_dir, workdir)
        for name in OPERATORS:
            if name not in operators:
                skipped[name] = "not selected by the caller (tests: MOFANG_RUNTIME_OPTIONAL)"
                continue
            if not os.access(bin_dir / name, os.X_OK):
                skipped[name] = f"not built in {bin_dir} (scripts/runtime-binaries --all)"
                continue
            reason = _OPERATOR_STARTERS[name](plane, bin_dir, workdir, pids)
            if reason:
                skipped[name] = reason
        time.sleep(1.0)
        _check_alive(runtime)
    except BaseException:
        runtime.stop()
        raise
    for name, reason in skipped.items():
        log.warning("running cluster %s: %s not started: %s", plane.name, name, reason)
    return runtime


def _check_alive(runtime: Runtime) -> None:
    dead = [name for name, alive in runtime.running().items() if not alive]
    if dead:
        tails = "\n".join(
            f"{runtime.workdir / n}.log:\n{_tail(runtime.workdir / f'{n}.log')}" for n in dead
        )
        raise MofangError(
            f"running cluster {runtime.plane.name}: {', '.join(dead)} exited\n{tails}"
        )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _run(name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None) -> int:
    """Start one component with its log in ``<workdir>/<name>.log``; return its pid.

    Every command line names the plane's kubeconfig, which lets ``stop_pid`` recognise the
    process from another interpreter (``dev down``).
    """
    log_path = workdir / f"{name}.log"
    log_path.unlink(missing_ok=True)
    proc = _spawn(argv, log_path, env)
    log.info("running cluster: %s started (pid %d)", name, proc.pid)
    return proc.pid


def _start_scheduler(plane: ControlPlane, bin_dir: Path, workdir: Path) -> int:
    # With --config, the kubeconfig flag is ignored: it belongs in the file.
    config = workdir / "scheduler.yaml"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "kubescheduler.config.k8s.io/v1",
                "kind": "KubeSchedulerConfiguration",
                "clientConnection": {"kubeconfig": str(plane.kubeconfig)},
                "leaderElection": {"leaderElect": False},
                "profiles": [{"schedulerName": "default-scheduler"}, {"schedulerName": "volcano"}],
            },
            indent=2,
        )
    )
    argv = [
        str(bin_dir / "kube-scheduler"),
        f"--config={config}",
        "--leader-elect=false",
        "--secure-port=0",
    ]
    return _run("kube-scheduler", argv, workdir)


def _start_controller_manager(plane: ControlPlane, bin_dir: Path, workdir: Path) -> int:
    argv = [
        str(bin_dir / "kube-controller-manager"),
        f"--kubeconfig={plane.kubeconfig}",
        "--leader-elect=false",
        "--secure-port=0",
        f"--controllers={KCM_CONTROLLERS}",
        f"--service-account-private-key-file={plane.workdir / 'sa.key'}",
        f"--root-ca-file={plane.ca_file}",
        "--use-service-account-credentials=true",
        # Quotas recalculated often, so a test sees usage soon after a pod is created.
        "--resource-quota-sync-period=10s",
    ]
    return _run("kube-controller-manager", argv, workdir)


def _start_kwok(plane: ControlPlane, bin_dir: Path, workdir: Path) -> int:
    key, value = KWOK_NODE_ANNOTATION
    argv = [
        str(bin_dir / "kwok"),
        f"--kubeconfig={plane.kubeconfig}",
        f"--config={kwok_stages()}",
        "--manage-all-nodes=false",
        f"--manage-nodes-with-annotation-selector={key}={value}",
        "--node-lease-duration-seconds=40",
        "--cidr=10.244.0.0/16",
    ]
    # kwok reads ~/.kwok/kwok.yaml when it exists; an empty HOME keeps a user's file out.
    home = workdir / "kwok-home"
    home.mkdir(exist_ok=True)
    return _run("kwok", argv, workdir, env={"HOME": str(home)})


# --- operators -----------------------------------------------------------------------------------


def _installed_crds(plane: ControlPlane) -> set[str]:
    status, found = api_call(
        plane, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    )
    if status != 200:
        raise MofangError(f"running cluster {plane.name}: listing CRDs answered {status}")
    return {str(item["metadata"]["name"]) for item in found.get("items", [])}


def _ensure(plane: ControlPlane, path: str, body: dict[str, Any]) -> None:
    status, answer = api_call(plane, "POST", path, json.dumps(body).encode())
    if status not in (200, 201, 409):
        raise MofangError(f"running cluster {plane.name}: POST {path} answered {status}: {answer}")


PYTORCH_INIT_CONTAINER = Path(__file__).with_name("pytorch-init-container.yaml")
"""A restricted-compliant init container for PyTorch workers (see the file's comment)."""


def _start_training_operator(
    plane: ControlPlane, bin_dir: Path, workdir: Path, pids: dict[str, int]
) -> str:
    schemes = [s for crd, s in TRAINING_SCHEMES.items() if crd in _installed_crds(plane)]
    if not schemes:
        return "none of the PyTorchJob, TFJob, XGBoostJob CRDs is installed"
    secret = "training-operator-webhook-cert"
    _webhook_secret(plane, secret)
    (webhook_port,) = _free_ports(1)
    argv = [
        str(bin_dir / "training-operator"),
        f"--kubeconfig={plane.kubeconfig}",
        "--leader-elect=false",
        "--metrics-bind-address=0",
        "--health-probe-bind-address=0",
        f"--webhook-server-port={webhook_port}",
        f"--pytorch-init-container-template-file={PYTORCH_INIT_CONTAINER}",
        *(f"--enable-scheme={scheme}" for scheme in schemes),
    ]
    pid = _run("training-operator", argv, workdir, env={"MY_POD_NAMESPACE": "kubeflow"})
    pids["training-operator"] = pid
    _mount_webhook_secret(plane, secret, WEBHOOK_CERT_DIR, "training-operator", pid, workdir)
    return ""


def _webhook_secret(plane: ControlPlane, secret: str) -> None:
    """Create the empty Secret a cert-controller rotator fills (it fails when it is absent)."""
    _ensure(plane, "/api/v1/namespaces", {"metadata": {"name": "kubeflow"}})
    _ensure(
        plane,
        "/api/v1/namespaces/kubeflow/secrets",
        {"metadata": {"name": secret}, "type": "Opaque"},
    )


def _mount_webhook_secret(
    plane: ControlPlane, secret: str, cert_dir: Path, name: str, pid: int, workdir: Path
) -> None:
    """Copy the Secret the operator's rotator filled to where its webhook server reads it.

    In a pod the Secret is mounted there; here nothing writes the files, and the operator waits
    ~17 minutes for them, then exits "could not mount certs".
    """
    deadline = time.monotonic() + 120
    while True:
        status, found = api_call(plane, "GET", f"/api/v1/namespaces/kubeflow/secrets/{secret}")
        data = found.get("data") or {} if status == 200 else {}
        if data.get("tls.crt") and data.get("tls.key"):
            break
        if not pid_alive(pid) or time.monotonic() > deadline:
            raise MofangError(
                f"running cluster {plane.name}: {name} did not fill its webhook Secret; "
                f"{workdir / name}.log:\n{_tail(workdir / f'{name}.log')}"
            )
        time.sleep(0.5)
    cert_dir.mkdir(parents=True, exist_ok=True)
    for key in ("tls.crt", "tls.key", "ca.crt"):
        if key in data:
            target = cert_dir / key
            tmp = target.with_name(f".{key}.{os.getpid()}")
            tmp.write_bytes(base64.b64decode(data[key]))
            tmp.chmod(0o600)
            tmp.replace(target)


def _start_mpi_operator(
    plane: ControlPlane, bin_dir: Path, workdir: Path, pids: dict[str, int]
) -> str:
    if "mpijobs.kubeflow.org" not in _installed_crds(plane):
        return "the MPIJob CRD is not installed"
    argv = [
        str(bin_dir / "mpi-operator"),
        "--lock-namespace=kube-system",
        "--monitoring-port=0",
        "--threadiness=2",
        f"--kubeConfig={plane.kubeconfig}",
    ]
    if not _take_mpi_lock(workdir):
        if not netns.available():
            return "another mpi-operator on this machine holds *:8080 (one per machine)"
        # Its *:8080 is then its own: a network namespace reaching only the API server's port.
        port = str(urlsplit(plane.server).port)
        argv = [sys.executable, "-m", netns.__name__, port, str(workdir / "mpi.sock"), "--", *argv]
    pids["mpi-operator"] = _run(
        "mpi-operator", argv, workdir, env={"KUBECONFIG": str(plane.kubeconfig)}
    )
    return ""


_mpi_lock_files: dict[Path, Any] = {}


def _take_mpi_lock(workdir: Path) -> bool:
    lock = (cache_root() / _MPI_LOCK).open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return False
    _mpi_lock_files[workdir] = lock
    return True


def _release_mpi_lock(workdir: Path) -> None:
    lock = _mpi_lock_files.pop(workdir, None)
    if lock is not None:
        lock.close()


def _module_file(module: str, version: str, relative: str) -> Path | None:
    """Return ``relative`` inside ``module@version`` of the Go module cache the builds filled."""
    for root in (cache_root() / "gomod", Path(os.environ.get("GOMODCACHE", "/nonexistent"))):
        path = root / f"{module}@{version}" / relative
        if path.exists():
            return path
    return None


def rayservice_crd() -> Path | None:
    """Return KubeRay's RayService CRD from the Go module cache the build filled, if there."""
    return _module_file(
        "github.com/ray-project/kuberay/ray-operator",
        os.environ.get("MOFANG_KUBERAY_VERSION", "v1.5.0"),
        "config/crd/bases/ray.io_rayservices.yaml",
    )


def _start_ray_operator(
    plane: ControlPlane, bin_dir: Path, workdir: Path, pids: dict[str, int]
) -> str:
    installed = _installed_crds(plane)
    if not {"rayclusters.ray.io", "rayjobs.ray.io"} <= installed:
        return "the RayCluster/RayJob CRDs are not installed"
    if "rayservices.ray.io" not in installed:
        crd = rayservice_crd()
        if crd is None:
            return "its RayService CRD is not in the Go module cache (scripts/runtime-binaries)"
        staging = workdir / "rayservice-crd"
        staging.mkdir(exist_ok=True)
        shutil.copyfile(crd, staging / crd.name)
        install_crds(plane, staging)
    argv = [
        str(bin_dir / "ray-operator"),
        f"--kubeconfig={plane.kubeconfig}",
        "--enable-leader-election=false",
        "--metrics-addr=0",
        "--health-probe-bind-address=0",
    ]
    pids["ray-operator"] = _run("ray-operator", argv, workdir)
    return ""


ARGO_NAMESPACE = "argo"
"""Where workflow-controller reads its ConfigMap; it watches every namespace."""
ARGO_CONFIGMAP = "workflow-controller-configmap"
ARGO_CRDS = {
    "workflows.argoproj.io": "argoproj.io_workflows.yaml",
    "workflowtemplates.argoproj.io": "argoproj.io_workflowtemplates.yaml",
    "cronworkflows.argoproj.io": "argoproj.io_cronworkflows.yaml",
    "clusterworkflowtemplates.argoproj.io": "argoproj.io_clusterworkflowtemplates.yaml",
    "workflowtaskresults.argoproj.io": "argoproj.io_workflowtaskresults.yaml",
    "workflowtasksets.argoproj.io": "argoproj.io_workflowtasksets.yaml",
    "workflowartifactgctasks.argoproj.io": "argoproj.io_workflowartifactgctasks.yaml",
}
"""Every kind workflow-controller v4 watches -> its CRD file in the module's
``manifests/base/crds/minimal``. ``../shared/crds`` holds only the first three; the informers of
the others fail without them."""
ARGO_CONFIG = "metricsConfig:\n  enabled: false\ntelemetryConfig:\n  enabled: false\n"
"""Its metrics and telemetry servers would listen on ``*:9090``; health stays on ``:6060``
(hard-coded; a second controller on the machine only logs the bind error)."""


def _start_workflow_controller(
    plane: ControlPlane, bin_dir: Path, workdir: Path, pids: dict[str, int]
) -> str:
    installed = _installed_crds(plane)
    if not {"workflows.argoproj.io", "cronworkflows.argoproj.io"} <= installed:
        return "the Workflow/CronWorkflow CRDs are not installed"
    version = os.environ.get("MOFANG_ARGO_VERSION", "v4.0.5")
    missing = [name for name in ARGO_CRDS if name not in installed]
    if missing:
        crds = _module_file(
            "github.com/argoproj/argo-workflows/v4", version, "manifests/base/crds/minimal"
        )
        if crds is None:
            return "its CRDs are not in the Go module cache (scripts/runtime-binaries)"
        staging = workdir / "argo-crds"
        staging.mkdir(exist_ok=True)
        for name in missing:
            shutil.copyfile(crds / ARGO_CRDS[name], staging / ARGO_CRDS[name])
        install_crds(plane, staging)
    # It exits when its ConfigMap is missing; the ConfigMap switches its metrics servers off.
    _ensure(plane, "/api/v1/namespaces", {"metadata": {"name": ARGO_NAMESPACE}})
    _ensure(
        plane,
        f"/api/v1/namespaces/{ARGO_NAMESPACE}/configmaps",
        {"metadata": {"name": ARGO_CONFIGMAP}, "data": {"config": ARGO_CONFIG}},
    )
    argv = [
        str(bin_dir / "workflow-controller"),
        f"--kubeconfig={plane.kubeconfig}",
        f"--namespace={ARGO_NAMESPACE}",
        f"--configmap={ARGO_CONFIGMAP}",
        # Built without Argo's version ldflags it would name argoexec:v0.0.0 in every pod.
        f"--executor-image=quay.io/argoproj/argoexec:{version}",
    ]
    pids["workflow-controller"] = _run(
        "workflow-controller", argv, workdir, env={"LEADER_ELECTION_DISABLE": "true"}
    )
    return ""


KATIB_CERT_DIR = Path("/tmp/cert")
"""Fixed in Katib v0.19.0 (``consts.CertDir``): where its webhook server reads its pair."""
KATIB_TRIAL_KINDS = {
    "mpijobs.kubeflow.org": "MPIJob.v2beta1.kubeflow.org",
    "pytorchjobs.kubeflow.org": "PyTorchJob.v1.kubeflow.org",
    "tfjobs.kubeflow.org": "TFJob.v1.kubeflow.org",
    "xgboostjobs.kubeflow.org": "XGBoostJob.v1.kubeflow.org",
}
"""Trial kinds besides batch Jobs; the trial controller watches each, so only installed ones."""
KATIB_ALGORITHMS = {
    "random": "hyperopt",
    "tpe": "hyperopt",
    "bayesianoptimization": "skopt",
    "grid": "optuna",
    "cmaes": "goptuna",
    "hyperband": "hyperband",
}
"""Algorithm -> Katib suggestion image (``ghcr.io/kubeflow/katib/suggestion-<image>``)."""


def _start_katib_controller(
    plane: ControlPlane, bin_dir: Path, workdir: Path, pids: dict[str, int]
) -> str:
    installed = _installed_crds(plane)
    wanted = {"experiments.kubeflow.org", "suggestions.kubeflow.org", "trials.kubeflow.org"}
    if not wanted <= installed:
        return "the Experiment/Suggestion/Trial CRDs are not installed"
    secret = "katib-webhook-cert"
    _webhook_secret(plane, secret)
    version = os.environ.get("MOFANG_KATIB_VERSION", "v0.19.0")
    suggestions = [
        {"algorithmName": name, "image": f"ghcr.io/kubeflow/katib/suggestion-{image}:{version}"}
        for name, image in KATIB_ALGORITHMS.items()
    ]
    # What a suggestion needs when an Experiment runs: read from this ConfigMap, not the file.
    runtime = json.dumps({"runtime": {"suggestions": suggestions}})
    _ensure(
        plane,
        "/api/v1/namespaces/kubeflow/configmaps",
        {"metadata": {"name": "katib-config"}, "data": {"katib-config.yaml": runtime}},
    )
    (webhook_port,) = _free_ports(1)
    config = workdir / "katib-config.yaml"
    config.write_text(
        json.dumps(
            {
                "apiVersion": "config.kubeflow.org/v1beta1",
                "kind": "KatibConfig",
                "init": {
                    "controller": {
                        "webhookPort": webhook_port,
                        "metricsAddr": "0",
                        "healthzAddr": "0",
                        "enableLeaderElection": False,
                        "trialResources": [
                            "Job.v1.batch",
                            *(kind for crd, kind in KATIB_TRIAL_KINDS.items() if crd in installed),
                        ],
                    },
                    "certGenerator": {
                        "enable": True,
                        "webhookSecretName": secret,
                        "webhookServiceName": "katib-controller",
                    },
                },
            },
            indent=2,
        )
    )
    argv = [
        str(bin_dir / "katib-controller"),
        f"--katib-config={config}",
        f"--kubeconfig={plane.kubeconfig}",
    ]
    pid = _run("katib-controller", argv, workdir, env={"KATIB_CORE_NAMESPACE": "kubeflow"})
    pids["katib-controller"] = pid
    _mount_webhook_secret(plane, secret, KATIB_CERT_DIR, "katib-controller", pid, workdir)
    return ""


_OPERATOR_STARTERS = {
    "training-operator": _start_training_operator,
    "mpi-operator": _start_mpi_operator,
    "ray-operator": _start_ray_operator,
    "workflow-controller": _start_workflow_controller,
    "katib-controller": _start_katib_controller,
}


def wait_for(what: str, check: Any, timeout: float = 120, interval: float = 0.5) -> Any:
    """Poll ``check()`` until it returns something truthy; return it or raise with ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            last = check()
            if last:
                return last
        time.sleep(interval)
    raise MofangError(f"running cluster: timed out after {timeout:.0f}s waiting for {what}")
