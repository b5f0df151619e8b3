"""Names and scheduled times of pipeline runs: what cron runs, backfill runs and waits agree on.

Argo names a run its CronWorkflow starts ``<cron>-<unix seconds of the scheduled time>`` and
annotates it with ``workflows.argoproj.io/scheduled-time`` (RFC 3339 in the cron's time zone),
which steps read as ``{{workflow.scheduledTime}}``. A backfill run carries the same annotation for
its date, at the time the cron would fire that day, so a step cannot tell the two apart.

Argo keeps a CronWorkflow name to 52 characters (its runs add ``-`` and ten digits) and labels
pods with the run name (63 characters at most); longer pipeline names are shortened with a hash.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mofang_gitops.models import Pipeline
from mofang_gitops.models.workloads import Backfill, Schedule
from mofang_gitops.rendering.context import run_suffix

SCHEDULED_TIME_ANNOTATION = "workflows.argoproj.io/scheduled-time"
"""Argo turns this run annotation into ``{{workflow.scheduledTime}}``."""
PIPELINE_LABEL = "mofang.io/pipeline"
SCHEDULED_LABEL = "mofang.io/scheduled-time"
"""Unix seconds of a run's scheduled time: runs of two pipelines for the same time share it."""
CRON_NAME_MAX = 52
NAME_MAX = 63
GO_RFC3339 = "2006-01-02T15:04:05Z07:00"
"""Go's layout of RFC 3339, for ``sprig.toDate`` in Argo expressions."""
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def _fit(name: str, limit: int) -> str:
    """``name``, or its head and a hash of all of it when longer than ``limit``."""
    if len(name) <= limit:
        return name
    return f"{name[: limit - 7].rstrip('-')}-{run_suffix(name)}"


def cron_name(pipeline: str) -> str:
    """Name of the pipeline's CronWorkflow (and the prefix of the runs it starts)."""
    return _fit(pipeline, CRON_NAME_MAX)


def backfill_name(pipeline: str, day: date) -> str:
    """Name of the backfill run of ``day``: fixed, so reconcile never starts it twice."""
    suffix = f"-backfill-{day:%Y%m%d}"
    return _fit(pipeline, NAME_MAX - len(suffix)) + suffix


def backfill_dates(backfill: Backfill) -> list[date]:
    """Every date from ``from`` to ``to``, both included."""
    days = (backfill.to - backfill.from_).days
    return [backfill.from_ + timedelta(days=n) for n in range(days + 1)]


def _first(field: str) -> int:
    """Smallest value a cron minute or hour field lists (``*`` and steps start at 0)."""
    starts = []
    for part in field.split(","):
        start = part.split("/", 1)[0].split("-", 1)[0]
        starts.append(int(start) if start.isdigit() else 0)
    return min(starts)


def scheduled_time(schedule: Schedule, day: date) -> datetime:
    """When the cron first fires on ``day`` in its time zone, whatever its day fields say.

    A backfill names dates, not times; running each date at the cron's first time of day keeps
    ``{{workflow.scheduledTime}}`` and the runs a dependency waits for the same as cron runs.
    """
    fields = _MACROS.get(schedule.cron, schedule.cron).split()
    moment = time(_first(fields[1]), _first(fields[0]))
    return datetime.combine(day, moment, ZoneInfo(schedule.timezone))


def rfc3339(moment: datetime) -> str:
    """The time as Go's ``time.RFC3339`` prints it (what Argo writes for cron runs)."""
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def unix(moment: datetime) -> str:
    """Unix seconds, as a label value."""
    return str(int(moment.timestamp()))


def upstream_run(upstream: Pipeline, day: date, moment: datetime) -> str:
    """The run of ``upstream`` a backfill run of ``day`` (scheduled at ``moment``) waits for.

    Its own backfill run of that date when it backfills the date, else its cron run of the same
    scheduled time.
    """
    schedule = upstream.spec.schedule
    backfill = schedule.backfill if schedule else None
    if backfill is not None and backfill.from_ <= day <= backfill.to:
        return backfill_name(upstream.name, day)
    return f"{cron_name(upstream.name)}-{unix(moment)}"


def scheduled_label_expression() -> str:
    """Argo expression of a run's ``mofang.io/scheduled-time`` label (``manual`` off schedule)."""
    return (
        "'scheduledTime' in workflow"
        f" ? sprig.unixEpoch(sprig.toDate('{GO_RFC3339}', workflow.scheduledTime)) : 'manual'"
    )


def upstream_run_expression(upstream: str, parameter: str) -> str:
    """Argo expression tag: the run of ``upstream`` this run waits for.

    A backfill run names it in the workflow parameter ``parameter``; a cron run leaves that empty
    and waits for the upstream's cron run of the same scheduled time, whose name Argo derives
    from that time.
    """
    given = f"workflow.parameters['{parameter}']"
    cron_run = (
        f"'{cron_name(upstream)}-'"
        f" + sprig.unixEpoch(sprig.toDate('{GO_RFC3339}', workflow.scheduledTime))"
    )
    return f"{{{{={given} != '' ? {given} : {cron_run}}}}}"
