"""The controller end to end (issue 19, item 4): N projects in a real git remote, a real plane.

Generates N projects (benchmarks/generate.py) into a work tree that pushes to a bare repository
(the remote), starts a control plane (kube-apiserver + etcd, CRDs installed) and the controller
as a subprocess (``python -m mofang_gitops controller``, as deployed: state ConfigMap, health
reads, GitHub webhooks with a secret; Events off), then measures:

1. cold start: controller process start to every target Synced at the pushed head (``/status``);
2. steady pass: the next full pass (``--interval`` after the first one) with nothing pushed, as the
   controller reports it (``lastPass``: seconds, projects rendered, targets compared), next to a
   CLI no-op ``plan --prune`` of the same checkout, as a subprocess;
3. ``--pushes`` one-project changes (a notebook's CPU, a different project each time), each pushed
   then announced with a signed GitHub webhook; the time from the push to that project's target
   Synced at the pushed revision, p50 and p95, and what each triggered pass rendered and compared;
4. the controller's RSS: peak (``VmHWM``) and current at the end.

Usage: python benchmarks/controller_e2e.py [--projects 1000] [--pushes 20] [--interval 120]
Prints a short table on stderr and one JSON line with every figure on stdout.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import hmac
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.generate import generate, project_name  # noqa: E402
from benchmarks.run import (  # noqa: E402
    CLUSTER,
    GIT,
    load_average,
    log,
    machine_facts,
    peak_rss_mb,
    rendered,
    run,
    start_plane,
    timed,
    warm_up,
)

SECRET = b"benchmark-webhook-secret"


def git(cwd: Path, *args: str) -> str:
    """Run git in ``cwd``; return stdout."""
    return run([*GIT, "-C", str(cwd), *args], timeout=300).stdout.strip()


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    """GET ``url`` and decode its JSON body."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    """Poll ``check`` until it holds (True) or ``timeout`` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except OSError:  # the controller is not listening yet
            pass
        time.sleep(every)
    return False


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def signed_push(url: str, sha: str, delivery: str) -> int:
    """POST a GitHub push webhook for ``main`` at ``sha``, signed with ``SECRET``."""
    body = json.dumps({"ref": "refs/heads/main", "after": sha}).encode()
    signature = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature,
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def change_cpu(work: Path, index: int, push: int) -> None:
    """Flip one project's notebook CPU between 2 and 3 (changes its StatefulSet)."""
    path = work / "projects" / project_name(index) / "notebooks" / "nb.yaml"
    text = path.read_text()
    old, new = ('cpu: "2"', 'cpu: "3"') if 'cpu: "2"' in text else ('cpu: "3"', 'cpu: "2"')
    if old not in text:
        raise SystemExit(f"{path}: no notebook CPU request to change")
    path.write_text(text.replace(old, new, 1))
    git(work, "commit", "-q", "-am", f"{project_name(index)}: notebook CPU, push {push}")


def main(argv: Sequence[str] | None = None) -> int:
    """Set up, measure, print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=1000, help="projects (1000)")
    parser.add_argument("--pushes", type=int, default=20, help="one-project pushes (20)")
    parser.add_argument(
        "--interval", type=float, default=120.0, help="the controller's --interval, seconds (120)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mofang-controller-e2e-"))
    results: dict[str, Any] = {
        "projects": args.projects,
        "pushes": args.pushes,
        "interval_seconds": args.interval,
        "machine": machine_facts(),
        "load_start": load_average(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    controller: subprocess.Popen[bytes] | None = None
    cp = None
    try:
        tree, bare = work / "platform", work / "remote.git"
        log(f"generating {args.projects} projects, pushing them to a bare remote")
        generate(tree, args.projects)
        run([*GIT, "init", "-q", "--bare", "-b", "main", str(bare)], timeout=60)
        git(tree, "init", "-q", "-b", "main")
        git(tree, "add", "-A")
        git(tree, "commit", "-q", "-m", "generated platform")
        git(tree, "remote", "add", "origin", bare.as_uri())
        git(tree, "push", "-q", "origin", "main")
        head = git(tree, "rev-parse", "HEAD")

        log("control plane: starting (CRDs installed)")
        cp, _ = start_plane(CLUSTER, work / "plane")
        targets = rendered(tree)
        results["objects"] = sum(len(t.manifests) for t in targets)
        results["targets"] = len(targets)
        warm_up(cp, targets)

        secret = work / "webhook-secret"
        secret.write_bytes(SECRET)
        public, internal = free_port(), free_port()
        status_url = f"http://127.0.0.1:{internal}/status"
        hook_url = f"http://127.0.0.1:{public}/webhook/github"
        argv_ = [sys.executable, "-m", "mofang_gitops", "--kubeconfig", str(cp.kubeconfig)]
        argv_ += ["controller", "--repo-url", bare.as_uri(), "--interval", f"{args.interval}s"]
        argv_ += ["--listen", f"127.0.0.1:{public}", "--metrics-listen", f"127.0.0.1:{internal}"]
        argv_ += ["--webhook-provider", "github", "--webhook-secret-file", str(secret)]
        argv_ += ["--cache-dir", str(work / "cache"), "--no-events"]
        log("cold start: controller until every target is Synced")
        logs = open(work / "controller.log", "wb")  # noqa: SIM115 (closed with the process)
        started = time.monotonic()
        controller = subprocess.Popen(argv_, stdout=logs, stderr=subprocess.STDOUT)

        def synced_at(sha: str, project: str | None = None) -> bool:
            status = get_json(status_url)
            found = [t for t in status.get("targets", []) if project in (None, t["project"])]
            if project is None and len(found) < len(targets):
                return False
            return bool(found) and all(
                t["state"] == "Synced" and t["revision"] == sha for t in found
            )

        if not wait_until(lambda: synced_at(head), timeout=3600, every=0.5):
            raise SystemExit(f"cold start: not all Synced; see {work / 'controller.log'}")
        results["cold_start_seconds"] = time.monotonic() - started
        # Statuses are posted target by target; ``lastPass`` once the pass (and its health
        # read) is over.
        if not wait_until(lambda: "lastPass" in get_json(status_url), timeout=600):
            raise SystemExit("the first pass did not end")
        first = get_json(status_url)["lastPass"]
        results["first_pass"] = first

        log(f"steady pass: waiting for the next full pass (interval {args.interval:.0f} s)")
        seen = first

        def next_full() -> bool:
            nonlocal seen
            seen = get_json(status_url).get("lastPass") or {}
            return bool(seen.get("full")) and seen != first

        if not wait_until(next_full, timeout=args.interval * 3 + 600, every=0.5):
            raise SystemExit("no second full pass")
        results["steady_pass"] = seen
        results["steady_pass_seconds"] = seen["seconds"]
        log("CLI no-op plan --prune of the same checkout (subprocess)")
        cli = [sys.executable, "-m", "mofang_gitops", "--repo", str(tree)]
        cli += ["--kubeconfig", str(cp.kubeconfig), "plan", "--prune", "--format", "json"]
        with timed() as plan:
            run(cli, timeout=1800)
        results["cli_noop_plan_seconds"] = plan.seconds
        results["steady_vs_cli_plan"] = seen["seconds"] / plan.seconds

        latencies, passes = [], []
        for push in range(args.pushes):
            index = push % args.projects
            project = project_name(index)
            change_cpu(tree, index, push)
            before = get_json(status_url).get("lastPass")
            log(f"push {push + 1}/{args.pushes}: {project}")
            pushed = time.monotonic()
            git(tree, "push", "-q", "origin", "main")
            sha = git(tree, "rev-parse", "HEAD")
            code = signed_push(hook_url, sha, f"bench-{push}-{sha[:12]}")
            if code != 200:  # ACCEPTED (202 is IGNORED)
                raise SystemExit(f"webhook answered {code}")
            applied = functools.partial(synced_at, sha, project)
            if not wait_until(applied, timeout=600, every=0.05):
                raise SystemExit(f"push {push}: {project} not Synced at {sha[:12]}")
            latencies.append(time.monotonic() - pushed)
            # ``finished`` tells passes apart: two webhook passes can be alike in every figure.
            wait_until(lambda: get_json(status_url).get("lastPass") != before, timeout=600)  # noqa: B023
            passes.append(get_json(status_url).get("lastPass"))
        results["push_to_applied_seconds"] = latencies
        if latencies:
            results["push_p50_seconds"] = statistics.median(latencies)
            results["push_p95_seconds"] = percentile(latencies, 0.95)
        results["push_passes"] = passes
        results["controller_peak_rss_mb"] = round(peak_rss_mb(controller.pid), 1)
        results["controller_rss_mb"] = round(_rss_mb(controller.pid), 1)
        results["apiserver_peak_rss_mb"] = round(peak_rss_mb(cp.apiserver_pid), 1)
        results["load_end"] = load_average()
        print(table(results), file=sys.stderr)
        print(json.dumps(results, sort_keys=True))
    finally:
        if controller is not None:
            controller.terminate()
            try:
                controller.wait(60)
            except subprocess.TimeoutExpired:
                controller.kill()
        if cp is not None:
            cp.stop()
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def _rss_mb(pid: int) -> float:
    """Current resident memory (``VmRSS``) of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def table(r: dict[str, Any]) -> str:
    """The figures people read first."""
    steady = r["steady_pass"]
    lines = [
        f"controller end to end: {r['projects']} projects, {r['objects']} objects, "
        f"{r['targets']} targets; load {r['load_start']} at start, {r['load_end']} at end",
        f"cold start to all Synced (s)        {r['cold_start_seconds']:.1f}",
        f"steady full pass (s)                {r['steady_pass_seconds']:.2f} "
        f"(rendered {steady['projectsRendered']}, compared {steady['targetsPlanned']} targets)",
        f"CLI no-op plan --prune (s)          {r['cli_noop_plan_seconds']:.2f} "
        f"(steady pass / CLI plan = {r['steady_vs_cli_plan']:.2f}x, target <= 1.5x)",
    ]
    if r.get("push_to_applied_seconds"):
        rendered = sorted({p["projectsRendered"] for p in r["push_passes"] if p})
        planned = sorted({p["targetsPlanned"] for p in r["push_passes"] if p})
        lines.append(
            f"push + webhook to applied (s)       p50 {r['push_p50_seconds']:.2f}, "
            f"p95 {r['push_p95_seconds']:.2f} over {len(r['push_to_applied_seconds'])} pushes "
            f"(target p95 < 5 s; passes rendered {rendered} project(s), compared {planned})"
        )
    lines.append(
        f"controller RSS (MB)                 peak {r['controller_peak_rss_mb']:.0f}, "
        f"now {r['controller_rss_mb']:.0f} (target < 300); API server peak "
        f"{r['apiserver_peak_rss_mb']:.0f}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
