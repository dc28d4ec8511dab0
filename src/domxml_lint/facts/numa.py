"""Guest NUMA cells as libvirt reads them, and NUMA memory tuning (``<numatune>``)."""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import parse_uint
from .cpu import CpuFacts, NumaCell
from .values import CpusetRef, child, cpuset_ref

Element = etree._Element


class GuestNuma(NamedTuple):
    """The guest NUMA cells as libvirt reads them (``virDomainNumaDefParseXML``).

    A cell without ``id`` takes its position. ``cell_of_vcpu`` maps each vCPU a
    cell names to that cell's id (the first claim wins on overlap);
    ``uncovered`` are the vCPUs below the maximum that no cell names, which
    libvirt's QEMU driver adds to cell 0. ``valid`` is False whenever libvirt
    would refuse the cells; rules that reason about placement then stay silent.
    """

    cells: tuple[NumaCell, ...]
    ids: tuple[int | None, ...]
    cells_by_id: dict[int, NumaCell]
    duplicate_ids: tuple[int, ...]  # positions of cells repeating an earlier id
    overlaps: tuple[tuple[int, int, frozenset[int]], ...]  # positions and the shared vCPUs
    cell_of_vcpu: dict[int, int]
    cpu_total: int
    uncovered: frozenset[int]
    cpus_valid: bool
    vcpu_max: int | None

    @property
    def ids_valid(self) -> bool:
        count = len(self.cells)
        return all(i is not None and i < count for i in self.ids) and not self.duplicate_ids

    @property
    def highest_vcpu(self) -> int | None:
        return max(self.cell_of_vcpu) if self.cell_of_vcpu else None

    @property
    def valid(self) -> bool:
        if not (self.ids_valid and self.cpus_valid and not self.overlaps):
            return False
        if self.vcpu_max is None:
            return False
        highest = self.highest_vcpu
        return self.cpu_total <= self.vcpu_max and (highest is None or highest < self.vcpu_max)


class NumaSibling(NamedTuple):
    """A ``<cell><distances><sibling id= value=>`` (None when absent or not a number)."""

    element: Element
    id: int | None
    value: int | None


class NumaCellCache(NamedTuple):
    """A guest NUMA cell's ``<cache level=...>`` (HMAT)."""

    element: Element
    level: int | None


class NumaCellDetail(NamedTuple):
    """What a guest NUMA cell holds besides cpus and memory: distances and caches.

    ``id`` is the cell id libvirt uses (its position when ``id`` is absent).
    """

    cell: NumaCell
    id: int | None
    distances: Element | None
    siblings: tuple[NumaSibling, ...]
    caches: tuple[NumaCellCache, ...]


class NumaInterconnect(NamedTuple):
    """A ``<numa><interconnects>`` ``<latency>`` or ``<bandwidth>`` (HMAT).

    ``cache`` is 0 when absent, as libvirt stores it.
    """

    element: Element
    kind: str
    initiator: int | None
    target: int | None
    cache: int | None
    access_type: str | None


# -- NUMA tuning -----------------------------------------------------------------------


class NumatuneMemory(NamedTuple):
    element: Element
    mode: str
    placement: str | None
    nodeset: CpusetRef | None


class Memnode(NamedTuple):
    element: Element
    cellid: int | None
    mode: str
    nodeset: CpusetRef | None


class Numatune(NamedTuple):
    element: Element
    memory: NumatuneMemory | None
    memnodes: tuple[Memnode, ...]


class NumaFacts(CpuFacts):
    """The guest NUMA cells analysed once, and ``<numatune>``."""

    @lazy
    def guest_numa(self) -> GuestNuma | None:
        """The guest NUMA cells analysed once (None without cells)."""
        cells = self.numa_cells
        if not cells:
            return None
        ids = tuple(
            position if cell.element.get("id") is None else cell.id
            for position, cell in enumerate(cells)
        )
        cells_by_id: dict[int, NumaCell] = {}
        duplicates = []
        for position, (cell_id, cell) in enumerate(zip(ids, cells, strict=True)):
            if cell_id is None:
                continue
            if cell_id in cells_by_id:
                duplicates.append(position)
            else:
                cells_by_id[cell_id] = cell
        cell_of_vcpu: dict[int, int] = {}
        owner: dict[int, int] = {}  # vCPU -> position of the first cell naming it
        overlapping: dict[tuple[int, int], set[int]] = {}
        cpu_total = 0
        cpus_valid = True
        for position, (cell_id, cell) in enumerate(zip(ids, cells, strict=True)):
            if cell.cpus is None:
                continue
            if cell.cpus.ids is None:
                cpus_valid = False
                continue
            cpu_total += len(cell.cpus.ids)
            for vcpu in cell.cpus.ids:
                first = owner.setdefault(vcpu, position)
                if first == position:
                    cell_of_vcpu[vcpu] = cell_id if cell_id is not None else position
                else:
                    overlapping.setdefault((first, position), set()).add(vcpu)
        overlaps = tuple((a, b, frozenset(vcpus)) for (a, b), vcpus in sorted(overlapping.items()))
        vcpu_ids = self.vcpu_ids
        maximum = None if vcpu_ids is None else len(vcpu_ids)
        uncovered = frozenset(
            () if vcpu_ids is None else (v for v in vcpu_ids if v not in cell_of_vcpu)
        )
        return GuestNuma(
            cells=cells,
            ids=ids,
            cells_by_id=cells_by_id,
            duplicate_ids=tuple(duplicates),
            overlaps=overlaps,
            cell_of_vcpu=cell_of_vcpu,
            cpu_total=cpu_total,
            uncovered=uncovered,
            cpus_valid=cpus_valid,
            vcpu_max=maximum,
        )

    @lazy
    def numa_cell_details(self) -> tuple[NumaCellDetail, ...]:
        """Each guest NUMA cell's distances and caches, in document order."""
        numa = self.guest_numa
        if numa is None:
            return ()
        details = []
        for cell, cell_id in zip(numa.cells, numa.ids, strict=True):
            distances = child(cell.element, "distances")
            siblings: tuple[NumaSibling, ...] = ()
            if distances is not None:
                siblings = tuple(
                    NumaSibling(el, parse_uint(el.get("id")), parse_uint(el.get("value")))
                    for el in distances.iterchildren("sibling")
                )
            caches = tuple(
                NumaCellCache(el, parse_uint(el.get("level")))
                for el in cell.element.iterchildren("cache")
            )
            details.append(NumaCellDetail(cell, cell_id, distances, siblings, caches))
        return tuple(details)

    @lazy
    def numa_interconnects(self) -> tuple[NumaInterconnect, ...]:
        """The HMAT ``<latency>`` and ``<bandwidth>`` entries of the first ``<interconnects>``."""
        cpu = self.cpu
        if cpu is None:
            return ()
        numa = child(cpu.element, "numa")
        interconnects = None if numa is None else child(numa, "interconnects")
        if interconnects is None:
            return ()
        return tuple(
            NumaInterconnect(
                element=el,
                kind=el.tag,
                initiator=parse_uint(el.get("initiator")),
                target=parse_uint(el.get("target")),
                cache=parse_uint(el.get("cache", "0")),
                access_type=el.get("type"),
            )
            for el in interconnects
            if el.tag in ("latency", "bandwidth")
        )

    @property
    def has_hmat(self) -> bool:
        """Whether the guest NUMA describes HMAT: interconnects or cell caches."""
        return bool(self.numa_interconnects) or any(d.caches for d in self.numa_cell_details)

    def numa_cell_has_cpus(self, cell_id: int) -> bool | None:
        """Whether a guest cell has vCPUs once libvirt's QEMU driver has filled cell 0.

        qemuDomainDefNumaCPUsRectify adds every vCPU no cell names to cell 0.
        None when the cells are invalid.
        """
        numa = self.guest_numa
        if numa is None or not numa.cpus_valid:
            return None
        cell = numa.cells_by_id.get(cell_id)
        if cell is None:
            return None
        if cell.cpus is not None and cell.cpus.ids:
            return True
        return cell_id == 0 and bool(numa.uncovered) and self.driver == "qemu"

    @lazy
    def numatune(self) -> Numatune | None:
        element = self.top("numatune")
        if element is None:
            return None
        memory_el = child(element, "memory")
        memory = None
        if memory_el is not None:
            memory = NumatuneMemory(
                element=memory_el,
                mode=memory_el.get("mode", "strict"),
                placement=memory_el.get("placement"),
                nodeset=cpuset_ref(memory_el, "nodeset"),
            )
        memnodes = tuple(
            Memnode(
                element=el,
                cellid=parse_uint(el.get("cellid")),
                mode=el.get("mode", "strict"),
                nodeset=cpuset_ref(el, "nodeset"),
            )
            for el in element.iterchildren("memnode")
        )
        return Numatune(element=element, memory=memory, memnodes=memnodes)

    @lazy
    def numatune_placement(self) -> str | None:
        """Where libvirt takes the memory nodeset from: 'static', 'auto' (numad) or None.

        Mirrors virDomainNumatuneSet: an explicit placement wins; a nodeset means
        static; otherwise numatune follows ``<vcpu placement>``. Without
        ``<numatune><memory>`` the memory is only bound when vCPU placement is auto.
        """
        memory = self.numatune.memory if self.numatune is not None else None
        vcpu_auto = self.vcpus.placement == "auto"
        if memory is None:
            return "auto" if vcpu_auto else None
        if memory.placement is not None:
            return memory.placement
        if memory.nodeset is not None:
            return "static"
        return "auto" if vcpu_auto else "static"
