"""Figures of a preview as people read them, shared by the text and markdown formats."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from mofang_gitops.models.quantities import format_bytes, format_cpu
from mofang_gitops.previewing.impact import Amount, GroupUse, ImpactRow
from mofang_gitops.previewing.previews import ProjectPreview

ARROW = "→"
NONE = "—"
RESOURCES = ("cpu", "memory", "gpu")
IMPACT_COLUMNS = (
    "env / cluster",
    "resource group",
    "CPU requested / quota",
    "memory requested / quota",
    "GPU requested / quota",
    "group allocated / capacity",
)


def number(what: str, value: Decimal) -> str:
    """A CPU, memory or GPU figure: ``4``, ``16Gi``, ``2``."""
    return format_bytes(value) if what == "memory" else format_cpu(value)


def pair(before: str | None, after: str | None) -> str:
    """``a → b`` when the figure changes, else the figure."""
    if before == after:
        return after or NONE
    return f"{before or NONE} {ARROW} {after or NONE}"


def _figure(use: GroupUse | None, part: Callable[[GroupUse], Amount], what: str) -> str | None:
    if use is None:
        return None
    return number(what, getattr(part(use), what))


def _cell(row: ImpactRow, what: str) -> str:
    requested = pair(
        _figure(row.before, lambda u: u.requested, what),
        _figure(row.after, lambda u: u.requested, what),
    )
    quota = pair(
        _figure(row.before, lambda u: u.quota, what), _figure(row.after, lambda u: u.quota, what)
    )
    return f"{requested} / {quota}"


def _capacity(row: ImpactRow) -> str:
    uses = [u for u in (row.before, row.after) if u is not None]
    has_gpus = any(u.capacity.gpu for u in uses)
    shown = []
    for what in RESOURCES if has_gpus else RESOURCES[:2]:
        allocated = pair(
            _figure(row.before, lambda u: u.allocated, what),
            _figure(row.after, lambda u: u.allocated, what),
        )
        capacity = pair(
            _figure(row.before, lambda u: u.capacity, what),
            _figure(row.after, lambda u: u.capacity, what),
        )
        shown.append(f"{what} {allocated} / {capacity}")
    return ", ".join(shown)


def impact_cells(row: ImpactRow) -> list[str]:
    """The cells of one impact row, in ``IMPACT_COLUMNS`` order."""
    over = " (over quota)" if row.after is not None and row.after.over_quota else ""
    return [
        f"{row.environment} / {row.cluster}",
        row.group,
        _cell(row, "cpu"),
        _cell(row, "memory"),
        _cell(row, "gpu") + over,
        _capacity(row),
    ]


def summary_keys(project: ProjectPreview) -> list[tuple[str, str]]:
    """(environment, cluster) pairs with a change: changed targets and changed impact rows."""
    keys = {(t.target.environment, t.target.cluster) for t in project.targets}
    keys.update((r.environment, r.cluster) for r in project.impact if r.changed)
    return sorted(keys)


def summary_cells(project: ProjectPreview, env: str, cluster: str) -> list[str]:
    """``project, env / cluster, +, ~, −, GPU requested, GPU quota`` for one summary row."""
    target = next(
        (t for t in project.targets if (t.target.environment, t.target.cluster) == (env, cluster)),
        None,
    )
    rows = [r for r in project.impact if (r.environment, r.cluster) == (env, cluster)]
    counts = [str(target.count(a)) if target else "0" for a in ("created", "changed", "deleted")]
    return [
        project.name,
        f"{env} / {cluster}",
        *counts,
        _gpu_total(rows, lambda u: u.requested),
        _gpu_total(rows, lambda u: u.quota),
    ]


def _gpu_total(rows: list[ImpactRow], part: Callable[[GroupUse], Amount]) -> str:
    def total(side: str) -> str | None:
        uses = [getattr(r, side) for r in rows if getattr(r, side) is not None]
        if not uses:
            return None
        return format_cpu(sum((part(u).gpu for u in uses), Decimal(0)))

    return pair(total("before"), total("after"))
