"""Read-only web status pages for teams, rendered server-side from the controller's status board.

The controller's internal listener hands GET requests for ``/``, ``/projects/<name>``,
``/resource-groups`` and ``/static/...`` to :class:`Site`; the pages are built from the same
snapshot as ``/status`` plus each object's full health, Events and usage. Nothing here talks to a
cluster or to git, so a page can never change anything and never sees a Secret. ``views``
decides what a page shows, ``formats`` how a value reads, ``people`` who is asking (the optional
per-user view).
"""

from mofang_gitops.web.pages import SECURITY_HEADERS, Board, Response, Site
from mofang_gitops.web.people import JwtKeys, PerUser

__all__ = ["SECURITY_HEADERS", "Board", "JwtKeys", "PerUser", "Response", "Site"]
