"""Cron schedules evaluated by one library (cronsim) in the schedule's own time zone.

Validation, backfill expansion, the upstream run a dependency waits for, and the next run times
that previews and ``status`` show all call these functions, so they cannot disagree about when a
pipeline fires. cronsim refuses what Debian cron refuses (``61 * * * *``, ``0 3 * * funday``) and
handles daylight-saving gaps the way cron does. Argo's scheduler (robfig/cron) knows the five
standard fields and the ``@daily``-style macros but not cronsim's ``L``, ``W`` and ``#``
extensions, so those are refused too: a schedule we accept is one Argo runs.

cronsim iterates strictly after (or, reversed, strictly before) its start; a second's nudge makes
the bounds inclusive (crons have minute resolution).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from mofang_gitops.errors import InvalidValueError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""The macros Argo's scheduler accepts, as five fields."""
BACKFILL_CAP = 1000
"""Most runs one backfill may create: more is a typo in a range or a cron, not a plan."""
_ARGO_UNSUPPORTED = ("L", "W", "#")
_NUDGE = timedelta(seconds=1)
_ANCHOR = datetime(2026, 1, 1)


class ScheduleError(InvalidValueError):
    """A cron expression or time zone that cannot be scheduled; ``hint`` says how to fix it."""


def five_fields(cron: str) -> str:
    """The expression as five fields (macros expanded)."""
    text = cron.strip()
    return MACROS.get(text, text)


def check_cron(cron: str) -> str:
    """``cron`` stripped, or a ScheduleError saying which field is wrong."""
    text = cron.strip()
    fields = five_fields(text).split()
    if text.startswith("@") and text not in MACROS:
        raise ScheduleError(
            f"{cron!r} is not a cron macro", f"use five fields or one of {', '.join(MACROS)}"
        )
    if len(fields) != 5:
        raise ScheduleError(
            f"{cron!r} has {len(fields)} fields, a cron expression has 5",
            "minute hour day-of-month month day-of-week, e.g. '0 2 * * *'",
        )
    for token in _ARGO_UNSUPPORTED:
        if any(token in field.upper() for field in fields[2:]):
            raise ScheduleError(
                f"{cron!r} uses {token!r}, which Argo's cron scheduler does not support",
                "use plain values, ranges, lists and steps",
            )
    try:
        CronSim(" ".join(fields), _ANCHOR)
    except CronSimError as e:
        raise ScheduleError(
            f"{cron!r} is not a valid cron expression: {e}",
            "fields are minute 0-59, hour 0-23, day 1-31, month 1-12 or JAN-DEC, "
            "day-of-week 0-7 or SUN-SAT",
        ) from e
    return text


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``, or a ScheduleError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ScheduleError(
            f"{name!r} is not an IANA time zone", "use a name such as UTC or Asia/Shanghai"
        ) from e


def fire_times(cron: str, timezone: str, start: datetime, end: datetime) -> Iterator[datetime]:
    """Every time the cron fires from ``start`` to ``end`` (both included), in its time zone.

    A lazy iterator, so a caller can stop at a cap without expanding a huge range.
    """
    tz = zone(timezone)
    for moment in CronSim(five_fields(cron), start.astimezone(tz) - _NUDGE):
        if moment > end:
            return
        yield moment


def latest_fire(cron: str, timezone: str, moment: datetime) -> datetime:
    """The latest time the cron fires at or before ``moment``, in the cron's time zone."""
    tz = zone(timezone)
    return next(iter(CronSim(five_fields(cron), moment.astimezone(tz) + _NUDGE, reverse=True)))


def next_fires(cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` times the cron fires strictly after ``after``."""
    tz = zone(timezone)
    runs = iter(CronSim(five_fields(cron), after.astimezone(tz)))
    return [next(runs) for _ in range(count)]


def count_fires(cron: str, timezone: str, start: datetime, end: datetime) -> int:
    """How many times the cron fires from ``start`` to ``end``, without listing each time.

    Matching days times fires per day: exact where the zone keeps one offset over the range,
    off by the fires of a skipped or repeated hour at each daylight-saving change otherwise.
    Used to say how far over a cap a range is (a year of ``* * * * *`` is half a million).
    """
    minute, hour, *days = five_fields(cron).split()
    matching_days = sum(1 for _ in fire_times(f"0 0 {' '.join(days)}", timezone, start, end))
    utc_day = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    per_day = sum(
        1
        for _ in fire_times(
            f"{minute} {hour} * * *", "UTC", utc_day, utc_day + timedelta(days=1) - _NUDGE
        )
    )
    return matching_days * per_day


def day_window(timezone: str, first: date, last: date) -> tuple[datetime, datetime]:
    """First and last instant of the dates ``first`` to ``last`` in ``timezone``."""
    tz = zone(timezone)
    start = datetime.combine(first, time(), tz)
    end = datetime.combine(last + timedelta(days=1), time(), tz) - _NUDGE
    return start, end


def fires_on(
    cron: str, timezone: str, first: date, last: date, cap: int = BACKFILL_CAP
) -> list[datetime]:
    """Every time the cron fires on the dates ``first`` to ``last``; at most ``cap + 1`` of them.

    The extra one lets a caller tell "exactly the cap" from "over it" without expanding the rest.
    """
    start, end = day_window(timezone, first, last)
    times = []
    for moment in fire_times(cron, timezone, start, end):
        times.append(moment)
        if len(times) > cap:
            break
    return times
