"""The pull-request workflow runs the tool of the base revision, never the pull request's code.

A PR that edits ``mofang_gitops/`` must not be able to forge its own preview: the workflow file
is parsed and its shape checked (which checkout is installed, which job may write to the PR).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "mofang-gitops.yml"


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def _checkouts(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``with`` of each actions/checkout step, by its path."""
    return {
        step["with"]["path"]: step["with"]
        for step in job["steps"]
        if str(step.get("uses", "")).startswith("actions/checkout@")
    }


def _runs(job: dict[str, Any]) -> list[str]:
    return [str(step["run"]) for step in job["steps"] if "run" in step]


def test_the_tool_is_installed_from_the_base_checkout_and_reads_the_head_as_data() -> None:
    workflow = _workflow()
    preview = workflow["jobs"]["preview"]
    checkouts = _checkouts(preview)
    assert checkouts["base"]["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert checkouts["head"]["ref"] == "${{ github.event.pull_request.head.sha }}"
    assert all(c.get("persist-credentials") is False for c in checkouts.values())
    installs = [run for run in _runs(preview) if "pip install" in run]
    assert installs == ["pip install ./base"]
    tool_runs = [run for run in _runs(preview) if "mofang-gitops " in run]
    assert tool_runs and all("mofang-gitops --repo head " in run for run in tool_runs)
    # Nothing of the head checkout is executed or installed.
    assert not any("head/" in run or "./head" in run for run in _runs(preview))


def test_the_preview_reads_the_pull_requests_head_commit_from_git() -> None:
    """``--head`` names the checked-out head commit: the same bytes, read by content id."""
    preview = _workflow()["jobs"]["preview"]
    step = next(s for s in preview["steps"] if s.get("id") == "preview")
    assert step["env"]["HEAD_SHA"] == "${{ github.event.pull_request.head.sha }}"
    assert _checkouts(preview)["head"]["ref"] == step["env"]["HEAD_SHA"]
    assert '--head "${HEAD_SHA}"' in step["run"] and "diff --base" in step["run"]


def test_only_a_job_that_runs_no_repository_code_may_write_to_the_pull_request() -> None:
    workflow = _workflow()
    assert workflow["permissions"] == {"contents": "read"}
    writers = {
        name: job
        for name, job in workflow["jobs"].items()
        if "write" in (job.get("permissions") or {}).values()
    }
    assert set(writers) == {"comment"}
    comment = writers["comment"]
    assert comment["permissions"] == {"pull-requests": "write"}
    assert not _checkouts(comment) and not _runs(comment)
    uses = {str(step.get("uses", "")).split("@")[0] for step in comment["steps"]}
    assert uses == {"actions/download-artifact", "actions/github-script"}
    assert workflow["jobs"]["preview"]["permissions"] == {"contents": "read"}
