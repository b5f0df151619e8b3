"""Read-only web status pages for teams, rendered server-side from the controller's status board.

The controller's internal listener hands GET requests for ``/``, ``/projects/<name>`` and
``/static/...`` to :class:`Site`; the pages are built from the same snapshot as ``/status`` plus
each object's full health. Nothing here talks to git or a cluster, so a page can never change
anything and never sees a Secret.
"""

from mofang_gitops.web.pages import SECURITY_HEADERS, Response, Site

__all__ = ["SECURITY_HEADERS", "Response", "Site"]
