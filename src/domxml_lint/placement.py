"""Where a guest sits on the host's NUMA nodes: facts about the guest on one host.

"Bound host nodes" are the numatune memory nodeset or, without one, the host
nodes of the pinned vCPUs. Host-aware rules read it as ``ctx.placement``, which
derives it once per document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lxml import etree

from ._records import NamedTuple
from .facts import DomainFacts

if TYPE_CHECKING:
    from .host import Host


class HostBinding(NamedTuple):
    """The guest's vCPU and memory placement in terms of host NUMA nodes.

    ``vcpu_nodes`` maps each pinned vCPU to the host nodes of its CPUs (CPUs the
    host does not list are left out; pin-host-cpu-missing reports them). A vCPU
    whose cpuset holds every host CPU is not pinned at all and is left out.
    ``memory_nodes`` is the static numatune memory nodeset (None without one, or
    with automatic placement); ``memnode_nodes`` the per-guest-cell nodesets.
    """

    vcpu_nodes: dict[int, frozenset[int]]
    pinned_vcpu_nodes: frozenset[int]  # every host node some pinned vCPU may run on
    memory_nodes: frozenset[int] | None
    memnode_nodes: dict[int, frozenset[int]]
    automatic: bool

    @property
    def bound_nodes(self) -> frozenset[int] | None:
        """The numatune memory nodeset, else the pinned vCPUs' nodes; None when unbound."""
        if self.memory_nodes is not None:
            return self.memory_nodes
        return self.pinned_vcpu_nodes or None

    @property
    def bound_by(self) -> str:
        """How the bound nodes came about, for messages."""
        if self.memory_nodes is not None:
            return "its numatune nodeset"
        return "the host nodes of its pinned vCPUs"

    def cell_memory_nodes(self, cell_id: int) -> frozenset[int] | None:
        """Host nodes a guest NUMA cell's memory is bound to: its memnode, else numatune memory."""
        return self.memnode_nodes.get(cell_id, self.memory_nodes)


def host_binding(facts: DomainFacts, host: Host) -> HostBinding:
    """The guest's :class:`HostBinding` on ``host`` (which must know its NUMA cells)."""
    host_cpus = host.cpu_ids or frozenset()
    nodes_of: dict[frozenset[int], frozenset[int]] = {}  # one lookup per distinct cpuset
    vcpu_nodes: dict[int, frozenset[int]] = {}
    for vcpu, cpus in facts.vcpu_host_cpus.items():
        if host_cpus and cpus >= host_cpus:
            continue  # a cpuset of every host CPU pins nothing
        nodes = nodes_of.get(cpus)
        if nodes is None:
            nodes = nodes_of[cpus] = host_nodes_of_cpus(host, cpus)
        vcpu_nodes[vcpu] = nodes
    automatic = facts.numatune_placement == "auto"
    memory_nodes = None
    memnode_nodes: dict[int, frozenset[int]] = {}
    numatune = facts.numatune
    if numatune is not None and not automatic:
        memory = numatune.memory
        if memory is not None and memory.nodeset is not None and memory.nodeset.ids:
            memory_nodes = memory.nodeset.ids
        for memnode in numatune.memnodes:
            if memnode.cellid is not None and memnode.nodeset is not None and memnode.nodeset.ids:
                memnode_nodes.setdefault(memnode.cellid, memnode.nodeset.ids)
    pinned = _union(nodes_of.values())
    return HostBinding(vcpu_nodes, pinned, memory_nodes, memnode_nodes, automatic)


def host_nodes_of_cpus(host: Host, cpus: Iterable[int]) -> frozenset[int]:
    """The host nodes of ``cpus``; CPUs the host does not list are left out."""
    nodes = set()
    for cpu in cpus:
        node = host.node_of_cpu(cpu)
        if node is not None:
            nodes.add(node)
    return frozenset(nodes)


def host_cpus_of_nodes(host: Host, nodes: Iterable[int]) -> frozenset[int]:
    """Every host CPU of ``nodes``."""
    cpus: set[int] = set()
    for node in nodes:
        cell = host.cell(node)
        if cell is not None:
            cpus |= cell.cpu_ids
    return frozenset(cpus)


def _union(sets: Iterable[frozenset[int]]) -> frozenset[int]:
    result: set[int] = set()
    for item in sets:
        result |= item
    return frozenset(result)


# -- memory a guest needs from host nodes ------------------------------------------------

#: numatune modes that keep memory on the nodeset (interleave and preferred fall back).
BINDING_MODES = ("strict", "restrictive")


class NodeDemand(NamedTuple):
    """Memory a guest needs from some host nodes.

    ``nodes`` None means any node of the host. ``page_kib`` is the huge page size
    it is backed with (None: ordinary memory). ``what`` names the part of the
    guest (``the guest's memory``, ``cell 1``, ``memory device 2 (dimm)``) and
    ``element`` where it is written.
    """

    nodes: frozenset[int] | None
    kib: int
    page_kib: int | None
    what: str
    element: etree._Element

    @property
    def pages(self) -> int:
        """Huge pages of ``page_kib`` needed (rounded up); 0 for ordinary memory."""
        return -(-self.kib // self.page_kib) if self.page_kib else 0


def hugepage_demands(facts: DomainFacts, host: Host, binding: HostBinding) -> list[NodeDemand]:
    """The guest's huge page needs: per region of its memory (the whole memory, or each
    guest NUMA cell) and per memory device with a ``<source><pagesize>``, with the host
    nodes each may take its pages from (its memnode, the numatune nodeset, the nodes of
    its pinned vCPUs, else any). ``<hugepages/>`` without a size uses the host's default
    huge page size; sizes no larger than the base page are ordinary memory and left out.
    """
    demands: list[NodeDemand] = []
    backing = facts.hugepage_backing
    base_kib = host.capabilities.base_page_kib if host.capabilities is not None else None
    base_kib = base_kib or 4
    default_kib = host.default_hugepage_kib
    devices_kib = facts.memory_devices_kib or 0
    for region in facts.hugepage_regions:
        page = region.page
        size = default_kib if page is None else (page.size.kib if page.size is not None else None)
        if not size or size <= base_kib:
            continue
        if region.cell is None:
            kib = max(region.kib - devices_kib, 0)  # <memory> includes the memory devices
            nodes = binding.bound_nodes
            what = "the guest's memory"
        else:
            cell_id = region.cell.id
            assert cell_id is not None  # hugepage_regions skips cells without an id
            kib = region.kib
            nodes = binding.cell_memory_nodes(cell_id) or binding.bound_nodes
            what = f"cell {cell_id}"
        if page is not None:
            element = page.element
        else:
            assert backing is not None and backing.hugepages is not None
            element = backing.hugepages
        demands.append(NodeDemand(nodes, kib, size, what, element))
    for number, device in enumerate(facts.memory_devices, 1):
        pagesize = device.pagesize
        device_page = pagesize.kib if pagesize is not None else None
        device_kib = device.size.kib if device.size is not None else None
        if pagesize is None or not device_page or device_page <= base_kib or not device_kib:
            continue
        cell_nodes = None if device.node is None else binding.cell_memory_nodes(device.node)
        nodes = device.nodemask or cell_nodes or binding.bound_nodes
        what = f"memory device {number} ({device.model or 'memory'})"
        demands.append(NodeDemand(nodes, device_kib, device_page, what, pagesize.element))
    return demands


def bound_memory_demands(facts: DomainFacts) -> list[NodeDemand]:
    """Ordinary (not huge page) guest memory that a strict or restrictive numatune keeps
    on given host nodes: per guest NUMA cell (its memnode, else the memory nodeset), or
    the whole memory. Automatic placement (numad) is left out: its nodes are not known."""
    numatune = facts.numatune
    if numatune is None or facts.numatune_placement == "auto":
        return []
    memory = numatune.memory
    default_nodes = None
    if memory is not None and memory.mode in BINDING_MODES and memory.nodeset is not None:
        default_nodes = memory.nodeset.ids or None
    hugepage_cells = {r.cell.id for r in facts.hugepage_regions if r.cell is not None}
    demands: list[NodeDemand] = []
    cells = facts.numa_cells
    if not cells:
        total = facts.memory_total_kib
        if default_nodes and total and facts.hugepage_backing is None and memory is not None:
            whole = NodeDemand(default_nodes, total, None, "the guest's memory", memory.element)
            demands.append(whole)
        return demands
    memnodes = {m.cellid: m for m in numatune.memnodes if m.cellid is not None}
    for cell in cells:
        if cell.id is None or cell.id in hugepage_cells:
            continue
        if cell.memory is None or not cell.memory.kib:
            continue
        memnode = memnodes.get(cell.id)
        if memnode is not None:
            if memnode.mode not in BINDING_MODES or memnode.nodeset is None:
                continue
            nodes, element = memnode.nodeset.ids, memnode.element
        elif default_nodes is not None and memory is not None:
            nodes, element = default_nodes, memory.element
        else:
            continue
        if nodes:
            demands.append(NodeDemand(nodes, cell.memory.kib, None, f"cell {cell.id}", element))
    return demands
