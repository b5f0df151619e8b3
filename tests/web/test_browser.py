"""The status pages in a real headless Chromium, served by the controller's own listener.

The board is filled by a real reconcile pass (real git remote, real engine, real API server) and a
real health read; the browser loads every page, follows links, filters, and must never run a
script or load an image planted in git.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mofang_gitops.controller.applier import EngineApplier
from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.webhooks import WebhookReceiver
from mofang_gitops.health import read_clusters
from tests.controller.gitrepos import Remote

pytestmark = pytest.mark.cluster

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
BAD_NOTEBOOK = (
    "apiVersion: mofang.io/v1alpha1\nkind: Notebook\nmetadata: {name: broken}\n"
    f"spec:\n  image: x\n  '{IMG}': {SCRIPT!r}\n"
)


class Served:
    def __init__(self, server: ControllerServer, vision: str, nlp: str) -> None:
        self.server, self.vision, self.nlp = server, vision, nlp
        self.url = server.internal_url


@pytest.fixture(scope="module")
def served(control_plane: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("web")
    prefix = f"web{tmp.name[-4:].replace('_', '')}"
    remote = Remote(tmp)
    env = remote.work / "environments/prod.yaml"
    env.write_text(env.read_text().replace('"{project}"', f'"{prefix}-{{project}}"'))
    project = remote.work / "projects/vision/project.yaml"
    text = project.read_text()
    assert "spec:\n" in text
    description = f"Vision team {SCRIPT} {IMG}"
    project.write_text(text.replace("spec:\n", f"spec:\n  description: {description!r}\n", 1))
    remote.write("projects/nlp/notebooks/broken.yaml", BAD_NOTEBOOK)
    remote.push(f"initial {SCRIPT} {IMG}")
    applier = EngineApplier(control_plane.kubeconfig, control_plane.name)
    options = ControllerOptions(remote.url, "main", tmp / "cache", interval=3600)
    controller = Controller(options, applier)
    controller.read_health = lambda targets: read_clusters(
        {t.target.cluster: applier.cluster_of(t.target) for t in targets},
        targets,
        controller.resource_groups,
    )
    assert controller.reconcile_once(), controller.board.snapshot()
    server = ControllerServer(("127.0.0.1", 0), controller, WebhookReceiver("github", b"s", "main"))
    server.start()
    yield Served(server, "vision", "nlp")
    server.shutdown()
    applier.close()


class Watched:
    """A page that records console errors, uncaught errors and dialogs."""

    def __init__(self, browser: Any) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, url: str) -> Any:
        response = self.page.goto(url, wait_until="load")
        assert response is not None
        return response


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    found = Watched(browser)
    yield found
    found.context.close()


def test_overview_loads_clean_shows_git_strings_literally_and_links_to_projects(
    served: Served, watched: Watched, screenshots: Path
) -> None:
    response = watched.open(served.url + "/")
    assert response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    page = watched.page
    page.screenshot(path=str(screenshots / "overview.png"), full_page=True)
    description = page.locator(".description").first.inner_text()
    assert SCRIPT in description and IMG in description
    row = page.locator(f'tr[data-project="{served.vision}"]').first
    subject = row.locator(".revision .subject").inner_text()
    assert subject == f"initial {SCRIPT} {IMG}"  # the commit subject, shown as text
    assert row.locator(".revision .author").inner_text() == "t"
    assert "ago" in row.locator(".revision time").inner_text()
    assert page.locator("img").count() == 0 and page.locator("main script").count() == 0
    problems = page.locator(f'tr[data-project="{served.nlp}"] .problems').inner_text()
    assert "projects/nlp/notebooks/broken.yaml:" in problems
    assert page.locator(".state-Synced").count() >= 1
    page.click(f'a.project-link:text-is("{served.vision}")')
    page.wait_for_load_state("load")
    assert page.url == f"{served.url}/projects/{served.vision}"
    assert page.locator("h1").inner_text() == served.vision
    assert watched.errors == [] and watched.dialogs == []


def test_project_page_lists_workloads_health_and_last_apply(
    served: Served, watched: Watched, screenshots: Path
) -> None:
    watched.open(f"{served.url}/projects/{served.vision}")
    page = watched.page
    page.screenshot(path=str(screenshots / "project.png"), full_page=True)
    section = page.locator("section.target").first
    assert "Synced" in section.locator("h2").inner_text()
    assert "bob-dev" in section.locator("table.notebooks").inner_text()
    assert "created" in section.inner_text()
    assert SCRIPT in page.locator(".description").inner_text()
    page.click("text=← All projects")
    page.wait_for_load_state("load")
    assert page.url == served.url + "/"
    assert watched.errors == [] and watched.dialogs == []


def test_filters_narrow_the_overview_without_javascript_tricks(
    served: Served, watched: Watched, screenshots: Path
) -> None:
    watched.open(served.url + "/")
    page = watched.page
    page.select_option("select[name=state]", "Invalid")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert "state=Invalid" in page.url
    rows = page.locator("tr.project-row")
    assert {rows.nth(i).get_attribute("data-project") for i in range(rows.count())} == {served.nlp}
    page.screenshot(path=str(screenshots / "overview-invalid.png"), full_page=True)
    page.fill("input[name=q]", "nothing-like-this")
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
    assert "No project matches these filters." in page.inner_text("main")
    page.goto(served.url + "/?q=VISION+TEAM")
    assert page.locator("tr.project-row").first.get_attribute("data-project") == served.vision
    assert page.locator(f'tr[data-project="{served.nlp}"]').count() == 0
    assert watched.errors == [] and watched.dialogs == []


def test_resource_groups_page_loads_clean_and_links_to_the_projects_holding_quota(
    served: Served, watched: Watched, screenshots: Path
) -> None:
    watched.open(served.url + "/")
    page = watched.page
    page.click("header nav >> text=Resource groups")
    page.wait_for_load_state("load")
    assert page.url == served.url + "/resource-groups"
    page.screenshot(path=str(screenshots / "resource-groups.png"), full_page=True)
    group = page.locator("article#group-gpu-a100")
    assert "64 capacity" in group.inner_text()  # tests/testdata/minimal: gpu-a100 has 64 cores
    group.locator(f'a:text-is("{served.vision}")').click()
    page.wait_for_load_state("load")
    assert page.url == f"{served.url}/projects/{served.vision}"
    assert watched.errors == [] and watched.dialogs == []


def test_unknown_project_is_a_clear_404_page(
    served: Served, watched: Watched, screenshots: Path
) -> None:
    response = watched.open(served.url + "/projects/no-such-project")
    assert response.status == 404
    assert "no project 'no-such-project'" in watched.page.inner_text("main")
    watched.page.screenshot(path=str(screenshots / "not-found.png"))
    assert watched.dialogs == []


def _raw(served: Served, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    host, port = served.server.internal.address
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_pages_are_read_only_and_head_matches_get(served: Served) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _ = _raw(served, method, "/")
        assert status == 405 and headers["allow"] == "GET, HEAD"
    status, get_headers, body = _raw(served, "GET", "/")
    head_status, head_headers, head_body = _raw(served, "HEAD", "/")
    assert (status, head_status) == (200, 200) and head_body == b"" and body
    assert head_headers["content-length"] == get_headers["content-length"]
    assert get_headers["x-content-type-options"] == "nosniff"
