"""libvirt's cpuset/nodeset syntax: ``0-7,^5,10``. The one parser used everywhere.

Mirrors ``virBitmapParseInternal`` (src/util/virbitmap.c): comma-separated
fields ``N``, ``N-M`` (M >= N) and ``^N`` (remove one id, applied in order),
spaces allowed around fields, a trailing comma tolerated. libvirt then rejects a set with no ids left
("Invalid value of 'cpuset'").
"""

from __future__ import annotations

import re

#: libvirt's VIR_DOMAIN_CPUMASK_LEN: the largest CPU id it accepts is one less.
CPUMASK_LEN = 16384

_FIELD = re.compile(r"\s*(\^)?(\d+)\s*(?:-\s*(\d+)\s*)?$")


class CpusetError(ValueError):
    """A cpuset that libvirt would refuse; the message says why."""


def parse_cpuset(text: str, *, limit: int = CPUMASK_LEN, allow_empty: bool = False) -> frozenset[int]:
    """Parse ``text`` into the set of ids it names, or raise :class:`CpusetError`."""
    if not text or not text.strip():
        raise CpusetError("is empty")
    ids: set[int] = set()
    fields = text.split(",")
    if len(fields) > 1 and not fields[-1].strip():
        fields.pop()  # libvirt accepts a trailing comma
    for field in fields:
        match = _FIELD.match(field)
        if match is None:
            raise CpusetError(f"cannot parse {field.strip()!r}")
        negate, first, last = match.groups()
        low = int(first)
        high = int(last) if last is not None else low
        if negate and last is not None:
            raise CpusetError(f"an exclusion cannot be a range: {field.strip()!r}")
        if high < low:
            raise CpusetError(f"range {low}-{high} ends before it starts")
        if high >= limit:
            raise CpusetError(f"id {high} is beyond libvirt's limit of {limit - 1}")
        if negate:
            ids.discard(low)
        else:
            ids.update(range(low, high + 1))
    if not ids and not allow_empty:
        raise CpusetError("leaves no ids")
    return frozenset(ids)


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
