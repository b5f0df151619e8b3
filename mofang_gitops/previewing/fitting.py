"""Fit markdown sections into a size limit: degrade fairly, cut visibly, never break the markup.

Order of degradation when the sections do not fit: the largest sections are cut first, to an
equal share of what is left (water-filling); when that share is too small for diffs to be useful,
sections that do not fit whole drop their diffs (compact form, the list of objects stays); when
even that does not fit, trailing sections are left out with a marker (the summary table, outside
these sections, still lists every project). Cuts fall on line boundaries and close open fences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

TRUNCATED = "_… truncated: {n} more line(s) not shown (comment size limit)_"
OMITTED = (
    "_… {n} more section(s) not shown (comment size limit); the summary table lists every project._"
)
MIN_SECTION = 400
"""Smallest useful cut section: its summary line, a few object names, the marker."""
MIN_DIFFS = 1500
"""Below this share per section, diffs give way to the list of objects."""


@dataclass(frozen=True)
class Section:
    """One collapsible section, whole and without diffs; both start with ``<details>`` lines."""

    full: list[str]
    compact: list[str]


def section_size(lines: Sequence[str]) -> int:
    """Characters of a section once joined (with its trailing blank line)."""
    return sum(len(line) + 1 for line in lines) + 1


def fit_sections(sections: Sequence[Section], budget: int) -> tuple[str, bool]:
    """Join sections within ``budget``; return the text and whether anything was cut."""
    sizes = [section_size(s.full) for s in sections]
    if sum(sizes) <= budget:
        return "".join("\n".join(s.full) + "\n\n" for s in sections), False
    cap = water_level(sizes, budget)
    chosen = [
        s.full if cap >= MIN_DIFFS or size <= cap else s.compact
        for s, size in zip(sections, sizes, strict=True)
    ]
    sizes = [section_size(lines) for lines in chosen]
    omitted_line = OMITTED.format(n=len(chosen)) + "\n"
    shown = len(chosen)
    cap = water_level(sizes, budget)
    while shown and cap < MIN_SECTION:
        shown -= 1
        cap = water_level(sizes[:shown], budget - len(omitted_line))
    parts = [truncate_section(lines, cap) + "\n\n" for lines in chosen[:shown]]
    if shown < len(chosen):
        parts.append(OMITTED.format(n=len(chosen) - shown) + "\n")
    return "".join(parts), True


def water_level(sizes: Sequence[int], budget: int) -> int:
    """The largest cap such that ``sum(min(size, cap)) <= budget``."""
    remaining = budget
    ordered = sorted(sizes)
    for index, size in enumerate(ordered):
        share = remaining // (len(ordered) - index)
        if size > share:
            return share
        remaining -= size
    return max(ordered, default=0) + remaining


def truncate_section(
    lines: Sequence[str], cap: int, keep: int = 2, closing: Sequence[str] = ("</details>",)
) -> str:
    """The section within ``cap`` characters: whole lines, fences closed, a visible marker."""
    if section_size(lines) <= cap:
        return "\n".join(lines)
    body = lines[keep : len(lines) - len(closing)]
    out = list(lines[:keep])
    used = sum(len(x) + 1 for x in out)
    reserve = len(TRUNCATED) + 24 + sum(len(x) + 1 for x in closing)
    fence = ""
    for line in body:
        after = fence_after(fence, line)
        if used + len(line) + 1 + len(after) + 1 + reserve > cap:
            break
        out.append(line)
        used += len(line) + 1
        fence = after
    taken = len(out) - keep
    if fence and out[-1].startswith("`"):  # a fence opened with nothing in it: leave it out
        out.pop()
        taken -= 1
    elif fence:
        out.append(fence)
    while len(out) > keep and not out[-1]:
        out.pop()
    out.extend(["", TRUNCATED.format(n=len(body) - taken), "", *closing])
    return "\n".join(out)


def fence_after(fence: str, line: str) -> str:
    """The open fence once ``line`` is written ('' outside fences); only fences start with '`'."""
    if not line.startswith("`"):
        return fence
    if fence:
        return ""
    return line[: len(line) - len(line.lstrip("`"))]
