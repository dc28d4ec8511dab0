"""Guest memory: sizes, backing and huge pages, memtune, memory devices (DIMM, virtio-mem)."""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import parse_uint
from .numa import NumaCell, NumaFacts
from .values import (
    CpusetRef,
    MemorySize,
    child,
    child_text,
    cpuset_ref,
    grandchild,
    hex_uint,
    ids_in_text,
    size_of_attribute,
    size_of_element,
)

Element = etree._Element

#: The base page of most hosts: without a host, a "huge page" this small is no huge page.
BASE_PAGE_KIB = 4


class HugePage(NamedTuple):
    """One ``<hugepages><page>``; ``size`` is None for ``<hugepages/>`` (the host default)."""

    element: Element
    size: MemorySize | None
    nodeset: CpusetRef | None


class MemoryBacking(NamedTuple):
    element: Element
    hugepages: Element | None
    pages: tuple[HugePage, ...]
    locked: bool
    nosharepages: bool
    source_type: str | None
    access_mode: str | None
    allocation_mode: str | None
    #: ``<allocation threads=...>`` (None when absent or invalid).
    allocation_threads: int | None = None


class Memtune(NamedTuple):
    element: Element
    hard_limit: MemorySize | None
    soft_limit: MemorySize | None
    swap_hard_limit: MemorySize | None
    min_guarantee: MemorySize | None


class MemoryDevice(NamedTuple):
    """A ``<devices><memory>`` (dimm, nvdimm, virtio-mem, virtio-pmem, ...)."""

    element: Element
    model: str | None
    access: str | None
    size: MemorySize | None
    node: int | None
    block: MemorySize | None
    requested: MemorySize | None
    path: str | None
    #: ``<source><pagesize>``: the page size backing the device (hugetlbfs), if given.
    pagesize: MemorySize | None = None
    #: ``<source><nodemask>``: the host nodes its memory comes from (None: not given or invalid).
    nodemask: frozenset[int] | None = None
    #: ``<source><nodemask>`` as written (None without one).
    nodemask_text: str | None = None
    #: ``discard='yes'`` / ``'no'`` on ``<memory>`` (None when absent).
    discard: bool | None = None
    #: ``<uuid>`` (NVDIMM on pSeries).
    uuid: str | None = None
    #: ``<target><label><size>`` (NVDIMM).
    label_size: MemorySize | None = None
    #: ``<target><readonly/>`` (NVDIMM).
    readonly: bool = False
    #: ``<target><address base=...>`` (virtio-mem, virtio-pmem): the element and the base.
    target_address: Element | None = None
    target_base: int | None = None
    #: The device's own ``<address>`` (``type='dimm' slot= base=``, ``type='pci'`` ...).
    address: Element | None = None

    @property
    def address_type(self) -> str | None:
        return None if self.address is None else self.address.get("type")

    @property
    def dimm_slot(self) -> int | None:
        """The slot of a ``type='dimm'`` address (None otherwise or when absent)."""
        if self.address_type != "dimm" or self.address is None:
            return None
        return parse_uint(self.address.get("slot"))

    @property
    def dimm_base(self) -> int | None:
        """The base of a ``type='dimm'`` address, in bytes (libvirt reads it as hex)."""
        if self.address_type != "dimm" or self.address is None:
            return None
        return hex_uint(self.address.get("base"))


class HugepageRegion(NamedTuple):
    """Guest memory backed by one huge page size.

    ``cell`` is the guest NUMA cell, or None for the whole memory of a guest
    without cells. ``page`` is None for ``<hugepages/>`` without ``<page>``:
    the host's default huge page size.
    """

    cell: NumaCell | None
    kib: int
    page: HugePage | None


def page_kib(page: HugePage, base_kib: int = BASE_PAGE_KIB) -> int | None:
    """The page's size in KiB; None when invalid or no larger than the base page."""
    if page.size is None or page.size.kib is None or page.size.kib <= base_kib:
        return None
    return page.size.kib


class MemoryFacts(NumaFacts):
    """``<memory>`` and friends, ``<memoryBacking>``, ``<memtune>`` and memory devices."""

    @lazy
    def memory(self) -> MemorySize | None:
        return size_of_element(self.top("memory"))

    @lazy
    def current_memory(self) -> MemorySize | None:
        return size_of_element(self.top("currentMemory"))

    @lazy
    def max_memory(self) -> MemorySize | None:
        return size_of_element(self.top("maxMemory"))

    @lazy
    def memory_backing(self) -> MemoryBacking | None:
        element = self.top("memoryBacking")
        if element is None:
            return None
        hugepages = child(element, "hugepages")
        pages: tuple[HugePage, ...] = ()
        if hugepages is not None:
            pages = tuple(
                HugePage(
                    element=page,
                    size=size_of_attribute(page, "size", "unit"),
                    nodeset=cpuset_ref(page, "nodeset"),
                )
                for page in hugepages.iterchildren("page")
            )
        source, access, allocation = (child(element, t) for t in ("source", "access", "allocation"))
        return MemoryBacking(
            element=element,
            hugepages=hugepages,
            pages=pages,
            locked=child(element, "locked") is not None,
            nosharepages=child(element, "nosharepages") is not None,
            source_type=None if source is None else source.get("type"),
            access_mode=None if access is None else access.get("mode"),
            allocation_mode=None if allocation is None else allocation.get("mode"),
            allocation_threads=None
            if allocation is None
            else parse_uint(allocation.get("threads")),
        )

    @lazy
    def memtune(self) -> Memtune | None:
        element = self.top("memtune")
        if element is None:
            return None
        return Memtune(
            element=element,
            hard_limit=size_of_element(child(element, "hard_limit")),
            soft_limit=size_of_element(child(element, "soft_limit")),
            swap_hard_limit=size_of_element(child(element, "swap_hard_limit")),
            min_guarantee=size_of_element(child(element, "min_guarantee")),
        )

    @lazy
    def memory_devices_kib(self) -> int | None:
        """The summed sizes of ``<devices><memory>`` (DIMM, virtio-mem, ...); None if one is bad."""
        total = 0
        for device in self.device_elements("memory"):
            size = size_of_element(grandchild(device, "target", "size"))
            if size is None or size.kib is None:
                return None
            total += size.kib
        return total

    @lazy
    def memory_total_kib(self) -> int | None:
        """The guest's total memory as libvirt computes it after define.

        ``virDomainDefPostParseMemory``: with guest NUMA cells that carry memory,
        the cells' sum plus the memory devices; otherwise ``<memory>``, which
        already includes the memory devices.
        """
        cells = self.numa_cells
        if cells and all(c.memory is not None and c.memory.kib is not None for c in cells):
            devices = self.memory_devices_kib
            if devices is None:
                return None
            return sum(c.memory.kib for c in cells) + devices  # type: ignore[union-attr,misc]
        return self.memory.kib if self.memory is not None else None

    @lazy
    def memory_devices(self) -> tuple[MemoryDevice, ...]:
        result = []
        for element in self.device_elements("memory"):
            target = child(element, "target")
            source = child(element, "source")
            sizes = {}
            for tag in ("size", "block", "requested"):
                sizes[tag] = size_of_element(None if target is None else child(target, tag))
            nodemask_text = None if source is None else child_text(source, "nodemask")
            target_address = None if target is None else child(target, "address")
            result.append(
                MemoryDevice(
                    element=element,
                    model=element.get("model"),
                    access=element.get("access"),
                    node=None if target is None else parse_uint(child_text(target, "node")),
                    path=None if source is None else child_text(source, "path"),
                    pagesize=None if source is None else size_of_element(child(source, "pagesize")),
                    nodemask=ids_in_text(nodemask_text),
                    nodemask_text=nodemask_text,
                    discard={"yes": True, "no": False}.get(element.get("discard") or ""),
                    uuid=child_text(element, "uuid"),
                    label_size=None
                    if target is None
                    else size_of_element(grandchild(target, "label", "size")),
                    readonly=target is not None and child(target, "readonly") is not None,
                    target_address=target_address,
                    target_base=None
                    if target_address is None
                    else hex_uint(target_address.get("base")),
                    address=child(element, "address"),
                    **sizes,
                )
            )
        return tuple(result)

    @lazy
    def hugepage_backing(self) -> MemoryBacking | None:
        """``<memoryBacking>`` when it has ``<hugepages>``: the guest RAM is on huge pages."""
        backing = self.memory_backing
        return backing if backing is not None and backing.hugepages is not None else None

    @lazy
    def hugepage_devices(self) -> tuple[MemoryDevice, ...]:
        """Memory devices whose ``<source><pagesize>`` backs them with huge pages of their own."""
        return tuple(d for d in self.memory_devices if d.pagesize is not None)

    def page_nodeset(self, page: HugePage) -> frozenset[int] | None:
        """A page's guest-cell nodeset as libvirt validates it (None: applies to every cell).

        ``virDomainDefPostParseMemtune`` drops a nodeset of exactly {0} when the
        guest has no NUMA cells.
        """
        if page.nodeset is None or page.nodeset.ids is None:
            return None
        if not self.numa_cells and page.nodeset.ids == frozenset({0}):
            return None
        return page.nodeset.ids

    @lazy
    def hugepage_regions(self) -> tuple[HugepageRegion, ...]:
        """The guest memory regions and the page libvirt backs each with.

        Without guest cells: ``<memory>``, backed by the one page without a
        (effective) nodeset. With cells: each cell with a size, backed by the page
        whose nodeset names it, else by the page without a nodeset; a cell that no
        page covers uses ordinary memory. Definitions libvirt refuses (two pages
        without a nodeset, say) give no regions: other rules report them.
        """
        backing = self.memory_backing
        if backing is None or backing.hugepages is None:
            return ()
        pages = backing.pages
        masters = [p for p in pages if self.page_nodeset(p) is None]
        if len(masters) > 1:
            return ()
        master = masters[0] if masters else None
        cells = self.numa_cells
        if not cells:
            memory = self.memory
            if memory is None or memory.kib is None or (pages and master is None):
                return ()
            return (HugepageRegion(None, memory.kib, master),)
        regions = []
        for cell in cells:
            if cell.id is None or cell.memory is None or cell.memory.kib is None:
                continue
            page = next((p for p in pages if cell.id in (self.page_nodeset(p) or ())), master)
            if pages and page is None:
                continue
            regions.append(HugepageRegion(cell, cell.memory.kib, page))
        return tuple(regions)
