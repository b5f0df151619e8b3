"""The project and resource-group pages from a board filled the way the controller fills it.

Facts come from ``controller.facts`` over a real validated repository (tests/testdata/minimal),
health values from the health model, so the pages are checked on the shapes the controller
really produces: commit subject, author and age; notebook owner; training framework and
duration; schedule in words; Events Warning first; used / quota / capacity per group; the last
apply's change set; the resource-groups page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from mofang_gitops.controller.facts import platform_facts, project_facts
from mofang_gitops.controller.statuses import StatusBoard, SyncState, TargetStatus
from mofang_gitops.health import EventNote, GroupUse, Health, ObjectHealth, TargetHealth, Verdict
from mofang_gitops.health.model import PodPlacement, Run
from mofang_gitops.manifests import Target
from mofang_gitops.sources.loading import load_repo
from mofang_gitops.sources.trees import DirectoryTree
from mofang_gitops.validation.repository import validate_repo
from mofang_gitops.web import Site
from tests.scenarios import build_repo

SCRIPT = "<script>alert(1)</script>"
NOW = 1_800_000_000.0
SHA = "f" * 40
BACKFILL = "daily-features-backfill-20261101"


def _obj(kind: str, name: str, source: str, verdict: Verdict) -> ObjectHealth:
    return ObjectHealth(
        cluster="central",
        environment="prod",
        project="vision",
        kind=kind,
        namespace="vision",
        name=name,
        source=source,
        verdict=verdict,
    )


@pytest.fixture
def board(tmp_path: Path) -> StatusBoard:
    validation = validate_repo(load_repo(DirectoryTree(build_repo(tmp_path))))
    assert not validation.errors, validation.errors
    board = StatusBoard()
    board.set_fact("revision", SHA)
    board.set_fact("projects", project_facts(validation))
    board.set_fact("platform", platform_facts(validation))
    board.set_fact(
        "commits",
        {
            SHA: {
                "sha": SHA,
                "subject": f"raise quota {SCRIPT}",
                "author": "Zhang San",
                "time": NOW - 7200,
            }
        },
    )
    target = Target("prod", "central", "vision")
    board.put(
        TargetStatus(
            target,
            SyncState.SYNCED,
            SHA,
            counts={"created": 2, "unchanged": 30},
            changes=(
                ("created", "StatefulSet/vision/bob-dev", ""),
                ("created", "MPIJob/vision/resnet50", ""),
            ),
        )
    )
    pods = (
        PodPlacement(
            name="resnet50-worker-0",
            phase="Succeeded",
            node="gpu-a100-0",
            resource_group="gpu-a100",
            started_at="2027-01-15T07:00:00Z",
        ),
    )
    board.put_health(
        TargetHealth(
            environment="prod",
            cluster="central",
            project="vision",
            objects=(
                _obj(
                    "StatefulSet", "bob-dev", "Notebook.bob-dev", Verdict(Health.HEALTHY, "Ready")
                ),
                _obj("Service", "bob-dev", "Notebook.bob-dev", Verdict(Health.HEALTHY, "")),
                _obj(
                    "MPIJob",
                    "resnet50",
                    "Training.resnet50",
                    Verdict(
                        Health.HEALTHY,
                        "Succeeded",
                        phase="Succeeded",
                        started_at="2027-01-15T07:00:00Z",
                        finished_at="2027-01-15T07:42:30Z",
                        pods=pods,
                    ),
                ),
                _obj(
                    "CronWorkflow",
                    "daily-features",
                    "Pipeline.daily-features",
                    Verdict(
                        Health.HEALTHY,
                        "scheduled",
                        next_runs=("2027-01-16T18:00:00Z",),
                        runs=(
                            Run(
                                name=BACKFILL, phase="Succeeded", started_at="2026-11-01T00:00:00Z"
                            ),
                        ),
                    ),
                ),
                _obj(
                    "Workflow",
                    BACKFILL,
                    "Pipeline.daily-features",
                    Verdict(Health.HEALTHY, "Succeeded", phase="Succeeded"),
                ),
                _obj(
                    "Workflow",
                    "daily-features-backfill-20261102",
                    "Pipeline.daily-features",
                    Verdict(Health.PROGRESSING, "Pending", phase="Pending"),
                ),
            ),
            events=(
                EventNote(
                    type="Warning",
                    reason="FailedCreate",
                    object="MPIJob/resnet50",
                    message=f"exceeded quota {SCRIPT}",
                    time="2027-01-15T07:00:00Z",
                ),
                EventNote(
                    type="Normal",
                    reason="Scheduled",
                    object="Pod/bob-dev-0",
                    message="assigned",
                    time="2027-01-15T07:59:00Z",
                ),
            ),
            usage=(
                GroupUse(
                    group="gpu-a100",
                    requests=(("cpu", 16.0), ("memory", 128 * 2.0**30), ("nvidia.com/gpu", 4.0)),
                ),
                GroupUse(group="cpu-general", requests=(("cpu", 1.0), ("memory", 2 * 2.0**30))),
            ),
        )
    )
    return board


@pytest.fixture
def site(board: StatusBoard) -> Site:
    return Site(board, clock=lambda: NOW)


def _text(site: Site, path: str) -> str:
    page = site.get(path)
    assert page.status == 200, page.body[:300]
    return page.body.decode()


def _plain(text: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_revision_shows_short_sha_subject_author_and_age_with_the_subject_escaped(
    site: Site,
) -> None:
    for path in ("/", "/projects/vision"):
        text = _text(site, path)
        assert "<script>alert" not in text
        assert html.escape(f"raise quota {SCRIPT}", quote=False) in text
        plain = _plain(text)
        assert "fffffff raise quota <script>alert(1)</script> by Zhang San , 2h ago" in plain


def test_project_page_shows_owner_framework_duration_schedule_words_and_changes(site: Site) -> None:
    plain = _plain(_text(site, "/projects/vision"))
    assert "bob-dev bob gpu-a100 Healthy" in plain  # notebook: owner and group
    assert "resnet50 MPIJob horovod Healthy Succeeded" in plain  # training: framework
    assert "42m 30s" in plain  # started 07:00:00, finished 07:42:30
    assert "At 02:00 0 2 * * * Asia/Shanghai" in plain  # schedule in words next to the cron
    assert "created StatefulSet/vision/bob-dev" in plain and "created 2, unchanged 30" in plain


def test_events_come_warning_first_and_stay_inert(site: Site) -> None:
    text = _text(site, "/projects/vision")
    events = text[text.index('class="events"') :]
    assert events.index("FailedCreate") < events.index("Scheduled")
    assert "<script>alert" not in events and "exceeded quota &lt;script&gt;" in events


def test_quota_bars_set_usage_against_quota_and_group_capacity(site: Site) -> None:
    plain = _plain(_text(site, "/projects/vision"))
    # minimal: vision holds gpu-a100 {cpu 32, memory 256Gi, gpu 8} of {64, 512Gi, 16}
    assert "cpu 16 used / 32 quota / 64 capacity" in plain
    assert "memory 128Gi used / 256Gi quota / 512Gi capacity" in plain
    assert "gpu 4 used / 8 quota / 16 capacity" in plain
    assert "cpu 1 used / 16 quota / 128 capacity" in plain  # cpu-general


def test_resource_groups_page_sums_quotas_and_usage_and_names_holders(site: Site) -> None:
    text = _text(site, "/resource-groups")
    plain = _plain(text)
    assert "Cluster central" in plain
    group = _plain(text[text.index('id="group-gpu-a100"') : text.index('id="group-cpu-general"')])
    assert "gpu 4 used / 8 quota / 16 capacity" in group
    assert "vision 32 16 256Gi 128Gi 8 4" in group
    assert 'href="/projects/vision"' in text


def test_resource_groups_page_without_a_pass_says_so() -> None:
    text = Site(StatusBoard()).get("/resource-groups").body.decode()
    assert "No platform read yet" in text


def test_unreachable_cluster_shows_usage_as_unknown_not_zero(board: StatusBoard) -> None:
    board.put_health(
        TargetHealth("prod", "central", "vision", objects=(), error="cluster unreachable: refused")
    )
    site = Site(board, clock=lambda: NOW)
    groups = _plain(_text(site, "/resource-groups"))
    assert "Cluster unreachable" in groups and "? used / 8 quota / 16 capacity" in groups
    project = _plain(_text(site, "/projects/vision"))
    assert "Cluster unreachable" in project


def test_pipeline_runs_list_each_backfill_run_once(site: Site) -> None:
    text = _text(site, "/projects/vision")
    pipelines = _plain(
        text[text.index('class="pipelines"') : text.index('id="prod-central-quota"')]
    )
    assert (
        pipelines.count(BACKFILL) == 1 and "daily-features-backfill-20261102: Pending" in pipelines
    )
