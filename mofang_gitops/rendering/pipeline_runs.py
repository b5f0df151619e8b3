"""Names and scheduled times of pipeline runs: what cron runs, backfill runs and waits agree on.

Argo names a run its CronWorkflow starts ``<cron>-<unix seconds of the scheduled time>`` and
annotates it with ``workflows.argoproj.io/scheduled-time`` (RFC 3339 in the cron's time zone),
which steps read as ``{{workflow.scheduledTime}}``. A backfill run carries the same annotation for
its scheduled time, so a step cannot tell the two apart.

Backfill is every time the cron fires on the backfill's dates (in its time zone), computed by the
same library as validation (``models.schedules``): hourly over two days is 48 runs, weekly one a
week. A run is named after its scheduled time in the pipeline's zone: ``-backfill-<yyyymmdd>``
while the cron fires at most once a day in the range (the names daily backfills always had, so
deployed runs keep theirs), else ``-backfill-<yyyymmdd>-<hhmm>``.

Argo keeps a CronWorkflow name to 52 characters (its runs add ``-`` and ten digits) and labels
pods with the run name (63 characters at most); longer pipeline names are shortened with a hash.
"""

from __future__ import annotations

from datetime import datetime

from mofang_gitops.models import Pipeline
from mofang_gitops.models.schedules import fires_on, latest_fire
from mofang_gitops.models.workloads import Schedule
from mofang_gitops.rendering.context import run_suffix

SCHEDULED_TIME_ANNOTATION = "workflows.argoproj.io/scheduled-time"
"""Argo turns this run annotation into ``{{workflow.scheduledTime}}``."""
PIPELINE_LABEL = "mofang.io/pipeline"
SCHEDULED_LABEL = "mofang.io/scheduled-time"
"""Unix seconds of a run's scheduled time: how a wait finds an upstream run, cron or backfill."""
CRON_NAME_MAX = 52
NAME_MAX = 63
GO_RFC3339 = "2006-01-02T15:04:05Z07:00"
"""Go's layout of RFC 3339, for ``sprig.toDate`` in Argo expressions."""


def _fit(name: str, limit: int) -> str:
    """``name``, or its head and a hash of all of it when longer than ``limit``."""
    if len(name) <= limit:
        return name
    return f"{name[: limit - 7].rstrip('-')}-{run_suffix(name)}"


def cron_name(pipeline: str) -> str:
    """Name of the pipeline's CronWorkflow (and the prefix of the runs it starts)."""
    return _fit(pipeline, CRON_NAME_MAX)


def backfill_name(pipeline: str, moment: datetime, *, daily: bool) -> str:
    """Name of the backfill run scheduled at ``moment``: fixed, so reconcile starts it once."""
    suffix = f"-backfill-{moment:%Y%m%d}" if daily else f"-backfill-{moment:%Y%m%d-%H%M}"
    return _fit(pipeline, NAME_MAX - len(suffix)) + suffix


def backfill_times(schedule: Schedule) -> list[datetime]:
    """Every scheduled time of the schedule's backfill, earliest first (validation capped it)."""
    if schedule.backfill is None:
        return []
    backfill = schedule.backfill
    return fires_on(schedule.cron, schedule.timezone, backfill.from_, backfill.to)


def fires_daily(times: list[datetime]) -> bool:
    """Whether no two of ``times`` share a date (then a date names a run)."""
    return len({moment.date() for moment in times}) == len(times)


def rfc3339(moment: datetime) -> str:
    """The time as Go's ``time.RFC3339`` prints it (what Argo writes for cron runs)."""
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def unix(moment: datetime) -> str:
    """Unix seconds, as a label value."""
    return str(int(moment.timestamp()))


def upstream_time(upstream: Pipeline, moment: datetime) -> datetime:
    """When the upstream run a run scheduled at ``moment`` waits for was scheduled.

    The latest time at or before ``moment`` that the upstream's cron fires, in its time zone.
    """
    schedule = upstream.spec.schedule
    assert schedule is not None, "validation: an upstream has a schedule"
    return latest_fire(schedule.cron, schedule.timezone, moment)


def scheduled_label_expression() -> str:
    """Argo expression of a run's ``mofang.io/scheduled-time`` label (``manual`` off schedule)."""
    return (
        "'scheduledTime' in workflow"
        f" ? sprig.unixEpoch(sprig.toDate('{GO_RFC3339}', workflow.scheduledTime)) : 'manual'"
    )
