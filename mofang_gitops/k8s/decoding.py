"""Decoding API answers fast: the C ``json`` module, with the cyclic garbage collector paused.

Part of the cluster adapter (``cluster`` sends requests, this turns their bodies into dicts).
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

GC_PAUSE_BYTES = 256 * 1024
"""Bodies at least this big are decoded with the cyclic garbage collector paused."""
_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a large acyclic structure is built.

    Decoding a LIST of thousands of objects creates millions of dicts and lists; every few
    hundred allocations the collector runs, and its full collections rescan everything alive
    (the rendered manifests, earlier LISTs), which cost a no-op plan of 26,000 objects about
    2 of its 6 seconds. JSON holds no reference cycles, so pausing frees nothing late. Nested
    and concurrent pauses (LISTs run in threads) end when the last one does.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def decode_body(raw: bytes) -> dict[str, Any]:
    """A response body as a dict; large ones decode with the cyclic GC paused (acyclic data)."""
    if not raw:
        return {}
    try:
        if len(raw) >= GC_PAUSE_BYTES:
            with gc_paused():
                data = json.loads(raw)
        else:
            data = json.loads(raw)
    except ValueError:
        return {"message": raw.decode("utf-8", "replace").strip()}
    return data if isinstance(data, dict) else {"message": str(data)}
