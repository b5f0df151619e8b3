"""A real kube-apiserver + etcd on 127.0.0.1, for tests and ``mofang-gitops dev``.

Apply, prune, server-side dry-run and RBAC only behave like production against the real thing
(CRD schema validation, managed fields, 403s), so tests start one, as controller-runtime's envtest
does. This is part of the cluster layer: it speaks HTTPS to the API server with the standard
library, which keeps CRD installation free of client-side discovery caches.

Processes are started in their own session (a Ctrl-C in the terminal does not half-kill them) and,
on Linux, with a parent-death signal, so a test run killed with SIGKILL leaves nothing behind.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mofang_gitops.errors import MofangError

log = logging.getLogger(__name__)

K8S_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
BINARY_NAMES = ("kube-apiserver", "etcd", "kubectl")
USER_NAME = "mofang-viewer"
FIELD_MANAGER = "mofang-gitops"
_CRD_API = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
_PR_SET_PDEATHSIG = 1
_children: dict[int, subprocess.Popen[bytes]] = {}
"""Processes this interpreter started, so stopping them also reaps them (no zombies)."""


def cache_root() -> Path:
    """Return the per-user cache, computed exactly as ``scripts/control-plane-binaries`` does."""
    if root := os.environ.get("MOFANG_CACHE_DIR"):
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "mofang-gitops"


def find_binaries() -> Path:
    """Return the directory holding kube-apiserver, etcd and kubectl.

    Looks in ``$KUBEBUILDER_ASSETS`` then the per-user cache. Never builds: a cold build takes
    about 15 minutes and several GiB, which must not start silently inside a test run.

    Raises:
        MofangError: when no directory holds all three binaries.
    """
    k8s = os.environ.get("MOFANG_K8S_VERSION", K8S_VERSION)
    etcd = os.environ.get("MOFANG_ETCD_VERSION", ETCD_VERSION)
    candidates = [cache_root() / "bin" / f"k8s-{k8s}-etcd-{etcd}"]
    if assets := os.environ.get("KUBEBUILDER_ASSETS"):
        candidates.insert(0, Path(assets))
    for candidate in candidates:
        if all(os.access(candidate / name, os.X_OK) for name in BINARY_NAMES):
            return candidate
    script = Path(__file__).resolve().parent.parent / "scripts" / "control-plane-binaries"
    hint = script if script.exists() else "scripts/control-plane-binaries (mofang-gitops repo)"
    looked = " or ".join(str(c) for c in candidates)
    raise MofangError(
        f"control plane: kube-apiserver, etcd and kubectl not found in {looked}; run {hint} "
        "once to build them from the Go module proxy (about 15 minutes cold), or point "
        "$KUBEBUILDER_ASSETS at a directory holding all three"
    )


def find_crds_dir() -> Path | None:
    """Return ``$MOFANG_CRDS``, else the nearest ``shared/crds`` above the package or the cwd.

    Raises:
        MofangError: when ``$MOFANG_CRDS`` is set but is not a directory.
    """
    if env := os.environ.get("MOFANG_CRDS"):
        if not Path(env).is_dir():
            raise MofangError(f"$MOFANG_CRDS={env} is not a directory")
        return Path(env)
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for parent in (start, *start.parents):
            if (parent / "shared" / "crds").is_dir():
                return parent / "shared" / "crds"
    return None


@dataclass(frozen=True)
class ControlPlane:
    """A running kube-apiserver + etcd pair and the credentials to talk to it."""

    name: str
    workdir: Path
    server: str
    ca_file: Path
    admin_token: str
    user_token: str
    user_name: str
    """The unprivileged user (no RBAC bindings), for tests that expect 403."""
    kubeconfig: Path
    """Admin kubeconfig with one context named like the plane."""
    etcd_pid: int
    apiserver_pid: int

    def stop(self) -> None:
        """Stop the API server before etcd so it does not retry storage on its way down.

        Idempotent, and safe from another process (pids are checked against the workdir).
        """
        stop_pid(self.apiserver_pid, str(self.workdir))
        stop_pid(self.etcd_pid, str(self.workdir))
        shutil.rmtree(self.workdir / "etcd", ignore_errors=True)

    def is_ready(self) -> bool:
        """Return whether both processes run and ``/readyz`` answers 200."""
        if not (pid_alive(self.etcd_pid) and pid_alive(self.apiserver_pid)):
            return False
        try:
            return api_call(self, "GET", "/readyz")[0] == 200
        except OSError:
            return False


def start_control_plane(
    name: str,
    workdir: Path,
    *,
    crds_dir: Path | None | Literal["auto"] = "auto",
    binaries: Path | None = None,
    timeout: float = 90,
) -> ControlPlane:
    """Start etcd and kube-apiserver on free loopback ports and wait until they serve.

    Args:
        name: the plane's name, also its kubeconfig context.
        workdir: holds data, certificates, tokens and logs; reused across runs.
        crds_dir: CRDs to install; ``"auto"`` uses :func:`find_crds_dir`, ``None`` installs none.
        binaries: directory with the binaries; :func:`find_binaries` when omitted.
        timeout: seconds to wait for readiness (CRD installation has its own timeout).

    Raises:
        MofangError: a binary is missing, a process died, or readiness timed out.
    """
    started = time.monotonic()
    cp = _launch(name, workdir.resolve(), binaries or find_binaries(), started + timeout)
    log.info("control plane %s: ready at %s in %.1fs", name, cp.server, _since(started))
    crds = find_crds_dir() if crds_dir == "auto" else crds_dir
    try:
        if crds is not None:
            install_crds(cp, crds)
    except BaseException:
        cp.stop()
        raise
    return cp


def install_crds(cp: ControlPlane, crds_dir: Path, *, timeout: float = 300) -> list[str]:
    """Create or server-side apply every ``*.yaml`` CRD below ``crds_dir``; wait until usable.

    Raw YAML goes to the server as is (the server parses it), and large CRDs never touch the
    client-side ``last-applied-configuration`` annotation, which they would overflow.

    Returns:
        The CRD names, in file order.

    Raises:
        MofangError: files the server refused (all of them, one per line), or CRDs that were not
            Established in time.
    """
    started = time.monotonic()
    files = sorted(p for p in crds_dir.rglob("*.yaml") if p.is_file())
    # The server's work (decoding, schema checks) dominates: two requests keep both cores busy.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda path: _put_crd(cp, path), files))
    refused = [str(result) for result in results if isinstance(result, MofangError)]
    if refused:
        raise MofangError("\n".join(refused))
    refs = [result for result in results if isinstance(result, _CrdRef)]
    _wait_established(cp, refs, started + timeout)
    log.info("control plane %s: %d CRDs in %.1fs", cp.name, len(refs), _since(started))
    return [ref.name for ref in refs]


def write_kubeconfig(
    path: Path, planes: Sequence[tuple[str, ControlPlane]], token: str | None = None
) -> Path:
    """Write a kubeconfig with one context (and cluster and user) per ``(context, plane)``.

    Each context uses its plane's admin token unless ``token`` is given. The file is JSON, which
    every kubeconfig reader accepts as YAML; it is written atomically with mode 0600.
    """
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [
            {
                "name": ctx,
                "cluster": {"server": cp.server, "certificate-authority": str(cp.ca_file)},
            }
            for ctx, cp in planes
        ],
        "users": [{"name": ctx, "user": {"token": token or cp.admin_token}} for ctx, cp in planes],
        "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": ctx}} for ctx, _ in planes],
        "current-context": planes[0][0] if planes else "",
    }
    _write_private(path, json.dumps(config, indent=2) + "\n")
    return path


def api_call(
    cp: ControlPlane,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    content_type: str = "application/json",
    token: str | None = None,
    timeout: float = 60,
    impersonate: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """Send one request to the API server; return the HTTP status and the decoded JSON body.

    HTTP errors come back as their status (a 403 or 422 is an answer); only transport failures
    raise (``OSError``). Non-JSON bodies are returned as ``{"text": ...}``. ``impersonate`` sends
    the request as that user (``kubectl --as``: the admin may impersonate anyone; the server adds
    ``system:authenticated``), so RBAC and admission judge it as theirs.
    """
    headers = {"Authorization": f"Bearer {token or cp.admin_token}", "Accept": "application/json"}
    if impersonate is not None:
        headers["Impersonate-User"] = impersonate
    if body is not None:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(cp.server + path, body, headers, method=method)
    try:
        with _opener(_ssl_context(cp)).open(request, timeout=timeout) as resp:
            return resp.status, _decode(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, _decode(err.read())


def pid_alive(pid: int, marker: str = "") -> bool:
    """Return whether ``pid`` runs with ``marker`` in its command line (zombies count as gone)."""
    if pid <= 0:  # os.kill(-1, ...) would address every process we may signal
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rpartition(")")[2].split()[0] == "Z":
            return False
    return not marker or marker in _cmdline(pid)


def stop_pid(pid: int, marker: str, timeout: float = 20) -> None:
    """SIGTERM ``pid``, then SIGKILL after ``timeout`` seconds; no-op when it is gone.

    A process this interpreter did not start is only signalled when its command line contains
    ``marker``, so a recycled pid never hits an unrelated process.
    """
    proc = _children.pop(pid, None)
    if proc is not None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return
    if not pid_alive(pid, marker):
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not pid_alive(pid):
            return


# --- processes -----------------------------------------------------------------------------------


def _launch(name: str, workdir: Path, bin_dir: Path, deadline: float) -> ControlPlane:
    """Start etcd, then the API server once etcd is healthy; stop both if either fails."""
    _prepare_workdir(workdir)
    admin_token, user_token = secrets.token_hex(16), secrets.token_hex(16)
    _write_auth_files(workdir, admin_token, user_token)
    etcd_port, peer_port, api_port = _free_ports(3)
    procs = [_spawn(_etcd_argv(bin_dir, workdir, etcd_port, peer_port), workdir / "etcd.log")]
    try:
        _wait(lambda: _etcd_healthy(etcd_port), procs, workdir / "etcd.log", deadline)
        argv = _apiserver_argv(bin_dir, workdir, etcd_port, api_port)
        procs.append(_spawn(argv, workdir / "apiserver.log"))
        cp = ControlPlane(
            name,
            workdir,
            f"https://127.0.0.1:{api_port}",
            workdir / "certs" / "apiserver.crt",
            admin_token,
            user_token,
            USER_NAME,
            workdir / "kubeconfig",
            procs[0].pid,
            procs[1].pid,
        )
        _record_pids(cp)
        atexit.register(cp.stop)
        _wait(lambda: _apiserver_ready(cp), procs, workdir / "apiserver.log", deadline)
    except BaseException:
        for proc in reversed(procs):
            stop_pid(proc.pid, str(workdir))
        raise
    write_kubeconfig(cp.kubeconfig, [(name, cp)])
    return cp


def _etcd_argv(bin_dir: Path, workdir: Path, port: int, peer_port: int) -> list[str]:
    client, peer = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
    return [
        str(bin_dir / "etcd"),
        f"--data-dir={workdir / 'etcd'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=default={peer}",
        "--unsafe-no-fsync=true",  # disposable data: durability only costs time
        "--log-level=warn",
    ]


def _apiserver_argv(bin_dir: Path, workdir: Path, etcd_port: int, port: int) -> list[str]:
    return [
        str(bin_dir / "kube-apiserver"),
        f"--etcd-servers=http://127.0.0.1:{etcd_port}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={workdir / 'certs'}",
        # Room for a ClusterIP per notebook of a 1,000-project benchmark (a /24 holds 253).
        "--service-cluster-ip-range=10.0.0.0/16",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={workdir / 'sa.key'}",
        f"--service-account-signing-key-file={workdir / 'sa.key'}",
        "--authorization-mode=RBAC",
        f"--token-auth-file={workdir / 'tokens.csv'}",
        "--disable-admission-plugins=ServiceAccount",
        "--allow-privileged=true",
        # Installing a megabyte CRD (Argo's) takes the server over the 60 s default on a loaded
        # two-core machine; a local test plane waits instead of answering 504.
        "--request-timeout=5m",
        # On by default since 1.30; named so the controller's admission policy is always enforced
        # here (tests/controller/test_admission_policy.py), whatever the defaults become.
        "--enable-admission-plugins=ValidatingAdmissionPolicy",
        # Only loopback exists: no default route to take an address from, and no other API
        # server whose endpoints need reconciling.
        "--advertise-address=127.0.0.1",
        "--endpoint-reconciler-type=none",
    ]


def _spawn(
    argv: list[str], log_path: Path, extra_env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    # The parent-death signal follows the *thread* that forked, so only the main thread asks.
    on_death = _die_with_parent if threading.current_thread() is threading.main_thread() else None
    # Go's HTTP and gRPC clients honour *_PROXY; etcd and the API server only talk to loopback.
    no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), "127.0.0.1,localhost"]))
    env = {**os.environ, "NO_PROXY": no_proxy, "no_proxy": no_proxy, **(extra_env or {})}
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=on_death,
        )
    _children[proc.pid] = proc
    return proc


# Resolved before any fork: loading a library in a forked child is unsafe.
_PRCTL = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _prepare_workdir(workdir: Path) -> None:
    """Clear what a previous plane left in ``workdir``, refusing one another process still runs."""
    workdir.mkdir(parents=True, exist_ok=True)
    pids_file = workdir / "pids.json"
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        recorded = json.loads(pids_file.read_text())
        pids = [int(recorded["apiserver"]), int(recorded["etcd"])]
        running = [pid for pid in pids if pid_alive(pid, str(workdir))]
        owner = int(recorded["owner"])
        if running and owner != os.getpid() and pid_alive(owner):
            raise MofangError(f"control plane: {workdir} is in use by process {owner}")
        for pid in running:  # left behind by a dead owner, or by this process earlier
            stop_pid(pid, str(workdir))
    pids_file.unlink(missing_ok=True)
    for stale in ("etcd", "certs"):
        shutil.rmtree(workdir / stale, ignore_errors=True)
    for log_file in ("etcd.log", "apiserver.log"):
        (workdir / log_file).unlink(missing_ok=True)


def _record_pids(cp: ControlPlane) -> None:
    pids = {"owner": os.getpid(), "etcd": cp.etcd_pid, "apiserver": cp.apiserver_pid}
    (cp.workdir / "pids.json").write_text(json.dumps(pids) + "\n")


def _write_auth_files(workdir: Path, admin_token: str, user_token: str) -> None:
    tokens = (
        f'{admin_token},admin,admin-uid,"system:masters"\n{user_token},{USER_NAME},{USER_NAME}\n'
    )
    _write_private(workdir / "tokens.csv", tokens)
    key = workdir / "sa.key"
    key.unlink(missing_ok=True)
    try:
        subprocess.run(
            ["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError) as err:
        raise MofangError(
            f"control plane: openssl cannot make a service-account key: {err}"
        ) from err
    key.chmod(0o600)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(tmp, path)


def _free_ports(count: int) -> list[int]:
    # Hold every socket until all are bound so the ports differ from each other.
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


# --- readiness -----------------------------------------------------------------------------------


def _wait(
    ready: Callable[[], bool],
    procs: Sequence[subprocess.Popen[bytes]],
    log_file: Path,
    deadline: float,
) -> None:
    """Poll ``ready`` until it holds; fail early, with the log's tail, when a process exits."""
    while not ready():
        dead = [
            f"{proc.pid} exited with {proc.returncode}" for proc in procs if proc.poll() is not None
        ]
        if dead or time.monotonic() > deadline:
            tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-15:])
            what = "; ".join(dead) if dead else "not ready in time"
            raise MofangError(f"control plane: {what}; last lines of {log_file}:\n{tail}")
        time.sleep(0.1)


def _etcd_healthy(port: int) -> bool:
    with contextlib.suppress(OSError, ValueError):
        with _opener().open(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return bool(json.loads(resp.read()).get("health") == "true")
    return False


def _apiserver_ready(cp: ControlPlane) -> bool:
    """Ready means ``/readyz`` and the ``default`` namespace (created just after readyz)."""
    if not cp.ca_file.exists():
        return False
    with contextlib.suppress(OSError):  # also a half-written CA file (ssl.SSLError)
        return (
            api_call(cp, "GET", "/readyz", timeout=5)[0] == 200
            and api_call(cp, "GET", "/api/v1/namespaces/default", timeout=5)[0] == 200
        )
    return False


def _since(started: float) -> float:
    return time.monotonic() - started


# --- CRDs ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CrdRef:
    name: str
    plural: str
    group_versions: tuple[str, ...]
    """The served ``group/version`` paths, where discovery must list ``plural``."""


CRD_TIMEOUT = 330.0
"""Client side of ``--request-timeout=5m``: longer, so the server's answer always arrives."""
_CRD_RETRIES = 4
"""A loaded machine can make the server time out (504) on a megabyte CRD; it is retried."""


def _put_crd(cp: ControlPlane, path: Path) -> _CrdRef | MofangError:
    """Create the CRD in ``path``, or server-side apply it when it exists; return the refusal.

    A 429/5xx answer is retried a few times: a timed-out create may still have happened, and
    the retry then finds it (409) and applies over it.
    """
    for attempt in range(_CRD_RETRIES):
        result = _put_crd_once(cp, path)
        if not isinstance(result, _RetriableCrdError) or attempt == _CRD_RETRIES - 1:
            return result
        time.sleep(1.0 + attempt)
    raise AssertionError("unreachable")


class _RetriableCrdError(MofangError):
    """The server was too busy to answer (429 or 5xx)."""


def _put_crd_once(cp: ControlPlane, path: Path) -> _CrdRef | MofangError:
    body = path.read_bytes()
    query = f"?fieldManager={FIELD_MANAGER}&timeout=300s"
    status, answer = api_call(
        cp, "POST", _CRD_API + query, body, content_type="application/yaml", timeout=CRD_TIMEOUT
    )
    if status == 409 and answer.get("reason") == "AlreadyExists":
        name = str(answer.get("details", {}).get("name", ""))
        status, answer = api_call(
            cp,
            "PATCH",
            f"{_CRD_API}/{name}{query}&force=true",
            body,
            content_type="application/apply-patch+yaml",
            timeout=CRD_TIMEOUT,
        )
    if status not in (200, 201):
        message = answer.get("message") or answer.get("text", "")
        error = _RetriableCrdError if status == 429 or status >= 500 else MofangError
        return error(f"CRD {path}: the API server answered {status}: {message}")
    spec = answer["spec"]
    served = (f"{spec['group']}/{v['name']}" for v in spec["versions"] if v.get("served"))
    return _CrdRef(answer["metadata"]["name"], spec["names"]["plural"], tuple(served))


def _wait_established(cp: ControlPlane, refs: Sequence[_CrdRef], deadline: float) -> None:
    """Wait until each CRD is listed in discovery and its ``Established`` condition is True.

    Established alone can precede the discovery update by a moment, and clients that resolve
    kinds through discovery would then see "no matches for kind". Discovery is asked first
    because it is cheap; a CRD object can weigh a megabyte.
    """
    pending = list(refs)
    while pending:
        wanted = {gv for ref in pending for gv in ref.group_versions}
        listed = {gv: _discovered(cp, gv) for gv in wanted}
        pending = [
            ref
            for ref in pending
            if not all(ref.plural in listed[gv] for gv in ref.group_versions)
            or not _established(cp, ref.name)
        ]
        if pending and time.monotonic() > deadline:
            names = [ref.name for ref in pending]
            raise MofangError(f"control plane {cp.name}: CRDs not Established in time: {names}")
        if pending:
            time.sleep(0.2)


def _discovered(cp: ControlPlane, group_version: str) -> set[str]:
    status, found = api_call(cp, "GET", f"/apis/{group_version}")
    return {str(r.get("name")) for r in found.get("resources", [])} if status == 200 else set()


def _established(cp: ControlPlane, name: str) -> bool:
    status, crd = api_call(cp, "GET", f"{_CRD_API}/{name}")
    conditions = (crd.get("status") or {}).get("conditions") or [] if status == 200 else []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _opener(context: ssl.SSLContext | None = None) -> urllib.request.OpenerDirector:
    """Return an opener that ignores ``*_PROXY``: every address here is loopback."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if context is not None:
        handlers.append(urllib.request.HTTPSHandler(context=context))
    return urllib.request.build_opener(*handlers)


def _ssl_context(cp: ControlPlane) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cp.ca_file))
    # Python >= 3.13 turns on strict X.509 checks that self-signed dev certificates may fail.
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_STRICT", 0)
    return context


def _decode(raw: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(raw) if raw else {}
    except ValueError:
        return {"text": raw.decode(errors="replace")}
    return decoded if isinstance(decoded, dict) else {"items": decoded}
