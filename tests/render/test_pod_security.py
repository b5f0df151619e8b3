"""Every pod the example platform renders meets Pod Security `restricted`, and mounts only claims
its own target renders (homes exist exactly where a workload of their person mounts them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mofang_gitops.manifests import RenderedTarget
from mofang_gitops.rendering import render_repo
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo

ROOT = Path(__file__).resolve().parents[2]
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


@pytest.fixture(scope="module")
def example() -> list[RenderedTarget]:
    validation = validate_repo(load_repo(DirectoryTree(ROOT)))
    assert validation.errors == []
    return render_repo(validation)


def _bodies(value: Any) -> Iterator[dict[str, Any]]:
    """Every mapping inside ``value``, also inside Argo resource steps' manifests (text)."""
    if isinstance(value, dict):
        yield value
        for key, item in value.items():
            if key == "manifest" and isinstance(item, str):
                yield from _bodies(yaml.safe_load(item))
            else:
                yield from _bodies(item)
    elif isinstance(value, list):
        for item in value:
            yield from _bodies(item)


def _pod_specs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Pod specs (``containers``) and Argo container templates (``container``)."""
    return [d for d in _bodies(body) if "containers" in d or "container" in d]


def test_every_rendered_pod_runs_non_root_without_privileges(example: list[RenderedTarget]) -> None:
    checked = 0
    for target in example:
        for manifest in target.manifests:
            for spec in _pod_specs(manifest.body):
                where = f"{target.target} {manifest.ref}"
                context = spec["securityContext"]
                assert context["runAsNonRoot"] is True, where
                assert context["runAsUser"] == 1000, where
                assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
                containers = spec.get("containers") or [spec["container"]]
                for container in containers:
                    assert container["securityContext"] == RESTRICTED_CONTAINER, where
                    checked += 1
                assert not {"hostNetwork", "hostPID", "hostIPC"} & set(spec), where
                assert all("hostPath" not in v for v in spec.get("volumes", [])), where
    assert checked > 40  # notebooks, every training framework, pipeline steps


def test_pods_mount_only_claims_their_target_renders(example: list[RenderedTarget]) -> None:
    for target in example:
        claims = {m.ref.name for m in target.manifests if m.ref.kind == "PersistentVolumeClaim"}
        mounted = {
            d["persistentVolumeClaim"]["claimName"]
            for m in target.manifests
            for d in _bodies(m.body)
            if isinstance(d.get("persistentVolumeClaim"), dict)
        }
        assert mounted <= claims, (target.target, mounted - claims)
        homes = {c for c in claims if c.startswith("user-")}
        assert homes == {c for c in mounted if c.startswith("user-")}, target.target
