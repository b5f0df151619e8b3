"""The recent Events of a namespace, in the order a person wants them: Warnings first.

A status page shows a handful of Events per project. Warnings (a refused pod, a failed mount) are
what someone must act on, so they come before Normal ones; within each, the newest first. Events
are kept as the API server wrote them, cut to one line: they are data to show, never markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mofang_gitops.health.below import one_line
from mofang_gitops.health.model import EventNote

MAX_EVENTS = 15
"""Events kept per target (the namespace may hold hundreds)."""


def _when(event: Mapping[str, Any]) -> str:
    meta = event.get("metadata") or {}
    return str(
        event.get("lastTimestamp")
        or event.get("eventTime")
        or event.get("firstTimestamp")
        or meta.get("creationTimestamp")
        or ""
    )


def recent_events(
    events: Iterable[Mapping[str, Any]], limit: int = MAX_EVENTS
) -> tuple[EventNote, ...]:
    """At most ``limit`` Events, Warning first, then newest (RFC 3339 strings sort by time)."""
    notes = []
    for event in events:
        about = event.get("involvedObject") or {}
        notes.append(
            EventNote(
                type=str(event.get("type") or "Normal"),
                reason=one_line(event.get("reason"), 80),
                object=one_line(f"{about.get('kind', '')}/{about.get('name', '')}", 160),
                message=one_line(event.get("message")),
                count=int(event.get("count") or 1),
                time=_when(event),
            )
        )
    notes.sort(key=lambda n: n.time, reverse=True)
    notes.sort(key=lambda n: n.type != "Warning")  # stable: newest first within each type
    return tuple(notes[:limit])
