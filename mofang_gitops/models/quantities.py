"""Kubernetes quantities (``500m``, ``16Gi``, ``2Ti``) and durations (``24h``, ``1h30m``).

Specs keep the string the user wrote (it is what reaches the manifests); comparisons go through
``parse_quantity`` / ``parse_duration`` so that ``1024Mi`` equals ``1Gi`` and ``90m`` equals
``1h30m``.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
_QUANTITY = re.compile(
    r"^([+]?[0-9]+(?:\.[0-9]*)?|[+]?\.[0-9]+)(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$"
)
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}

QUANTITY_PATTERN = _QUANTITY.pattern
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$"

MAX_QUANTITY_CHARS = 32
"""Longer text is no quantity a cluster could hold; refused before any arithmetic."""
MAX_EXPONENT = 30
"""Largest ``e`` exponent accepted (``1e30``); ``1e1000000`` is refused without being computed."""
MAX_DURATION_CHARS = 32
MAX_DURATION = timedelta(days=366)
"""Longest duration any field takes: a year (every Kubernetes seconds field holds it)."""


def parse_quantity(value: str | int | float) -> Decimal:
    """Return the numeric value of a Kubernetes quantity; raise ValueError when malformed."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a finite quantity")
        if value < 0:
            raise ValueError(f"{value!r} is negative; quantities must be >= 0")
        if isinstance(value, int) and value.bit_length() > 128:
            raise ValueError("the number is far larger than any cluster holds")
        return Decimal(repr(value) if isinstance(value, float) else value)
    if len(value) > MAX_QUANTITY_CHARS:
        raise ValueError(f"a quantity has at most {MAX_QUANTITY_CHARS} characters")
    match = _QUANTITY.match(value.strip(" "))
    if not match:
        raise ValueError(f"{value!r} is not a Kubernetes quantity (examples: 500m, 4, 16Gi, 2Ti)")
    number, exponent, suffix = match.groups()
    try:
        base = Decimal(number)
    except InvalidOperation as e:  # pragma: no cover - the regex already guards this
        raise ValueError(f"{value!r} is not a number") from e
    if exponent:
        power = int(exponent[1:])
        if abs(power) > MAX_EXPONENT:
            raise ValueError(
                f"{value!r}: exponent {power} is out of range (at most {MAX_EXPONENT})"
            )
        return base.scaleb(power)
    suffix = suffix or ""
    if suffix in _BINARY:
        return base * _BINARY[suffix]
    return base * _DECIMAL[suffix]


def normalize_quantity(value: str | int | float) -> str:
    """Return the quantity as the string a manifest should carry (validated, as written)."""
    parse_quantity(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip(" ")


def format_cpu(cores: Decimal) -> str:
    """Format CPU cores for people: ``4``, ``0.5``."""
    return f"{cores.normalize():f}"


def format_bytes(amount: Decimal) -> str:
    """Format a byte count with the largest binary suffix that keeps it whole, else Mi rounded."""
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        unit = _BINARY[suffix]
        if amount >= unit and amount % unit == 0:
            return f"{int(amount // unit)}{suffix}"
    if amount >= _BINARY["Mi"]:
        return f"{(amount / _BINARY['Mi']).quantize(Decimal('0.1'))}Mi"
    return str(int(amount))


def parse_duration(value: str) -> timedelta:
    """Return a duration such as ``24h``, ``1h30m``, ``90s``, ``2d``; raise ValueError otherwise."""
    text = value.strip(" ")
    if len(text) > MAX_DURATION_CHARS or not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"{value!r} is not a duration (examples: 30s, 5m, 1h30m, 24h, 7d)")
    seconds = sum(
        float(number) * _DURATION_UNITS[unit] for number, unit in _DURATION_PART.findall(text)
    )
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is longer than {MAX_DURATION.days}d, the longest accepted")
    return timedelta(seconds=seconds)


def duration_seconds(value: str) -> int:
    """Return a duration in whole seconds, rounded up (the unit most Kubernetes fields take)."""
    delta = parse_duration(value)
    whole = int(delta.total_seconds())
    return whole if whole == delta.total_seconds() else whole + 1
