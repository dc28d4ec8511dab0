"""DX201-DX205: pins, numatune and guest size against the host's NUMA nodes (guide 9.1, 9.3)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ...cpuset import format_cpuset
from ...facts import Memnode
from ...facts.values import Element
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule
from ...units import format_kib
from .._wording import approx_kib, describe_nodes, vcpu_list


def _where_vcpus_run(binding, vcpus: Iterable[int]) -> str:
    """``vCPUs 0-1 on node 0, vCPU 2 on node 1``: pinned vCPUs grouped by their host nodes."""
    groups: dict[frozenset[int], list[int]] = {}
    for vcpu in vcpus:
        nodes = binding.vcpu_nodes.get(vcpu)
        if nodes:
            groups.setdefault(nodes, []).append(vcpu)
    ordered = sorted(groups.items(), key=lambda item: min(item[1]))
    return ", ".join(f"{vcpu_list(v)} on {describe_nodes(n)}" for n, v in ordered)


def _cell_vcpus(numa) -> dict[int, list[int]]:
    """Guest cell id -> its vCPUs; vCPUs no cell names are in cell 0, where libvirt puts them."""
    cells: dict[int, list[int]] = {}
    for vcpu, cell_id in numa.cell_of_vcpu.items():
        cells.setdefault(cell_id, []).append(vcpu)
    if numa.uncovered:
        cells.setdefault(0, []).extend(numa.uncovered)
    return cells


def _nodes_of(binding, vcpus: Iterable[int]) -> frozenset[int]:
    nodes: set[int] = set()
    for vcpu in vcpus:
        nodes |= binding.vcpu_nodes.get(vcpu, frozenset())
    return frozenset(nodes)


@rule(
    code="DX201",
    name="pin-spans-host-nodes",
    severity="warning",
    summary="Pinned vCPUs (of the guest, or of one guest NUMA cell) spread over host NUMA nodes",
    needs=(HostPart.NUMA,),
    triggers=("vcpu", "vcpupin"),
    domains=QEMU,
)
def pin_spans_host_nodes(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Works out the host NUMA nodes of the CPUs each vCPU is pinned to (its
    `<vcpupin>`, else `<vcpu cpuset>`) and reports:

    - a guest without NUMA cells whose pinned vCPUs sit on more than one host
      node;
    - a guest NUMA cell (`<cpu><numa><cell>`) whose vCPUs are pinned across
      host nodes.

    vCPUs that are not pinned at all are left out (vcpupin-incomplete reports
    those). A guest whose cells each sit on their own host node is what the
    guide recommends for guests larger than a node, and is not reported.

    ## Why is this bad?
    A guest without NUMA cells believes all its memory is equally close to
    every vCPU. Spread over two host nodes, half its vCPUs reach the memory
    over the node interconnect, and its scheduler cannot know which. The same
    holds for one guest cell whose vCPUs are split between host nodes. The
    guide: the best performance on NUMA hosts comes from keeping a guest's
    resources within one host node, and avoiding splitting them across nodes
    needlessly.

    ## Example
    On a host with node 0 = CPUs 0-7 and node 1 = CPUs 8-15:
    ```xml
    <vcpu placement='static'>4</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='6'/>
      <vcpupin vcpu='1' cpuset='7'/>
      <vcpupin vcpu='2' cpuset='8'/>
      <vcpupin vcpu='3' cpuset='9'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <vcpu placement='static'>4</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='8'/>
      <vcpupin vcpu='1' cpuset='9'/>
      <vcpupin vcpu='2' cpuset='10'/>
      <vcpupin vcpu='3' cpuset='11'/>
    </cputune>
    ```

    ## Fix safety
    No fix: moving vCPUs to other host CPUs is the author's choice.

    ## Source
    Guide 9.3 (libvirt NUMA 调整: "通常，在 NUMA 系统上获得最佳性能是通过将客户机大小限制为单一
    NUMA 节点上的资源量来实现的。避免在 NUMA 节点间不必要地分割资源"), 9.3.2 (NUMA vCPU
    pinning) and 9.3.10 (guest NUMA topology); libvirt formatdomain, "CPU
    Tuning" (vcpupin, and `<vcpu cpuset>` for vCPUs without one).
    """
    facts = ctx.facts
    if not facts.vcpu_host_cpus:
        return
    binding = ctx.placement
    numa = facts.guest_numa
    if numa is None:
        if len(binding.pinned_vcpu_nodes) > 1:
            pinned_by = facts.cputune if facts.vcpupins else facts.vcpus
            element = pinned_by.element if pinned_by is not None else None
            assert element is not None  # some pin or <vcpu cpuset> gave the vCPUs their CPUs
            yield ctx.finding(
                element,
                f"the guest has no NUMA cells but its vCPUs are pinned across host "
                f"{describe_nodes(binding.pinned_vcpu_nodes)} "
                f"({_where_vcpus_run(binding, facts.vcpu_host_cpus)}): it cannot keep its "
                "threads near their memory",
                attribute=None if facts.vcpupins else "cpuset",
            )
        return
    if not numa.valid:
        return  # numa-cells-invalid reports it
    for cell_id, vcpus in sorted(_cell_vcpus(numa).items()):
        nodes = _nodes_of(binding, vcpus)
        if len(nodes) > 1:
            yield ctx.finding(
                numa.cells_by_id[cell_id].element,
                f"guest NUMA cell {cell_id} has its vCPUs pinned across host "
                f"{describe_nodes(nodes)} ({_where_vcpus_run(binding, sorted(vcpus))}): pin each "
                "guest cell within one host node",
                attribute="cpus",
            )


@rule(
    code="DX202",
    name="numatune-pin-mismatch",
    severity="warning",
    summary="The numatune nodeset leaves out a host node where vCPUs are pinned",
    needs=(HostPart.NUMA,),
    triggers=("numatune",),
    domains=QEMU,
)
def numatune_pin_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares the host nodes that `<numatune>` binds memory to with the host
    nodes of the CPUs the vCPUs are pinned to (`<vcpupin>`, else `<vcpu
    cpuset>`). It reports a `<memory nodeset>` that leaves out a node where
    vCPUs run, and, for guests with NUMA cells, a `<memnode>` (or the
    `<memory>` nodeset that cells without one follow) that leaves out a node
    where that cell's vCPUs run. Automatic placement (numad) is left alone.

    ## Why is this bad?
    The vCPUs on the left-out node get all their memory from another node:
    every access crosses the node interconnect. The guide puts the cost of NUMA
    misses at 10% and more, and says vCPU pinning and numatune must be
    configured together so they agree.

    ## Example
    On a host with node 0 = CPUs 0-7 and node 1 = CPUs 8-15:
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='8'/>
      <vcpupin vcpu='1' cpuset='9'/>
    </cputune>
    <numatune>
      <memory mode='strict' nodeset='0'/>
    </numatune>
    ```

    ## Use instead
    ```xml
    <numatune>
      <memory mode='strict' nodeset='1'/>
    </numatune>
    ```

    ## Fix safety
    No fix: either the pins or the nodeset is wrong, and only the author knows
    which.

    ## Source
    Guide 9.3.2 (NUMA vCPU pinning: "将 vCPU 固定与 numatune 相结合可以避免 NUMA 未命中 ...
    通常为 10% 或更多") and 9.3.3 (domain processes, numatune); libvirt
    formatdomain, "NUMA Node Tuning" (`memory`, `memnode`).
    """
    facts = ctx.facts
    if facts.numatune is None or not facts.vcpu_host_cpus:
        return
    binding = ctx.placement
    if binding.automatic:
        return
    numatune = facts.numatune
    numa = facts.guest_numa
    # element that binds the memory -> (its nodeset, the vCPUs whose memory it binds)
    targets: dict[Element, tuple[frozenset[int], list[int]]] = {}
    if numa is not None and numa.valid and binding.memnode_nodes:
        memnodes: dict[int, Memnode] = {}
        for memnode in numatune.memnodes:
            if memnode.cellid is not None:
                memnodes.setdefault(memnode.cellid, memnode)  # libvirt refuses a second one
        for cell_id, vcpus in _cell_vcpus(numa).items():
            cell_memnode = memnodes.get(cell_id)
            if cell_memnode is not None and cell_id in binding.memnode_nodes:
                element, nodes = cell_memnode.element, binding.memnode_nodes[cell_id]
            elif numatune.memory is not None and binding.memory_nodes is not None:
                element, nodes = numatune.memory.element, binding.memory_nodes
            else:
                continue
            targets.setdefault(element, (nodes, []))[1].extend(vcpus)
    elif numatune.memory is not None and binding.memory_nodes is not None:
        targets[numatune.memory.element] = (binding.memory_nodes, list(binding.vcpu_nodes))
    for element, (nodes, vcpus) in targets.items():
        vcpu_nodes = _nodes_of(binding, vcpus)
        left_out = vcpu_nodes - nodes
        if not left_out:
            continue
        stranded = [v for v in sorted(vcpus) if binding.vcpu_nodes.get(v, frozenset()) & left_out]
        yield ctx.finding(
            element,
            f"nodeset '{format_cpuset(nodes)}' leaves out host {describe_nodes(left_out)}, where "
            f"{vcpu_list(stranded)} {'is' if len(stranded) == 1 else 'are'} pinned: their memory "
            "is on another node",
            attribute="nodeset",
        )


@rule(
    code="DX203",
    name="numatune-node-missing",
    severity="error",
    summary="A numatune nodeset names a host NUMA node that does not exist",
    needs=(HostPart.NUMA,),
    triggers=("numatune",),
    domains=QEMU,
    libvirt=("virNumaNodesetIsAvailable",),
)
def numatune_node_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `nodeset` of `<numatune><memory>` and of every `<memnode>`
    against the NUMA nodes of the host snapshot. With automatic placement
    libvirt ignores the nodeset, and so does this rule.

    ## Why is this bad?
    The definition is accepted, but the guest does not start on this host:
    libvirt checks the nodesets when it starts the guest and refuses with
    "NUMA node 2 is unavailable". A nodeset written for a bigger host, or a
    node number confused with a CPU number, is the usual cause.

    ## Example
    On a host with nodes 0 and 1:
    ```xml
    <numatune>
      <memory mode='strict' nodeset='2'/>
    </numatune>
    ```

    ## Use instead
    ```xml
    <numatune>
      <memory mode='strict' nodeset='1'/>
    </numatune>
    ```

    ## Fix safety
    No fix: the intended node is the author's choice.

    ## Source
    libvirt src/conf/numa_conf.c `virDomainNumatuneNodesetIsAvailable`, which
    checks the memory and every memnode nodeset through src/util/virnuma.c
    `virNumaNodesetIsAvailable`: "NUMA node %1$zd is unavailable"; guide 9.1
    and 9.3.3 (numatune nodeset names host NUMA nodes).
    """
    facts = ctx.facts
    numatune = facts.numatune
    if numatune is None or facts.numatune_placement == "auto":
        return
    node_ids = ctx.host.node_ids
    assert node_ids is not None  # needs=NUMA
    refs = [numatune.memory.nodeset] if numatune.memory is not None else []
    refs += [memnode.nodeset for memnode in numatune.memnodes]
    for ref in refs:
        if ref is None or not ref.ids:
            continue
        missing = ref.ids - node_ids
        if missing:
            yield ctx.finding(
                ref.element,
                f"nodeset '{ref.text}' names host {describe_nodes(missing)}, but the host has "
                f'{describe_nodes(node_ids)}: libvirt refuses to start the guest ("NUMA node '
                f'{min(missing)} is unavailable")',
                attribute=ref.attribute,
            )


@rule(
    code="DX204",
    name="numatune-strict-overcommit",
    severity="warning",
    summary="Strict numatune where the guest's memory exceeds the memory of the nodeset's nodes",
    fix="unsafe",
    needs=(HostPart.NUMA,),
    triggers=("numatune",),
    domains=QEMU,
)
def numatune_strict_overcommit(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For `<numatune><memory mode='strict'>` (strict is the default), adds up the
    memory of the host nodes in the nodeset and reports a guest whose memory
    is larger. For guests with NUMA cells and `<memnode>`s, each strict memnode
    is checked against its cell's memory, and `<memory>` against the cells
    without a memnode.

    ## Why is this bad?
    With strict binding, allocations outside the nodeset fail instead of
    falling back to other nodes. Once the guest has touched more memory than
    those nodes hold (less, in practice: the host uses some too), the kernel
    reclaims, swaps and finally kills guest processes to free memory. The guide
    warns exactly this and recommends `preferred` with a single node.

    ## Example
    On a host whose node 0 has 64 GiB:
    ```xml
    <memory unit='GiB'>96</memory>
    <numatune>
      <memory mode='strict' nodeset='0'/>
    </numatune>
    ```

    ## Use instead
    ```xml
    <numatune>
      <memory mode='preferred' nodeset='0'/>
    </numatune>
    ```

    ## Fix safety
    Unsafe, and offered only when the nodeset is one node: `mode='preferred'`
    lets the memory that does not fit come from other nodes (slower, but
    running). It changes where the guest's memory may come from, which is a
    placement decision the author may have made on purpose.

    ## Source
    Guide 9.1 (NUMA 内存分配策略: "如果以 strict 模式过量使用内存，且客户机没有足够的 swap
    空间，内核会终止一些客户机进程来检索额外的内存。红帽建议使用 preferred 分配并指定单个节点集");
    libvirt formatdomain, "NUMA Node Tuning" (strict is the default mode).
    """
    facts = ctx.facts
    numatune = facts.numatune
    if numatune is None or facts.numatune_placement == "auto":
        return
    host = ctx.host
    for element, what, mode, nodes, kib in _memory_bindings(facts):
        if mode != "strict" or kib is None:
            continue
        capacity = _node_memory(host, nodes)
        if capacity is None:
            ctx.note(
                f"host {describe_nodes(nodes)}: memory size unknown or node missing, strict "
                "binding not checked"
            )
            continue
        if kib <= capacity:
            continue
        fix = None
        if len(nodes) == 1:
            fix = ctx.unsafe_fix(
                "Use mode='preferred': memory that does not fit comes from other nodes",
                ctx.edit.set_attribute(element, "mode", "preferred"),
            )
        yield ctx.finding(
            element,
            f"{what} ({format_kib(kib)}) is bound strictly to host {describe_nodes(nodes)}, which "
            f"{'has' if len(nodes) == 1 else 'have'} {approx_kib(capacity)}: the kernel reclaims "
            "and kills guest processes when it runs out",
            attribute="mode" if element.get("mode") is not None else "nodeset",
            fix=fix,
        )


def _memory_bindings(facts):
    """(element, what it binds, mode, host nodes, KiB) for numatune memory and each memnode."""
    numatune = facts.numatune
    memory = numatune.memory
    memory_nodes = None
    if memory is not None and memory.nodeset is not None and memory.nodeset.ids:
        memory_nodes = memory.nodeset.ids
    numa = facts.guest_numa
    memnodes = [m for m in numatune.memnodes if m.nodeset is not None and m.nodeset.ids]
    if numa is None or not numa.valid or not memnodes:
        if memory_nodes is not None:
            kib = facts.memory_total_kib
            yield memory.element, "the guest's memory", memory.mode, memory_nodes, kib
        return
    bound_cells: set[int] = set()
    for memnode in memnodes:
        cell = numa.cells_by_id.get(memnode.cellid) if memnode.cellid is not None else None
        if cell is None or memnode.cellid in bound_cells:
            continue  # numatune-memnode-invalid reports it
        bound_cells.add(memnode.cellid)
        kib = cell.memory.kib if cell.memory is not None else None
        what = f"guest cell {memnode.cellid}'s memory"
        yield memnode.element, what, memnode.mode, memnode.nodeset.ids, kib
    if memory_nodes is not None:
        rest = [c for i, c in numa.cells_by_id.items() if i not in bound_cells]
        if rest and all(c.memory is not None and c.memory.kib is not None for c in rest):
            kib = sum(c.memory.kib for c in rest)
            yield memory.element, "the memory of the other cells", memory.mode, memory_nodes, kib


def _node_memory(host, nodes) -> int | None:
    """The summed memory of host ``nodes``; None if one is missing or its size unknown."""
    total = 0
    for node in nodes:
        cell = host.cell(node)
        if cell is None or cell.memory_kib is None:
            return None
        total += cell.memory_kib
    return total


@rule(
    code="DX205",
    name="guest-exceeds-host-node",
    severity="info",
    summary="An unbound guest without NUMA cells that is larger than any host node",
    needs=(HostPart.NUMA,),
    triggers=("vcpu", "memory"),
    domains=QEMU,
)
def guest_exceeds_host_node(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    On a host with more than one NUMA node, reports a guest that is neither
    bound to host nodes (no numatune nodeset, no pinned vCPUs, no automatic
    placement) nor given guest NUMA cells, while its vCPUs or its memory
    exceed the largest host node.

    ## Why is this bad?
    Such a guest cannot fit in one node, so the host scheduler spreads it
    over several; but without NUMA cells the guest sees uniform memory and
    cannot place its threads near their memory. The guide's advice: restrict
    a guest to the resources of one node where it fits, and otherwise give it a
    NUMA topology that mirrors the host's, pinned node by node.

    ## Example
    On a host with two nodes of 8 CPUs and 64 GiB each:
    ```xml
    <memory unit='GiB'>96</memory>
    <vcpu placement='static'>12</vcpu>
    ```

    ## Use instead
    ```xml
    <memory unit='GiB'>96</memory>
    <vcpu placement='static'>12</vcpu>
    <cpu mode='host-passthrough'>
      <numa>
        <cell id='0' cpus='0-5' memory='48' unit='GiB'/>
        <cell id='1' cpus='6-11' memory='48' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Fix safety
    No fix: a guest NUMA topology is guest-visible hardware.

    ## Source
    Guide 9.3 (best performance from limiting a guest to one node's resources)
    and 9.3.10 (客户机 NUMA 拓扑, guest NUMA topology for guests that span nodes);
    libvirt formatdomain, "CPU model and topology" (`numa`, `cell`).
    """
    facts = ctx.facts
    if facts.numa_cells:
        return
    host = ctx.host
    cells = host.cells
    if len(cells) < 2:
        return
    binding = ctx.placement
    if binding.automatic or binding.bound_nodes is not None:
        return
    largest_cpus = max(len(cell.cpus) for cell in cells)
    sizes = [cell.memory_kib for cell in cells if cell.memory_kib is not None]
    largest_memory = max(sizes) if sizes else None
    vcpus = facts.vcpu_count
    memory = facts.memory_total_kib
    too_many = vcpus is not None and vcpus > largest_cpus
    too_big = memory is not None and largest_memory is not None and memory > largest_memory
    if not (too_many or too_big):
        return
    parts = []
    current = facts.vcpus.current
    # Only the maximum exceeds a node: the guest fits today and outgrows it on hotplug.
    only_at_maximum = too_many and not too_big and current is not None and current <= largest_cpus
    if only_at_maximum:
        assert facts.vcpus.element is not None  # the counts came from it
        yield ctx.finding(
            facts.vcpus.element,
            f"the guest's {current} vCPUs at boot fit a host node, but it can grow to {vcpus} "
            f"(the largest node has {largest_cpus} CPUs) and is not bound to host nodes nor "
            "has NUMA cells: once vCPUs are added its threads spread over nodes; bind it to "
            "one node, or give it a NUMA topology that mirrors the host's",
        )
        return
    if too_many and vcpus is not None:
        online = f", {current} online at boot" if current is not None and current < vcpus else ""
        parts.append(f"{vcpus} vCPUs{online} (the largest node has {largest_cpus} CPUs)")
    if memory is not None and largest_memory is not None and too_big:
        parts.append(
            f"{format_kib(memory)} of memory (the largest node has {approx_kib(largest_memory)})"
        )
    size = facts.vcpus if too_many else facts.memory
    element = size.element if size is not None else None
    assert element is not None  # the count or size came from it
    yield ctx.finding(
        element,
        f"the guest has {' and '.join(parts)} but is not bound to host nodes and has no NUMA "
        "cells: bind it to one node, or give it a NUMA topology that mirrors the host's",
    )
