"""A bounded memory of webhook deliveries already accepted, so a replay is refused.

Every key lives at most ``ttl`` seconds and at most ``capacity`` keys are kept (the oldest go
first), so an attacker who floods valid-looking deliveries costs a fixed amount of memory. Only
verified deliveries are remembered: an unauthenticated sender cannot fill the memory with IDs and
make a real delivery look like a replay.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

DEFAULT_CAPACITY = 10_000
DEFAULT_TTL = 24 * 3600.0


class DeliveryMemory:
    """Thread-safe LRU with a time to live; :meth:`remember` says whether a key was new."""

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def remember(self, keys: Iterable[str]) -> bool:
        """Record ``keys``; False (nothing recorded) when any of them is still remembered."""
        wanted = [k for k in keys if k]
        with self._lock:
            now = self._clock()
            self._expire(now)
            if any(k in self._seen for k in wanted):
                return False
            for key in wanted:
                self._seen[key] = now + self.ttl
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
        return True

    def _expire(self, now: float) -> None:
        """Drop expired keys; insertion order is expiry order, so stop at the first live one."""
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                return
            del self._seen[key]
