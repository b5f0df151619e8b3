"""The pages: routes, the security headers they are sent with, and the person asking.

A separate jinja2 Environment with autoescape on (the manifest templates in ``rendering`` keep it
off: they write YAML): every string from git or a cluster (descriptions, commit subjects,
problems, Event messages) is data, escaped when rendered. Links are built with ``urlencode``. No
inline script or style, so the Content-Security-Policy can forbid both (see docs/decisions.md).
What each page shows is decided in ``views``; this module only routes and renders.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol
from urllib.parse import parse_qs

import jinja2

from mofang_gitops.manifests import Target
from mofang_gitops.web import views
from mofang_gitops.web.formats import http_url, moment
from mofang_gitops.web.people import PerUser, UnidentifiedError, belongs

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
)
"""Sent with every page and static file."""

STATIC = {
    "page.css": "text/css; charset=utf-8",
    "refresh.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}
"""The only files under ``/static/`` (a fixed list: no path from the request reaches the disk)."""

HTML = "text/html; charset=utf-8"
GROUPS_PATH = "/resource-groups"


class Board(Protocol):
    """What the pages read (the controller's ``StatusBoard``): JSON data, copied."""

    def snapshot(self) -> dict[str, Any]:
        """Targets and controller-wide facts."""
        ...

    def objects(self, project: str) -> Mapping[Target, list[dict[str, Any]]]:
        """Every object's full health of ``project``, per target."""
        ...

    def around(self) -> Mapping[Target, Mapping[str, Any]]:
        """Per target: recent Events and requests per resource group."""
        ...


@dataclass(frozen=True)
class Response:
    """What the listener sends: status, body, content type (headers are SECURITY_HEADERS)."""

    status: int
    body: bytes
    content_type: str = HTML


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mofang_gitops", "templates/web"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    return env


class Site:
    """Every page, rendered per request from the board's current snapshot."""

    def __init__(
        self,
        board: Board,
        clock: Callable[[], float] = time.time,
        per_user: PerUser | None = None,
    ) -> None:
        self._board = board
        self._clock = clock
        self.per_user = per_user
        """When set, a person sees only the projects they own or belong to."""
        self._env = _environment()
        self._env.globals["when"] = lambda value: moment(value, self._clock())

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` is one of the pages (the listener routes the rest elsewhere)."""
        return path in ("/", GROUPS_PATH) or path.startswith(("/projects/", "/static/"))

    def get(
        self, path: str, query_string: str = "", headers: Mapping[str, str] | None = None
    ) -> Response:
        """Answer a GET for ``path`` (``headers`` by lower-case name, for the per-user view)."""
        if path.startswith("/static/"):
            return self._static(path[len("/static/") :])
        snapshot = self._board.snapshot()
        try:
            person, visible = self._viewer(snapshot, headers or {})
        except UnidentifiedError as e:
            return self._page(
                e.status,
                "error.html.j2",
                {"title": "Who are you?", "message": e.message},
                snapshot,
                None,
            )
        query = {k: v[-1] for k, v in parse_qs(query_string).items() if v}
        if path == "/":
            data = views.overview(snapshot, query, visible)
            return self._page(200, "overview.html.j2", data, snapshot, person)
        if path == GROUPS_PATH:
            data = views.resource_groups(snapshot, self._board.around(), visible)
            return self._page(200, "groups.html.j2", data, snapshot, person)
        name = path[len("/projects/") :].rstrip("/")
        projects = views.projects(snapshot)
        if name not in projects or not visible(projects[name]):
            message = f"no project {name[:100]!r}" + (" that you belong to" if person else "")
            return self._page(
                404, "error.html.j2", {"title": "Not found", "message": message}, snapshot, person
            )
        return self._page(
            200, "project.html.j2", self._project(projects[name], snapshot), snapshot, person
        )

    def not_found(self, path: str) -> Response:
        """The HTML 404 for a path no route serves."""
        data = {"title": "Not found", "message": f"no page {path[:100]!r}"}
        return self._page(404, "error.html.j2", data, {}, None)

    def _viewer(
        self, snapshot: Mapping[str, Any], headers: Mapping[str, str]
    ) -> tuple[str | None, views.Visible]:
        if self.per_user is None:
            return None, views.everyone
        auth = (snapshot.get("platform") or {}).get("auth") or {}
        person = self.per_user.person(headers, auth)
        return person, lambda project: belongs(person, project)

    def _project(self, project: dict[str, Any], snapshot: Mapping[str, Any]) -> dict[str, Any]:
        by_target = self._board.objects(project["name"])
        around = self._board.around()
        platform = snapshot.get("platform") or {}
        now = self._clock()
        sections = []
        for target in project["targets"]:
            key = Target(target["environment"], target["cluster"], project["name"])
            objects = by_target.get(key, [])
            near = around.get(key)
            read = key in by_target and not (target.get("health") or {}).get("error")
            sections.append(
                {
                    "target": target,
                    "health": target.get("health"),
                    **views.workloads(objects, project["facts"], now),
                    "quota": [
                        {**q, "object": obj["name"]}
                        for obj in objects
                        for q in obj.get("quota", [])
                    ],
                    "bars": views.quota_bars(
                        key, project["facts"], platform, (near or {}).get("usage") if read else None
                    ),
                    "events": (near or {}).get("events", []),
                    "read": key in by_target,
                }
            )
        return {"project": project, "sections": sections}

    # --- output -------------------------------------------------------------------------------

    def _page(
        self,
        status: int,
        template: str,
        data: dict[str, Any],
        snapshot: Mapping[str, Any],
        person: str | None,
    ) -> Response:
        html = self._env.get_template(template).render(
            **data,
            snapshot=snapshot,
            commits=snapshot.get("commits") or {},
            person=person,
            now=moment(self._clock(), self._clock()),
        )
        return Response(status, html.encode())

    @staticmethod
    def _static(name: str) -> Response:
        if name not in STATIC:
            return Response(404, b"not found\n", "text/plain; charset=utf-8")
        body = resources.files("mofang_gitops.web").joinpath("static", name).read_bytes()
        return Response(200, body, STATIC[name])
