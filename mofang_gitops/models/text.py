"""Which characters each kind of string may hold, checked before any pattern or length rule.

Every string a spec carries ends up in a manifest, a command line, a Katib trial or a status
page. Characters that YAML readers refuse (DEL, C1 controls, U+FFFE/U+FFFF and the other
noncharacters, lone surrogates) would make a spec that validation accepted produce text the
manifest reader then refuses; the line breaks YAML 1.1 knows and editors do not (U+0085,
U+2028, U+2029) change what a value means depending on the reader. They are refused with an
error naming the character, never rewritten. Only the multi-line kinds (descriptions, command
arguments, environment values) may hold a line feed or a tab.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from mofang_gitops.yamlio import describe_character

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17)
)
_REFUSED_ALWAYS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + _NONCHARACTERS
_SINGLE_LINE = re.compile(f"[\t\n{_REFUSED_ALWAYS}]")
_MULTI_LINE = re.compile(f"[{_REFUSED_ALWAYS}]")
KATIB_VALUE = r"^[A-Za-z0-9._+:/@=-]+$"
"""What Katib may substitute into a trial's JSON and command line without quoting."""
_KATIB_UNSAFE = re.compile(r"[^A-Za-z0-9._+:/@=-]")


def refused_character(value: str, *, multiline: bool = False) -> tuple[int, str] | None:
    """``(index, character)`` of the first character this kind of string may not hold."""
    match = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    return None if match is None else (match.start(), match.group())


def check_characters(value: str, *, multiline: bool = False) -> str:
    """Return ``value`` unchanged, or raise ValueError naming the first refused character."""
    found = refused_character(value, multiline=multiline)
    if found is not None:
        index, char = found
        where = f" (character {index + 1} of the value)" if len(value) > 1 else ""
        raise ValueError(f"{describe_character(char)} is not allowed{where}")
    return value


def _single_line(value: Any) -> Any:
    return check_characters(value) if isinstance(value, str) else value


def _multi_line(value: Any) -> Any:
    return check_characters(value, multiline=True) if isinstance(value, str) else value


def _katib_safe(value: str) -> str:
    unsafe = sorted(set(_KATIB_UNSAFE.findall(value)))
    if unsafe:
        raise ValueError(
            f"{''.join(unsafe)!r} not allowed in a search value: Katib substitutes it into the "
            "trial's JSON and command line unquoted (use letters, digits and . _ + : / @ = -)"
        )
    return value


SingleLine = BeforeValidator(_single_line)
"""Validator of every single-line kind: no control character, no line or paragraph separator."""
MultiLine = BeforeValidator(_multi_line)
"""Validator of the multi-line kinds: as single-line, but line feed and tab are allowed."""

PRINTABLE_ASCII = r"^[!-~]+$"
"""Printable ASCII without spaces: image references, registries, addresses."""

Text = Annotated[str, SingleLine, Field(max_length=200)]
"""Single-line free text for people (a region, an image description)."""
Description = Annotated[str, MultiLine, Field(max_length=2000)]
"""Multi-line free text for people (line feeds and tabs allowed)."""
Arg = Annotated[str, MultiLine, Field(max_length=4096)]
"""One command or argument word; multi-line so that ``sh -c`` scripts fit."""
EnvValue = Annotated[str, MultiLine, Field(max_length=4096)]
"""An environment variable's value; multi-line (certificates, small configs)."""
ImageName = Annotated[str, SingleLine, Field(min_length=1, max_length=255, pattern=PRINTABLE_ASCII)]
"""A platform image name or a full image reference (printable ASCII, no spaces)."""
ImageKey = Annotated[
    str, SingleLine, Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
"""The short name of a curated platform image."""
Address = Annotated[str, SingleLine, Field(max_length=253, pattern=r"^[A-Za-z0-9.:\[\]_-]+$")]
"""A ``host:port`` network address."""
RegistryPrefix = Annotated[str, SingleLine, Field(max_length=255, pattern=PRINTABLE_ASCII)]
"""An allowed image registry prefix such as ``registry.example.com/``."""
KatibValue = Annotated[
    str,
    SingleLine,
    AfterValidator(_katib_safe),
    Field(min_length=1, max_length=63),
    WithJsonSchema({"type": "string", "pattern": KATIB_VALUE, "maxLength": 63}),
]
"""A categorical or discrete search value: letters, digits and ``. _ + : / @ = -`` only."""
Identifier = Annotated[str, SingleLine, Field(max_length=63, pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")]
"""A metric or flag-like identifier."""
