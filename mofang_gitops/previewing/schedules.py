"""When changed pipelines will run next: the line a reviewer reads before approving a schedule.

Computed by the same cron library as validation and backfill (``models.schedules``), in the
pipeline's own time zone, from a ``now`` the caller passes (tests pin it; the CLI uses the clock).
Only pipelines whose schedule is new or changed get a note, so a preview of unrelated changes
stays the same from day to day.
"""

from __future__ import annotations

from datetime import datetime

from mofang_gitops.models import Pipeline
from mofang_gitops.models.schedules import next_fires
from mofang_gitops.validation.repository import Validation

NEXT_RUNS = 3


def schedule_notes(
    base: Validation, head: Validation, names: list[str], now: datetime
) -> list[str]:
    """One note per pipeline of ``names`` whose schedule the change adds or alters."""
    notes = []
    for project in names:
        specs = head.repo.projects.get(project)
        if specs is None or project in head.invalid_projects:
            continue
        before = base.repo.projects.get(project)
        for name, loaded in sorted(specs.pipelines.items()):
            old = before.pipelines.get(name) if before is not None else None
            note = _note(project, loaded.model, old.model if old else None, now)
            if note:
                notes.append(note)
    return notes


def _note(project: str, pipeline: Pipeline, old: Pipeline | None, now: datetime) -> str:
    schedule = pipeline.spec.schedule
    if schedule is None or schedule.suspend:
        return ""
    if old is not None and old.spec.schedule == schedule:
        return ""
    runs = next_fires(schedule.cron, schedule.timezone, now, NEXT_RUNS)
    listed = ", ".join(moment.isoformat(timespec="minutes") for moment in runs)
    return (
        f"pipeline {project}/{pipeline.name} runs on '{schedule.cron}' ({schedule.timezone}); "
        f"next runs: {listed}"
    )
