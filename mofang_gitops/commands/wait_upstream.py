"""``mofang-gitops wait-upstream``: the step a dependent pipeline run starts with (in a pod).

Rendered into every WorkflowTemplate with ``dependsOn`` (``rendering.pipeline_dag``); people do not
run it by hand. Exit 0 when the upstream run succeeded, 1 when it failed or did not succeed within
the timeout (the message names the run), 2 for bad arguments or an unreachable API server at start.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime

from mofang_gitops.engine import UpstreamRun, wait_for_upstream
from mofang_gitops.errors import UsageError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.models.quantities import duration_seconds
from mofang_gitops.models.schedules import ScheduleError, check_cron, latest_fire, zone
from mofang_gitops.rendering.pipeline_runs import cron_name, rfc3339, unix

NAME = "wait-upstream"
HELP = "wait for an upstream pipeline's run (the first step of a dependent pipeline run)"
EXAMPLE = (
    "mofang-gitops wait-upstream --namespace vision --pipeline raw-import "
    "--cron '10 * * * *' --timezone UTC --timeout 2h --at 2026-11-01T00:40:00Z"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Which upstream, its schedule, how long, and the time to match."""
    parser.add_argument("--namespace", required=True, help="namespace of both pipelines' runs")
    parser.add_argument("--pipeline", required=True, help="the upstream pipeline")
    parser.add_argument("--cron", required=True, help="the upstream's cron expression")
    parser.add_argument("--timezone", default="UTC", help="the upstream's time zone")
    parser.add_argument("--timeout", default="1h", help="give up after this long (e.g. 2h, 90s)")
    parser.add_argument(
        "--at",
        default="",
        help="RFC 3339 time: wait for the upstream's latest scheduled run at or before it",
    )
    parser.add_argument("--interval", default="30s", help="time between polls")


def run(args: argparse.Namespace) -> int:
    """Wait; print the outcome naming the upstream run."""
    if not args.at:
        raise UsageError(
            f"no scheduled time: a manual run must pass the workflow parameter "
            f"after-{args.pipeline} (an RFC 3339 time)"
        )
    try:
        check_cron(args.cron)
        zone(args.timezone)
        moment = datetime.fromisoformat(args.at)
        timeout, interval = duration_seconds(args.timeout), duration_seconds(args.interval)
    except (ScheduleError, ValueError) as e:
        raise UsageError(str(e)) from e
    if moment.tzinfo is None:
        raise UsageError(f"--at {args.at!r} has no UTC offset")
    scheduled = latest_fire(args.cron, args.timezone, moment)
    upstream = UpstreamRun(
        namespace=args.namespace,
        pipeline=args.pipeline,
        scheduled=scheduled,
        expected_name=f"{cron_name(args.pipeline)}-{unix(scheduled)}",
    )
    print(f"waiting up to {args.timeout} for {args.pipeline} run scheduled at {rfc3339(scheduled)}")
    in_pod = not args.kubeconfig and "KUBERNETES_SERVICE_HOST" in os.environ
    cluster = Cluster("upstream", args.kubeconfig, args.context, in_cluster=in_pod)
    try:
        outcome = wait_for_upstream(cluster, upstream, timeout=timeout, interval=interval)
    finally:
        cluster.close()
    print(outcome.message, file=sys.stdout if outcome.succeeded else sys.stderr)
    return 0 if outcome.succeeded else 1
