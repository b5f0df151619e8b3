"""``mofang-gitops controller``: reconcile a git branch into the clusters until stopped.

Wires the pieces: git fetch + reconcile loop (``controlling``), the engine (``controller_engine``),
the HTTP server (``controller_http``), Events and, with ``--leader-election``, a Lease so only one
replica applies. SIGTERM stops the loop after the current pass and releases the lease.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import ssl
from pathlib import Path
from types import FrameType

from mofang_gitops.controller.applier import PAGE_SIZE, ConfigMapState, EngineApplier
from mofang_gitops.controller.events import EventRecorder, HealthEventRecorder
from mofang_gitops.controller.http import ControllerServer
from mofang_gitops.controller.leader import LeaderElector, LeaseOptions
from mofang_gitops.controller.loop import Controller, ControllerOptions
from mofang_gitops.controller.webhooks import PROVIDERS, SIGNING_TOKEN_PREFIX, WebhookReceiver
from mofang_gitops.errors import UsageError
from mofang_gitops.health import read_clusters
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.k8s.retrying import DEFAULT_BURST, DEFAULT_QPS, DEFAULT_RETRY_BUDGET
from mofang_gitops.models.quantities import duration_seconds, parse_duration
from mofang_gitops.web import JwtKeys, PerUser

NAME = "controller"
HELP = "reconcile a git branch into the clusters continuously (webhooks, drift, leader election)"
EXAMPLE = (
    "mofang-gitops controller --repo-url https://git.example.com/platform.git --branch main "
    "--interval 60s --listen 0.0.0.0:8080 --metrics-listen 0.0.0.0:9090 "
    "--webhook-provider github --webhook-secret-file /etc/mofang/webhook-secret"
)
log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the controller's options."""
    parser.add_argument("--repo-url", required=True, help="git URL (file://, https://, ssh://)")
    parser.add_argument("--branch", default="main", help="branch to follow (default: main)")
    parser.add_argument("--interval", default="60s", help="poll and drift interval (default 60s)")
    parser.add_argument(
        "--listen",
        default="0.0.0.0:8080",
        metavar="HOST:PORT",
        help="public listener: webhooks, /healthz, /readyz (default 0.0.0.0:8080)",
    )
    parser.add_argument(
        "--metrics-listen",
        default="127.0.0.1:9090",
        metavar="HOST:PORT",
        help="internal listener: /status, /metrics, /healthz, /readyz (default 127.0.0.1:9090)",
    )
    parser.add_argument(
        "--status-token-file",
        type=Path,
        help="file holding a bearer token that /status and /metrics require",
    )
    parser.add_argument(
        "--pages-per-user",
        action="store_true",
        help="the web pages show each person only the projects they own or belong to, naming "
        "people as notebooks do (platform.yaml ingress.auth: the auth proxy's header, or a JWT)",
    )
    parser.add_argument(
        "--pages-jwks-ca-file",
        type=Path,
        help="CA bundle trusted when fetching the JWT issuer's keys (default: the system's CAs)",
    )
    parser.add_argument(
        "--webhook-provider",
        choices=PROVIDERS,
        help="the one git host whose webhooks are accepted (with --webhook-secret-file)",
    )
    parser.add_argument("--webhook-secret-file", type=Path, help="file holding the secret")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/mofang-cache"))
    parser.add_argument("--leader-election", action="store_true", help="hold a Lease to apply")
    parser.add_argument("--lease-name", default="mofang-gitops-controller")
    parser.add_argument("--identity", default=os.environ.get("POD_NAME") or socket.gethostname())
    parser.add_argument("--no-events", action="store_true", help="do not record Kubernetes Events")
    parser.add_argument(
        "--kube-qps",
        type=float,
        default=DEFAULT_QPS,
        help=f"API requests a second per cluster after the burst (default {DEFAULT_QPS:g})",
    )
    parser.add_argument(
        "--kube-burst",
        type=int,
        default=DEFAULT_BURST,
        help=f"API requests sent at once before --kube-qps applies (default {DEFAULT_BURST})",
    )
    parser.add_argument(
        "--retry-budget",
        type=int,
        default=DEFAULT_RETRY_BUDGET,
        help="retries of failed API requests per cluster and pass; past it the pass ends "
        f"(default {DEFAULT_RETRY_BUDGET})",
    )
    parser.add_argument(
        "--render-budget",
        default="30s",
        help="longest one project may take to render; past it the project is Failed and the "
        "pass goes on (default 30s)",
    )
    parser.add_argument(
        "--prune-removed-projects",
        action="store_true",
        help="when a project is deleted from git, delete its Namespace and PersistentVolumes too "
        "(its other objects are always pruned)",
    )


def parse_listen(value: str, flag: str = "--listen") -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:8080`` for IPv6) as a socket address."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise UsageError(f"{flag} {value!r}: expected HOST:PORT")
    return host.strip("[]") or "0.0.0.0", int(port)


def _read_secret(flag: str, path: Path) -> bytes:
    try:
        secret = path.read_bytes().strip()
    except OSError as e:
        raise UsageError(f"{flag} {path}: {e.strerror}") from e
    if not secret:
        raise UsageError(f"{flag} {path}: the file is empty")
    return secret


def _webhooks(args: argparse.Namespace) -> WebhookReceiver:
    """The receiver of the configured provider; without a secret every webhook is refused."""
    path, provider = args.webhook_secret_file, args.webhook_provider
    if path is None:
        log.warning("no --webhook-secret-file: every webhook will be refused")
        return WebhookReceiver(provider or "", b"", args.branch)
    if provider is None:
        raise UsageError("--webhook-secret-file needs --webhook-provider github|gitlab|gitea")
    secret = _read_secret("--webhook-secret-file", path)
    if provider == "gitlab" and not secret.startswith(SIGNING_TOKEN_PREFIX):
        log.warning(
            "gitlab: a secret token travels in clear on every request; prefer a "
            "signing token (whsec_...) so requests are HMAC-signed"
        )
    return WebhookReceiver(provider, secret, args.branch)


def _per_user(args: argparse.Namespace) -> PerUser | None:
    """The per-user view of the pages, when asked for (with the CA for the JWT issuer's keys)."""
    if args.pages_jwks_ca_file is not None and not args.pages_per_user:
        raise UsageError("--pages-jwks-ca-file needs --pages-per-user")
    if not args.pages_per_user:
        return None
    context = None
    if args.pages_jwks_ca_file is not None:
        try:
            context = ssl.create_default_context(cafile=str(args.pages_jwks_ca_file))
        except (OSError, ssl.SSLError) as e:
            raise UsageError(f"--pages-jwks-ca-file {args.pages_jwks_ca_file}: {e}") from e
    return PerUser(JwtKeys(context))


def _elector(args: argparse.Namespace) -> LeaderElector | None:
    if not args.leader_election:
        return None
    cluster = Cluster("lease", args.kubeconfig, args.context)
    return LeaderElector(cluster, LeaseOptions(args.lease_name, args.identity))


def _options(args: argparse.Namespace) -> ControllerOptions:
    try:
        interval = float(duration_seconds(args.interval))
    except ValueError as e:
        raise UsageError(f"--interval {args.interval!r}: {e}") from e
    try:
        budget = parse_duration(args.render_budget).total_seconds()
    except ValueError as e:
        raise UsageError(f"--render-budget {args.render_budget!r}: {e}") from e
    return ControllerOptions(
        args.repo_url,
        args.branch,
        args.cache_dir,
        interval,
        prune_removed_projects=args.prune_removed_projects,
        render_budget=budget,
    )


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; exit 0 after a clean stop."""
    options = _options(args)
    elector = _elector(args)
    if elector:
        elector.ensure_unique()  # before anything listens: a twin replica exits 2 here
    applier = EngineApplier(
        args.kubeconfig,
        args.context,
        qps=args.kube_qps,
        burst=args.kube_burst,
        retry_budget=args.retry_budget,
        may_write=elector.is_leader if elector else None,
    )
    home = Cluster("home", args.kubeconfig, args.context)  # the Lease's and the state's cluster
    controller = Controller(
        options,
        applier,
        may_apply=elector.is_leader if elector else (lambda: True),
        state=ConfigMapState(home, args.repo_url, args.branch),
    )
    controller.read_health = lambda targets: read_clusters(
        {t.target.cluster: applier.cluster_of(t.target) for t in targets},
        targets,
        controller.resource_groups,
        page_size=PAGE_SIZE,
    )
    if not args.no_events:
        controller.on_result = EventRecorder(applier.cluster_of, controller.namespaces).record
        controller.on_health = HealthEventRecorder(applier.cluster_of).record
    token = b""
    if args.status_token_file is not None:
        token = _read_secret("--status-token-file", args.status_token_file)
    server = ControllerServer(
        parse_listen(args.listen),
        controller,
        _webhooks(args),
        internal_address=parse_listen(args.metrics_listen, "--metrics-listen"),
        status_token=token,
        per_user=_per_user(args),
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        controller.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.start()
    if elector:
        elector.start()
    logging.getLogger("mofang_gitops").setLevel(logging.DEBUG if args.debug else logging.INFO)
    log.info(
        "controller listening on %s (status and metrics on %s), following %s",
        server.url,
        server.internal_url,
        args.branch,
    )
    try:
        controller.run()
    finally:
        if elector:
            elector.stop(release=True)
        server.shutdown()
        applier.close()
        home.close()
    return 0
