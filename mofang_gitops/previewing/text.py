"""The preview for a terminal: one block per project and target, diffs indented, ANSI colour."""

from __future__ import annotations

from mofang_gitops.previewing.figures import IMPACT_COLUMNS, impact_cells
from mofang_gitops.previewing.objects import CREATED, DELETED, ObjectChange
from mofang_gitops.previewing.previews import Preview, ProjectPreview

_SIGNS = {"created": "+", "changed": "~", "deleted": "-"}
_COLOURS = {"+": "32", "-": "31", "~": "33", "@": "36", "!": "1"}


def _paint(text: str, key: str, color: bool) -> str:
    code = _COLOURS.get(key)
    return f"\033[{code}m{text}\033[0m" if color and code else text


def headline(preview: Preview) -> str:
    """One line saying what the change does."""
    span = f"{preview.base} {'→'} {preview.head}"
    if not preview.valid:
        count = len(preview.errors)
        return f"mofang-gitops diff {span}: the head revision is invalid ({count} error(s))"
    if not preview.changed:
        return f"mofang-gitops diff {span}: no changes"
    envs = ", ".join(preview.environments())
    count = len(preview.projects)
    return f"mofang-gitops diff {span}: {count} project(s) changed ({envs})"


def format_text(preview: Preview, color: bool = False) -> str:
    """The whole preview as terminal text (errors included when the head is invalid)."""
    lines = [_paint(headline(preview), "!", color)]
    for problem in preview.errors:
        lines.append(f"  {problem}")
    for problem in preview.warnings:
        lines.append(f"  {problem}")
    lines.extend(f"  note: {note}" for note in preview.notes)
    for project in preview.projects:
        lines.append("")
        lines.extend(_project(project, color))
    return "\n".join(lines) + "\n"


def _project(project: ProjectPreview, color: bool) -> list[str]:
    lines = []
    for target in project.targets:
        where = f"{target.target.environment} / {target.target.cluster}"
        title = f"{project.name} — {where}: {target.counts_text()}"
        lines.append(_paint(title, "!", color))
        for change in target.changes:
            lines.extend(_change(change, color))
    if any(row.changed for row in project.impact):
        lines.append("")
        lines.append(_paint(f"{project.name} — resource impact:", "!", color))
        lines.extend(_table([list(IMPACT_COLUMNS), *(impact_cells(r) for r in project.impact)]))
    return lines


def _change(change: ObjectChange, color: bool) -> list[str]:
    sign = _SIGNS[change.action]
    lines = [_paint(f"  {sign} {change.label}", sign, color)]
    if change.action == DELETED:
        return lines
    shown = change.diff[1:] if change.action == CREATED else change.diff
    for line in shown:
        lines.append("      " + _paint(line, line[:1], color))
    return lines


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "    " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
