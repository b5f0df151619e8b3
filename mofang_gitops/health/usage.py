"""What a namespace's pods hold on each resource group: the quota's usage, split by group.

A ResourceQuota counts the requests of every pod not yet Succeeded or Failed, summed over the
namespace; it cannot say which resource group they sit on (a project's quota on one cluster is
the sum of its groups' shares). The pods can: each carries its group's node selector. So the
usage per group is the same sum, grouped by that selector, which the status page sets against
the project's quota on the group and the group's capacity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from mofang_gitops.health.below import resource_group
from mofang_gitops.health.model import GroupUse
from mofang_gitops.models.quantities import parse_quantity

DONE = ("Succeeded", "Failed")


def _amount(value: Any) -> Decimal:
    try:
        return parse_quantity(value)
    except (ValueError, InvalidOperation, TypeError):
        return Decimal(0)


def pod_requests(pod: Mapping[str, Any]) -> dict[str, Decimal]:
    """Requests of the pod's containers summed per resource (limits stand in, as the API does)."""
    total: dict[str, Decimal] = {}
    for container in (pod.get("spec") or {}).get("containers") or ():
        resources = container.get("resources") or {}
        wanted = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        for name, value in wanted.items():
            total[str(name)] = total.get(str(name), Decimal(0)) + _amount(value)
    return total


def group_usage(
    pods: Iterable[Mapping[str, Any]], groups: Mapping[str, Mapping[str, str]]
) -> tuple[GroupUse, ...]:
    """Requests of the pods still holding resources, per resource group (others left out)."""
    by_group: dict[str, dict[str, Decimal]] = {}
    for pod in pods:
        if (pod.get("status") or {}).get("phase") in DONE:
            continue
        group = resource_group(pod, groups)
        if not group:
            continue
        sums = by_group.setdefault(group, {})
        for name, amount in pod_requests(pod).items():
            sums[name] = sums.get(name, Decimal(0)) + amount
    return tuple(
        GroupUse(group=g, requests=tuple((r, float(v)) for r, v in sorted(sums.items())))
        for g, sums in sorted(by_group.items())
    )
