"""The preview as a pull-request comment (GitHub-flavoured markdown), DESIGN.md section 6.

Shape: a hidden marker line (CI finds its own comment by it and edits it in place), a title, the
summary table, then one collapsible ``<details>`` section per project with a ``diff`` fence per
object. The output is deterministic and at most ``limit`` characters: when too long, project
sections are cut (see ``fitting``), never the summary table.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from mofang_gitops.previewing.figures import (
    IMPACT_COLUMNS,
    impact_cells,
    summary_cells,
    summary_keys,
)
from mofang_gitops.previewing.fitting import Section, fit_sections, truncate_section
from mofang_gitops.previewing.objects import CREATED, DELETED, ObjectChange, TargetChanges
from mofang_gitops.previewing.previews import Preview, ProjectPreview

MARKER = "<!-- mofang-gitops-preview -->"
LIMIT = 65_536
"""GitHub's maximum size of a comment body."""
SUMMARY_SHARE = 2
"""The summary table takes at most 1/SUMMARY_SHARE of the limit; more rows collapse into one."""
_SUMMARY_COLUMNS = ("project", "env / cluster", "+", "~", "−", "GPU requested", "GPU quota")
_TITLES = {"created": "+ created", "changed": "~ changed", "deleted": "− deleted"}
_HINT = "_Run `mofang-gitops diff --base {base}` locally for the full preview._"


def format_markdown(preview: Preview, limit: int = LIMIT) -> str:
    """The pull-request comment; never longer than ``limit`` characters."""
    if not preview.valid:
        return _invalid(preview, limit)
    head = "\n".join(_head(preview, limit // SUMMARY_SHARE)) + "\n"
    sections = [_notes_section(preview)] if preview.warnings or preview.notes else []
    sections.extend(_project_section(p) for p in preview.projects)
    hint = _HINT.format(base=preview.base) + "\n"
    budget = limit - len(head) - len(hint)
    while True:
        body, cut = fit_sections(sections, budget)
        text = head + body.rstrip("\n") + "\n" + ("\n" + hint if cut else "")
        if len(text) <= limit:  # the estimates leave some slack; never exceed the limit
            return text
        budget -= len(text) - limit


def _title(preview: Preview) -> str:
    if not preview.changed:
        return "### mofang-gitops: no changes"
    count = len(preview.projects)
    noun = "project" if count == 1 else "projects"
    return f"### mofang-gitops: {count} {noun} changed ({', '.join(preview.environments())})"


def _scope(preview: Preview) -> str:
    span = f"`{preview.base}` → `{_code(preview.head)}`"
    if preview.all_rendered:
        return f"{span} · every project rendered (platform or environment files changed)"
    count = len(preview.rendered)
    return f"{span} · {count} project(s) rendered (only projects whose files changed)"


def _head(preview: Preview, budget: int) -> list[str]:
    lines = [MARKER, _title(preview), "", _scope(preview), ""]
    if preview.changed:
        lines.extend(_summary(preview, budget - sum(len(x) + 1 for x in lines)))
        lines.append("")
    return lines


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _summary(preview: Preview, budget: int) -> list[str]:
    """The summary table; rows beyond ``budget`` collapse into one totals row."""
    lines = [_row(_SUMMARY_COLUMNS), "|---|---|--:|--:|--:|--:|--:|"]
    used = sum(len(x) + 1 for x in lines) + 200
    rows = [summary_cells(p, env, c) for p in preview.projects for env, c in summary_keys(p)]
    for index, cells in enumerate(rows):
        line = _row(cells)
        if used + len(line) + 1 > budget:
            rest = rows[index:]
            totals = [str(sum(int(r[i]) for r in rest)) for i in (2, 3, 4)]
            projects = len({r[0] for r in rest})
            lines.append(
                _row([f"… {projects} more project(s)", f"{len(rest)} rows", *totals, "", ""])
            )
            break
        lines.append(line)
        used += len(line) + 1
    return lines


def _code(text: str) -> str:
    return text.replace("`", "'")


def _fence(diff: Sequence[str]) -> str:
    longest = max((len(m) for line in diff for m in re.findall(r"`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _change_lines(change: ObjectChange, diffs: bool) -> list[str]:
    title = f"**{_TITLES[change.action]}** `{_code(str(change.ref))}`"
    if change.source:
        title += f" ({html.escape(change.source)})"
    if not diffs:
        return [f"- {title}"]
    lines = [title, ""]
    if change.action != DELETED and change.diff:
        fence = _fence(change.diff)
        shown = change.diff[1:] if change.action == CREATED else change.diff
        lines.extend([fence + "diff", *shown, fence, ""])
    return lines


def _target_lines(target: TargetChanges, diffs: bool) -> list[str]:
    where = f"{target.target.environment} / {target.target.cluster}"
    lines = [f"#### {where} · namespace `{target.namespace}`", ""]
    for change in target.changes:
        lines.extend(_change_lines(change, diffs))
    return lines if diffs else [*lines, ""]


def _project_section(project: ProjectPreview) -> Section:
    return Section(_project_lines(project, True), _project_lines(project, False))


def _project_lines(project: ProjectPreview, diffs: bool) -> list[str]:
    parts = [
        f"{t.target.environment} / {t.target.cluster}: {t.counts_text()}" for t in project.targets
    ]
    summary = f"{project.name} — {'; '.join(parts) or project.counts_text()}"
    if len(summary) > 200:
        summary = summary[:199] + "…"
    if not diffs:
        summary += " · diffs left out (size limit)"
    lines = [f"<details><summary>{html.escape(summary)}</summary>", ""]
    # Full: resource figures first, so a cut keeps them. Compact: object names first, changed
    # figures only, as the share per project is small.
    impact = _impact_lines(project, changed_only=not diffs)
    if diffs:
        lines.extend(impact)
    for target in project.targets:
        lines.extend(_target_lines(target, diffs))
    if not diffs:
        lines.extend(impact)
    lines.append("</details>")
    return lines


def _impact_lines(project: ProjectPreview, changed_only: bool) -> list[str]:
    rows = [r for r in project.impact if r.changed or not changed_only]
    if not rows:
        return []
    lines = ["#### Resource impact", "", _row(IMPACT_COLUMNS), "|" + "---|" * len(IMPACT_COLUMNS)]
    lines.extend(_row(impact_cells(row)) for row in rows)
    return [*lines, ""]


def _notes_section(preview: Preview) -> Section:
    count = len(preview.warnings) + len(preview.notes)
    lines = [f"<details><summary>{count} warning(s) and note(s)</summary>", ""]
    lines.extend(f"- `{_code(str(w.location))}` {html.escape(str(w))}" for w in preview.warnings)
    lines.extend(f"- {html.escape(note)}" for note in preview.notes)
    lines = [*lines, "", "</details>"]
    return Section(lines, lines)


def _invalid(preview: Preview, limit: int) -> str:
    count = len(preview.errors)
    head = [
        MARKER,
        f"### mofang-gitops: the head revision is invalid ({count} error(s))",
        "",
        f"`{preview.base}` → `{_code(preview.head)}` · fix these errors to see the preview:",
        "",
    ]
    lines = [str(p) for p in preview.errors]
    fence = _fence(lines)
    section = [fence + "text", *lines, fence]
    text = "\n".join(head) + "\n"
    return text + truncate_section(section, limit - len(text), keep=0, closing=()) + "\n"
