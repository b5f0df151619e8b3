"""The summary store is a bounded cache: entries beyond its limit go oldest first, and a file
over its size limit is ignored (and replaced on the next save)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from mofang_gitops.previewing import summaries
from mofang_gitops.previewing.summaries import PersonSummary, ProjectSummary, SummaryStore

USAGE = {"gpu": (Decimal("16"), Decimal("68719476736"), Decimal("4"))}


def project(name: str) -> ProjectSummary:
    return ProjectSummary(True, frozenset({f"namespace/central/{name}"}), USAGE, USAGE)


def test_the_oldest_summaries_go_first_past_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(summaries, "MAX_ENTRIES", 2)
    store = SummaryStore.load(tmp_path / "s.json")
    for name in ("a", "b", "c"):
        store.put_project(name, project(name))
    store.put_person("p", PersonSummary(True, "p"))
    store.put_project("a", project("a"))  # used again: newest
    store.save()
    again = SummaryStore.load(tmp_path / "s.json")
    assert set(again.projects) == {"c", "a"} and set(again.people) == {"p"}
    assert again.projects["a"] == project("a")


def test_a_store_over_the_size_limit_is_ignored_and_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.json"
    store = SummaryStore.load(path)
    store.put_project("a", project("a"))
    store.save()
    monkeypatch.setattr(summaries, "MAX_BYTES", path.stat().st_size - 1)
    ignored = SummaryStore.load(path)
    assert ignored.projects == {}
    ignored.put_project("b", project("b"))
    ignored.save()
    monkeypatch.setattr(summaries, "MAX_BYTES", 1 << 20)
    assert set(SummaryStore.load(path).projects) == {"b"}
