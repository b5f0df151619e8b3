"""Desired vs live for one object: the verdict and a YAML diff of only the fields we set.

The verdict comes from :mod:`normalizing` (local, no request). The diff shows the live object
projected onto the shape of what we apply, plus the fields we applied before and no longer want,
so server defaults and other managers' fields never appear. Secret values are masked in every
diff: a changed value shows as changed, never as itself.
"""

from __future__ import annotations

import difflib
from typing import Any

from mofang_gitops.engine.normalizing import (
    Comparison,
    Verdict,
    comparable,
    comparable_fields,
    is_key_of,
    key_matches,
    managed_entry,
    parse_list_key,
    values_equal,
)
from mofang_gitops.yamlio import dump

MASK = "***"
_SECRET_FIELDS = ("data", "stringData")
_VOLATILE_META = ("managedFields", "resourceVersion")


def describe(comparison: Comparison, limit: int = 3) -> str:
    """One line for the change-set reason: changed fields and the other managers involved."""
    if comparison.verdict is Verdict.SAME:
        return ""
    paths = list(comparison.paths)
    text = ", ".join(paths[:limit])
    if len(paths) > limit:
        text += f" and {len(paths) - limit} more"
    parts = [text] if text else []
    if comparison.managers:
        parts.append("drift by " + ", ".join(comparison.managers))
    if comparison.reason:
        parts.append(comparison.reason)
    return "; ".join(parts)


def created_diff(desired: dict[str, Any], object_id: str) -> str:
    """The whole desired object as added lines."""
    return _unified("", _dump(_masked(_clean(desired), None)), object_id)


def changed_diff(desired: dict[str, Any], live: dict[str, Any], object_id: str) -> str:
    """Unified diff from the live fields we manage (or would) to the desired ones."""
    body = comparable(desired)
    entry = managed_entry(live)
    fields = comparable_fields(str(desired.get("kind")), (entry or {}).get("fieldsV1") or {})
    wanted = _clean(body)
    seen = project(wanted, live, fields if entry is not None else None)
    if isinstance(seen, dict):
        _identity(seen, wanted)
    return _unified(_dump(_masked(seen, None)), _dump(_masked(wanted, seen)), object_id)


def project(desired: Any, live: Any, fields: dict[str, Any] | None) -> Any:
    """The part of ``live`` that corresponds to ``desired`` and to the fields we own.

    ``fields`` is our field set at this level: None when we own nothing here, ``{}`` when we own
    the whole value (a leaf or an atomic map or list). Scalars equal by value (``1000m`` vs
    ``1``) take the desired spelling so they do not show.
    """
    if isinstance(desired, dict) and isinstance(live, dict):
        return _project_map(desired, live, fields)
    if isinstance(desired, list) and isinstance(live, list):
        return _project_list(desired, live, fields or {})
    if not isinstance(desired, dict | list) and values_equal(desired, live):
        return desired
    return live


def _project_map(
    desired: dict[str, Any], live: dict[str, Any], fields: dict[str, Any] | None
) -> dict[str, Any]:
    if fields == {}:  # an atomic map is ours as a whole, keys we did not write included
        keys = list(desired) + [k for k in live if k not in desired]
    else:
        owned = fields or {}
        keys = list(desired) + [f[2:] for f in owned if f[:2] == "f:" and f[2:] not in desired]
    out: dict[str, Any] = {}
    for key in keys:
        if key in live:
            sub = None if fields is None else fields.get("f:" + key, {} if fields == {} else None)
            out[key] = project(desired.get(key), live[key], sub)
    return out


def _project_list(desired: list[Any], live: list[Any], fields: dict[str, Any]) -> list[Any]:
    keyed = [k for k in fields if k.startswith("k:")]
    if not keyed:
        if len(desired) != len(live):
            return live
        return [project(a, b, {}) for a, b in zip(desired, live, strict=True)]
    out: list[Any] = []
    used: set[int] = set()
    for item in desired:
        for raw in keyed:
            key = parse_list_key(raw)
            if isinstance(item, dict) and key_matches(key, item):
                for i, candidate in enumerate(live):
                    if i not in used and isinstance(candidate, dict) and is_key_of(key, candidate):
                        used.add(i)
                        out.append(project(item, candidate, fields[raw]))
                break
    for raw in keyed:  # items we applied before and no longer want
        key = parse_list_key(raw)
        for i, candidate in enumerate(live):
            if i not in used and isinstance(candidate, dict) and is_key_of(key, candidate):
                used.add(i)
                out.append(candidate)
    return out


def dry_run_changes(dry: dict[str, Any], live: dict[str, Any]) -> bool:
    """Whether a server-side dry-run result differs from the live object it was applied to.

    Managed-field timestamps always move and are ignored; ownership changes are not.
    """
    if dry.keys() != live.keys():
        return True
    for key, value in dry.items():
        if key != "metadata" and value != live[key]:
            return True
    dry_meta, live_meta = dry.get("metadata", {}), live.get("metadata", {})
    for key in dry_meta.keys() | live_meta.keys():
        if key not in _VOLATILE_META and dry_meta.get(key) != live_meta.get(key):
            return True
    return _ownership(dry_meta) != _ownership(live_meta)


def _ownership(meta: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in entry.items() if k != "time"} for entry in meta.get("managedFields") or ()
    ]


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    """Desired without nulls and status (what apply actually sets)."""
    return {k: _drop_none(v) for k, v in body.items() if v is not None and k != "status"}


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _identity(seen: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Give the live view the same header lines so only real changes show."""
    for key in ("apiVersion", "kind"):
        if key in wanted:
            seen[key] = wanted[key]
    meta = seen.setdefault("metadata", {})
    for key in ("name", "namespace"):
        if key in wanted.get("metadata", {}):
            meta[key] = wanted["metadata"][key]
    seen_ordered = {k: seen[k] for k in wanted if k in seen}
    seen_ordered.update({k: v for k, v in seen.items() if k not in seen_ordered})
    seen.clear()
    seen.update(seen_ordered)


def _masked(obj: Any, other: Any) -> Any:
    """Mask Secret values; a value that differs from ``other``'s shows as changed."""
    if not isinstance(obj, dict) or obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for field in _SECRET_FIELDS:
        values = obj.get(field)
        if isinstance(values, dict):
            theirs = (other or {}).get(field) or {}
            out[field] = {
                k: MASK if other is None or theirs.get(k) == v else f"{MASK} (changed)"
                for k, v in values.items()
            }
    return out


def _dump(obj: Any) -> str:
    return dump(obj) if obj else ""


def _unified(before: str, after: str, object_id: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"live/{object_id}",
        tofile=f"desired/{object_id}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
