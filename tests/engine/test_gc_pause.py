"""The cluster run pauses the cyclic garbage collector and always gives it back."""

from __future__ import annotations

import gc
import threading

import pytest

from mofang_gitops.k8s.decoding import GC_PAUSE_BYTES, decode_body, gc_paused


@pytest.fixture(autouse=True)
def _restore_gc() -> object:
    enabled = gc.isenabled()
    yield None
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_paused_inside_and_restored_after_even_on_error() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with gc_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_pauses_end_with_the_last_one() -> None:
    gc.enable()
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other)
    with gc_paused():
        thread.start()
        assert inside.wait(10)
    assert not gc.isenabled()  # the other thread still decodes
    release.set()
    thread.join(10)
    assert gc.isenabled()


def test_large_bodies_decode_the_same() -> None:
    gc.enable()
    body = b'{"items": [' + b",".join(b'{"a": [1, 2, {"b": null}]}' for _ in range(20000)) + b"]}"
    assert len(body) >= GC_PAUSE_BYTES
    assert decode_body(body)["items"][-1] == {"a": [1, 2, {"b": None}]}
    assert gc.isenabled()
    assert decode_body(b"not json") == {"message": "not json"}
