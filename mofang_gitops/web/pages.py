"""The pages: routes, the data each template gets, and the security headers they are sent with.

A separate jinja2 Environment with autoescape on (the manifest templates in ``rendering`` keep it
off: they write YAML): every string from git or a cluster (descriptions, commit problems, reasons)
is data, escaped when rendered. Links are built with ``urlencode``. No inline script or style, so
the Content-Security-Policy can forbid both (see docs/decisions.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

import jinja2

from mofang_gitops.manifests import Target

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

STATES = ("Synced", "OutOfSync", "Failed", "Invalid")
HTML = "text/html; charset=utf-8"

Snapshot = Callable[[], dict[str, Any]]
Objects = Callable[[str], Mapping[Target, list[dict[str, Any]]]]


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


def http_url(value: Any) -> str:
    """``value`` if it is an http(s) URL, else "" (a ``javascript:`` link is dropped)."""
    text = str(value or "")
    return text if text.lower().startswith(("http://", "https://")) else ""


def relative(seconds_ago: float) -> str:
    """``5s ago``, ``3m ago``, ``2h ago``, ``4d ago`` (``in 3m`` for the future)."""
    future, n = seconds_ago < 0, abs(int(seconds_ago))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if n >= size:
            text = f"{n // size}{unit}"
            break
    else:
        text = f"{n}s"
    return f"in {text}" if future else f"{text} ago"


def parse_time(value: Any) -> float | None:
    """Epoch seconds from a number or an RFC 3339 string (as the API server writes them)."""
    if isinstance(value, int | float):
        return float(value) if value else None
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_SUFFIX = {
    "": 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def quantity(text: str) -> float | None:
    """A Kubernetes quantity as a number (``500m`` -> 0.5, ``2Gi`` -> 2147483648)."""
    found = _QUANTITY.match(text.strip())
    if not found or found.group(2) not in _SUFFIX:
        return None
    try:
        return float(found.group(1)) * _SUFFIX[found.group(2)]
    except ValueError:
        return None


class Site:
    """Every page, rendered per request from the board's current snapshot."""

    def __init__(
        self, snapshot: Snapshot, objects: Objects, clock: Callable[[], float] = time.time
    ) -> None:
        self._snapshot = snapshot
        self._objects = objects
        self._clock = clock
        self._env = _environment()
        self._env.globals["when"] = self._when

    @staticmethod
    def handles(path: str) -> bool:
        """Whether ``path`` is one of the pages (the listener routes the rest elsewhere)."""
        return path == "/" or path.startswith(("/projects/", "/static/"))

    def get(self, path: str, query_string: str = "") -> Response:
        """Answer a GET for ``path``."""
        if path.startswith("/static/"):
            return self._static(path[len("/static/") :])
        query = {k: v[-1] for k, v in parse_qs(query_string).items() if v}
        if path == "/":
            return self._page(200, "overview.html.j2", self._overview(query))
        name = path[len("/projects/") :].rstrip("/")
        projects = self._projects(self._snapshot())
        if name not in projects:
            return self._page(404, "error.html.j2", {"message": f"no project {name[:100]!r}"})
        return self._page(200, "project.html.j2", self._project(name, projects[name]))

    def not_found(self, path: str) -> Response:
        """The HTML 404 for a path no route serves."""
        return self._page(404, "error.html.j2", {"message": f"no page {path[:100]!r}"})

    # --- data ---------------------------------------------------------------------------------

    def _when(self, value: Any) -> dict[str, str]:
        """A time as ``{iso, rel}`` for ``<time>`` elements (empty when unknown)."""
        stamp = parse_time(value)
        if stamp is None:
            return {"iso": "", "abs": "", "rel": "never"}
        moment = datetime.fromtimestamp(stamp, UTC)
        return {
            "iso": moment.isoformat(timespec="seconds").replace("+00:00", "Z"),
            "abs": moment.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "rel": relative(self._clock() - stamp),
        }

    @staticmethod
    def _projects(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Per project: its facts at the head and its targets (stranded projects included)."""
        facts: dict[str, Any] = snapshot.get("projects") or {}
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
            entry["description"] = fact.get("description", "")
            entry["owners"] = fact.get("owners", [])
            entry["members"] = fact.get("members", [])
            states = [t["state"] for t in entry["targets"]] or ["Invalid"]
            entry["states"] = sorted(set(states))
            counts: dict[str, int] = {}
            for t in entry["targets"]:
                for health, n in ((t.get("health") or {}).get("counts") or {}).items():
                    counts[health] = counts.get(health, 0) + int(n)
            entry["counts"] = dict(sorted(counts.items()))
        return dict(sorted(found.items()))

    def _overview(self, query: dict[str, str]) -> dict[str, Any]:
        snapshot = self._snapshot()
        projects = list(self._projects(snapshot).values())
        state, team, search = query.get("state", ""), query.get("team", ""), query.get("q", "")
        if state:
            projects = [p for p in projects if state in p["states"]]
        if team:
            projects = [p for p in projects if team in p["owners"] or team in p["members"]]
        if search:
            needle = search.lower()
            projects = [
                p
                for p in projects
                if needle in p["name"].lower() or needle in p["description"].lower()
            ]
        teams = sorted({u for p in self._projects(snapshot).values() for u in p["owners"]})
        return {
            "snapshot": snapshot,
            "projects": projects,
            "filters": {"state": state, "team": team, "q": search},
            "states": STATES,
            "teams": teams,
            "filtered": bool(state or team or search),
        }

    def _project(self, name: str, project: dict[str, Any]) -> dict[str, Any]:
        by_target = self._objects(name)
        sections = []
        for target in project["targets"]:
            key = Target(target["environment"], target["cluster"], name)
            objects = by_target.get(key, [])
            groups: dict[str, list[dict[str, Any]]] = {}
            for obj in objects:
                spec_kind = str(obj.get("source", "")).partition(".")[0] or obj["kind"]
                groups.setdefault(spec_kind, []).append(obj)
            quota = [
                {
                    **q,
                    "object": obj["name"],
                    "usedValue": quantity(q["used"]),
                    "hardValue": quantity(q["hard"]),
                }
                for obj in objects
                for q in obj.get("quota", [])
            ]
            sections.append(
                {
                    "target": target,
                    "health": target.get("health"),
                    "notebooks": groups.pop("Notebook", []),
                    "trainings": groups.pop("Training", []),
                    "pipelines": groups.pop("Pipeline", []),
                    "others": [o for group in groups.values() for o in group],
                    "quota": quota,
                    "read": key in by_target,
                }
            )
        return {"project": project, "sections": sections, "snapshot": self._snapshot()}

    # --- output -------------------------------------------------------------------------------

    def _page(self, status: int, template: str, data: dict[str, Any]) -> Response:
        html = self._env.get_template(template).render(**data, now=self._when(self._clock()))
        return Response(status, html.encode())

    @staticmethod
    def _static(name: str) -> Response:
        if name not in STATIC:
            return Response(404, b"not found\n", "text/plain; charset=utf-8")
        body = resources.files("mofang_gitops.web").joinpath("static", name).read_bytes()
        return Response(200, body, STATIC[name])
