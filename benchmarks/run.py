"""Benchmark mofang-gitops against kubectl on the same objects, on this machine, in one run.

DESIGN.md section 10. Generates a synthetic platform (benchmarks/generate.py), makes it a git
repository, and measures:

1. validate + render of the whole repository (in child processes: seconds, median of 3, and
   peak RSS), the parse of every rendered manifest with the fast reader and with libyaml, and
   the CLI's ``validate`` and ``render --out`` as subprocesses;
2. ``mofang-gitops diff --base`` (CLI subprocess, as CI runs it) for a branch touching one
   project (median of 3) and for one touching ``platform.yaml``;
3. on control plane A (real kube-apiserver + etcd, CRDs installed): our apply from empty (engine
   in-process), the no-op ``plan --prune`` (engine in-process, median of 3, requests counted by
   ``Cluster.stats``; and the CLI end to end), ``kubectl diff --server-side`` of the same rendered
   files (requests counted from kubectl's ``--v=6`` response log lines), and the apply of a change
   to one project (engine over the whole repository, and CLI with ``--project``);
4. on control plane B, started fresh after A is stopped: ``kubectl apply --server-side`` of the
   same rendered files into the empty cluster, again (its no-op) and after a one-object change;
5. on control plane C, started fresh after B is stopped: the Flux peer (benchmarks/fluxpeer,
   ``fluxcd/pkg/ssa`` as kustomize-controller runs it, built by scripts/flux-peer): apply from
   empty, the same again (no-op reconcile) and a one-object change, requests by verb.

``kubectl diff`` makes a GET and a dry-run PATCH per object, one object at a time; at ~26,000
objects it would take several minutes, so by default it runs on a deterministic sample (the
first whole project files in name order, ``--kubectl-diff-sample`` objects or just over, and
half of that to check that its cost is linear) and is extrapolated linearly to the full set; ours
is measured on the same sample and on the full set. ``--kubectl-diff-sample 0`` measures kubectl
on the full set instead.

Usage: python benchmarks/run.py [--projects N] [--json] [--keep] [--workdir DIR] [--no-flux]
With --json the last line of stdout is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import generate, project_name  # noqa: E402
from mofang_gitops.devtools.controlplane import (  # noqa: E402
    K8S_VERSION,
    ControlPlane,
    find_binaries,
    start_control_plane,
)
from mofang_gitops.engine import ApplyOptions, ChangeSet, ResourceManager  # noqa: E402
from mofang_gitops.k8s.cluster import Cluster  # noqa: E402
from mofang_gitops.manifests import (  # noqa: E402
    ANNOTATION_CREATED_BY,
    MANAGER,
    RenderedTarget,
)
from mofang_gitops.rendering import render_repo  # noqa: E402
from mofang_gitops.sources.loading import load_repo  # noqa: E402
from mofang_gitops.sources.trees import DirectoryTree  # noqa: E402
from mofang_gitops.validation.repository import Validation, validate_repo  # noqa: E402

CLUSTER = "central"
"""Cluster and kubeconfig context name of the generated platform."""
CHANGED_PROJECT = 7
"""Index of the project the one-project branch (and the one-project apply) changes."""
CLI_CHANGED_PROJECT = 8
"""Index of the project changed for the CLI ``apply --project`` measurement."""
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "gc.auto=0"]
_RESPONSE = re.compile(r'"Response" verb="([A-Z]+)"')
_STARTED = time.monotonic()

RENDER_CHILD = r"""
import gc, json, resource, sys, time
from pathlib import Path
import yaml
t0 = time.perf_counter()
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo
from mofang_gitops import yamlio
t1 = time.perf_counter()
repo = load_repo(DirectoryTree(Path(sys.argv[1])))
t2 = time.perf_counter()
validation = validate_repo(repo)
t3 = time.perf_counter()
targets = render_repo(validation)
t4 = time.perf_counter()
rss_render = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
manifests = [m for t in targets for m in t.manifests]
# Both parsers with the collector paused (as in the engine's runs) and their results kept, so
# neither pays for collections the other's garbage caused.
gc.collect()
gc.disable()
t4b = time.perf_counter()
bodies = [m.body for m in manifests]
t5 = time.perf_counter()
rss_bodies = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
reference = [yaml.load(m.text, Loader=loader) for m in manifests]
t6 = time.perf_counter()
gc.enable()
assert bodies == reference  # the fast reader's results, checked on every object
json.dump({
    "import_seconds": t1 - t0, "load_seconds": t2 - t1, "validate_seconds": t3 - t2,
    "render_only_seconds": t4 - t3, "render_seconds": t4 - t1,
    "parse_seconds": t5 - t4b, "parse_libyaml_seconds": t6 - t5,
    "objects": len(manifests), "targets": len(targets), "problems": len(validation.problems),
    "peak_rss_mb": rss_render,
    "peak_rss_with_bodies_mb": rss_bodies,
}, sys.stdout)
"""


LOAD_AT: dict[str, float] = {}
"""1-minute load average when each phase started."""


def log(message: str) -> None:
    """Progress on stderr, so stdout carries only the report; note the load at each phase."""
    LOAD_AT[message] = round(os.getloadavg()[0], 2)
    print(
        f"[{time.monotonic() - _STARTED:6.0f}s] {message} (load {LOAD_AT[message]})",
        file=sys.stderr,
        flush=True,
    )


@dataclass
class Timed:
    """Wall seconds, CPU seconds of this process (all threads) and of finished children."""

    seconds: float = 0.0
    cpu: float = 0.0
    child_cpu: float = 0.0


@contextmanager
def timed() -> Iterator[Timed]:
    """Measure the block: wall clock, this process's CPU, and CPU of children it waited for."""
    result = Timed()
    wall, cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        yield result
    finally:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        result.seconds = time.perf_counter() - wall
        result.cpu = time.process_time() - cpu
        result.child_cpu = (after.ru_utime - children.ru_utime) + (
            after.ru_stime - children.ru_stime
        )


def process_cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) the processes used so far, from /proc."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def server_cpu(cp: ControlPlane) -> float:
    """CPU seconds of the plane's kube-apiserver and etcd."""
    return process_cpu([cp.apiserver_pid, cp.etcd_pid])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (``VmHWM``) of a live process, in MB (0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def plane_memory(cp: ControlPlane, results: dict[str, Any], name: str) -> None:
    """Record the peak RSS of the plane's API server and etcd (read before it stops)."""
    results[f"{name}_apiserver_peak_rss_mb"] = round(peak_rss_mb(cp.apiserver_pid), 1)
    results[f"{name}_etcd_peak_rss_mb"] = round(peak_rss_mb(cp.etcd_pid), 1)


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    ok: Sequence[int] = (0,),
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command, fail loudly on an unexpected exit code."""
    done = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if done.returncode not in ok:
        raise SystemExit(
            f"{' '.join(map(str, argv))[:300]}: exit {done.returncode}\n"
            f"stdout: {done.stdout[-2000:]}\nstderr: {done.stderr[-4000:]}"
        )
    return done


def machine_facts() -> dict[str, Any]:
    """What the figures were measured on."""
    meminfo = dict(
        line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line
    )
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model,
        "memory_gb": round(int(meminfo["MemTotal"].split()[0]) / 1024 / 1024, 1),
        "memory_available_gb": round(int(meminfo["MemAvailable"].split()[0]) / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "kubernetes": K8S_VERSION,
    }


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


# --- the repository ------------------------------------------------------------------------------


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; return stdout."""
    return run([*GIT, "-C", str(repo), *args], timeout=300).stdout.strip()


def change_notebook_cpu(repo: Path, index: int) -> Path:
    """Raise one project's notebook CPU request from 2 to 3 (changes its StatefulSet)."""
    path = repo / "projects" / project_name(index) / "notebooks" / "nb.yaml"
    text = path.read_text()
    changed = text.replace('cpu: "2", memory: 8Gi, gpu: 1', 'cpu: "3", memory: 8Gi, gpu: 1')
    if changed == text:
        raise SystemExit(f"{path}: the notebook request to change is not there")
    path.write_text(changed)
    return path


def make_git_repo(repo: Path) -> dict[str, str]:
    """``main`` = the generated platform; branches ``pr-project`` and ``pr-platform`` off it."""
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "generated platform")
    git(repo, "checkout", "-q", "-b", "pr-project")
    change_notebook_cpu(repo, CHANGED_PROJECT)
    git(repo, "commit", "-q", "-am", f"{project_name(CHANGED_PROJECT)}: notebook CPU 2 -> 3")
    git(repo, "checkout", "-q", "-b", "pr-platform", "main")
    platform_file = repo / "platform.yaml"
    platform_file.write_text(
        platform_file.read_text().replace("jupyter-pytorch:2.4", "jupyter-pytorch:2.5")
    )
    git(repo, "commit", "-q", "-am", "platform: notebook image 2.4 -> 2.5")
    git(repo, "checkout", "-q", "main")
    git(repo, "gc", "-q")  # packed, like the clone a CI job previews from
    return {"project": "pr-project", "platform": "pr-platform", "base": "main"}


def validated(repo: Path) -> Validation:
    """Load and validate the working tree."""
    return validate_repo(load_repo(DirectoryTree(repo)))


def rendered(repo: Path, projects: Sequence[str] = ()) -> list[RenderedTarget]:
    """Freshly rendered targets: bodies not parsed yet, as a fresh CLI run would have them."""
    return render_repo(validated(repo), projects=projects)


# --- clusters ------------------------------------------------------------------------------------


def start_plane(name: str, workdir: Path) -> tuple[ControlPlane, float]:
    """Start a control plane (CRDs installed); return it and the seconds it took."""
    started = time.perf_counter()
    cp = start_control_plane(name, workdir)
    return cp, time.perf_counter() - started


def warm_up(cp: ControlPlane, targets: Sequence[RenderedTarget]) -> None:
    """LIST every kind once until the server serves it (fresh CRD storage answers 503 at first).

    Not measured: both planes are warmed the same way before anything is timed.
    """
    cluster = Cluster(CLUSTER, cp.kubeconfig, CLUSTER)
    kinds = sorted({(m.api_version, m.ref.kind) for t in targets for m in t.manifests})
    deadline = time.monotonic() + 120
    try:
        for api_version, kind in kinds:
            while True:
                try:
                    cluster.list(api_version, kind, label_selector="warm-up=1")
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)
    finally:
        cluster.close()


def connect(cp: ControlPlane) -> dict[str, Cluster]:
    """Our engine's cluster for the plane (the same as ``connect`` with the plane's kubeconfig)."""
    return {CLUSTER: Cluster(CLUSTER, cp.kubeconfig, CLUSTER)}


@dataclass
class EngineRun:
    """One in-process engine run: timing, the change set and the requests it made."""

    timing: Timed
    changes: ChangeSet
    requests: dict[str, int]
    server_cpu: float
    objects: int

    @property
    def actions(self) -> dict[str, int]:
        return dict(Counter(str(e.action) for e in self.changes.entries))

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


def engine_run(
    cp: ControlPlane, targets: list[RenderedTarget], options: ApplyOptions, *, dry_run: bool
) -> EngineRun:
    """Plan or apply ``targets`` on ``cp`` with a fresh client, timed."""
    clusters = connect(cp)
    manager = ResourceManager(clusters)
    before = server_cpu(cp)
    try:
        with timed() as timing:
            changes = manager.plan(targets, options) if dry_run else manager.apply(targets, options)
    finally:
        for cluster in clusters.values():
            cluster.close()
    return EngineRun(
        timing,
        changes,
        clusters[CLUSTER].stats.by_verb(),
        server_cpu(cp) - before,
        sum(len(t.manifests) for t in targets),
    )


@dataclass
class KubectlRun:
    """One kubectl invocation: timing, exit code and the API requests it logged."""

    timing: Timed
    returncode: int
    requests: dict[str, int]
    server_cpu: float
    objects: int
    stdout_lines: int

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


def kubectl(
    cp: ControlPlane, args: Sequence[str], objects: int, *, ok: Sequence[int] = (0,), timeout: float
) -> KubectlRun:
    """Run kubectl against ``cp`` with ``--v=6`` and count the response lines it logs."""
    binary = find_binaries() / "kubectl"
    env = dict(os.environ)
    env["NO_PROXY"] = ",".join(filter(None, [env.get("NO_PROXY", ""), "127.0.0.1,localhost"]))
    env["KUBECACHEDIR"] = str(cp.workdir / "kubectl-cache")
    argv = [str(binary), "--kubeconfig", str(cp.kubeconfig), "--context", CLUSTER, "--v=6", *args]
    before = server_cpu(cp)
    with timed() as timing:
        done = run(argv, timeout=timeout, ok=ok, env=env)
    verbs = Counter(match.group(1) for match in _RESPONSE.finditer(done.stderr))
    return KubectlRun(
        timing,
        done.returncode,
        dict(verbs),
        server_cpu(cp) - before,
        objects,
        len(done.stdout.splitlines()),
    )


# --- measurements --------------------------------------------------------------------------------


RENDER_RUNS = 3
"""Validate + render runs in fresh child processes; the median one is reported. One run moved by
up to 20 % from one run to the next on the 2-CPU VMs (issue 19's 1k-to-5k growth is a ratio of
two such figures)."""


def measure_render(repo: Path, out: Path, results: dict[str, Any]) -> None:
    """Validate + render in child processes (time, peak RSS; median of 3), then the CLI commands."""
    runs = []
    for attempt in range(1, RENDER_RUNS + 1):
        log(f"validate + render (child process), run {attempt}/{RENDER_RUNS}")
        child = run([sys.executable, "-c", RENDER_CHILD, str(repo)], timeout=600)
        runs.append(json.loads(child.stdout))
    runs.sort(key=lambda figures: figures["render_seconds"])
    results.update(runs[len(runs) // 2])
    results["render_runs_seconds"] = [figures["render_seconds"] for figures in runs]
    cli = [sys.executable, "-m", "mofang_gitops", "--repo", str(repo)]
    log("CLI validate")
    with timed() as validate_cli:
        run([*cli, "validate"], timeout=600)
    log("CLI render --out")
    with timed() as render_cli:
        run([*cli, "render", "--out", str(out)], timeout=600)
    results["validate_cli_seconds"] = validate_cli.seconds
    results["render_cli_seconds"] = render_cli.seconds
    results["namespaces_marked"] = mark_created_namespaces(out)


NAMESPACE_ANNOTATIONS = re.compile(
    r'(\nkind: "Namespace"\nmetadata:\n(?:  .*\n|    .*\n)*?  annotations:\n)'
)


def mark_created_namespaces(out: Path) -> int:
    """Give kubectl and the Flux peer the objects our engine sends: Namespaces with the marker.

    The engine adds ``mofang.io/created-by`` to each Namespace it creates (engine/ownership.py,
    in the creating request, and keeps sending it); ``render --out`` writes the rendered body
    without it. Applied as the same field manager, kubectl would remove it (its diff then
    differs), and the peers would write objects that are not the same. Returns how many
    Namespaces were marked; each one must have been (checked against a plain count).
    """
    marker = f'    "{ANNOTATION_CREATED_BY}": "{MANAGER}"\n'
    marked = 0
    for path in sorted(out.rglob("*.yaml")):
        text = path.read_text()
        expected = text.count('\nkind: "Namespace"\n')
        if not expected:
            continue
        text, done = NAMESPACE_ANNOTATIONS.subn(lambda m: m.group(1) + marker, text)
        if done != expected:
            raise SystemExit(f"{path}: marked {done} of {expected} Namespaces (layout changed?)")
        path.write_text(text)
        marked += done
    return marked


def measure_diffs(repo: Path, refs: dict[str, str], results: dict[str, Any]) -> None:
    """``diff --base`` as CI runs it: a fresh CLI process per preview."""
    cli = [sys.executable, "-m", "mofang_gitops", "--repo", str(repo), "diff", "--format", "json"]
    runs = []
    summary: dict[str, Any] = {}
    for attempt in range(3):
        log(f"diff --base (one project), run {attempt + 1}/3")
        with timed() as one:
            done = run(
                [*cli, "--base", refs["base"], "--head", refs["project"]], timeout=600, ok=(1,)
            )
        runs.append(one.seconds)
        summary = json.loads(done.stdout)
    results["pr_diff_seconds"] = statistics.median(runs)
    results["pr_diff_runs_seconds"] = runs
    results["pr_diff_rendered_projects"] = len(summary["rendered"])
    results["pr_diff_summary"] = summary["summary"]
    log("diff --base (platform.yaml)")
    with timed() as whole:
        done = run([*cli, "--base", refs["base"], "--head", refs["platform"]], timeout=900, ok=(1,))
    summary = json.loads(done.stdout)
    results["platform_diff_seconds"] = whole.seconds
    results["platform_diff_rendered_projects"] = len(summary["rendered"])
    results["platform_diff_all_rendered"] = summary["allRendered"]
    results["platform_diff_summary"] = summary["summary"]


def sample_files(out: Path, wanted: int) -> tuple[list[Path], list[str], int]:
    """The first whole target files (by name) holding at least ``wanted`` objects."""
    files, projects, objects = [], [], 0
    for path in sorted((out / "prod" / CLUSTER).glob("*.yaml")):
        if objects >= wanted:
            break
        files.append(path)
        projects.append(path.stem)
        objects += sum(1 for line in path.read_text().splitlines() if line == "---")
    return files, projects, objects


def link_files(files: Sequence[Path], into: Path) -> Path:
    """A directory holding (symlinks to) exactly ``files``, for ``kubectl -f DIR``."""
    into.mkdir(parents=True, exist_ok=True)
    for path in files:
        (into / path.name).symlink_to(path)
    return into


def median_run(runs: Sequence[EngineRun]) -> EngineRun:
    """The run with the median wall time."""
    return sorted(runs, key=lambda r: r.timing.seconds)[len(runs) // 2]


def check(condition: bool, message: str, problems: list[str]) -> None:
    """Record a broken expectation (the benchmark still reports every figure)."""
    if not condition:
        problems.append(message)
        log(f"WARNING: {message}")


def measure_plane_a(
    repo: Path, out: Path, work: Path, args: argparse.Namespace, results: dict[str, Any]
) -> None:
    """Our apply from empty, no-op plans, kubectl diff and one-project applies on plane A."""
    problems: list[str] = results.setdefault("problems_seen", [])
    log("control plane A: starting (CRDs installed)")
    cp, started = start_plane(CLUSTER, work / "plane-a")
    results["control_plane_start_seconds"] = started
    try:
        targets = rendered(repo)
        warm_up(cp, targets)

        log(f"our apply from empty ({sum(len(t.manifests) for t in targets)} objects)")
        applied = engine_run(cp, targets, ApplyOptions(prune=True), dry_run=False)
        results["apply_seconds"] = applied.timing.seconds
        results["apply_client_cpu_seconds"] = applied.timing.cpu
        results["apply_server_cpu_seconds"] = applied.server_cpu
        results["apply_requests"] = applied.requests
        results["apply_actions"] = applied.actions
        check(
            applied.actions == {"created": applied.objects},
            f"apply from empty: {applied.actions}",
            problems,
        )

        plans = []
        for attempt in range(3):
            log(f"our no-op plan --prune, run {attempt + 1}/3")
            plans.append(engine_run(cp, rendered(repo), ApplyOptions(prune=True), dry_run=True))
        plan = median_run(plans)
        kinds = {(m.api_version, m.ref.kind) for t in targets for m in t.manifests}
        kinds.add(("v1", "ConfigMap"))  # the inventories
        lists = plan.requests.get("list", 0)
        writes = sum(
            n for verb, n in plan.requests.items() if verb not in ("get", "list", "discover")
        )
        results["noop_plan_seconds"] = plan.timing.seconds
        results["noop_plan_runs_seconds"] = [p.timing.seconds for p in plans]
        results["noop_plan_cpu_seconds"] = plan.timing.cpu
        results["noop_plan_requests"] = plan.total_requests
        results["noop_plan_requests_by_verb"] = plan.requests
        results["noop_plan_kinds"] = len(kinds)
        results["noop_plan_lists"] = lists
        results["noop_plan_writes_and_dry_runs"] = writes
        results["noop_plan_actions"] = plan.actions
        check(lists <= len(kinds), f"no-op plan: {lists} LISTs for {len(kinds)} kinds", problems)
        check(writes == 0, f"no-op plan: {writes} writes or dry runs", problems)
        check(
            set(plan.actions) <= {"unchanged", "skipped"}, f"no-op plan: {plan.actions}", problems
        )

        log("our no-op reconcile: apply again, nothing changed (what the controller does)")
        again = engine_run(cp, rendered(repo), ApplyOptions(prune=True), dry_run=False)
        results["noop_apply_seconds"] = again.timing.seconds
        results["noop_apply_cpu_seconds"] = again.timing.cpu
        results["noop_apply_server_cpu_seconds"] = again.server_cpu
        results["noop_apply_requests"] = again.total_requests
        results["noop_apply_requests_by_verb"] = again.requests
        noop_actions = set(again.actions)
        check(noop_actions <= {"unchanged", "skipped"}, f"no-op apply: {again.actions}", problems)

        log("CLI plan --prune (subprocess, end to end)")
        cli = [sys.executable, "-m", "mofang_gitops", "--repo", str(repo), "--kubeconfig"]
        with timed() as plan_cli:
            run([*cli, str(cp.kubeconfig), "plan", "--prune", "--format", "json"], timeout=900)
        results["noop_plan_cli_seconds"] = plan_cli.seconds

        if not args.no_kubectl:
            measure_kubectl_diff(cp, repo, out, work, args, results)

        log(f"apply of a change to {project_name(CHANGED_PROJECT)} (engine, whole repository)")
        change_notebook_cpu(repo, CHANGED_PROJECT)
        with timed() as render_again:
            targets = rendered(repo)
        one = engine_run(cp, targets, ApplyOptions(prune=True), dry_run=False)
        results["one_project_apply_seconds"] = one.timing.seconds
        results["one_project_apply_render_seconds"] = render_again.seconds
        results["one_project_apply_requests"] = one.requests
        results["one_project_apply_cpu_seconds"] = one.timing.cpu
        results["one_project_apply_server_cpu_seconds"] = one.server_cpu
        results["one_project_apply_actions"] = one.actions
        check(
            one.actions.get("configured") == 1 and not one.actions.get("failed"),
            f"one-project apply: {one.actions}",
            problems,
        )

        name = project_name(CLI_CHANGED_PROJECT)
        log(f"apply of a change to {name} (CLI subprocess, --project {name})")
        change_notebook_cpu(repo, CLI_CHANGED_PROJECT)
        with timed() as apply_cli:
            done = run(
                [*cli, str(cp.kubeconfig), "apply", "--prune", "--project", name, "-o", "json"],
                timeout=900,
            )
        cli_actions = Counter(e["action"] for e in json.loads(done.stdout)["entries"])
        results["one_project_apply_cli_seconds"] = apply_cli.seconds
        results["one_project_apply_cli_actions"] = dict(cli_actions)
        check(cli_actions.get("configured") == 1, f"CLI apply: {dict(cli_actions)}", problems)
        plane_memory(cp, results, "plane_a")
        results["ours_peak_rss_mb"] = round(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
        )
    finally:
        git(repo, "checkout", "-q", "--", ".")
        cp.stop()


def measure_kubectl_diff(
    cp: ControlPlane,
    repo: Path,
    out: Path,
    work: Path,
    args: argparse.Namespace,
    results: dict[str, Any],
) -> None:
    """``kubectl diff --server-side`` of the rendered files vs our no-op plan of the same."""
    problems: list[str] = results.setdefault("problems_seen", [])
    total = results["objects"]
    diff_args = ["diff", "--server-side", "--field-manager=mofang-gitops", "--force-conflicts"]
    wanted = args.kubectl_diff_sample if 0 < args.kubectl_diff_sample < total else total
    sizes = [wanted // 2, wanted] if wanted < total else [total]
    measured = []
    for size in sizes:
        files, projects, objects = sample_files(out, size)
        directory = link_files(files, work / f"sample-{objects}")
        log(f"kubectl diff --server-side: {objects} objects ({len(files)} project files)")
        run_ = kubectl(cp, [*diff_args, "-f", str(directory)], objects, ok=(0, 1), timeout=3600)
        check(run_.returncode == 0, f"kubectl diff found differences ({objects} objects)", problems)
        log(f"our no-op plan of the same {objects} objects")
        ours = engine_run(cp, rendered(repo, projects), ApplyOptions(prune=True), dry_run=True)
        measured.append((objects, run_, ours))
    objects, kube, ours = measured[-1]
    per_object = kube.timing.seconds / objects
    results["kubectl_diff_sample"] = objects < total
    results["kubectl_diff_measured_objects"] = objects
    results["kubectl_diff_measured_seconds"] = kube.timing.seconds
    results["kubectl_diff_measured_requests"] = kube.total_requests
    results["kubectl_diff_measured_requests_by_verb"] = kube.requests
    results["kubectl_diff_cpu_seconds"] = kube.timing.child_cpu
    results["kubectl_diff_server_cpu_seconds"] = kube.server_cpu
    results["kubectl_diff_seconds_per_object"] = [
        round(k.timing.seconds / n, 6) for n, k, _ in measured
    ]
    results["kubectl_diff_seconds"] = per_object * total
    results["kubectl_diff_requests"] = round(kube.total_requests / objects * total)
    results["noop_plan_sample_seconds"] = ours.timing.seconds
    results["noop_plan_sample_requests"] = ours.total_requests
    results["noop_plan_sample_server_cpu_seconds"] = ours.server_cpu
    results["noop_plan_sample_speedup"] = kube.timing.seconds / ours.timing.seconds
    if objects < total:
        results["kubectl_diff_method"] = (
            f"measured on the first {objects} objects (whole project files in name order), "
            f"also on {measured[0][0]} to check linearity; full-set figure = measured seconds "
            f"x {total}/{objects}"
        )
    else:
        results["kubectl_diff_method"] = "measured on the full set"


def measure_plane_b(out: Path, work: Path, repo: Path, results: dict[str, Any]) -> None:
    """``kubectl apply --server-side`` of the same files into a fresh, empty plane."""
    problems: list[str] = results.setdefault("problems_seen", [])
    log("control plane B: starting (CRDs installed)")
    cp, _ = start_plane(CLUSTER, work / "plane-b")
    try:
        warm_up(cp, rendered(repo))
        total = results["objects"]
        log(f"kubectl apply --server-side into the empty plane B ({total} objects)")
        kube = kubectl(
            cp, ["apply", "--server-side", "--recursive", "-f", str(out)], total, timeout=3600
        )
        results["kubectl_apply_seconds"] = kube.timing.seconds
        results["kubectl_apply_requests"] = kube.requests
        results["kubectl_apply_cpu_seconds"] = kube.timing.child_cpu
        results["kubectl_apply_server_cpu_seconds"] = kube.server_cpu
        check(
            kube.stdout_lines == total, f"kubectl apply printed {kube.stdout_lines} lines", problems
        )
        log("kubectl apply --server-side again (its no-op reconcile)")
        again = kubectl(
            cp, ["apply", "--server-side", "--recursive", "-f", str(out)], total, timeout=3600
        )
        results["kubectl_noop_seconds"] = again.timing.seconds
        results["kubectl_noop_requests"] = again.requests
        results["kubectl_noop_cpu_seconds"] = again.timing.child_cpu
        results["kubectl_noop_server_cpu_seconds"] = again.server_cpu
        changed = render_changed(repo, work)
        log(f"kubectl apply --server-side of the change to {project_name(CHANGED_PROJECT)}")
        change = kubectl(
            cp, ["apply", "--server-side", "--recursive", "-f", str(changed)], total, timeout=3600
        )
        results["kubectl_change_seconds"] = change.timing.seconds
        results["kubectl_change_requests"] = change.requests
        results["kubectl_change_cpu_seconds"] = change.timing.child_cpu
        results["kubectl_change_server_cpu_seconds"] = change.server_cpu
        plane_memory(cp, results, "plane_b")
    finally:
        cp.stop()


def render_changed(repo: Path, work: Path) -> Path:
    """``render --out`` of the repository with ``CHANGED_PROJECT``'s notebook CPU raised."""
    changed = work / "rendered-changed"
    change_notebook_cpu(repo, CHANGED_PROJECT)
    try:
        cli = [sys.executable, "-m", "mofang_gitops", "--repo", str(repo)]
        run([*cli, "render", "--out", str(changed)], timeout=600)
        mark_created_namespaces(changed)
    finally:
        git(repo, "checkout", "-q", "--", ".")
    return changed


def flux_peer() -> Path:
    """The cached Flux peer binary (scripts/flux-peer builds it on first use)."""
    done = run([str(HERE.parent / "scripts" / "flux-peer")], timeout=3600)
    return Path(done.stdout.strip().splitlines()[-1])


def measure_plane_c(
    out: Path, work: Path, repo: Path, results: dict[str, Any], qps: float, burst: int
) -> None:
    """The Flux peer on the same files in a fresh plane: apply, no-op reconcile, one change.

    The peer times each phase itself (wall, its own CPU, requests by verb); the API server and
    etcd CPU is read around the whole run, so it is split per phase in proportion to requests.
    ``qps``/``burst`` are its client rate limit: kustomize-controller's defaults (50/300) bound
    it to ~50 requests/s, about an hour per phase at 1,000 projects; a negative QPS lifts the
    limit (client-go then builds no rate limiter), which measures the engine, not the limiter.
    """
    problems: list[str] = results.setdefault("problems_seen", [])
    peer = flux_peer()
    log("control plane C: starting (CRDs installed)")
    cp, _ = start_plane(CLUSTER, work / "plane-c")
    try:
        warm_up(cp, rendered(repo))
        log(f"Flux peer: apply, no-op, change ({results['objects']} objects)")
        argv = [str(peer), "--dir", str(out), "--kubeconfig", str(cp.kubeconfig)]
        argv += ["--context", CLUSTER, "--phases", "apply,noop,change", "--timeout", "4h"]
        argv += ["--qps", str(qps), "--burst", str(burst)]
        before = server_cpu(cp)
        with timed() as whole:
            stdout, peak = run_measured(argv, work / "fluxpeer")
        server = server_cpu(cp) - before
        plane_memory(cp, results, "plane_c")
    finally:
        cp.stop()
    report_ = json.loads(stdout.strip().splitlines()[-1])
    phases = report_["phases"]
    results["flux_options"] = report_["options"]
    results["flux_ssa_version"] = report_["ssa_version"]
    results["flux_process_seconds"] = whole.seconds
    results["flux_peak_rss_mb"] = round(peak, 1)
    total_requests = sum(p["total_requests"] for p in phases.values()) or 1
    for phase in ("apply", "noop", "change"):
        figures = phases[phase]
        results[f"flux_{phase}_seconds"] = figures["seconds"]
        results[f"flux_{phase}_cpu_seconds"] = figures["client_cpu_seconds"]
        results[f"flux_{phase}_requests"] = figures["total_requests"]
        results[f"flux_{phase}_requests_by_verb"] = figures["requests"]
        results[f"flux_{phase}_actions"] = figures["actions"]
        results[f"flux_{phase}_server_cpu_seconds"] = (
            server * figures["total_requests"] / total_requests
        )
    check(
        phases["apply"]["actions"].get("created", 0) == results["objects"],
        f"Flux peer apply: {phases['apply']['actions']}",
        problems,
    )
    check(
        set(phases["noop"]["actions"]) <= {"unchanged", "skipped"},
        f"Flux peer no-op: {phases['noop']['actions']}",
        problems,
    )


def run_measured(argv: Sequence[str], logs: Path) -> tuple[str, float]:
    """Run a command to its end; its stdout and its own peak RSS in MB (``wait4``'s rusage)."""
    with open(f"{logs}.out", "w+") as out, open(f"{logs}.err", "w+") as err:
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv[0]}: exit {proc.returncode}\n{err.read()[-4000:]}")
        return out.read(), usage.ru_maxrss / 1024


# --- report --------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    """``a / b``, 0 when ``b`` is 0."""
    return a / b if b else 0.0


def report(results: dict[str, Any]) -> str:
    """The figures as a table, ratios side by side."""
    r = results
    sample = r.get("kubectl_diff_sample", False)
    lines = [
        f"mofang-gitops benchmark: {r['projects']} projects, {r['objects']} objects, "
        f"{r['machine']['nproc']} CPUs ({r['machine']['cpu_model']}), "
        f"{r['machine']['memory_gb']} GB; load {r['load_start']} at start, {r['load_end']} at end",
        "",
        f"{'figure':<46} {'mofang-gitops':>14} {'kubectl':>12} {'ratio':>9}  target",
        "-" * 100,
    ]

    def row(name: str, ours: str, theirs: str = "", factor: str = "", target: str = "") -> None:
        lines.append(f"{name:<46} {ours:>14} {theirs:>12} {factor:>9}  {target}".rstrip())

    row(
        "validate + render, in-process (s, median of 3)",
        f"{r['render_seconds']:.2f}",
        target=f"< 10 s: {'met' if r['render_seconds'] < 10 else 'MISSED'}",
    )
    row("  load / validate / render (s)", f"{r['load_seconds']:.1f}/{r['validate_seconds']:.1f}/"
        f"{r['render_only_seconds']:.1f}")  # fmt: skip
    row("  peak RSS of validate + render (MB)", f"{r['peak_rss_mb']:.0f}")
    row("CLI validate, subprocess (s)", f"{r['validate_cli_seconds']:.2f}")
    row("CLI render --out, subprocess (s)", f"{r['render_cli_seconds']:.2f}")
    row(
        "parse every manifest: fast reader vs libyaml (s)",
        f"{r['parse_seconds']:.2f}",
        f"{r['parse_libyaml_seconds']:.2f}*",
        f"{ratio(r['parse_libyaml_seconds'], r['parse_seconds']):.1f}x",
        "* libyaml, not kubectl",
    )
    row(
        "diff --base, one project, CLI (s, median of 3)",
        f"{r['pr_diff_seconds']:.2f}",
        target=f"< 2 s: {'met' if r['pr_diff_seconds'] < 2 else 'MISSED'}",
    )
    row(
        f"diff --base, platform.yaml, CLI (s, {r['platform_diff_summary']['changed']} changed)",
        f"{r['platform_diff_seconds']:.2f}",
    )
    row(
        "apply from empty (s)",
        f"{r['apply_seconds']:.1f}",
        _f(r, "kubectl_apply_seconds", ".1f"),
        _f(r, "apply_speedup", ".2f", "x"),
        f"faster than kubectl: {_met(r, 'apply_speedup', lambda v: v > 1)}",
    )
    row(
        "  client CPU (s)",
        f"{r['apply_client_cpu_seconds']:.1f}",
        _f(r, "kubectl_apply_cpu_seconds", ".1f"),
    )
    row(
        "  API server + etcd CPU (s)",
        f"{r['apply_server_cpu_seconds']:.1f}",
        _f(r, "kubectl_apply_server_cpu_seconds", ".1f"),
    )
    row(
        "  requests",
        str(sum(r["apply_requests"].values())),
        str(sum(r["kubectl_apply_requests"].values())) if "kubectl_apply_requests" in r else "-",
    )
    row(
        f"no-op plan vs kubectl diff, full set (s){' **' if sample else ''}",
        f"{r['noop_plan_seconds']:.2f}",
        _f(r, "kubectl_diff_seconds", ".1f", "**" if sample else ""),
        _f(r, "noop_plan_speedup", ".1f", "x"),
        f">= 20x: {_met(r, 'noop_plan_speedup', lambda v: v >= 20)}",
    )
    row(
        "  requests",
        str(r["noop_plan_requests"]),
        _f(r, "kubectl_diff_requests", "", "**" if sample else ""),
    )
    row(
        "  LISTs / kinds, writes + dry runs",
        f"{r['noop_plan_lists']}/{r['noop_plan_kinds']}, {r['noop_plan_writes_and_dry_runs']}",
        target="<= 1 LIST per kind, 0 writes: "
        + (
            "met"
            if r["noop_plan_lists"] <= r["noop_plan_kinds"]
            and r["noop_plan_writes_and_dry_runs"] == 0
            else "MISSED"
        ),
    )
    if sample:
        row(
            f"no-op plan vs kubectl diff, {r['kubectl_diff_measured_objects']} objects (s)",
            f"{r['noop_plan_sample_seconds']:.2f}",
            f"{r['kubectl_diff_measured_seconds']:.1f}",
            f"{r['noop_plan_sample_speedup']:.1f}x",
            "both measured",
        )
        row(
            "  requests",
            str(r["noop_plan_sample_requests"]),
            str(r["kubectl_diff_measured_requests"]),
        )
    row("no-op plan --prune, CLI end to end (s)", f"{r['noop_plan_cli_seconds']:.2f}")
    row(
        "apply of a one-project change, engine (s)",
        f"{r['one_project_apply_seconds']:.2f}",
        target=f"whole repo: {r['one_project_apply_actions']}",
    )
    row(
        "apply --project of a change, CLI (s)",
        f"{r['one_project_apply_cli_seconds']:.2f}",
        target=str(r["one_project_apply_cli_actions"]),
    )
    lines.append("-" * 100)
    lines.extend(side_by_side(r))
    notes = [
        "Ours: engine in-process on freshly rendered targets (YAML parse included, render not), "
        "unless marked CLI (a fresh `python -m mofang_gitops` process, everything included). "
        "kubectl: a subprocess on the files `render --out` wrote, requests counted from its "
        "--v=6 response log lines. Apply: ours into plane A, kubectl into plane B, each started "
        "fresh and empty.",
    ]
    if sample:
        notes.append(
            f"** extrapolated: {r['kubectl_diff_method']}; seconds per object measured: "
            f"{r['kubectl_diff_seconds_per_object']}."
        )
    if r.get("problems_seen"):
        notes.append("PROBLEMS: " + "; ".join(r["problems_seen"]))
    lines.extend(textwrap.fill(note, 100) for note in notes)
    return "\n".join(lines)


def _f(r: dict[str, Any], key: str, spec: str, suffix: str = "") -> str:
    """``r[key]`` formatted, or ``-`` when that figure was not measured (``--no-kubectl``)."""
    return f"{format(r[key], spec)}{suffix}" if key in r else "-"


def _met(r: dict[str, Any], key: str, test: Callable[[float], bool]) -> str:
    """``met``/``MISSED`` for a target on ``r[key]``; ``not measured`` without it."""
    if key not in r:
        return "not measured"
    return "met" if test(r[key]) else "MISSED"


def _verbs(requests: dict[str, int]) -> str:
    """``{"apply": 3, "list": 2}`` as ``5 (apply 3, list 2)``."""
    inner = ", ".join(f"{verb} {n}" for verb, n in sorted(requests.items()))
    return f"{sum(requests.values())} ({inner})"


def side_by_side(r: dict[str, Any]) -> list[str]:
    """Ours vs the Flux peer vs kubectl, each on a fresh plane (empty when Flux was skipped)."""
    if "flux_apply_seconds" not in r:
        return []
    lines = [
        "",
        f"{'phase (fresh plane each)':<30} {'ours':>9} {'Flux peer':>10} {'kubectl':>9} "
        f"{'ours vs Flux':>13}",
        "-" * 100,
    ]
    options = r.get("flux_options") or {}
    qps = float(options.get("qps", 0))
    limit = (
        f"client limit {qps:g} QPS / burst {options.get('burst')}"
        if qps > 0
        else "no client rate limit (kustomize-controller's default is 50 QPS / burst 300)"
    )
    lines.insert(1, f"Flux peer: concurrency {options.get('concurrency')}, {limit}")
    phases = [
        ("apply from empty", "apply", "flux_apply", "kubectl_apply", r["apply_vs_flux"]),
        ("no-op reconcile", "noop_apply", "flux_noop", "kubectl_noop", r["noop_vs_flux"]),
        ("one-object change", "one_project_apply", "flux_change", "kubectl_change",
         r["change_vs_flux"]),
    ]  # fmt: skip
    for title, ours, flux, kube, factor in phases:
        lines.append(
            f"{title + ' (s)':<30} {r[ours + '_seconds']:>9.2f} {r[flux + '_seconds']:>10.2f} "
            f"{_f(r, kube + '_seconds', '.2f'):>9} {factor:>12.2f}x"
        )
        ours_cpu = r.get(ours + "_client_cpu_seconds", r.get(ours + "_cpu_seconds", 0.0))
        lines.append(
            f"{'  client CPU (s)':<30} {ours_cpu:>9.2f} {r[flux + '_cpu_seconds']:>10.2f} "
            f"{_f(r, kube + '_cpu_seconds', '.2f'):>9}"
        )
        lines.append(
            f"{'  API server + etcd CPU (s)':<30} {r[ours + '_server_cpu_seconds']:>9.2f} "
            f"{r[flux + '_server_cpu_seconds']:>10.2f} "
            f"{_f(r, kube + '_server_cpu_seconds', '.2f'):>9}"
        )
        ours_requests = r[ours + "_requests"]
        if isinstance(ours_requests, int):
            ours_requests = r.get(ours + "_requests_by_verb", {"all": ours_requests})
        lines.append(f"  requests, ours:    {_verbs(ours_requests)}")
        lines.append(f"  requests, Flux:    {_verbs(r[flux + '_requests_by_verb'])}")
        if kube + "_requests" in r:
            lines.append(f"  requests, kubectl: {_verbs(r[kube + '_requests'])}")
    lines.append(
        f"peak RSS (MB): ours (benchmark process) {r['ours_peak_rss_mb']:.0f}, render child "
        f"{r['peak_rss_mb']:.0f}, Flux peer {r['flux_peak_rss_mb']:.0f}; API server A/B/C "
        f"{r['plane_a_apiserver_peak_rss_mb']:.0f}/{_f(r, 'plane_b_apiserver_peak_rss_mb', '.0f')}/"
        f"{r['plane_c_apiserver_peak_rss_mb']:.0f}, etcd A/B/C "
        f"{r['plane_a_etcd_peak_rss_mb']:.0f}/{_f(r, 'plane_b_etcd_peak_rss_mb', '.0f')}/"
        f"{r['plane_c_etcd_peak_rss_mb']:.0f}"
    )
    lines.append(
        f"apply from empty vs the API server's floor (its CPU / {r['machine']['nproc']} cores = "
        f"{r['apply_server_floor_seconds']:.1f} s): {r['apply_vs_server_floor']:.2f}x; client CPU "
        f"per object {r['apply_client_cpu_ms_per_object']:.2f} ms"
    )
    lines.append("-" * 100)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement; print the table (and the JSON line with --json)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--projects", type=int, default=1000, help="projects to generate (1000)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--workdir", type=Path, help="work here (default: a new temp directory)")
    parser.add_argument(
        "--kubectl-diff-sample",
        type=int,
        default=2000,
        metavar="N",
        help="objects kubectl diff is measured on, extrapolated linearly (0: the full set)",
    )
    parser.add_argument(
        "--no-flux", action="store_true", help="skip the Flux peer (plane C; needs Go to build it)"
    )
    parser.add_argument(
        "--no-kubectl",
        action="store_true",
        help="skip kubectl (plane B and kubectl diff): at 5,000 projects its three full-set "
        "applies alone take most of an hour",
    )
    parser.add_argument(
        "--flux-qps",
        type=float,
        default=50.0,
        help="the Flux peer's client QPS (kustomize-controller's default 50; negative: no limit)",
    )
    parser.add_argument(
        "--flux-burst", type=int, default=300, help="the Flux peer's client burst (300)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mofang-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    keep = args.keep or args.workdir is not None  # never delete a directory we were given
    results: dict[str, Any] = {
        "projects": args.projects,
        "machine": machine_facts(),
        "load_start": load_average(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "in_process": "engine apply/plan (fresh render, body parse included); "
        "render figures in a child process",
        "subprocess": "diff --base, validate, render --out, plan (CLI), apply --project (CLI), "
        "kubectl",
    }
    try:
        repo, out = work / "platform", work / "rendered"
        log(f"generating {args.projects} projects in {repo}")
        with timed() as generating:
            generate(repo, args.projects)
        results["generate_seconds"] = generating.seconds
        refs = make_git_repo(repo)
        measure_render(repo, out, results)
        measure_diffs(repo, refs, results)
        measure_plane_a(repo, out, work, args, results)
        if not args.no_kubectl:
            measure_plane_b(out, work, repo, results)
        if not args.no_flux:
            measure_plane_c(out, work, repo, results, args.flux_qps, args.flux_burst)
            results["apply_vs_flux"] = ratio(
                results["flux_apply_seconds"], results["apply_seconds"]
            )
            results["noop_vs_flux"] = ratio(
                results["flux_noop_seconds"], results["noop_apply_seconds"]
            )
            results["change_vs_flux"] = ratio(
                results["flux_change_seconds"], results["one_project_apply_seconds"]
            )
        results["apply_server_floor_seconds"] = (
            results["apply_server_cpu_seconds"] / results["machine"]["nproc"]
        )
        results["apply_vs_server_floor"] = ratio(
            results["apply_seconds"], results["apply_server_floor_seconds"]
        )
        results["apply_client_cpu_ms_per_object"] = (
            1000 * results["apply_client_cpu_seconds"] / results["objects"]
        )
        if not args.no_kubectl:
            results["apply_speedup"] = ratio(
                results["kubectl_apply_seconds"], results["apply_seconds"]
            )
            results["noop_plan_speedup"] = ratio(
                results["kubectl_diff_seconds"], results["noop_plan_seconds"]
            )
        results["load_end"] = load_average()
        results["load_at_phase"] = LOAD_AT
        results["total_seconds"] = time.monotonic() - _STARTED
        results["benchmark_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(report(results))
        if args.json:
            print(json.dumps(results, sort_keys=True, default=str))
    finally:
        if keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if results.get("problems_seen") else 0


if __name__ == "__main__":
    sys.exit(main())
