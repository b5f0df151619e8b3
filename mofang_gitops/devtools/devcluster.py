"""``mofang-gitops dev up|down|status``: the test control plane as a local cluster.

The API servers must outlive the command that starts them, yet never outlive their owner
unnoticed. So ``dev up`` starts one detached process
(``python -m mofang_gitops.devtools.devcluster serve``) that owns every plane: the planes die
with it, it stops them on SIGTERM, and ``dev down`` is one signal to one pid.
``<state_dir>/state.json`` records that pid and the planes once they serve.

With ``runtime`` (``dev up --runtime``) each plane is a running cluster instead
(:mod:`mofang_gitops.devtools.running`): scheduler, controller-manager, kwok nodes planned from
platform.yaml (``<state_dir>/nodes.json``, written by the caller that loaded it) and the
operators. Their pids are in the state too, so a ``dev down`` after the serve process was killed
still stops them (they also get the parent-death signal).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from mofang_gitops.devtools.controlplane import (
    ControlPlane,
    cache_root,
    find_binaries,
    find_crds_dir,
    pid_alive,
    start_control_plane,
    stop_pid,
    write_kubeconfig,
)
from mofang_gitops.devtools.nodes import NodePlan, list_nodes
from mofang_gitops.devtools.running import RunningCluster, start_cluster_with_nodes
from mofang_gitops.devtools.runtime import find_runtime_binaries
from mofang_gitops.errors import MofangError, UsageError

log = logging.getLogger(__name__)

_MARKER = "mofang_gitops.devtools.devcluster"
_servers: dict[int, subprocess.Popen[bytes]] = {}
"""Serve processes started by this interpreter, so ``dev_down`` can reap them."""


def default_state_dir() -> Path:
    """Return where ``dev up`` keeps its planes by default (``~/.cache/mofang-gitops/dev``)."""
    return cache_root() / "dev"


def dev_up(
    state_dir: Path,
    clusters: Sequence[tuple[str, str]],
    *,
    crds_dir: Path | None | Literal["auto"] = "auto",
    timeout: float = 600,
    nodes: Mapping[str, Sequence[NodePlan]] | None = None,
) -> Path:
    """Start one control plane per ``(cluster, context)`` in the background; idempotent.

    ``crds_dir`` is installed into every plane: ``"auto"`` finds ``shared/crds``, ``None`` none.
    ``nodes`` (cluster name -> its kwok nodes) makes every plane a running cluster (scheduler,
    controllers, kwok, operators); ``None`` starts API servers only.

    Returns:
        ``<state_dir>/kubeconfig``, with one admin context per given context name.

    Raises:
        UsageError: the clusters are malformed, or a dev cluster with other clusters runs.
        MofangError: binaries are missing or the planes did not come up (the log tail says why).
    """
    clusters = _check_clusters(clusters)
    runtime = nodes is not None
    find_binaries()  # fail here, with the build hint, rather than in a detached process
    if runtime:
        find_runtime_binaries()
    state_dir = state_dir.resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    with _locked(state_dir):
        state = _read_state(state_dir)
        if state and pid_alive(state["pid"], _marker(state_dir)):
            if _pairs(state) != clusters or bool(state.get("runtime")) != runtime:
                kind = "running clusters" if state.get("runtime") else "API servers only"
                raise UsageError(
                    f"dev cluster in {state_dir} already runs {_pairs(state)} ({kind}); "
                    "run `mofang-gitops dev down` first"
                )
            return _wait_served(state_dir, state["pid"], time.monotonic() + timeout)
        _stop_all(state_dir, state)
        crds = find_crds_dir() if crds_dir == "auto" else crds_dir
        if nodes is not None:
            _write_nodes(state_dir, clusters, nodes)
        pid = _spawn_server(state_dir, clusters, crds, runtime=runtime)
        try:
            return _wait_served(state_dir, pid, time.monotonic() + timeout)
        except BaseException:
            _stop_all(state_dir, _read_state(state_dir))
            raise


def dev_down(state_dir: Path) -> None:
    """Stop the dev cluster in ``state_dir`` and every process it started; no-op when down."""
    state_dir = state_dir.resolve()
    if not state_dir.is_dir():
        return
    with _locked(state_dir):
        _stop_all(state_dir, _read_state(state_dir))


def dev_status(state_dir: Path) -> dict[str, Any]:
    """Describe the dev cluster: whether it runs, its kubeconfig, each plane's health.

    Running clusters also list their components (alive or not, and what was skipped and why)
    and their nodes (:func:`~mofang_gitops.devtools.nodes.list_nodes`).
    """
    state_dir = state_dir.resolve()
    state = _read_state(state_dir)
    running = state is not None and pid_alive(state["pid"], _marker(state_dir))
    clusters = [
        _describe(entry, running=running, runtime=bool(state and state.get("runtime")))
        for entry in (state or {}).get("planes", [])
    ]
    return {
        "state_dir": str(state_dir),
        "running": running,
        "runtime": bool(state and state.get("runtime")),
        "ready": running and bool(state and state.get("ready")),
        "pid": state["pid"] if state else None,
        "kubeconfig": str(state_dir / "kubeconfig") if running else None,
        "clusters": clusters,
    }


def _describe(entry: dict[str, Any], *, running: bool, runtime: bool) -> dict[str, Any]:
    plane = _plane(entry)
    healthy = running and plane.is_ready()
    described: dict[str, Any] = {
        "name": entry["plane"]["name"],
        "context": entry["context"],
        "server": entry["plane"]["server"],
        "etcd_pid": entry["plane"]["etcd_pid"],
        "apiserver_pid": entry["plane"]["apiserver_pid"],
        "healthy": healthy,
    }
    if runtime:
        components = entry.get("components", {})
        marker = str(plane.workdir)
        described["components"] = {
            name: {"pid": pid, "running": running and pid_alive(pid, marker)}
            for name, pid in components.items()
        }
        described["skipped"] = entry.get("skipped", {})
        described["nodes"] = list_nodes(plane) if healthy else []
    return described


# --- the detached serve process ------------------------------------------------------------------


def serve(
    state_dir: Path,
    clusters: Sequence[tuple[str, str]],
    crds_dir: Path | None,
    *,
    runtime: bool = False,
) -> None:
    """Run the planes until SIGTERM or SIGINT, then stop them (the body of the detached process).

    With ``runtime``, each plane is a running cluster with the nodes of ``nodes.json``. The
    clusters start one after another on the main thread: only processes forked from it get the
    parent-death signal that keeps a killed serve process from leaving orphans.
    """
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGINT, _exit_on_signal)
    planes: list[ControlPlane] = []
    started: list[RunningCluster] = []
    nodes = _read_nodes(state_dir) if runtime else {}
    contexts = [context for _, context in clusters]
    try:
        for name, _ in clusters:
            if runtime:
                cluster = start_cluster_with_nodes(
                    name, state_dir / name, name, nodes.get(name, []), crds_dir=crds_dir
                )
                started.append(cluster)
                planes.append(cluster.plane)
            else:
                planes.append(start_control_plane(name, state_dir / name, crds_dir=crds_dir))
            # Recorded as each one comes up, so `dev down` finds them even if the next one fails.
            _write_state(state_dir, _state(planes, clusters, started, runtime=runtime, ready=False))
        write_kubeconfig(state_dir / "kubeconfig", list(zip(contexts, planes, strict=True)))
        _write_state(state_dir, _state(planes, clusters, started, runtime=runtime, ready=True))
        log.info("dev cluster: ready, kubeconfig %s", state_dir / "kubeconfig")
        while True:
            signal.pause()
    finally:
        for cluster in reversed(started):
            cluster.runtime.stop()
        for plane in reversed(planes):
            plane.stop()
        log.info("dev cluster: stopped")


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _spawn_server(
    state_dir: Path, clusters: Sequence[tuple[str, str]], crds: Path | None, *, runtime: bool
) -> int:
    argv = [sys.executable, "-m", _MARKER, "serve", str(state_dir)]
    argv += [f"--cluster={name}={context}" for name, context in clusters]
    argv += [f"--crds={crds.resolve()}"] if crds else ["--no-crds"]
    argv += ["--runtime"] if runtime else []
    with (state_dir / "serve.log").open("ab") as out:
        proc = subprocess.Popen(
            argv,
            cwd=state_dir,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survive the terminal and the CLI that started it
        )
    _servers[proc.pid] = proc
    _write_state(
        state_dir,
        {"pid": proc.pid, "clusters": clusters, "runtime": runtime, "ready": False, "planes": []},
    )
    return proc.pid


def _wait_served(state_dir: Path, pid: int, deadline: float) -> Path:
    while True:
        state = _read_state(state_dir)
        if state and state["pid"] == pid and state.get("ready"):
            return state_dir / "kubeconfig"
        proc = _servers.get(pid)
        if not pid_alive(pid) or (proc is not None and proc.poll() is not None):
            raise MofangError(
                f"dev cluster: failed to start; {state_dir / 'serve.log'}:\n{_tail(state_dir)}"
            )
        if time.monotonic() > deadline:
            raise MofangError(
                f"dev cluster: not ready in time; {state_dir / 'serve.log'}:\n{_tail(state_dir)}"
            )
        time.sleep(0.2)


def _stop_all(state_dir: Path, state: dict[str, Any] | None) -> None:
    """Stop the serve process, then any plane it failed to stop, then forget the state."""
    if state:
        proc = _servers.pop(state["pid"], None)
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        else:
            stop_pid(state["pid"], _marker(state_dir), timeout=60)
        for entry in state.get("planes", []):
            marker = entry["plane"]["workdir"]
            for pid in reversed(list(entry.get("components", {}).values())):
                stop_pid(int(pid), marker)
            _plane(entry).stop()
    for name in ("state.json", "kubeconfig", "nodes.json"):
        (state_dir / name).unlink(missing_ok=True)


# --- state ---------------------------------------------------------------------------------------


def _state(
    planes: Sequence[ControlPlane],
    clusters: Sequence[tuple[str, str]],
    started: Sequence[RunningCluster],
    *,
    runtime: bool,
    ready: bool,
) -> dict[str, Any]:
    """The state file's content; ``planes`` may still be fewer than ``clusters`` while starting."""
    runtimes = {cluster.plane.name: cluster.runtime for cluster in started}
    entries = []
    for plane, (_, context) in zip(planes, clusters, strict=False):
        entry: dict[str, Any] = {
            "context": context,
            "plane": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(plane).items()},
        }
        if (running := runtimes.get(plane.name)) is not None:
            entry["components"] = dict(running.pids)
            entry["skipped"] = dict(running.skipped)
        entries.append(entry)
    return {
        "pid": os.getpid(),
        "clusters": [list(pair) for pair in clusters],
        "runtime": runtime,
        "ready": ready,
        "planes": entries,
    }


def _plane(entry: dict[str, Any]) -> ControlPlane:
    fields = dict(entry["plane"])
    for key in ("workdir", "ca_file", "kubeconfig"):
        fields[key] = Path(fields[key])
    return ControlPlane(**fields)


def _pairs(state: dict[str, Any]) -> list[tuple[str, str]]:
    return [(str(name), str(context)) for name, context in state.get("clusters", [])]


def _write_nodes(
    state_dir: Path, clusters: Sequence[tuple[str, str]], nodes: Mapping[str, Sequence[NodePlan]]
) -> None:
    unknown = sorted(set(nodes) - {name for name, _ in clusters})
    if unknown:
        raise UsageError(f"dev cluster: nodes planned for unknown clusters {unknown}")
    plans = {name: [asdict(plan) for plan in plans] for name, plans in nodes.items()}
    (state_dir / "nodes.json").write_text(json.dumps(plans, indent=2) + "\n")


def _read_nodes(state_dir: Path) -> dict[str, list[NodePlan]]:
    plans = json.loads((state_dir / "nodes.json").read_text())
    return {name: [NodePlan(**plan) for plan in entries] for name, entries in plans.items()}


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((state_dir / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("pid"), int) else None


def _write_state(state_dir: Path, state: dict[str, Any]) -> None:
    tmp = state_dir / ".state.json.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.chmod(0o600)  # holds the admin tokens
    tmp.replace(state_dir / "state.json")


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """Serialise ``up`` and ``down`` on one state dir, across processes."""
    with (state_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _marker(state_dir: Path) -> str:
    return f"{_MARKER} serve {state_dir}"


def _check_clusters(clusters: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    pairs = [(str(name), str(context)) for name, context in clusters]
    names, contexts = [n for n, _ in pairs], [c for _, c in pairs]
    if not pairs or len(set(names)) != len(names) or len(set(contexts)) != len(contexts):
        raise UsageError(f"dev cluster: need distinct cluster and context names, got {pairs}")
    for name in names:
        if not name or "/" in name or name.startswith("."):
            raise UsageError(f"dev cluster: {name!r} cannot name a directory")
    return pairs


def _tail(state_dir: Path, lines: int = 20) -> str:
    try:
        text = (state_dir / "serve.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# --- command line --------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``python -m mofang_gitops.devtools.devcluster up|down|status|serve``."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
    clusters = [_split_cluster(text) for text in args.cluster] or [("dev", "dev")]
    try:
        if args.command == "up":
            print(dev_up(state_dir, clusters))
        elif args.command == "down":
            dev_down(state_dir)
        elif args.command == "status":
            print(json.dumps(dev_status(state_dir), indent=2))
        else:
            crds = None if args.no_crds else Path(args.crds) if args.crds else find_crds_dir()
            serve(state_dir, clusters, crds, runtime=args.runtime)
    except MofangError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m mofang_gitops.devtools.devcluster")
    parser.add_argument("command", choices=["up", "down", "status", "serve"])
    parser.add_argument("state_dir", nargs="?", help=f"default {default_state_dir()}")
    parser.add_argument("--cluster", action="append", default=[], metavar="NAME=CONTEXT")
    parser.add_argument("--crds", help="serve only: CRD directory")
    parser.add_argument("--no-crds", action="store_true", help="serve only: install no CRDs")
    parser.add_argument(
        "--runtime", action="store_true", help="serve only: running clusters (nodes.json)"
    )
    return parser


def _split_cluster(text: str) -> tuple[str, str]:
    name, _, context = text.partition("=")
    return name, context or name


if __name__ == "__main__":
    sys.exit(main())
