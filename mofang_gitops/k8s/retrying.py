"""How the cluster adapter paces itself: retries with backoff, a retry budget, a rate limit.

Retrying each request up to five times is right for a blip and wrong for a storm: with the API
server answering 429 or 5xx to everything, a pass of a thousand objects sent five thousand
requests and slept through backoffs for minutes. A :class:`RetryBudget` caps the retries of all
requests of one pass (the controller resets it per pass; a CLI run is one pass); once it is spent
the pass ends quickly with a clear error, and the next pass starts with a fresh budget after the
controller's backoff. A :class:`RateLimiter` (a token bucket, like client-go's) keeps the client
from sending faster than ``qps`` after a ``burst``; the defaults sit above what one apply of the
benchmark's 26,000 objects needs, so only a runaway client ever waits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from mofang_gitops.errors import ClusterError, ConflictError

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_QPS = 400.0
DEFAULT_BURST = 800
DEFAULT_RETRY_BUDGET = 30


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff: ``base_delay * 2**attempt``, capped at ``max_delay``."""

    attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (a ``Retry-After`` wins if sane)."""
        if retry_after and retry_after.isdigit():
            return min(float(int(retry_after)), self.max_delay)
        return min(self.base_delay * float(2**attempt), self.max_delay)


class RetryBudget:
    """Retries left for one pass, shared by every request (and thread) of it."""

    def __init__(self, limit: int = DEFAULT_RETRY_BUDGET) -> None:
        self.limit = limit
        self._spent = 0
        self._exhausted: ClusterError | None = None
        self._lock = threading.Lock()

    @property
    def spent(self) -> int:
        """Retries taken since the last :meth:`reset`."""
        with self._lock:
            return self._spent

    @property
    def exhausted(self) -> ClusterError | None:
        """The error that found the budget empty, once it has; None before."""
        with self._lock:
            return self._exhausted

    def take(self, error: ClusterError) -> bool:
        """Take one retry for ``error``; False (and remember ``error``) when none is left."""
        with self._lock:
            if self._spent < self.limit:
                self._spent += 1
                return True
            if self._exhausted is None:
                self._exhausted = error
            return False

    def reset(self) -> None:
        """Start a new pass with the whole budget."""
        with self._lock:
            self._spent, self._exhausted = 0, None


class RetryBudgetError(ClusterError):
    """The pass used up its retries; the error keeps the status of the failure that ended it."""


def should_retry(error: ClusterError, *, conflicts: bool) -> bool:
    """Whether ``error`` is worth another attempt.

    A 409 is retried where it means "the object changed under you" (``conflicts``), never for
    apply (another manager owns the field: retrying changes nothing) nor for a failed UID
    precondition (the object is another incarnation now).
    """
    if isinstance(error, ConflictError) or error.status == 409:
        return conflicts and "precondition" not in str(error).lower()
    return error.retriable


def call_with_retry(
    call: Callable[[], T],
    policy: RetryPolicy,
    *,
    conflicts: bool = True,
    what: str = "",
    budget: RetryBudget | None = None,
) -> T:
    """Run ``call()`` until it succeeds, fails for good, or attempts or ``budget`` run out."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except ClusterError as err:
            if attempt + 1 >= policy.attempts or not should_retry(err, conflicts=conflicts):
                raise
            if budget is not None and not budget.take(err):
                raise _budget_error(budget, err) from err
            wait = policy.delay(attempt, getattr(err, "retry_after", None))
            # Info, not warning: a retry that works is routine, and one that does not ends in an
            # error the caller reports once (a command would otherwise repeat it per attempt).
            log.info("%s: retrying in %.2fs after %s", what or err.subject, wait, err)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _budget_error(budget: RetryBudget, err: ClusterError) -> RetryBudgetError:
    message = str(err).removeprefix(f"{err.subject}: ")
    return RetryBudgetError(
        err.subject,
        f"{message} (not retried: this pass used up its retry budget of {budget.limit}; "
        "the API server is refusing or failing requests)",
        err.status,
    )


class RateLimiter:
    """A token bucket: ``burst`` requests at once, then ``qps`` a second (``qps <= 0``: none).

    Each caller reserves its slot under the lock and sleeps outside it, so concurrent callers
    queue in order without holding each other up.
    """

    def __init__(
        self,
        qps: float = DEFAULT_QPS,
        burst: int = DEFAULT_BURST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._clock, self._sleep = clock, sleep
        self._tokens = float(self.burst)
        self._at = clock()
        self._lock = threading.Lock()
        self.waited = 0.0
        """Seconds callers spent waiting in total (a no-op plan should never wait)."""

    def acquire(self) -> float:
        """Take one token, sleeping until it is due; return the seconds waited."""
        if self.qps <= 0:
            return 0.0
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.qps)
            self._at = now
            self._tokens -= 1.0
            wait = -self._tokens / self.qps if self._tokens < 0 else 0.0
            self.waited += wait
        if wait > 0:
            self._sleep(wait)
        return wait
