"""The cluster adapter: the only module that imports ``kubernetes``.

Everything above this layer sees plain dicts and the ``errors.py`` hierarchy, never client models
or ``ApiException``. The Kubernetes client loads the kubeconfig (TLS, tokens and their renewal
hooks, proxy); requests go over this package's own keep-alive connections (``transport``), or
urllib3's proxy managers when a proxy applies, and bodies are (de)serialised here with the C
``json`` module: the generated models would cost seconds per thousand objects and add nothing to
server-side apply, which takes a plain JSON body.

Every request is counted by verb in :class:`RequestStats`, so callers (and tests, and the
benchmark) can prove that a no-op plan did no writes and no dry runs. Transient failures
(no answer, 429, 5xx, and 409 outside apply) are retried with bounded exponential backoff, within
a retry budget per pass, and every request waits for the client-side rate limit (``retrying``).
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from kubernetes.client import ApiClient, Configuration
from kubernetes.client.rest import should_bypass_proxies
from kubernetes.config import load_incluster_config, load_kube_config

from mofang_gitops.errors import ClusterError, ConflictError, InvalidObjectError, NotFoundError
from mofang_gitops.k8s.decoding import decode_body
from mofang_gitops.k8s.retrying import (
    DEFAULT_BURST,
    DEFAULT_QPS,
    DEFAULT_RETRY_BUDGET,
    RateLimiter,
    RetryBudget,
    RetryBudgetError,
    RetryPolicy,
    call_with_retry,
)
from mofang_gitops.k8s.transport import DirectTransport, tls_context
from mofang_gitops.manifests import MANAGER

log = logging.getLogger(__name__)

APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
READ_VERBS = frozenset({"get", "list", "discover"})
ObjectList = list[dict[str, Any]]
PageFilter = Callable[[ObjectList], ObjectList]
"""What to keep of one page of listed objects (``Cluster.list``'s ``keep``)."""


class RequestStats:
    """Thread-safe count of API requests by verb; dry runs are counted apart from writes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, verb: str, *, dry_run: bool = False) -> None:
        """Count one request."""
        with self._lock:
            self._counts[f"dry-run {verb}" if dry_run else verb] += 1

    def by_verb(self) -> dict[str, int]:
        """Return a snapshot of the counters, e.g. ``{"list": 12, "apply": 3}``."""
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self._counts.clear()

    @property
    def reads(self) -> int:
        """GETs, LISTs and discovery requests."""
        return sum(n for verb, n in self.by_verb().items() if verb in READ_VERBS)

    @property
    def writes(self) -> int:
        """Requests that may change the cluster (apply, delete), dry runs excluded."""
        counts = self.by_verb()
        return sum(n for v, n in counts.items() if v not in READ_VERBS and "dry-run" not in v)

    @property
    def dry_runs(self) -> int:
        """Server-side dry-run requests."""
        return sum(n for verb, n in self.by_verb().items() if verb.startswith("dry-run"))

    def __repr__(self) -> str:
        return f"RequestStats({self.by_verb()})"


@dataclass(frozen=True)
class ResourceInfo:
    """What discovery says about one kind: its REST plural and whether it is namespaced."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str = "", name: str = "") -> str:
        """REST path of the collection (``name`` empty) or of one object."""
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base = f"{base}/namespaces/{namespace}"
        path = f"{base}/{self.plural}"
        return f"{path}/{name}" if name else path


@dataclass(frozen=True)
class ApplyResult:
    """The object the server returned for an apply and whether the apply created it."""

    object: dict[str, Any]
    created: bool


@functools.lru_cache(maxsize=512)
def _query_string(query: tuple[tuple[str, str], ...]) -> str:
    """Encode a query; cached, since every apply sends the same few (field manager, force)."""
    return urlencode(query, quote_via=quote)


def object_id(cluster: str, kind: str, namespace: str, name: str) -> str:
    """``cluster:Kind/namespace/name`` (``cluster:Kind/name`` when cluster-scoped)."""
    return f"{cluster}:{kind}/{namespace}/{name}" if namespace else f"{cluster}:{kind}/{name}"


def _http_error(subject: str, status: int, body: Mapping[str, Any]) -> ClusterError:
    message = str(body.get("message") or body.get("reason") or f"HTTP {status}")
    if status == 404:
        return NotFoundError(subject, message, status)
    if status == 409:
        return ConflictError(subject, message, status)
    if status in (400, 422):
        return InvalidObjectError(subject, message, status)
    return ClusterError(subject, message, status)


class Cluster:
    """One Kubernetes cluster reached through a kubeconfig context.

    Discovery is cached for the life of the object (one run); call :meth:`invalidate_discovery`
    after installing CRDs. Methods raise :class:`~mofang_gitops.errors.ClusterError` subclasses
    whose subject is the object id ``cluster:Kind/namespace/name``.
    """

    def __init__(
        self,
        name: str,
        kubeconfig: str | Path | None = None,
        context: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        pool_size: int = 16,
        down_for: float = 10.0,
        in_cluster: bool = False,
        qps: float = DEFAULT_QPS,
        burst: int = DEFAULT_BURST,
        retry_budget: int = DEFAULT_RETRY_BUDGET,
    ) -> None:
        self.name = name
        self.in_cluster = in_cluster
        """Use the pod's ServiceAccount (a pipeline's wait step) instead of a kubeconfig."""
        self.kubeconfig = str(kubeconfig) if kubeconfig else None
        self.context = context
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.pool_size = pool_size
        self.down_for = down_for
        """After a request got no answer through all its retries, later requests fail at once
        for this many seconds instead of each retrying against a dead server."""
        self.limiter = RateLimiter(qps, burst)
        self.budget = RetryBudget(retry_budget)
        """Retries of every request until :meth:`start_pass`; once spent, requests fail unsent."""
        self.stats = RequestStats()
        self._timeouts = urllib3.Timeout(connect=10, read=timeout)
        self._lock = threading.Lock()
        self._client: Any = None
        self._direct: DirectTransport | None = None
        """Connections straight to the API server; ``None`` while a proxy is in the way."""
        self._groups: dict[str, dict[str, ResourceInfo]] = {}
        self._missing: set[tuple[str, str]] = set()
        self._group_locks: dict[str, threading.Lock] = {}
        self._down: tuple[float, ClusterError] | None = None

    def __repr__(self) -> str:
        return f"Cluster({self.name!r}, context={self.context!r})"

    def start_pass(self) -> None:
        """Give the next pass the whole retry budget (a long-lived client calls this per pass)."""
        self.budget.reset()

    # --- transport -------------------------------------------------------------------------------

    def _api(self) -> Any:
        with self._lock:
            if self._client is None:
                config = Configuration()
                try:
                    if self.in_cluster:
                        load_incluster_config(client_configuration=config)  # type: ignore[no-untyped-call]
                    else:
                        load_kube_config(  # type: ignore[no-untyped-call]
                            self.kubeconfig, self.context, client_configuration=config,
                            persist_config=False,
                        )  # fmt: skip
                except Exception as e:  # the loader raises several unrelated types
                    raise ClusterError(
                        self.name, f"cannot load kubeconfig context {self.context!r}: {e}"
                    ) from e
                config.retries = False  # retries are ours, with backoff
                config.connection_pool_maxsize = self.pool_size
                # The loader's token hook re-assigns ``host`` before every request, and while the
                # proxy counts as "from the environment" each assignment re-reads every proxy
                # variable (a walk over os.environ, ~0.3 ms a request). Pin the proxy the
                # environment gave for this host now; the hook still refreshes the token.
                config.proxy = config.proxy
                self._client = ApiClient(configuration=config)
            return self._client

    def _transport(self, config: Any) -> DirectTransport | None:
        """The direct transport for the configuration's current host, or ``None`` for urllib3.

        Rebuilt when the token hook moved the host; ``None`` (urllib3's pool) when a proxy
        applies to the host or the TLS settings ask for what the direct transport lacks.
        """
        host = config.host
        with self._lock:
            direct = self._direct
            if direct is not None and direct.base_url == host:
                return direct
            if config.proxy and not should_bypass_proxies(host, config.no_proxy or ""):
                return None
            tls = tls_context(config) if host.startswith("https:") else (None, None)
            if tls is None:
                return None
            if direct is not None:
                direct.close()
            self._direct = DirectTransport(
                host,
                tls=tls[0],
                server_hostname=tls[1],
                connect_timeout=10,
                read_timeout=self.timeout,
                pool_size=self.pool_size,
            )
            return self._direct

    def request(
        self,
        method: str,
        path: str,
        *,
        subject: str,
        verb: str,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
        dry_run: bool = False,
        retry_conflicts: bool = True,
    ) -> tuple[int, dict[str, Any]]:
        """Send one request (with retries); return status and decoded body, or raise."""
        self._api()  # a broken kubeconfig fails once here, not once per attempt
        down = self._down
        if down is not None and time.monotonic() < down[0]:
            raise ClusterError(
                subject, f"{method} {path}: not sent, no answer just before: {down[1]}"
            )
        spent = self.budget.exhausted
        if spent is not None:  # a storm: end the pass now instead of one failure per object
            raise RetryBudgetError(
                subject,
                f"{method} {path}: not sent, this pass used up its retry budget of "
                f"{self.budget.limit} (last failure: {spent})",
                spent.status,
            )

        def once() -> tuple[int, dict[str, Any]]:
            return self._send(method, path, subject, verb, query, body, content_type, dry_run)

        try:
            result = call_with_retry(
                once,
                self.retry,
                conflicts=retry_conflicts,
                what=f"{subject} ({method} {path})",
                budget=self.budget,
            )
        except ClusterError as err:
            if err.status == 0:
                self._down = (time.monotonic() + self.down_for, err)
            raise
        self._down = None
        return result

    def _send(
        self,
        method: str,
        path: str,
        subject: str,
        verb: str,
        query: list[tuple[str, str]] | None,
        body: Any,
        content_type: str,
        dry_run: bool,
    ) -> tuple[int, dict[str, Any]]:
        api = self._api()
        config = api.configuration
        query = list(query or [])
        if dry_run:
            query.append(("dryRun", "All"))
        headers = {"Accept": "application/json", "User-Agent": api.user_agent}
        # Asked per request: the kubeconfig loader's hook renews an expiring token (exec, OIDC)
        # and may re-assign the host, so the URL is built after it.
        for setting in config.auth_settings().values():
            headers[setting["key"]] = setting["value"]
        target = path + (f"?{_query_string(tuple(query))}" if query else "")
        if body is not None:
            headers["Content-Type"] = content_type
            if not isinstance(body, bytes | str):
                body = json.dumps(body).encode()
            elif isinstance(body, str):
                body = body.encode()
        direct = self._transport(config)
        self.limiter.acquire()
        self.stats.record(verb, dry_run=dry_run)
        try:
            if direct is not None:
                answer = direct.request(method, target, body, headers)
                status, raw, retry_after = answer.status, answer.data, answer.retry_after
            else:
                response = api.rest_client.pool_manager.request(
                    method, config.host + target, body=body, headers=headers,
                    timeout=self._timeouts, retries=False,
                )  # fmt: skip
                status, raw = response.status, response.data
                retry_after = response.headers.get("Retry-After")
        except (urllib3.exceptions.HTTPError, OSError) as e:
            raise ClusterError(subject, f"{method} {path}: no answer ({e})") from e
        except ValueError as e:  # a control character in the path or a header: never sent
            raise ClusterError(subject, f"{method} {path!r}: not sent: {e}", 400) from e
        if status >= 300:
            err = _http_error(subject, status, decode_body(raw))
            err.retry_after = retry_after  # type: ignore[attr-defined]
            raise err
        return status, decode_body(raw)

    # --- discovery -------------------------------------------------------------------------------

    def resource(self, api_version: str, kind: str) -> ResourceInfo:
        """Return the REST plural and scope of ``kind`` (cached; re-read once on a miss)."""
        cached = self._groups.get(api_version)
        if cached is not None and kind in cached:
            return cached[kind]
        with self._lock:
            group_lock = self._group_locks.setdefault(api_version, threading.Lock())
        with group_lock:  # one discovery request per group version, however many threads ask
            cached = self._groups.get(api_version)
            missing = (api_version, kind) in self._missing
            if cached is None or (kind not in cached and not missing):
                cached = self._discover(api_version)
        if kind not in cached:
            self._missing.add((api_version, kind))
            raise NotFoundError(
                f"{self.name}:{kind}", f"kind {kind} is not served by {api_version}", 404
            )
        return cached[kind]

    def _discover(self, api_version: str) -> dict[str, ResourceInfo]:
        path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        try:
            _, body = self.request(
                "GET", path, subject=f"{self.name}:{api_version}", verb="discover"
            )
        except NotFoundError:
            body = {}  # the group version is not served: every kind of it is missing
        kinds = {
            r["kind"]: ResourceInfo(api_version, r["kind"], r["name"], bool(r.get("namespaced")))
            for r in body.get("resources", ())
            if "/" not in r.get("name", "/")
        }
        with self._lock:
            self._groups[api_version] = kinds
        return kinds

    def invalidate_discovery(self) -> None:
        """Forget cached discovery (after CRDs were installed or removed)."""
        with self._lock:
            self._groups.clear()
            self._missing.clear()

    # --- reads -----------------------------------------------------------------------------------

    def list(
        self,
        api_version: str,
        kind: str,
        namespaces: Collection[str] | None = None,
        label_selector: str = "",
        *,
        page_size: int = 0,
        keep: PageFilter | None = None,
    ) -> ObjectList:
        """Return every object of ``kind`` in ``namespaces`` (all when None) matching the selector.

        One LIST per kind: a namespaced kind wanted in several namespaces is listed once
        cluster-wide and filtered here; only when that is forbidden (403) is it listed per
        namespace. Items get their ``apiVersion`` and ``kind`` back (LIST strips them).

        With ``page_size``, the list is read in pages of that many objects (``limit`` and
        ``continue``) and ``keep`` turns each page into what is kept of it as it arrives, so a
        caller that keeps little of each object never holds a whole large list at once.
        """
        info = self.resource(api_version, kind)
        wanted = set(namespaces) if namespaces is not None and info.namespaced else None
        if wanted is not None and len(wanted) == 1:
            reader = _PagedList(self, info, label_selector, page_size, keep)
            return reader.read(info.path(next(iter(wanted))))
        try:
            reader = _PagedList(self, info, label_selector, page_size, keep, wanted)
            return reader.read(info.path())
        except ClusterError as err:
            if err.status != 403 or wanted is None:
                raise
            log.info("%s:%s: cluster-wide LIST forbidden, listing per namespace", self.name, kind)
            reader = _PagedList(self, info, "", page_size, keep)
            return [o for ns in sorted(wanted) for o in reader.read(info.path(ns))]

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """Return one object, or None when it does not exist (use LIST for bulk reads)."""
        info = self.resource(api_version, kind)
        subject = object_id(self.name, kind, namespace, name)
        try:
            _, body = self.request("GET", info.path(namespace, name), subject=subject, verb="get")
        except NotFoundError:
            return None
        return body

    # --- writes ----------------------------------------------------------------------------------

    def apply(
        self, body: Mapping[str, Any], *, force: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        """Server-side apply ``body`` as field manager ``mofang-gitops``; return the result."""
        return self.server_side_apply(body, force=force, dry_run=dry_run).object

    def server_side_apply(
        self, body: Mapping[str, Any], *, force: bool = False, dry_run: bool = False
    ) -> ApplyResult:
        """Like :meth:`apply`, also telling whether the object was created (HTTP 201)."""
        meta = body.get("metadata", {})
        namespace, name = str(meta.get("namespace", "")), str(meta["name"])
        kind = str(body["kind"])
        info = self.resource(str(body["apiVersion"]), kind)
        query = [("fieldManager", MANAGER), ("force", "true" if force else "false")]
        status, result = self.request(
            "PATCH",
            info.path(namespace, name),
            subject=object_id(self.name, kind, namespace, name),
            verb="apply",
            query=query,
            body=json.dumps(body).encode(),
            content_type=APPLY_CONTENT_TYPE,
            dry_run=dry_run,
            retry_conflicts=False,
        )
        return ApplyResult(result, status == 201)

    def delete(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        name: str,
        *,
        uid: str = "",
        dry_run: bool = False,
    ) -> bool:
        """Delete one object (background propagation); False when it was already gone.

        With ``uid`` the server deletes only that incarnation of the object, so a same-named
        object created since the caller looked is never removed.
        """
        info = self.resource(api_version, kind)
        options: dict[str, Any] = {"propagationPolicy": "Background"}
        if uid:
            options["preconditions"] = {"uid": uid}
        try:
            self.request(
                "DELETE",
                info.path(namespace, name),
                subject=object_id(self.name, kind, namespace, name),
                verb="delete",
                body=options,
                dry_run=dry_run,
            )
        except NotFoundError:
            return False
        return True

    def ensure_namespace(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        """Create the namespace if needed (server-side apply: idempotent, one request)."""
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": dict(labels or {})},
        }
        self.apply(body, force=True)

    def close(self) -> None:
        """Release pooled connections."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
            if self._direct is not None:
                self._direct.close()
                self._direct = None


class _PagedList:
    """One LIST of one kind at one path, whole or page by page (``Cluster.list``)."""

    def __init__(
        self,
        cluster: Cluster,
        info: ResourceInfo,
        selector: str,
        page_size: int,
        keep: PageFilter | None,
        namespaces: set[str] | None = None,
    ) -> None:
        self.cluster = cluster
        self.info = info
        self.selector = selector
        self.page_size = page_size
        self.keep = keep
        self.namespaces = namespaces
        """Only objects in these namespaces are kept (a cluster-wide LIST filtered here)."""

    def read(self, path: str) -> ObjectList:
        """Every page of ``path``.

        A continuation the server no longer honours (410: its snapshot was compacted away)
        fails the read like any other error; the caller's next pass lists again. Starting over
        here would mean un-doing what ``keep`` already did with the earlier pages.
        """
        return self._pages(path, self.page_size)

    def _pages(self, path: str, page_size: int) -> ObjectList:
        kept: ObjectList = []
        token = ""
        subject = f"{self.cluster.name}:{self.info.kind}"
        while True:
            query = [("labelSelector", self.selector)] if self.selector else []
            if page_size > 0:
                query.append(("limit", str(page_size)))
            if token:
                query.append(("continue", token))
            _, body = self.cluster.request("GET", path, subject=subject, verb="list", query=query)
            kept.extend(self._page(body.get("items") or []))
            token = str((body.get("metadata") or {}).get("continue") or "")
            if page_size <= 0 or not token:
                return kept

    def _page(self, items: ObjectList) -> ObjectList:
        if self.namespaces is not None:
            items = [o for o in items if o.get("metadata", {}).get("namespace") in self.namespaces]
        for item in items:
            item["apiVersion"] = self.info.api_version
            item["kind"] = self.info.kind
        return self.keep(items) if self.keep is not None else items
