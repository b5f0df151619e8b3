"""The web pages rendered from a real status board: escaping, filters, empty and error states."""

from __future__ import annotations

import html

import pytest

from mofang_gitops.controller.statuses import StatusBoard, SyncState, TargetStatus
from mofang_gitops.health import Health, ObjectHealth, QuotaUse, TargetHealth, Verdict
from mofang_gitops.manifests import Target
from mofang_gitops.web import SECURITY_HEADERS, Site
from mofang_gitops.web.formats import http_url, quantity, relative

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
NOW = 1_800_000_000.0


def _obj(name: str, source: str, verdict: Verdict) -> ObjectHealth:
    return ObjectHealth(
        cluster="central",
        environment="prod",
        project="vision",
        kind="StatefulSet",
        namespace="vision",
        name=name,
        source=source,
        verdict=verdict,
    )


@pytest.fixture
def board() -> StatusBoard:
    board = StatusBoard()
    board.set_fact("revision", "a" * 40)
    board.set_fact("branch", "main")
    board.set_fact(
        "projects",
        {
            "vision": {"description": f"vision {SCRIPT}", "owners": ["alice"], "members": []},
            "nlp": {"description": "text", "owners": ["bob"], "members": ["alice"]},
        },
    )
    board.set_fact("invalidProjects", {"speech": [f"projects/speech/project.yaml:3:1: {IMG}"]})
    vision = Target("prod", "central", "vision")
    board.put(
        TargetStatus(vision, SyncState.OUT_OF_SYNC, "b" * 40, problems=(f"x.yaml:2:1: {IMG}",))
    )
    board.put(TargetStatus(Target("prod", "edge", "vision"), SyncState.FAILED, "c" * 40))
    board.put(TargetStatus(Target("prod", "central", "nlp"), SyncState.SYNCED, "d" * 40))
    board.put_health(
        TargetHealth(
            environment="prod",
            cluster="central",
            project="vision",
            objects=(
                _obj(
                    "bob-dev",
                    "Notebook.bob-dev",
                    Verdict(Health.HEALTHY, SCRIPT, url="javascript:alert(3)"),
                ),
                _obj(
                    "quota",
                    "Quota.vision",
                    Verdict(Health.HEALTHY, "ok", quota=(QuotaUse("requests.cpu", "500m", "2"),)),
                ),
            ),
        )
    )
    board.put_health(
        TargetHealth("prod", "edge", "vision", objects=(), error="connection refused to edge")
    )
    return board


@pytest.fixture
def site(board: StatusBoard) -> Site:
    return Site(board, clock=lambda: NOW)


def _text(site: Site, path: str, query: str = "") -> str:
    page = site.get(path, query)
    assert page.status == 200, page.body[:300]
    return page.body.decode()


def test_strings_from_git_and_cluster_are_escaped_on_every_page(site: Site) -> None:
    for path in ("/", "/projects/vision", "/projects/speech"):
        text = _text(site, path)
        assert "<script>alert" not in text and "<img src=x" not in text
    assert html.escape(SCRIPT, quote=False) in _text(site, "/")
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in _text(site, "/projects/speech")
    assert "javascript:" not in _text(site, "/projects/vision")


def test_overview_filters_by_state_team_and_search(site: Site) -> None:
    def shown(query: str) -> set[str]:
        text = _text(site, "/", query)
        return {p for p in ("vision", "nlp", "speech") if f'data-project="{p}"' in text}

    assert shown("") == {"vision", "nlp", "speech"}
    assert shown("state=Synced") == {"nlp"}
    assert shown("state=Invalid") == {"speech"}
    assert shown("team=alice") == {"vision", "nlp"}
    assert shown("q=TEXT") == {"nlp"}
    assert "No project matches these filters." in _text(site, "/", "q=nothing-like-this")


def test_unreachable_cluster_is_shown_as_such_not_as_empty(site: Site) -> None:
    overview, project = _text(site, "/"), _text(site, "/projects/vision")
    assert "cluster unreachable" in overview and "connection refused to edge" in overview
    assert "Cluster unreachable" in project and "connection refused to edge" in project


def test_project_page_shows_the_namespace_quota_and_missing_projects_404(site: Site) -> None:
    text = _text(site, "/projects/vision")
    assert "requests.cpu" in text and "500m / 2" in text
    assert "bbbbbbb" in text and "Last apply" in text
    assert site.get("/projects/nope").status == 404
    assert site.get("/static/../pages.py").status == 404
    assert site.get("/static/page.css").content_type.startswith("text/css")


def test_empty_board_says_no_pass_yet() -> None:
    board = StatusBoard()
    text = Site(board).get("/").body.decode()
    assert "has not finished a reconcile pass" in text


def test_security_headers_forbid_inline_script_and_framing() -> None:
    headers = dict(SECURITY_HEADERS)
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and headers["X-Content-Type-Options"] == "nosniff"


def test_helpers_parse_times_quantities_and_urls() -> None:
    assert relative(90) == "1m ago" and relative(-7200) == "in 2h" and relative(3) == "3s ago"
    assert quantity("500m") == 0.5 and quantity("2Gi") == 2 * 2**30 and quantity("x") is None
    assert http_url("https://nb.example/x") == "https://nb.example/x"
    assert http_url("JavaScript:alert(1)") == ""
