"""Where a guest sits on the host's NUMA nodes: facts about the guest on one host.

"Bound host nodes" are the numatune memory nodeset or, without one, the host
nodes of the pinned vCPUs. Host-aware rules read it as ``ctx.placement``, which
derives it once per document.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

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
