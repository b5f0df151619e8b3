"""Small conversions for people: times, quantities, schedules in words, links that are safe.

Pure functions of their input (and of ``now`` where time matters), so the pages render the same
snapshot the same way, and each is tested on its own.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from cron_descriptor import ExpressionDescriptor, Options

from mofang_gitops.models.quantities import format_bytes, parse_quantity
from mofang_gitops.models.schedules import five_fields

log = logging.getLogger(__name__)


def http_url(value: Any) -> str:
    """``value`` if it is an http(s) URL, else "" (a ``javascript:`` link is dropped)."""
    text = str(value or "")
    return text if text.lower().startswith(("http://", "https://")) else ""


def span(seconds: float) -> str:
    """A duration as ``45s``, ``3m 20s``, ``2h 5m``, ``4d 3h`` (two units at most)."""
    n = max(int(seconds), 0)
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    parts: list[str] = []
    for unit, size in units:
        if n >= size or (unit == "s" and not parts):
            parts.append(f"{n // size}{unit}")
            n %= size
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0") or len(parts) == 1)


def relative(seconds_ago: float) -> str:
    """``5s ago``, ``3m ago``, ``2h ago``, ``4d ago`` (``in 3m`` for the future)."""
    future, n = seconds_ago < 0, abs(int(seconds_ago))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if n >= size:
            text = f"{n // size}{unit}"
            break
    else:
        text = f"{n}s"
    return f"in {text}" if future else f"{text} ago"


def parse_time(value: Any) -> float | None:
    """Epoch seconds from a number or an RFC 3339 string (as the API server writes them)."""
    if isinstance(value, int | float):
        return float(value) if value else None
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def moment(value: Any, now: float) -> dict[str, str]:
    """A time as ``{iso, abs, rel}`` for ``<time>`` elements (``rel`` "never" when unknown)."""
    stamp = parse_time(value)
    if stamp is None:
        return {"iso": "", "abs": "", "rel": "never"}
    when = datetime.fromtimestamp(stamp, UTC)
    return {
        "iso": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "abs": when.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "rel": relative(now - stamp),
    }


def quantity(text: Any) -> float | None:
    """A Kubernetes quantity as a number (``500m`` -> 0.5, ``2Gi`` -> 2147483648), or None."""
    try:
        return float(parse_quantity(text if isinstance(text, int | float) else str(text)))
    except (ValueError, InvalidOperation, TypeError):
        return None


def amount(resource: str, value: float | None) -> str:
    """``value`` of ``resource`` as people write it: ``1.5`` cores, ``64Gi``, ``8`` GPUs."""
    if value is None:
        return "?"
    if resource in ("memory", "storage") or resource.endswith((".memory", ".storage")):
        return format_bytes(Decimal(str(round(value))))
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text or "0"


def schedule_words(cron: str) -> str:
    """The cron expression in English (``At 02:00``), by the ``cron-descriptor`` package.

    Empty when it cannot say (a spec validated by cronsim that this package reads otherwise):
    the cron itself is always shown next to it.
    """
    if not cron:
        return ""
    options = Options()
    options.use_24hour_time_format = True
    try:
        return str(ExpressionDescriptor(five_fields(cron), options).get_description())
    except Exception as e:  # a third-party parser: no expression may break a page
        log.debug("cannot describe cron %r: %s", cron, e)
        return ""
