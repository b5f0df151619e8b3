"""``mofang-gitops status``: ask a running controller for the state of every target."""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request

from mofang_gitops.controller.statuses import SyncState, format_table
from mofang_gitops.errors import MofangError

NAME = "status"
HELP = "show a running controller's status per project and target"
EXAMPLE = "mofang-gitops status --url http://mofang-gitops.mofang-system:8080 --format json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--url``."""
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="controller base URL")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every target is Synced, 1 otherwise."""
    url = args.url.rstrip("/") + "/status"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - user-given URL
            snapshot = json.load(response)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise MofangError(f"{url}: {e}") from e
    if args.format == "json":
        print(json.dumps(snapshot, indent=2))
    else:
        print(format_table(snapshot))
    return 0 if all(t["state"] == SyncState.SYNCED for t in snapshot.get("targets", [])) else 1
