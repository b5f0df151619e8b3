"""Workload health: after a merge, is it running, where, and if not, why.

``plan`` answers "does the API server hold what git says"; this package answers the question
people ask next. Rules per rendered kind (``rules``) read live objects as plain dicts, with the
pods and Events below them, and return frozen values (``model``, whose docstring lists the stable
field names of the JSON form). ``reading`` gets everything with one LIST per kind, like ``plan``;
``waiting`` polls it for ``apply --wait``. It sits above the engine (it reuses the engine's
one-LIST-per-kind reads) and below the commands and the controller, which show it.
"""

from mofang_gitops.health.model import (
    EventNote,
    GroupUse,
    Health,
    ObjectHealth,
    PodPlacement,
    QuotaUse,
    Run,
    TargetHealth,
    Verdict,
    worst,
)
from mofang_gitops.health.reading import read_clusters, read_health
from mofang_gitops.health.rules import ONE_SHOT, RULES, judge
from mofang_gitops.health.waiting import WaitResult, wait_healthy, watch_key
from mofang_gitops.health.workloads import Related

__all__ = [
    "ONE_SHOT",
    "RULES",
    "EventNote",
    "GroupUse",
    "Health",
    "ObjectHealth",
    "PodPlacement",
    "QuotaUse",
    "Related",
    "Run",
    "TargetHealth",
    "Verdict",
    "WaitResult",
    "judge",
    "read_clusters",
    "read_health",
    "wait_healthy",
    "watch_key",
    "worst",
]
