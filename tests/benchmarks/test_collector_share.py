"""The collector benchmark measures what it says: the same work, with and without collections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.collector_share import child, main
from benchmarks.generate import generate


def test_the_off_mode_runs_no_collection_and_renders_the_same_objects(tmp_path: Path) -> None:
    root = generate(tmp_path / "platform", 3)
    on, off = child("on", root), child("off", root)
    assert on["collections"] > 0
    assert off["collections"] == 0 and off["collector_seconds"] == 0
    assert on["objects"] == off["objects"] > 0
    for figures in (on, off):
        parts = figures["load_seconds"] + figures["validate_seconds"]
        assert figures["render_seconds"] == pytest.approx(parts + figures["render_only_seconds"])


def test_main_prints_one_median_line_per_repository_and_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = generate(tmp_path / "platform", 2)
    assert main([str(root), "--runs", "1"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["repo"], line["mode"], line["runs"]) for line in lines] == [
        (str(root), "on", 1),
        (str(root), "off", 1),
    ]
