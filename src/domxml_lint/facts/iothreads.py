"""IOThreads: how many, and which ids libvirt ends up with."""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import parse_uint
from .domain import DomainBase
from .values import child_text, grandchildren

Element = etree._Element

#: IOThreads tracked per domain. libvirt would start one thread per id, so a
#: larger <iothreads> is refused (iothreads-oversized says so) rather than listed.
MAX_IOTHREADS = 65536


class IOThreadId(NamedTuple):
    """One ``<iothreadids><iothread>``; ``id`` is None when it does not parse."""

    element: Element
    id: int | None


class IOThreadFacts(DomainBase):
    """``<iothreads>`` and ``<iothreadids>``."""

    @lazy
    def iothreads(self) -> int | None:
        """The ``<iothreads>`` count (None when absent or invalid)."""
        return parse_uint(child_text(self.root, "iothreads"))

    @lazy
    def iothread_id_entries(self) -> tuple[IOThreadId, ...]:
        """The ``<iothreadids><iothread>`` elements in document order, with their parsed ids."""
        return tuple(
            IOThreadId(el, parse_uint(el.get("id")))
            for el in grandchildren(self.root, "iothreadids", "iothread")
        )

    @lazy
    def iothread_ids(self) -> frozenset[int]:
        """The IOThread ids libvirt ends up with (``virDomainDefParseIOThreads``).

        The ids listed in ``<iothreadids>``, topped up with the lowest unused ids
        from 1 until ``<iothreads>`` are covered (at most :data:`MAX_IOTHREADS`).
        """
        ids = {entry.id for entry in self.iothread_id_entries if entry.id}
        wanted = min(self.iothreads or 0, MAX_IOTHREADS)
        candidate = 1
        while len(ids) < wanted:
            if candidate not in ids:
                ids.add(candidate)
            candidate += 1
        return frozenset(ids)
