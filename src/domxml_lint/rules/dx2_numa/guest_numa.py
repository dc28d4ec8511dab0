"""DX206-DX209: the guest NUMA topology, ``<cpu><numa><cell>`` (guide 9.3.10)."""

from __future__ import annotations

from collections.abc import Iterator

from ...cpuset import format_cpuset
from ...facts import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import express_kib, format_kib
from .._wording import vcpu_list


@rule(
    code="DX206",
    name="numa-cell-splits-socket",
    severity="warning",
    summary="One socket's vCPUs land in more than one guest NUMA cell",
    triggers=("cell",),
    domains=QEMU,
)
def numa_cell_splits_socket(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    With both `<cpu><topology>` and guest NUMA cells, works out which socket
    each vCPU is in and reports a socket whose vCPUs are in more than one
    cell. QEMU numbers vCPUs threads first, then cores, clusters, dies and
    sockets: with `sockets='2' cores='2' threads='1'`, vCPUs 0-1 are socket 0
    and vCPUs 2-3 socket 1. vCPUs that no cell names count as cell 0, where
    libvirt puts them.

    ## Why is this bad?
    Real hardware never splits a socket (or a core's threads) across NUMA
    nodes. libvirt and QEMU accept it (QEMU only warns that it "can cause OSes
    like Linux to misbehave"), so this is a warning, not an error; but the
    guide warns that a guest whose socket is split this way may fail to boot,
    and Linux guests that do boot report a broken scheduler topology.

    ## Example
    ```xml
    <vcpu>4</vcpu>
    <cpu>
      <topology sockets='1' cores='4' threads='1'/>
      <numa>
        <cell id='0' cpus='0-1' memory='2' unit='GiB'/>
        <cell id='1' cpus='2-3' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Use instead
    ```xml
    <vcpu>4</vcpu>
    <cpu>
      <topology sockets='2' cores='2' threads='1'/>
      <numa>
        <cell id='0' cpus='0-1' memory='2' unit='GiB'/>
        <cell id='1' cpus='2-3' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Fix safety
    No fix: either the topology or the cells must change, and both are
    guest-visible hardware.

    ## Source
    Guide 9.3.10 (客户机 NUMA 拓扑, guest NUMA topology): "请确保将属于单一插槽的
    内核和线程分配到相同的 NUMA 节点 ... 客户机可能无法引导" (keep a socket's cores
    and threads in one node, or the guest may fail to boot). QEMU's vCPU numbering:
    include/hw/i386/topology.h `x86_topo_ids_from_idx`, hw/arm/virt.c
    `virt_possible_cpu_arch_ids`; QEMU hw/core/machine.c
    `validate_cpu_cluster_to_numa_boundary` (the warning). libvirt
    src/qemu/qemu_domain.c `qemuDomainDefNumaCPUsRectify` (uncovered vCPUs go
    to cell 0).
    """
    facts = ctx.facts
    cpu = facts.cpu
    numa = facts.guest_numa
    if cpu is None or cpu.topology is None or numa is None or not numa.valid:
        return
    topology = cpu.topology
    per_socket = topology.vcpus_per_socket
    if per_socket is None or topology.total != numa.vcpu_max:
        return  # cpu-topology-mismatch reports it
    # socket -> cell id -> vCPUs; uncovered vCPUs are in cell 0 (libvirt fills it)
    sockets: dict[int, dict[int, set[int]]] = {}
    cell_of_vcpu = {**numa.cell_of_vcpu, **dict.fromkeys(numa.uncovered, 0)}
    for vcpu, cell_id in cell_of_vcpu.items():
        sockets.setdefault(vcpu // per_socket, {}).setdefault(cell_id, set()).add(vcpu)
    for socket in sorted(sockets):
        cells = sockets[socket]
        if len(cells) < 2:
            continue
        parts = ", ".join(
            f"cell {cell_id} has {vcpu_list(cells[cell_id])}" for cell_id in sorted(cells)
        )
        filled = numa.uncovered & {v for vcpus in cells.values() for v in vcpus}
        note = ""
        if filled:
            one = len(filled) == 1
            note = (
                f" ({vcpu_list(filled)} {'is' if one else 'are'} in no cell, so libvirt adds "
                f"{'it' if one else 'them'} to cell 0)"
            )
        second = sorted(cells)[1]
        yield ctx.finding(
            numa.cells_by_id[second].element,
            f"socket {socket} is split across guest NUMA cells: {parts}{note}",
            attribute="cpus" if numa.cells_by_id[second].cpus is not None else None,
        )


@rule(
    code="DX207",
    name="numa-cells-invalid",
    severity="error",
    summary="Guest NUMA cells libvirt refuses: ids not 0..n-1, duplicate ids, overlapping cpus, "
    "or cpus beyond the vCPU count",
    triggers=("numa",),
    libvirt=("virDomainNumaDefParseXML",),
)
def numa_cells_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the guest NUMA cells in `<cpu><numa>`:

    - the cell ids (a cell without `id` takes its position) must be exactly
      0..n-1, each once;
    - no vCPU may be in two cells;
    - the cells may name at most `<vcpu>` vCPUs in total, and only ids below
      the `<vcpu>` count;
    - `<numa>` needs at least one cell.

    ## Why is this bad?
    libvirt refuses the domain: "Exactly one 'cell' element per guest NUMA
    cell allowed, non-contiguous ranges or ranges not starting from 0 are not
    allowed", "Duplicate NUMA cell info for cell id 'N'", "NUMA cells N and M
    have overlapping vCPU ids", "Number of CPUs in <numa> exceeds the <vcpu>
    count", "CPU IDs in <numa> exceed the <vcpu> count", or "NUMA topology
    defined without NUMA cells".

    ## Example
    ```xml
    <vcpu>4</vcpu>
    <cpu>
      <numa>
        <cell id='0' cpus='0-2' memory='2' unit='GiB'/>
        <cell id='2' cpus='2-4' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Use instead
    ```xml
    <vcpu>4</vcpu>
    <cpu>
      <numa>
        <cell id='0' cpus='0-1' memory='2' unit='GiB'/>
        <cell id='1' cpus='2-3' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Fix safety
    No fix: which vCPUs belong to which cell is the author's design.

    ## Source
    libvirt src/conf/numa_conf.c `virDomainNumaDefParseXML` (ids, duplicates,
    overlaps, no cells) and src/conf/domain_conf.c `virDomainDefParseXML`
    (counts against `<vcpu>`); every message checked on libvirt 9.0, which
    applies them to every domain type. Guide 9.3.10 (guest NUMA topology:
    cells numbered from 0).
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None:
        return
    numa = facts.guest_numa
    if numa is None:
        numa_element = child(cpu.element, "numa")
        if numa_element is not None:
            yield ctx.finding(numa_element, "NUMA topology defined without NUMA cells")
        return
    count = len(numa.cells)
    for cell, cell_id in zip(numa.cells, numa.ids, strict=True):
        text = cell.element.get("id")
        if cell_id is None:
            yield ctx.finding(
                cell.element, f"cell id '{text}' is not a non-negative integer", attribute="id"
            )
        elif cell_id >= count:
            shown = f"id {cell_id}" if text is not None else f"position {cell_id} (no id)"
            yield ctx.finding(
                cell.element,
                f"cell {shown} with {count} cell{'s' if count > 1 else ''}: Exactly one 'cell' "
                "element per guest NUMA cell allowed, non-contiguous ranges or ranges not "
                "starting from 0 are not allowed",
                attribute="id" if text is not None else None,
            )
    for position in numa.duplicate_ids:
        element = numa.cells[position].element
        yield ctx.finding(
            element,
            f"Duplicate NUMA cell info for cell id '{numa.ids[position]}'",
            attribute="id" if element.get("id") is not None else None,
        )
    for first, second, shared in numa.overlaps:
        yield ctx.finding(
            numa.cells[second].element,
            f"NUMA cells {_shown_id(numa, second)} and {_shown_id(numa, first)} have overlapping "
            f"vCPU ids ({vcpu_list(shared)} in both)",
            attribute="cpus",
        )
    maximum = facts.vcpu_count
    if maximum is None or not numa.cpus_valid:
        return
    highest = numa.highest_vcpu
    numa_element = child(cpu.element, "numa")
    assert numa_element is not None  # the cells live in it
    if numa.cpu_total > maximum and not numa.overlaps:  # overlaps inflate the total
        yield ctx.finding(
            numa_element,
            f"Number of CPUs in <numa> exceeds the <vcpu> count: the cells name {numa.cpu_total} "
            f"vCPUs, <vcpu> is {maximum}",
        )
    elif highest is not None and highest >= maximum:
        beyond = frozenset(v for v in numa.cell_of_vcpu if v >= maximum)
        owner = numa.cells_by_id.get(numa.cell_of_vcpu[highest])
        yield ctx.finding(
            owner.element if owner is not None else numa_element,
            f"CPU IDs in <numa> exceed the <vcpu> count: {vcpu_list(beyond)} "
            f"{'does' if len(beyond) == 1 else 'do'} not exist (<vcpu> is {maximum})",
            attribute="cpus" if owner is not None else None,
        )


def _shown_id(numa, position: int) -> str:
    cell_id = numa.ids[position]
    return "?" if cell_id is None else str(cell_id)


@rule(
    code="DX208",
    name="numa-cells-incomplete",
    severity="warning",
    summary="The guest NUMA cells leave vCPUs out; libvirt silently adds them to cell 0",
    fix="safe",
    triggers=("cell",),
    domains=QEMU,
)
def numa_cells_incomplete(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds guest NUMA cells whose `cpus` together do not name every vCPU
    below the `<vcpu>` count, on guests with two or more cells (with one cell,
    cell 0 is where the rest belong anyway).

    ## Why is this bad?
    Since libvirt 6.5 the QEMU driver silently adds every vCPU no cell names
    to cell 0 (older versions logged "partial NUMA mapping is obsoleted and
    will be removed in future"). The guest then has a different NUMA layout
    from the one written down: cell 0 gets more vCPUs than intended, and vCPU
    hot-plug puts new vCPUs in cell 0. libvirt's documentation asks for a
    complete topology.

    ## Example
    ```xml
    <vcpu>8</vcpu>
    <cpu>
      <numa>
        <cell id='0' cpus='0-1' memory='2' unit='GiB'/>
        <cell id='1' cpus='2-3' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Use instead
    ```xml
    <vcpu>8</vcpu>
    <cpu>
      <numa>
        <cell id='0' cpus='0-1,4-7' memory='2' unit='GiB'/>
        <cell id='1' cpus='2-3' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Fix safety
    Safe: the fix adds the missing vCPUs to cell 0, which is exactly what
    libvirt does when it defines the domain, so the guest does not change; it
    only makes the layout explicit. Spreading them over the cells instead is
    a design decision left to the author.

    ## Source
    libvirt src/qemu/qemu_domain.c `qemuDomainDefNumaCPUsRectify` and
    src/conf/numa_conf.c `virDomainNumaFillCPUsInNode`; libvirt formatdomain,
    "Guest NUMA topology" (a complete topology is expected). Guide 9.3.10.
    """
    facts = ctx.facts
    numa = facts.guest_numa
    if numa is None or not numa.valid or not numa.uncovered:
        return
    if len(numa.cells) == 1:
        return  # cell 0 is the only cell: where libvirt puts them is where they belong
    cell0 = numa.cells_by_id[0]
    current = (
        cell0.cpus.ids if cell0.cpus is not None and cell0.cpus.ids is not None else frozenset()
    )
    cpus = format_cpuset(current | numa.uncovered)
    missing = vcpu_list(numa.uncovered)
    fix = ctx.safe_fix(
        f"Add {missing} to cell 0 (cpus='{cpus}')",
        ctx.edit.set_attribute(cell0.element, "cpus", cpus),
    )
    one = len(numa.uncovered) == 1
    yield ctx.finding(
        cell0.element,
        f"{missing} {'is' if one else 'are'} in no guest NUMA cell; libvirt silently adds "
        f"{'it' if one else 'them'} to cell 0",
        attribute="cpus" if cell0.cpus is not None else None,
        fix=fix,
    )


@rule(
    code="DX209",
    name="numa-memory-mismatch",
    severity="warning",
    summary="The guest NUMA cells' memory does not sum to <memory>; libvirt overwrites <memory>",
    fix="safe",
    triggers=("cell",),
    domains=QEMU,
)
def numa_memory_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Adds up the `memory` of every guest NUMA cell, plus the `<target><size>`
    of every `<memory>` device (DIMM, NVDIMM, virtio-mem ...), and compares
    the sum with `<memory>`.

    ## Why is this bad?
    When the QEMU driver defines or starts the domain it replaces `<memory>`
    with that sum, so the value in the file is not the guest's memory. Memory
    limits, huge page sizing and capacity planning done against `<memory>` are
    then wrong, and the next `virsh dumpxml` differs from the file in git.

    ## Example
    ```xml
    <memory unit='GiB'>8</memory>
    <cpu>
      <numa>
        <cell id='0' cpus='0-1' memory='2' unit='GiB'/>
        <cell id='1' cpus='2-3' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Use instead
    ```xml
    <memory unit='GiB'>4</memory>
    ```

    ## Fix safety
    Safe: the fix writes the value libvirt itself stores on define
    (in `<memory>`'s unit when it divides evenly, else in KiB), so the guest
    does not change.

    ## Source
    libvirt src/conf/domain_postparse.c `virDomainDefPostParseMemory` (with
    `VIR_DOMAIN_DEF_PARSE_ABI_UPDATE`, which src/qemu/qemu_driver.c
    `qemuDomainDefineXMLFlags` and `qemuDomainCreateXML` pass: `<memory>`
    becomes the NUMA memory plus the memory devices). Guide 9.3.10 (cell
    memory).
    """
    facts = ctx.facts
    memory = facts.memory
    cells = facts.numa_cells
    if memory is None or memory.kib is None or not cells:
        return
    if any(c.memory is None or c.memory.kib is None for c in cells):
        return
    total = facts.memory_total_kib  # cells + memory devices, as libvirt writes <memory>
    if total is None:
        return  # an invalid device size: libvirt refuses the domain for that
    devices_kib = facts.memory_devices_kib or 0
    cells_kib = total - devices_kib
    if total == memory.kib:
        return
    edits = ctx.edit.resize(memory.element, total)
    value = express_kib(total, memory.unit)
    shown_unit = memory.unit if value is not None else "KiB"
    value = value or str(total)
    devices = f" + {format_kib(devices_kib)} of memory devices" if devices_kib else ""
    yield ctx.finding(
        memory.element,
        f"<memory> is {format_kib(memory.kib)} but the guest NUMA cells hold "
        f"{format_kib(cells_kib)}{devices}: libvirt replaces <memory> with "
        f"{format_kib(total)} on define",
        fix=ctx.safe_fix(f"Set <memory> to {value} {shown_unit or 'KiB'}", *edits),
    )
