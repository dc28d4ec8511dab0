"""libvirt's scaled integers (``<memory unit='GiB'>4</memory>``), in one place.

Mirrors ``virScaleInteger`` (src/util/virutil.c): the unit is
case-insensitive; ``b``/``byte``/``bytes`` is 1; ``k``, ``KiB``, ``M``, ``MiB``,
... are powers of 1024; ``KB``, ``MB``, ... are powers of 1000. No unit means
the element's default, which for memory sizes is KiB. Sizes are converted to
KiB rounding up, as ``virDomainParseMemory`` does.
"""

from __future__ import annotations

import re

_POWERS = {"k": 1, "m": 2, "g": 3, "t": 4, "p": 5, "e": 6}
_DIGITS = re.compile(r"\s*\+?(\d+)\s*$")

KIB = 1024


class UnitError(ValueError):
    """A value or unit libvirt would refuse."""


def unit_scale(unit: str | None, default: int = KIB) -> int:
    """Bytes per unit for a libvirt ``unit`` attribute value."""
    if unit is None or unit == "":
        return default
    lowered = unit.lower()
    if lowered in ("b", "byte", "bytes"):
        return 1
    power = _POWERS.get(lowered[0])
    rest = lowered[1:]
    if power is None or rest not in ("", "ib", "b"):
        raise UnitError(f"unknown unit {unit!r}")
    base = 1000 if rest == "b" else 1024
    return base**power


#: libvirt reads these numbers as unsigned long long (virStrToLong_ull): larger is ERANGE.
ULLONG_MAX = 2**64 - 1


def parse_uint(text: str | None) -> int | None:
    """A non-negative decimal integer as libvirt reads one, or None if absent or invalid.

    Values above ``ULLONG_MAX`` are invalid, as in libvirt; checking the digit count
    first also keeps a hostile 10 MB number away from ``int()``.
    """
    if text is None:
        return None
    if len(text) < 20 and text.isdigit() and text.isascii():  # the common case, below 10**19
        return int(text)
    match = _DIGITS.match(text)
    if match is None:
        return None
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > 20:
        return None
    value = int(digits)
    return value if value <= ULLONG_MAX else None


def to_kib(value: str | None, unit: str | None, default: int = KIB) -> int | None:
    """``value`` in ``unit`` converted to KiB (rounded up); None if absent or invalid."""
    number = parse_uint(value)
    if number is None:
        return None
    try:
        scale = unit_scale(unit, default)
    except UnitError:
        return None
    total = number * scale
    return -(-total // KIB)


def format_kib(kib: int) -> str:
    """A KiB amount for messages: ``4 GiB``, ``1536 MiB``, ``100 KiB``."""
    for unit, size in (("TiB", 1024**3), ("GiB", 1024**2), ("MiB", 1024)):
        if kib >= size and kib % size == 0:
            return f"{kib // size} {unit}"
    return f"{kib} KiB"


def express_kib(kib: int, unit: str | None) -> str | None:
    """``kib`` written in ``unit`` (for edits that keep the file's unit), or None if inexact."""
    try:
        scale = unit_scale(unit)
    except UnitError:
        return None
    total = kib * KIB
    if total % scale:
        return None
    return str(total // scale)
