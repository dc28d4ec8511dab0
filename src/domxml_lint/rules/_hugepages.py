"""Which huge page backs which guest memory: shared by the huge page rules (not a rule module)."""

from __future__ import annotations

from typing import NamedTuple

from ..facts import DomainFacts, HugePage, NumaCell

#: The base page of most hosts: without a host, a "huge page" this small is no huge page.
BASE_PAGE_KIB = 4


def effective_nodeset(page: HugePage, facts: DomainFacts) -> frozenset[int] | None:
    """A page's guest-cell nodeset as libvirt validates it (None: applies to every cell).

    ``virDomainDefPostParseMemtune`` drops a nodeset of exactly {0} when the
    guest has no NUMA cells.
    """
    if page.nodeset is None or page.nodeset.ids is None:
        return None
    if not facts.numa_cells and page.nodeset.ids == frozenset({0}):
        return None
    return page.nodeset.ids


def page_kib(page: HugePage, base_kib: int = BASE_PAGE_KIB) -> int | None:
    """The page's size in KiB; None when invalid or no larger than the base page."""
    if page.size is None or page.size.kib is None or page.size.kib <= base_kib:
        return None
    return page.size.kib


class HugepageRegion(NamedTuple):
    """Guest memory backed by one huge page size.

    ``cell`` is the guest NUMA cell, or None for the whole memory of a guest
    without cells. ``page`` is None for ``<hugepages/>`` without ``<page>``:
    the host's default huge page size.
    """

    cell: NumaCell | None
    kib: int
    page: HugePage | None


def hugepage_regions(facts: DomainFacts) -> list[HugepageRegion]:
    """The guest memory regions and the page libvirt backs each with.

    Without guest cells: ``<memory>``, backed by the one page without a
    (effective) nodeset. With cells: each cell with a size, backed by the page
    whose nodeset names it, else by the page without a nodeset; a cell that no
    page covers uses ordinary memory. Definitions libvirt refuses (two pages
    without a nodeset, say) give no regions: other rules report them.
    """
    backing = facts.memory_backing
    if backing is None or backing.hugepages is None:
        return []
    pages = backing.pages
    masters = [p for p in pages if effective_nodeset(p, facts) is None]
    if len(masters) > 1:
        return []
    master = masters[0] if masters else None
    cells = facts.numa_cells
    if not cells:
        memory = facts.memory
        if memory is None or memory.kib is None or (pages and master is None):
            return []
        return [HugepageRegion(None, memory.kib, master)]
    regions = []
    for cell in cells:
        if cell.id is None or cell.memory is None or cell.memory.kib is None:
            continue
        page = next((p for p in pages if cell.id in (effective_nodeset(p, facts) or ())), master)
        if pages and page is None:
            continue
        regions.append(HugepageRegion(cell, cell.memory.kib, page))
    return regions
