"""DX212-DX216: numad and automatic NUMA balancing on the host, a memnode per guest cell,
memory bound to host nodes by every guest (guide 9.1-9.3)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...guests import Demand, GuestFacts
from ...planrules import PlanContext, PlanFinding, others, plan_rule
from ...rule import QEMU, HostPart, RuleContext, rule
from .._wording import approx_kib, describe_nodes
from ..dx0_document.host_setup import host_name


@rule(
    code="DX212",
    name="auto-placement-without-numad",
    severity="error",
    summary="Automatic NUMA placement on a host without numad: the guest does not start",
    needs=(HostPart.SYSTEM,),
    triggers=("vcpu", "numatune"),
    domains=QEMU,
    libvirt=("virNumaGetAutoPlacementAdvice", "virDomainNumatuneMaybeGetNodeset"),
)
def auto_placement_without_numad(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Reports `<vcpu placement='auto'>` or `<numatune><memory
    placement='auto'>` when the host snapshot recorded that numad is not
    installed. A snapshot that did not look for numad leaves the rule silent
    (with a note).

    ## Why is this bad?
    With automatic placement libvirt asks numad (`numad -w vcpus:memory`)
    where to put the guest before starting it. Without numad the start fails:
    "Failed to query numad for the advisory nodeset" (or, from a libvirt built
    without numad, "numad is not available on this host").

    ## Example
    ```xml
    <vcpu placement='auto'>8</vcpu>
    <numatune>
      <memory mode='strict' placement='auto'/>
    </numatune>
    ```

    ## Use instead
    Install numad on the host (`dnf install numad`), or place the guest
    yourself:
    ```xml
    <vcpu placement='static' cpuset='8-15'>8</vcpu>
    <numatune>
      <memory mode='strict' nodeset='1'/>
    </numatune>
    ```

    ## Fix safety
    No fix: where to place the guest is the author's choice.

    ## Source
    Guide 9.3.3 (Domain Processes: placement `auto` queries numad) and 9.3;
    libvirt src/util/virnuma.c `virNumaGetAutoPlacementAdvice` ("Failed to
    query numad for the advisory nodeset", "numad is not available on this
    host").
    """
    facts = ctx.facts
    element = None
    if facts.vcpus.placement == "auto" and facts.vcpus.element is not None:
        element, attribute = facts.vcpus.element, "placement"
    elif facts.numatune_placement == "auto" and facts.numatune is not None:
        memory = facts.numatune.memory
        if memory is not None:
            element, attribute = memory.element, "placement"
    if element is None:
        return
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    numad = system.service("numad")
    if numad is None or numad.installed is None:
        ctx.note("the snapshot does not say whether numad is installed")
        return
    if numad.installed:
        return
    yield ctx.finding(
        element,
        f"automatic placement asks numad where to put the guest, and {host_name(system)} has no "
        'numad: the guest does not start ("Failed to query numad for the advisory nodeset")',
        attribute=attribute,
    )


@rule(
    code="DX213",
    name="numa-placement-unmanaged",
    severity="warning",
    summary="An unplaced guest on a NUMA host where neither NUMA balancing nor numad runs",
    needs=(HostPart.SYSTEM, HostPart.NUMA),
    domains=QEMU,
)
def numa_placement_unmanaged(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Reports a guest that leaves its placement to the host (no pinned vCPUs,
    no `<numatune>` nodeset, no automatic placement) on a host with more than
    one NUMA node where automatic NUMA balancing is off
    (`kernel.numa_balancing=0`) and numad does not run.

    ## Why is this bad?
    On a NUMA host a guest runs best with its vCPUs and memory on one node;
    every access to another node's memory costs. Either the kernel's
    automatic NUMA balancing moves threads and pages together (on by default),
    numad places whole processes, or the definition pins them. With none of
    the three the guest's memory lands wherever it was first touched and its
    vCPUs wander between nodes, so its performance varies from run to run.

    ## Example
    A guest without `<cputune>` or `<numatune>` on a snapshot with
    `<numa nodes='0-1' balancing='0'/>` and numad inactive.

    ## Use instead
    Turn automatic NUMA balancing back on (`sysctl kernel.numa_balancing=1`),
    or start numad, or place the guest:
    ```xml
    <vcpu placement='static' cpuset='8-15'>4</vcpu>
    <numatune>
      <memory mode='strict' nodeset='1'/>
    </numatune>
    ```

    ## Fix safety
    No fix: the fix is on the host, or a placement only the author can choose.

    ## Source
    Guide 9.2 (Automatic NUMA Balancing: on by default, "manual NUMA tuning
    of applications overrides it"), 9.3 (libvirt NUMA tuning: run numad) and
    8.1/9.3 (size a guest to one node).
    """
    host = ctx.host
    system = host.system
    assert system is not None and host.node_ids is not None  # needs=SYSTEM, NUMA
    if len(host.node_ids) < 2:
        return
    facts = ctx.facts
    binding = ctx.placement
    if binding.automatic or binding.bound_nodes is not None or facts.vcpus.placement == "auto":
        return
    if system.numa_balancing is None:
        ctx.note("the snapshot does not say whether automatic NUMA balancing is on")
        return
    if system.numa_balancing:
        return
    numad = system.service("numad")
    if numad is None or numad.running is None:
        ctx.note("the snapshot does not say whether numad runs")
        return
    if numad.running:
        return
    element = facts.vcpus.element if facts.vcpus.element is not None else ctx.doc.root
    yield ctx.finding(
        element,
        f"nothing places this guest on the {len(host.node_ids)} NUMA nodes of "
        f"{host_name(system)}: automatic NUMA balancing is off "
        "(kernel.numa_balancing=0), numad does not run, and the guest pins neither vCPUs nor "
        "memory, so its memory and vCPUs spread over the nodes",
    )


@plan_rule(
    code="DX214",
    name="numa-balancing-with-manual-placement",
    severity="info",
    summary="Automatic NUMA balancing on a host whose every guest is placed by hand",
    default=False,
    needs=(HostPart.SYSTEM, HostPart.NUMA),
    domains=QEMU,
)
def numa_balancing_with_manual_placement(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Opt-in. Reports a host with more than one NUMA node where automatic NUMA
    balancing is on while every guest linted against it pins all its vCPUs
    and binds its memory to host nodes by hand.

    ## Why is this bad?
    Manual NUMA tuning overrides automatic balancing for the guests it
    covers, so the kernel's periodic scanning and page migration do nothing
    for them. The guide notes that in some cases system-wide manual tuning is
    preferred: with every guest placed by hand, balancing only scans the
    host's own processes. Whether to turn it off depends on what else the
    host runs, which is why this rule is opt-in.

    ## Example
    Every guest with `<vcpupin>` for each vCPU and `<numatune><memory
    mode='strict' nodeset=...>`, on a snapshot with `<numa balancing='1'/>`.

    ## Use instead
    `sysctl kernel.numa_balancing=0` (and in `/etc/sysctl.d/`), if nothing
    else on the host needs it.

    ## Fix safety
    No fix: host configuration.

    ## Source
    Guide 9.2.1 (Configuring Automatic NUMA Balancing: "manual NUMA tuning of
    applications overrides automatic NUMA balancing ... in some cases
    system-wide manual NUMA tuning is preferred").
    """
    host = ctx.host
    system = host.system
    assert system is not None and host.node_ids is not None  # needs=SYSTEM, NUMA
    if len(host.node_ids) < 2 or not system.numa_balancing:
        return
    if not ctx.guests or not all(g.manually_placed for g in ctx.guests):
        return
    yield ctx.host_finding(
        f"{host_name(system)} runs automatic NUMA balancing, but every guest of it is pinned and "
        "bound by hand, which overrides it: system-wide manual tuning (kernel.numa_balancing=0) "
        "saves its scanning",
        fact="system/numa",
    )


@rule(
    code="DX215",
    name="memnode-missing",
    severity="info",
    summary="Guest NUMA cells bound only to a nodeset of several host nodes, not one node each",
    triggers=("numatune",),
    domains=QEMU,
)
def memnode_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a guest with two or more NUMA cells whose `<numatune><memory>`
    binds memory to a nodeset of several host nodes, and some of whose cells
    have no `<memnode>` of their own. Automatic placement is left out.

    ## Why is this bad?
    The point of a guest NUMA topology on a bigger host is a 1:1 mapping:
    each guest cell's vCPUs and memory on one host node. A single nodeset of
    several nodes lets each cell's memory come from any of them, so the guest
    kernel's view ("cell 0's memory is local to vCPUs 0-1") is false for part
    of the memory, and remote accesses are what NUMA tuning was to avoid. The
    guide's own 4-vCPU example binds two cells to nodes 1-2 this way.

    ## Example
    ```xml
    <numatune>
      <memory mode='strict' nodeset='1-2'/>
    </numatune>
    <cpu>
      <numa>
        <cell id='0' cpus='0-1' memory='3' unit='GiB'/>
        <cell id='1' cpus='2-3' memory='3' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Use instead
    ```xml
    <numatune>
      <memory mode='strict' nodeset='1-2'/>
      <memnode cellid='0' mode='strict' nodeset='1'/>
      <memnode cellid='1' mode='strict' nodeset='2'/>
    </numatune>
    ```
    with the cells' vCPUs pinned to the CPUs of the same nodes.

    ## Fix safety
    No fix: which host node each cell goes to depends on the vCPU pins and the
    host.

    ## Source
    Guide 9.3.4 (Domain vCPU Threads: "a 1:1 mapping of CPU, memory and NUMA
    node") and 9.3.10 (Guest NUMA Topology); libvirt formatdomain, "NUMA Node
    Tuning" (`memnode`).
    """
    facts = ctx.facts
    numatune = facts.numatune
    cells = facts.numa_cells
    if numatune is None or numatune.memory is None or len(cells) < 2:
        return
    if facts.numatune_placement == "auto":
        return
    nodeset = numatune.memory.nodeset
    if nodeset is None or nodeset.ids is None or len(nodeset.ids) < 2:
        return
    covered = {m.cellid for m in numatune.memnodes}
    guest_numa = facts.guest_numa
    ids = guest_numa.ids if guest_numa is not None else tuple(c.id for c in cells)
    missing = sorted(i for i in ids if i is not None and i not in covered)
    if not missing:
        return
    which = ", ".join(str(i) for i in missing)
    yield ctx.finding(
        numatune.memory.element,
        f"guest NUMA cell{'s' if len(missing) > 1 else ''} {which} "
        f"{'have' if len(missing) > 1 else 'has'} no <memnode>, so "
        f"{'their' if len(missing) > 1 else 'its'} memory may come from any of host "
        f"{describe_nodes(nodeset.ids)}: a <memnode cellid=... nodeset=...> per cell maps each "
        "guest cell to one host node",
        attribute="nodeset",
    )


@plan_rule(
    code="DX216",
    name="host-node-memory-overcommit",
    severity="warning",
    summary="Memory the guests bind strictly to host nodes exceeds those nodes' memory",
    needs=(HostPart.NUMA,),
    domains=QEMU,
)
def host_node_memory_overcommit(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Adds up the ordinary (not huge page) memory that the guests of a host
    bind to host nodes with a `strict` or `restrictive` `<numatune>` (the
    whole memory, or each guest cell's, by its `<memnode>`) and compares it,
    for every set of nodes the guests name, with the memory of those nodes
    minus their configured huge pages. A node set that two or more guests
    over-fill is reported on the host snapshot, pointing at each guest's
    `<numatune>`; one guest larger than its nodes is numatune-strict-overcommit's.

    ## Why is this bad?
    Strict binding means the memory may come from those nodes only. When the
    guests bound there need more than the nodes have, the kernel reclaims,
    swaps and finally kills guest processes, even if other nodes are empty.
    The guide recommends `preferred` with a single node where the memory may
    not fit.

    ## Example
    Two guests of 40 GiB each with `<memory mode='strict' nodeset='1'/>` on
    a host whose node 1 has 64 GiB.

    ## Use instead
    Bind the guests to different nodes, use `mode='preferred'`, or move a
    guest to another host.

    ## Fix safety
    No fix: the placement is the author's choice.

    ## Source
    Guide 9.1 (NUMA Memory Allocation Policies: strict fails when the memory
    cannot be allocated on the target node; with overcommitted memory and
    little swap the kernel kills guest processes) and 9.3.
    """
    host = ctx.host
    demands: list[tuple[GuestFacts, Demand]] = [
        (guest, demand)
        for guest in ctx.guests
        for demand in guest.bound_memory
        if demand.nodes is not None
    ]
    if not demands:
        return
    nodesets = {d.nodes for _, d in demands if d.nodes is not None}
    nodesets.add(frozenset().union(*nodesets))
    reported: set[frozenset[int]] = set()
    for nodes in sorted(nodesets, key=lambda s: (len(s), sorted(s))):
        inside = [(g, d) for g, d in demands if d.nodes is not None and d.nodes <= nodes]
        if len({id(g) for g, _ in inside}) < 2:
            continue
        capacity = _ordinary_kib(host, nodes)
        if capacity is None:
            ctx.note(f"the snapshot does not give the memory of host {describe_nodes(nodes)}")
            continue
        needed = sum(d.kib for _, d in inside)
        if needed <= capacity or any(nodes > r for r in reported):
            continue
        reported.add(nodes)
        related, more = others(
            [
                ctx.related(g, d.place, f"{g.label}: {d.what}, {approx_kib(d.kib)}")
                for g, d in inside
            ]
        )
        yield ctx.host_finding(
            f"guests bind {approx_kib(needed)} strictly to host {describe_nodes(nodes)}, which "
            f"{'has' if len(nodes) == 1 else 'have'} {approx_kib(capacity)} besides huge pages"
            f"{more}: when they all run, the kernel reclaims, swaps and kills guest processes",
            fact="capabilities/host/topology/cells",
            related=related,
        )


def _ordinary_kib(host, nodes: frozenset[int]) -> int | None:
    """The memory of ``nodes`` not set aside as huge pages (None if a node is unknown)."""
    base = host.capabilities.base_page_kib if host.capabilities is not None else None
    total = 0
    for node in nodes:
        cell = host.cell(node)
        if cell is None or cell.memory_kib is None:
            return None
        huge = sum(
            count * size for size, count in cell.pages.items() if base is None or size > base
        )
        total += cell.memory_kib - huge
    return total
