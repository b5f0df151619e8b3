"""Leader election with a ``coordination.k8s.io/v1`` Lease, so two replicas never apply at once.

Follows client-go's lease lock: the holder renews every ``retry_period``; another replica takes
the lease only after it has seen the same record unchanged for ``lease_duration`` on its own clock
(so clock skew between replicas does not matter); every write carries the ``resourceVersion`` it
read, so two candidates racing for an expired lease cannot both win (the loser gets 409). A holder
that has not renewed within ``renew_deadline`` stops calling itself leader at once, before the
lease expires for the others: ``lease_duration`` > ``renew_deadline`` is the safety margin.

Two replicas given the same ``--identity`` (a copied manifest, a hostname shared by two
containers) must not both lead. The Lease therefore holds ``<identity>_<nonce>``, the nonce
random per process, so the compare-and-swap above keeps them apart; and ``ensure_unique``, called
at start, refuses to run when a live process already holds the Lease under our identity (a dead
predecessor of the same pod, whose record stops changing, is not refused).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mofang_gitops.errors import ClusterError, MofangError, NotFoundError
from mofang_gitops.k8s.cluster import Cluster
from mofang_gitops.manifests import LABEL_MANAGED_BY, MANAGER, SYSTEM_NAMESPACE

log = logging.getLogger(__name__)

LEASES = "/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"


@dataclass(frozen=True)
class LeaseOptions:
    """Timing and identity of one candidate."""

    name: str
    identity: str
    namespace: str = SYSTEM_NAMESPACE
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


class DuplicateIdentityError(MofangError):
    """Another live process campaigns with this process's identity."""


def configured_identity(holder: str) -> str:
    """The ``--identity`` part of a holder ``<identity>_<nonce>`` (``""`` for other formats)."""
    identity, sep, _ = holder.rpartition("_")
    return identity if sep else ""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaigns for and renews one Lease in a background thread; ask :meth:`is_leader`."""

    def __init__(self, cluster: Cluster, options: LeaseOptions) -> None:
        self.cluster = cluster
        self.options = options
        self.holder = f"{options.identity}_{secrets.token_hex(4)}"
        """What this process writes as ``holderIdentity``: the identity plus a per-process nonce."""
        self._renewed_at = -1e18
        self._observed: tuple[str, str] = ("", "")
        self._observed_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def _path(self) -> str:
        return LEASES.format(namespace=self.options.namespace)

    @property
    def subject(self) -> str:
        """``Lease/<namespace>/<name>`` for messages."""
        return f"Lease/{self.options.namespace}/{self.options.name}"

    def is_leader(self) -> bool:
        """Whether we renewed the lease within the renew deadline (checked on every call)."""
        with self._lock:
            return time.monotonic() - self._renewed_at < self.options.renew_deadline

    def try_acquire_or_renew(self) -> bool:
        """One attempt to take or keep the lease; True when we hold it now."""
        self.cluster.start_pass()  # each attempt is a pass of its own: never starve renewals
        try:
            lease = self._get()
            if lease is None:
                self._create()
            elif self._held_by_other(lease):
                return False
            else:
                self._write("PUT", f"{self._path}/{self.options.name}", self._record(lease))
        except ClusterError as e:
            log.info("%s: %s could not take or renew: %s", self.subject, self.holder, e)
            return False
        with self._lock:
            was_leader = time.monotonic() - self._renewed_at < self.options.renew_deadline
            self._renewed_at = time.monotonic()
        if not was_leader:
            log.info("%s: %s is now the leader", self.subject, self.holder)
        return True

    def ensure_unique(self) -> None:
        """Refuse to start while a live process holds the Lease under our configured identity.

        'Live' is decided as for any holder: its record changes within one lease duration. So
        this returns at once in the usual case and waits at most a lease duration when the
        holder shares our identity (a restarted container whose predecessor died, or a twin).

        Raises:
            DuplicateIdentityError: the twin renewed the Lease while we watched.
        """
        deadline = time.monotonic() + self.options.lease_duration + self.options.retry_period
        first: tuple[str, str] | None = None
        while True:
            try:
                lease = self._get()
            except ClusterError as e:  # the campaign will retry; nothing to decide on
                log.warning(
                    "%s: cannot check identity %s: %s", self.subject, self.options.identity, e
                )
                return
            spec = (lease or {}).get("spec", {})
            holder = str(spec.get("holderIdentity") or "")
            if holder == self.holder or configured_identity(holder) != self.options.identity:
                return
            record = (holder, str(spec.get("renewTime") or ""))
            if first is not None and record[0] == first[0] and record != first:
                raise DuplicateIdentityError(
                    f"{self.subject}: another live process holds it as {holder!r} with this "
                    f"identity ({self.options.identity!r}); give each replica its own --identity"
                )
            first = first or record
            if time.monotonic() >= deadline:
                log.info("%s: %s left by a process that stopped renewing", self.subject, holder)
                return
            time.sleep(self.options.retry_period)

    def _get(self) -> dict[str, Any] | None:
        path = f"{self._path}/{self.options.name}"
        try:
            _, body = self.cluster.request("GET", path, subject=self.subject, verb="get")
        except NotFoundError:
            return None
        return body

    def _held_by_other(self, lease: dict[str, Any]) -> bool:
        """Another live holder; 'live' means its record changed within one lease duration."""
        spec = lease.get("spec", {})
        holder = str(spec.get("holderIdentity") or "")
        record = (holder, str(spec.get("renewTime") or ""))
        now = time.monotonic()
        if record != self._observed:
            self._observed, self._observed_at = record, now
        if not holder or holder == self.holder:
            return False
        return now - self._observed_at < self.options.lease_duration

    def _record(self, lease: dict[str, Any] | None) -> dict[str, Any]:
        """The Lease body that makes us the holder (keeping resourceVersion for the CAS)."""
        spec = dict((lease or {}).get("spec", {}))
        now = _now()
        if spec.get("holderIdentity") != self.holder:
            spec["acquireTime"] = now
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + (1 if lease else 0)
        spec.update(
            holderIdentity=self.holder,
            leaseDurationSeconds=max(1, round(self.options.lease_duration)),
            renewTime=now,
        )
        metadata: dict[str, Any] = {"name": self.options.name, "namespace": self.options.namespace}
        if lease is not None:
            metadata["resourceVersion"] = lease["metadata"]["resourceVersion"]
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": metadata,
            "spec": spec,
        }

    def _create(self) -> None:
        """Create the Lease; on a fresh cluster, its namespace first (nobody else would)."""
        try:
            self._write("POST", self._path, self._record(None))
        except NotFoundError:
            self.cluster.ensure_namespace(self.options.namespace, {LABEL_MANAGED_BY: MANAGER})
            self._write("POST", self._path, self._record(None))

    def _write(self, method: str, path: str, body: dict[str, Any]) -> None:
        self.cluster.request(
            method, path, subject=self.subject, verb="update", body=body, retry_conflicts=False
        )

    def run(self) -> None:
        """Campaign and renew until :meth:`stop`."""
        while not self._stop.is_set():
            self.try_acquire_or_renew()
            self._stop.wait(self.options.retry_period)

    def start(self) -> None:
        """Run the campaign in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self, release: bool = True) -> None:
        """Stop renewing; with ``release``, give the lease up so another replica takes over now."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.options.renew_deadline + 5)
        was_leader = self.is_leader()
        with self._lock:
            self._renewed_at = -1e18
        if release and was_leader:
            self._release()

    def _release(self) -> None:
        try:
            lease = self._get()
            if lease is None or lease.get("spec", {}).get("holderIdentity") != self.holder:
                return
            lease["spec"]["holderIdentity"] = ""
            self._write("PUT", f"{self._path}/{self.options.name}", lease)
        except ClusterError as e:
            log.warning("%s: release by %s failed: %s", self.subject, self.holder, e)
