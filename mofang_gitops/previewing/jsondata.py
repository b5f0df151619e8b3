"""The preview as plain JSON data for other tools (figures as strings, Secret values masked)."""

from __future__ import annotations

from typing import Any

from mofang_gitops.previewing.figures import RESOURCES, number
from mofang_gitops.previewing.impact import GroupUse, ImpactRow
from mofang_gitops.previewing.objects import ACTIONS, ObjectChange, TargetChanges
from mofang_gitops.previewing.previews import Preview, ProjectPreview


def preview_data(preview: Preview) -> dict[str, Any]:
    """Everything in the preview; ``valid`` false means ``errors`` explain why there is no diff."""
    return {
        "base": preview.base,
        "head": preview.head,
        "valid": preview.valid,
        "changed": preview.changed,
        "allRendered": preview.all_rendered,
        "rendered": list(preview.rendered),
        "summary": {action: preview.count(action) for action in ACTIONS},
        "errors": [p.as_dict() for p in preview.errors],
        "warnings": [p.as_dict() for p in preview.warnings],
        "notes": list(preview.notes),
        "projects": [_project(p) for p in preview.projects],
    }


def _project(project: ProjectPreview) -> dict[str, Any]:
    return {
        "name": project.name,
        "summary": {action: project.count(action) for action in ACTIONS},
        "targets": [_target(t) for t in project.targets],
        "impact": [_impact(r) for r in project.impact],
    }


def _target(target: TargetChanges) -> dict[str, Any]:
    return {
        "environment": target.target.environment,
        "cluster": target.target.cluster,
        "namespace": target.namespace,
        "summary": {action: target.count(action) for action in ACTIONS},
        "objects": [_object(c) for c in target.changes],
    }


def _object(change: ObjectChange) -> dict[str, Any]:
    ref = change.ref
    return {
        "action": change.action,
        "id": str(ref),
        "group": ref.group,
        "kind": ref.kind,
        "namespace": ref.namespace,
        "name": ref.name,
        "source": change.source,
        "sourcePath": change.source_path,
        "diff": "\n".join(change.diff),
    }


def _impact(row: ImpactRow) -> dict[str, Any]:
    return {
        "environment": row.environment,
        "cluster": row.cluster,
        "resourceGroup": row.group,
        "before": _use(row.before),
        "after": _use(row.after),
    }


def _use(use: GroupUse | None) -> dict[str, dict[str, str]] | None:
    if use is None:
        return None
    parts = {
        "requested": use.requested,
        "quota": use.quota,
        "allocated": use.allocated,
        "capacity": use.capacity,
    }
    return {
        key: {what: number(what, getattr(amount, what)) for what in RESOURCES}
        for key, amount in parts.items()
    }
