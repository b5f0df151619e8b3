"""``apply --wait``: after applying, wait until what changed is healthy, showing progress.

Only objects the apply created, configured or replaced are watched (an unchanged object was
already there). Progress goes to stderr, one line whenever an object's health or reason
changes; the outcome (every reason that is not done) is printed at the end.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

from mofang_gitops.commands.common import resource_groups, use_color
from mofang_gitops.engine import Action, ChangeSet
from mofang_gitops.errors import UsageError
from mofang_gitops.health import ObjectHealth, read_clusters, wait_healthy, watch_key
from mofang_gitops.health.waiting import DONE, WatchKey
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import RenderedTarget
from mofang_gitops.models.quantities import parse_duration
from mofang_gitops.validation.repository import Validation

WATCHED_ACTIONS = (Action.CREATED, Action.CONFIGURED, Action.REPLACED)


def timeout_seconds(text: str) -> float:
    """``--timeout`` (``90s``, ``10m``, ``1h``) in seconds."""
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError as e:
        raise UsageError(f"--timeout {text}: {e}") from e
    if seconds <= 0:
        raise UsageError(f"--timeout {text}: must be positive")
    return seconds


def watched_keys(changes: ChangeSet) -> set[WatchKey]:
    """What the apply changed, by ``(cluster, kind, namespace, name)``."""
    return {
        (e.cluster, e.ref.kind, e.ref.namespace, e.ref.name)
        for e in changes.entries
        if e.action in WATCHED_ACTIONS
    }


class _Progress:
    """Prints a line per object whenever its health or reason changes."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour
        self.seen: dict[WatchKey, tuple[str, str]] = {}

    def __call__(self, objects: Sequence[ObjectHealth]) -> None:
        for obj in objects:
            now = (str(obj.health), obj.reason)
            if self.seen.get(watch_key(obj)) != now:
                self.seen[watch_key(obj)] = now
                print(
                    f"  {obj.cluster}:{obj.object_id}: {obj.health} {obj.reason}", file=sys.stderr
                )


def wait_for_changes(
    args: argparse.Namespace,
    validation: Validation,
    targets: Sequence[RenderedTarget],
    clusters: Mapping[str, Cluster],
    changes: ChangeSet,
) -> bool:
    """Wait for the changed objects; print why not when they do not get there. True when done."""
    watched = watched_keys(changes)
    if not watched:
        print("wait: nothing changed, nothing to wait for", file=sys.stderr)
        return True
    timeout = timeout_seconds(args.timeout)
    groups = resource_groups(validation)
    print(f"waiting up to {args.timeout} for {len(watched)} object(s)", file=sys.stderr)
    result = wait_healthy(
        lambda: read_clusters(clusters, targets, groups),
        watched,
        timeout=timeout,
        interval=args.wait_interval,
        progress=_Progress(use_color(args)),
    )
    if result.ok:
        print(f"wait: {len(result.objects)} object(s) healthy", file=sys.stderr)
        return True
    head = "timed out" if result.timed_out else "degraded"
    print(f"wait: {head}", file=sys.stderr)
    for error in result.errors:
        print(f"  {error}", file=sys.stderr)
    for obj in result.failed:
        print(f"  {obj.cluster}:{obj.object_id}: {obj.health}: {obj.reason}", file=sys.stderr)
    missing = watched - {watch_key(o) for o in result.objects}
    for key in sorted(missing):
        print(f"  {key[0]}:{key[1]}/{key[2]}/{key[3]}: not read", file=sys.stderr)
    return result.ok and not missing and all(o.health in DONE for o in result.objects)
