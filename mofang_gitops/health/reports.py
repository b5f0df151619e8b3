"""Health as people read it: a text table (coloured on a terminal), Markdown, or JSON.

Only kinds with a health rule are listed (notebooks, trainings, pipelines, storage, quota,
queue), plus any other object that is not Healthy (a missing RoleBinding matters too).
Untrusted strings (names, operator and scheduler messages) reach Markdown escaped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from mofang_gitops.health.model import Health, ObjectHealth, TargetHealth, worst
from mofang_gitops.health.rules import RULES

COLOURS = {
    Health.HEALTHY: "32",
    Health.PROGRESSING: "33",
    Health.DEGRADED: "31",
    Health.SUSPENDED: "36",
    Health.MISSING: "35",
    Health.UNKNOWN: "90",
}


SHOWN_KINDS = frozenset(kind for _, kind in RULES)


def shown(obj: ObjectHealth) -> bool:
    """Whether ``obj`` is listed: it has a rule, or it is not Healthy."""
    return obj.kind in SHOWN_KINDS or obj.health is not Health.HEALTHY


def _what(obj: ObjectHealth) -> str:
    """How a row names its object: the spec people wrote, then the Kubernetes object."""
    kind, _, name = obj.source.partition(".")
    if kind == "Notebook" and obj.kind == "StatefulSet":
        return f"Notebook {name}"
    if kind == "Training":
        return f"Training {name} ({obj.kind})"
    if kind == "Pipeline" and obj.kind == "CronWorkflow":
        return f"Pipeline {name}"
    if kind == "Pipeline" and obj.kind == "Workflow":
        return f"Pipeline {name} run {obj.name}"
    return f"{obj.kind}/{obj.name}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def _details(obj: ObjectHealth) -> list[str]:
    v = obj.verdict
    lines = []
    if v.url:
        lines.append(f"url {v.url}")
    for pod in v.pods:
        where = f"on {pod.node}" if pod.node else "not placed"
        if pod.resource_group:
            where += f" ({pod.resource_group})"
        text = f"pod {pod.name} {pod.phase} {where} {_duration(pod.duration_seconds)}".rstrip()
        lines.append(f"{text}: {pod.reason}" if pod.reason else text)
    if v.runs:
        lines.append("runs " + ", ".join(f"{r.name} {r.phase}" for r in v.runs))
    if v.next_runs:
        lines.append("next " + ", ".join(v.next_runs))
    if v.quota:
        lines.append(", ".join(f"{q.resource} {q.used or '?'}/{q.hard}" for q in v.quota))
    lines.extend(f"{k} {value}" for k, value in v.details)
    return lines


def _paint(health: Health, colour: bool) -> str:
    return f"\033[{COLOURS[health]}m{health}\033[0m" if colour else str(health)


def format_text(targets: Sequence[TargetHealth], *, colour: bool = False) -> str:
    """One block per (project, environment, cluster): a row per object, details indented."""
    out: list[str] = []
    for target in targets:
        head = f"{target.project}  {target.environment} / {target.cluster}"
        out.append(f"{head}  {_paint(target.health, colour)}")
        if target.error:
            out.append(f"  {target.error}")
        rows = [o for o in target.objects if shown(o)]
        width = max((len(_what(o)) for o in rows), default=0)
        for obj in rows:
            health = _paint(obj.health, colour) + " " * (11 - len(str(obj.health)))
            out.append(f"  {_what(obj).ljust(width)}  {health}  {obj.reason}".rstrip())
            out.extend(f"  {' ' * width}    {line}" for line in _details(obj))
        out.append("")
    overall = worst(t.health for t in targets)
    counts: dict[str, int] = {}
    for target in targets:
        for obj in target.objects:
            if shown(obj):
                counts[str(obj.health)] = counts.get(str(obj.health), 0) + 1
    summary = ", ".join(f"{n} {h}" for h, n in sorted(counts.items()))
    out.append(f"{len(targets)} target(s): {_paint(overall, colour)} ({summary or 'nothing'})")
    return "\n".join(out) + "\n"


WORKLOAD_SOURCES = ("Notebook", "Training")
"""Specs whose objects run pods: what ``status --placement`` lists."""


def placement_rows(targets: Sequence[TargetHealth]) -> list[tuple[str, ...]]:
    """One row per pod of every notebook and training: where it landed and its phase.

    A workload without pods gets one row whose pod columns are ``-`` and whose last column says
    why (``waiting for the operator``, a Volcano job with no Volcano here), so nothing that should
    run is silently left out.
    """
    rows: list[tuple[str, ...]] = []
    for target in targets:
        where = f"{target.environment}/{target.cluster}"
        for obj in target.objects:
            if obj.source.partition(".")[0] not in WORKLOAD_SOURCES or obj.kind not in SHOWN_KINDS:
                continue
            head = (target.project, where, _what(obj), obj.verdict.phase or str(obj.health))
            if not obj.verdict.pods:
                rows.append((*head, "-", "-", "-", "-", obj.reason))
            for pod in obj.verdict.pods:
                node, group = pod.node or "-", pod.resource_group or "-"
                rows.append((*head, pod.name, node, group, pod.phase, pod.reason))
    return rows


def format_placement(targets: Sequence[TargetHealth]) -> str:
    """``status --placement``: the placement rows as an aligned table."""
    header = ("PROJECT", "ENV/CLUSTER", "WORKLOAD", "STATE", "POD", "NODE", "GROUP", "PHASE")
    rows = [(*header, "")] + placement_rows(targets)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        (
            "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1]
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    for char in "`*_[]":
        escaped = escaped.replace(char, f"\\{char}")
    return escaped


def format_markdown(targets: Sequence[TargetHealth]) -> str:
    """A heading and a table per target, details in the last column."""
    out = [f"### mofang-gitops status: {worst(t.health for t in targets)}", ""]
    for target in targets:
        where = f"{_md(target.environment)} / {_md(target.cluster)}"
        out.append(f"#### {_md(target.project)} — {where}: {target.health}")
        if target.error:
            out.append(_md(target.error))
        out += ["", "| object | health | reason | details |", "|---|---|---|---|"]
        for obj in (o for o in target.objects if shown(o)):
            details = "<br>".join(_md(line) for line in _details(obj))
            out.append(f"| {_md(_what(obj))} | {obj.health} | {_md(obj.reason)} | {details} |")
        out.append("")
    return "\n".join(out)


def format_json(targets: Sequence[TargetHealth]) -> str:
    """Every target with every object (not only the shown ones), one object per line.

    ``json.dumps`` with ``indent`` runs the pure-Python encoder: for 29,000 objects that was
    100 of the 330 seconds a 1,000-project ``status -o json`` took. Each object is encoded by
    the C encoder on its own line instead; the document is the same JSON.
    """
    dumps = json.dumps
    out = ["{", f'  "health": {dumps(str(worst(t.health for t in targets)))},', '  "targets": [']
    for i, target in enumerate(targets):
        out.append(f"    {dumps(target.head_dict())[:-1]}, " + '"objects": [')
        last = len(target.objects) - 1
        out.extend(
            f"      {dumps(obj.as_dict())}{',' if j < last else ''}"
            for j, obj in enumerate(target.objects)
        )
        out.append("    ]}" + ("," if i < len(targets) - 1 else ""))
    out += ["  ]", "}"]
    return "\n".join(out) + "\n"
