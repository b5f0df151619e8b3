"""The data each page shows, assembled from the board: plain dicts the templates only lay out.

Decisions live here, not in templates: which object stands for a spec (a notebook's StatefulSet,
a training's job), how long a training ran, what a project holds of each resource group against
its quota and the group's capacity, which projects a person may see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mofang_gitops.manifests import Target
from mofang_gitops.web.formats import amount, parse_time, quantity, schedule_words, span

STATES = ("Synced", "OutOfSync", "Failed", "Invalid")
PRIMARY = {
    "Notebook": ("StatefulSet",),
    "Training": (
        "Experiment",
        "MPIJob",
        "TFJob",
        "PyTorchJob",
        "XGBoostJob",
        "RayJob",
        "SparkApplication",
        "Job",
    ),
    "Pipeline": ("CronWorkflow", "WorkflowTemplate"),
}
"""The object that stands for each spec kind on the project page (first found wins)."""
DIMENSIONS = ("cpu", "memory", "gpu")

Visible = Callable[[Mapping[str, Any]], bool]
"""Whether the person asking may see a project (its entry from :func:`projects`)."""


def everyone(project: Mapping[str, Any]) -> bool:
    """Without the per-user view every project is shown."""
    return True


def projects(snapshot: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per project: its facts at the head and its targets (stranded projects included)."""
    facts: Mapping[str, Any] = snapshot.get("projects") or {}
    found: dict[str, dict[str, Any]] = {}
    for target in snapshot.get("targets", []):
        entry = found.setdefault(target["project"], {"targets": [], "problems": []})
        entry["targets"].append(target)
    for name, problems in (snapshot.get("invalidProjects") or {}).items():
        entry = found.setdefault(name, {"targets": [], "problems": []})
        entry["problems"] = list(problems)
    for name, entry in found.items():
        fact = facts.get(name, {})
        entry["name"] = name
        entry["facts"] = fact
        entry["description"] = fact.get("description", "")
        entry["owners"] = fact.get("owners", [])
        entry["members"] = fact.get("members", [])
        entry["states"] = sorted({t["state"] for t in entry["targets"]} or {"Invalid"})
        counts: dict[str, int] = {}
        for t in entry["targets"]:
            for health, n in ((t.get("health") or {}).get("counts") or {}).items():
                counts[health] = counts.get(health, 0) + int(n)
        entry["counts"] = dict(sorted(counts.items()))
    return dict(sorted(found.items()))


def overview(
    snapshot: Mapping[str, Any], query: Mapping[str, str], visible: Visible
) -> dict[str, Any]:
    """Every project the person may see, filtered by state, team member and search text."""
    shown = [p for p in projects(snapshot).values() if visible(p)]
    teams = sorted({u for p in shown for u in [*p["owners"], *p["members"]]})
    state, team, search = query.get("state", ""), query.get("team", ""), query.get("q", "")
    if state:
        shown = [p for p in shown if state in p["states"]]
    if team:
        shown = [p for p in shown if team in p["owners"] or team in p["members"]]
    if search:
        needle = search.lower()
        shown = [
            p for p in shown if needle in p["name"].lower() or needle in p["description"].lower()
        ]
    return {
        "projects": shown,
        "filters": {"state": state, "team": team, "q": search},
        "states": STATES,
        "teams": teams,
        "filtered": bool(state or team or search),
    }


def _primary(spec_kind: str, objects: list[dict[str, Any]]) -> dict[str, Any]:
    for kind in PRIMARY.get(spec_kind, ()):
        for obj in objects:
            if obj["kind"] == kind:
                return obj
    return objects[0]


def _duration(obj: Mapping[str, Any], now: float) -> str:
    """How long a training has run (until it finished), from its own times or its pods'."""
    starts = [parse_time(obj.get("startedAt"))]
    starts += [parse_time(p.get("startedAt")) for p in obj.get("pods", ())]
    known = [s for s in starts if s is not None]
    if not known:
        return ""
    end = parse_time(obj.get("finishedAt")) or now
    return span(end - min(known))


def workloads(
    objects: list[dict[str, Any]], facts: Mapping[str, Any], now: float
) -> dict[str, list[dict[str, Any]]]:
    """Rows per spec kind: the object standing for each spec, its spec facts, the rest."""
    by_source: dict[str, list[dict[str, Any]]] = {}
    for obj in objects:
        by_source.setdefault(str(obj.get("source") or f"{obj['kind']}.{obj['name']}"), []).append(
            obj
        )
    rows: dict[str, list[dict[str, Any]]] = {"Notebook": [], "Training": [], "Pipeline": []}
    others: list[dict[str, Any]] = []
    for source, group in sorted(by_source.items()):
        spec_kind, _, name = source.partition(".")
        if spec_kind not in rows:
            others.extend(group)
            continue
        main = _primary(spec_kind, group)
        fact = (facts.get(spec_kind.lower() + "s") or {}).get(name, {})
        row = {**main, "spec": name, "fact": fact, "parts": [o for o in group if o is not main]}
        if spec_kind == "Training":
            row["duration"] = _duration(main, now)
        if spec_kind == "Pipeline":
            row["words"] = schedule_words(str(fact.get("cron") or ""))
            row["runs"] = _runs(main, row["parts"])
        rows[spec_kind].append(row)
    return {**rows, "others": others}


def _runs(main: Mapping[str, Any], parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CronWorkflow's runs, plus rendered backfill Workflows it does not list; newest first."""
    runs = list(main.get("runs", ()))
    known = {r["name"] for r in runs}
    runs += [r for r in _backfill_runs(parts) if r["name"] not in known]
    return sorted(runs, key=lambda r: str(r.get("startedAt") or ""), reverse=True)[:10]


def _backfill_runs(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rendered Workflows (backfill runs) as runs."""
    return [
        {
            "name": o["name"],
            "phase": o.get("phase") or o.get("health"),
            "startedAt": o.get("startedAt", ""),
        }
        for o in parts
        if o["kind"] == "Workflow"
    ]


def _bar(
    used: float | None, quota: float | None, capacity: float | None, resource: str
) -> dict[str, Any]:
    return {
        "resource": resource,
        "used": used,
        "quota": quota,
        "capacity": capacity,
        "usedText": amount(resource, used),
        "quotaText": amount(resource, quota),
        "capacityText": amount(resource, capacity),
        "over": used is not None and quota is not None and used > quota,
    }


def _group_resources(group: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(dimension, resource name in pod requests)`` of a group (GPUs by its GPU resource)."""
    found = [("cpu", "cpu"), ("memory", "memory")]
    if group.get("gpuResource"):
        found.append(("gpu", str(group["gpuResource"])))
    return found


def quota_bars(
    target: Target,
    facts: Mapping[str, Any],
    platform: Mapping[str, Any],
    usage: Mapping[str, Any] | None,
) -> list[dict[str, Any]]:
    """Used / quota / capacity per resource, per group of the target's cluster with quota.

    ``used`` is None when the cluster was not read.
    """
    found = []
    quota: Mapping[str, Any] = facts.get("quota") or {}
    for group in platform.get("resourceGroups") or ():
        if group["cluster"] != target.cluster or group["name"] not in quota:
            continue
        share, capacity = quota[group["name"]], group["capacity"]
        held = (usage or {}).get(group["name"], {})
        bars = [
            _bar(
                None if usage is None else float(held.get(resource, 0.0)),
                quantity(share.get(dim, 0)),
                quantity(capacity.get(dim, 0)),
                dim,
            )
            for dim, resource in _group_resources(group)
        ]
        found.append({"group": group["name"], "gpuType": group.get("gpuType", ""), "bars": bars})
    return found


def resource_groups(
    snapshot: Mapping[str, Any], around: Mapping[Target, Mapping[str, Any]], visible: Visible
) -> dict[str, Any]:
    """Per cluster and group: capacity, the quotas summed, the usage, and who holds what."""
    platform: Mapping[str, Any] = snapshot.get("platform") or {}
    listed = projects(snapshot)
    unreachable = {
        t["cluster"]: (t.get("health") or {}).get("error")
        for t in snapshot.get("targets", [])
        if (t.get("health") or {}).get("error")
    }
    read_clusters = {t.cluster for t in around}
    clusters = []
    for cluster in platform.get("clusters") or ():
        groups = [
            _group_view(
                g, around, listed, visible, cluster in read_clusters and cluster not in unreachable
            )
            for g in platform.get("resourceGroups") or ()
            if g["cluster"] == cluster
        ]
        clusters.append({"name": cluster, "groups": groups, "error": unreachable.get(cluster, "")})
    return {"clusters": clusters, "known": bool(platform)}


def _group_view(
    group: Mapping[str, Any],
    around: Mapping[Target, Mapping[str, Any]],
    listed: Mapping[str, Mapping[str, Any]],
    visible: Visible,
    read: bool,
) -> dict[str, Any]:
    name, capacity = group["name"], group["capacity"]
    resources = _group_resources(group)
    used_by: dict[str, dict[str, float]] = {}
    for target, facts in around.items():
        if target.cluster != group["cluster"]:
            continue
        held = (facts.get("usage") or {}).get(name) or {}
        sums = used_by.setdefault(target.project, {})
        for dim, resource in resources:
            sums[dim] = sums.get(dim, 0.0) + float(held.get(resource, 0.0))
    quota: Mapping[str, Mapping[str, Any]] = group.get("quota") or {}
    holders: list[dict[str, Any]] = []
    hidden_quota = dict.fromkeys(DIMENSIONS, 0.0)
    hidden_used = dict.fromkeys(DIMENSIONS, 0.0)
    hidden_count = 0
    for project in sorted(set(quota) | {p for p, u in used_by.items() if any(u.values())}):
        q = {dim: quantity(quota.get(project, {}).get(dim, 0)) or 0.0 for dim, _ in resources}
        u = used_by.get(project, {})
        if project in listed and visible(listed[project]):
            holders.append(
                {
                    "project": project,
                    "cells": [
                        {
                            "quota": amount(d, q[d]),
                            "used": amount(d, u.get(d, 0.0)) if read else "?",
                        }
                        for d, _ in resources
                    ],
                }
            )
        else:  # not the person's project: counted, not named
            hidden_count += 1
            for d, _ in resources:
                hidden_quota[d] += q[d]
                hidden_used[d] += u.get(d, 0.0)
    totals = {d: sum(quantity(quota[p].get(d, 0)) or 0.0 for p in quota) for d, _ in resources}
    used = {d: sum(u.get(d, 0.0) for u in used_by.values()) for d, _ in resources}
    return {
        "name": name,
        "gpuType": group.get("gpuType", ""),
        "bars": [
            {
                **_bar(used[d] if read else None, totals[d], quantity(capacity.get(d, 0)), d),
            }
            for d, _ in resources
        ],
        "holders": holders,
        "hidden": {
            "count": hidden_count,
            "cells": [
                {
                    "quota": amount(d, hidden_quota[d]),
                    "used": amount(d, hidden_used[d]) if read else "?",
                }
                for d, _ in resources
            ],
        },
        "dimensions": [d for d, _ in resources],
        "read": read,
    }
