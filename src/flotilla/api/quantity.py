"""Kubernetes resource quantities ("500m", "64Gi", "1.5") summed over nodes.

Quantities come from members, so they are input: ``1e999999999`` overflows a Decimal, and
a 5,000-digit number cannot even be printed. Values beyond ``LIMIT`` (or non-zero ones
below its inverse) are not quantities any node has: they are refused like text that does
not parse, and a sum simply skips them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_CEILING, Decimal, DecimalException

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

LIMIT = Decimal("1e30")
"""Far above any real node (8Ei is about 9.2e18), far below what Decimal cannot handle."""
_MAX_DIGITS = 64

_SUFFIXES = {
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}


def parse_quantity(text: str) -> Decimal:
    """The value of a quantity; ValueError for one that is not."""
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            number, scale = text[: -len(suffix)], _SUFFIXES[suffix]
            break
    else:
        number, scale = text, Decimal(1)
    if len(number) > _MAX_DIGITS or not _NUMBER.fullmatch(number):
        raise ValueError(f"not a quantity: {text[:_MAX_DIGITS]!r}")
    try:
        value = Decimal(number) * scale
    except DecimalException:
        raise ValueError(f"not a quantity: {text[:_MAX_DIGITS]!r} is out of range") from None
    if abs(value) > LIMIT or (value and abs(value) < 1 / LIMIT):
        raise ValueError(f"not a quantity: {text[:_MAX_DIGITS]!r} is out of range")
    return value


def format_quantity(resource: str, value: Decimal) -> str:
    """cpu in cores (or millicores), memory-like in the largest exact binary unit."""
    if resource == "cpu":
        if value == value.to_integral_value():
            return str(int(value))
        # Kubernetes rounds up to the next millicore.
        return f"{int((value * 1000).to_integral_value(rounding=ROUND_CEILING))}m"
    if resource in ("memory", "ephemeral-storage") or resource.startswith("hugepages-"):
        for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
            size = _SUFFIXES[suffix]
            if value >= size and value % size == 0:
                return f"{int(value / size)}{suffix}"
    return str(int(value)) if value == value.to_integral_value() else str(value)


def sum_resources(lists: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Sum resource lists (as in node status); quantities that do not parse are skipped."""
    totals: dict[str, Decimal] = {}
    for resources in lists:
        for name, text in resources.items():
            try:
                totals[name] = totals.get(name, Decimal(0)) + parse_quantity(str(text))
            except ValueError:
                continue
    return {name: format_quantity(name, value) for name, value in sorted(totals.items())}
