"""libvirt's cpuset/nodeset syntax: ``0-7,^5,10``. The one parser used everywhere.

Mirrors ``virBitmapParseInternal`` (src/util/virbitmap.c): comma-separated
fields ``N``, ``N-M`` (M >= N) and ``^N`` (remove one id, applied in order),
spaces allowed around fields, a trailing comma tolerated. libvirt then
rejects a set with no ids left ("Invalid value of 'cpuset'").
"""

from __future__ import annotations

import re

#: libvirt's VIR_DOMAIN_CPUMASK_LEN: the largest CPU id it accepts is one less.
CPUMASK_LEN = 16384

_FIELD = re.compile(r"\s*(\^)?(\d+)\s*(?:-\s*(\d+)\s*)?$")


#: The error of a set whose exclusions leave no id (libvirt: "Invalid value of 'cpuset'").
EMPTY_SET_ERROR = "leaves no ids"


class CpusetError(ValueError):
    """A cpuset that libvirt would refuse; the message says why."""


def parse_cpuset(
    text: str, *, limit: int = CPUMASK_LEN, allow_empty: bool = False
) -> frozenset[int]:
    """Parse ``text`` into the set of ids it names, or raise :class:`CpusetError`."""
    if not text or not text.strip():
        raise CpusetError("is empty")
    # A bitmap as an int: a field costs O(limit / 64), not O(range), so a hostile
    # "0-16383,0-16383,..." of a million fields stays fast.
    bits = 0
    fields = text.split(",")
    if len(fields) > 1 and not fields[-1].strip():
        fields.pop()  # libvirt accepts a trailing comma
    for field in fields:
        match = _FIELD.match(field)
        if match is None:
            raise CpusetError(f"cannot parse {_shorten(field.strip())!r}")
        negate, first, last = match.groups()
        low = _id(first, limit)
        high = _id(last, limit) if last is not None else low
        if negate and last is not None:
            raise CpusetError(f"an exclusion cannot be a range: {_shorten(field.strip())!r}")
        if high < low:
            raise CpusetError(f"range {low}-{high} ends before it starts")
        if negate:
            bits &= ~(1 << low)
        else:
            bits |= ((1 << (high - low + 1)) - 1) << low
    if not bits and not allow_empty:
        raise CpusetError(EMPTY_SET_ERROR)
    return frozenset(_set_bits(bits))


def _id(digits: str, limit: int) -> int:
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(limit)) or int(significant) >= limit:
        raise CpusetError(f"id {_shorten(significant)} is beyond libvirt's limit of {limit - 1}")
    return int(significant)


def _set_bits(bits: int) -> list[int]:
    ids = []
    while bits:
        lowest = bits & -bits
        ids.append(lowest.bit_length() - 1)
        bits ^= lowest
    return ids


def _shorten(text: str, keep: int = 40) -> str:
    return text if len(text) <= keep else text[:keep] + "..."


def format_cpuset(ids: frozenset[int] | set[int]) -> str:
    """The shortest libvirt form of ``ids`` (``0-3,8``), as ``virBitmapFormat`` writes it."""
    parts: list[str] = []
    ordered = sorted(ids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(parts)
