"""Which rule judges which kind, and the verdict for an object that is not there or breaks a rule.

Kinds without a rule are configuration (RBAC, Services, templates, LimitRanges): present is
healthy. A rule that raises on an unexpected status shape gives Unknown for that object only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from mofang_gitops.health.model import Health, Verdict
from mofang_gitops.health.platform import (
    claim,
    cron_workflow,
    present,
    queue,
    resource_quota,
    workflow,
)
from mofang_gitops.health.workloads import (
    Related,
    experiment,
    kubeflow_job,
    notebook,
    ray_job,
    spark_application,
    tensorboard,
    volcano_job,
)

log = logging.getLogger(__name__)

Rule = Callable[[Mapping[str, Any], Related], Verdict]

RULES: dict[tuple[str, str], Rule] = {
    ("apps", "StatefulSet"): notebook,
    ("apps", "Deployment"): tensorboard,
    ("kubeflow.org", "TFJob"): kubeflow_job,
    ("kubeflow.org", "PyTorchJob"): kubeflow_job,
    ("kubeflow.org", "XGBoostJob"): kubeflow_job,
    ("kubeflow.org", "MPIJob"): kubeflow_job,
    ("kubeflow.org", "Experiment"): experiment,
    ("ray.io", "RayJob"): ray_job,
    ("batch.volcano.sh", "Job"): volcano_job,
    ("sparkoperator.k8s.io", "SparkApplication"): spark_application,
    ("argoproj.io", "CronWorkflow"): cron_workflow,
    ("argoproj.io", "Workflow"): workflow,
    ("", "PersistentVolumeClaim"): claim,
    ("", "ResourceQuota"): resource_quota,
    ("scheduling.volcano.sh", "Queue"): queue,
}
"""``(API group, kind)`` -> rule. These kinds are what ``status`` shows."""

ONE_SHOT = frozenset(
    key
    for key, rule in RULES.items()
    if rule not in (notebook, tensorboard, cron_workflow, claim, resource_quota, queue)
)
"""Kinds that run to an end (trainings and Workflows): Healthy means Succeeded."""


def judge(
    group: str, kind: str, live: Mapping[str, Any] | None, related: Related, *, run: bool = False
) -> Verdict:
    """The verdict for one object (``live`` None: not in the cluster with our labels)."""
    if live is None:
        if run:
            reason = "not in the cluster: not applied yet, or removed after it finished (TTL)"
        else:
            reason = "not in the cluster: apply it"
        return Verdict(Health.MISSING, reason)
    rule = RULES.get((group, kind), present)
    try:
        return rule(live, related)
    except Exception as err:  # a surprising status must not hide the other objects' health
        log.warning(
            "%s %s: health rule failed: %s", kind, live.get("metadata", {}).get("name"), err
        )
        return Verdict(Health.UNKNOWN, f"cannot read its status: {err}")
