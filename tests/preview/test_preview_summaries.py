"""The summary store is a bounded cache: entries beyond its limit go oldest first, and a file
over its size limit is ignored (and replaced on the next save)."""

from __future__ import annotations

import json
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


def test_summaries_read_back_equal_those_put_with_equal_amounts_parsed_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.json"
    store = SummaryStore.load(path)
    other = {"cpu": (Decimal("0.5"), Decimal("1E+3"), Decimal("0"))}
    twice = {**USAGE, "cpu": (Decimal("1"), Decimal("2"), Decimal("0"))}
    put = {
        "a": project("a"),
        "b": project("b"),
        "c": ProjectSummary(False, frozenset(), other, twice),
    }
    for key, summary in put.items():
        store.put_project(key, summary)
    store.save()
    again = SummaryStore.load(path)
    assert again.projects == put
    assert str(again.projects["c"].usage["cpu"][1]) == "1E+3"  # exponents kept as written
    assert again.projects["a"].usage is again.projects["b"].usage  # one parse for equal lists


@pytest.mark.parametrize(
    ("amounts", "index"),
    [
        ([["gpu", "16", "4"]], 0),  # not four strings a group
        ([["gpu", "16", "4", 4]], 0),
        ([["gpu", "x", "1", "2"]], 0),  # not a decimal
        ([{"gpu": ["1", "2", "3"]}], 0),  # format 1's layout
        ([["gpu", "1", "2", "3"]], 1),  # no such amounts
        ([["gpu", "1", "2", "3"]], -1),
        ([["gpu", "1", "2", "3"], ["gpu", "1", "2", "3"]], True),
    ],
)
def test_a_store_with_malformed_amounts_is_ignored(
    tmp_path: Path, amounts: object, index: object
) -> None:
    path = tmp_path / "s.json"
    store = SummaryStore.load(path)
    store.put_project("a", project("a"))
    store.save()
    data = json.loads(path.read_text())
    assert SummaryStore.load(path).projects == {"a": project("a")}
    data["amounts"], data["projects"]["a"][2] = amounts, index
    path.write_text(json.dumps(data))
    assert SummaryStore.load(path).projects == {}
