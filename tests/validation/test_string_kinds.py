"""Every string and number a spec can hold has a kind: allowed characters, an upper bound."""

from __future__ import annotations

import re
import types
import typing
from typing import Any

import pytest
from annotated_types import Le, Lt, MaxLen
from pydantic import BaseModel

from mofang_gitops.models import KIND_MODELS
from mofang_gitops.models.text import MultiLine, SingleLine, check_characters

_KINDS = (SingleLine, MultiLine)


def _models() -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []
    todo: list[Any] = list(KIND_MODELS.values())
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.append(model)
        for info in model.model_fields.values():
            todo.extend(_nested_models(info.annotation))
    return seen


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested_models(arg)]


def _unbounded(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """Strings without a character kind and numbers without an upper bound, by field path."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _unbounded(inner, [*metadata, *extra], where)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [f for arg in typing.get_args(annotation) for f in _unbounded(arg, metadata, where)]
    if origin is list:
        (item,) = typing.get_args(annotation)
        return _unbounded(item, [], f"{where}[]")
    if origin is dict:
        key, value = typing.get_args(annotation)
        return [*_unbounded(key, [], f"{where}{{key}}"), *_unbounded(value, [], f"{where}{{}}")]
    if annotation is str and not any(m in _KINDS for m in metadata):
        return [f"{where}: str without a character kind"]
    if annotation is str and not any(isinstance(m, MaxLen) for m in _flat(metadata)):
        if not any(getattr(m, "json_schema", None) for m in metadata):  # quantity/duration kinds
            return [f"{where}: str without a maximum length"]
    if annotation in (int, float) and not any(isinstance(m, Le | Lt) for m in _flat(metadata)):
        return [f"{where}: {annotation.__name__} without an upper bound"]
    return []


def _flat(metadata: list[Any]) -> list[Any]:
    found = []
    for m in metadata:
        found.append(m)
        found.extend(getattr(m, "metadata", []))
    return found


def test_every_string_has_a_character_kind_and_every_number_an_upper_bound() -> None:
    missing = []
    for model in _models():
        for name, info in model.model_fields.items():
            where = f"{model.__name__}.{name}"
            missing.extend(_unbounded(info.annotation, list(info.metadata), where))
    assert missing == []


@pytest.mark.parametrize(
    ("value", "multiline", "refused"),
    [
        ("plain text", False, None),
        ("tab\there", False, "U+0009 CHARACTER TABULATION"),
        ("tab\there", True, None),
        ("two\nlines", True, None),
        ("cr\r\n", True, "U+000D CARRIAGE RETURN"),
        ("del\x7f", True, "U+007F DELETE"),
        ("c1\x80", True, "U+0080 control character"),
        ("nel\x85", True, "U+0085 NEXT LINE (NEL)"),
        ("ls\u2028", True, "U+2028 LINE SEPARATOR"),
        ("ps\u2029", True, "U+2029 PARAGRAPH SEPARATOR"),
        ("nc\ufffe", True, "U+FFFE noncharacter"),
        ("nc\U0010ffff", True, "U+10FFFF noncharacter"),
        ("sur\ud800", True, "U+D800 lone surrogate"),
        ("emoji \U0001f600 and 中文", False, None),
        ("nbsp\u00a0ok", False, None),
    ],
)
def test_characters_are_refused_by_name_and_never_rewritten(
    value: str, multiline: bool, refused: str | None
) -> None:
    if refused is None:
        assert check_characters(value, multiline=multiline) is value
    else:
        with pytest.raises(ValueError, match=f"^{re.escape(refused)} is not allowed"):
            check_characters(value, multiline=multiline)
