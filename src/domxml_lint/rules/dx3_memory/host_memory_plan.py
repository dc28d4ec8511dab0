"""DX324, DX326-DX329, DX331, DX334: the host's memory and every guest in it: THP with
static huge pages, KSM, RAM and swap against the guests, huge page pools (guide 8.2.3, 8.3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...guests import Demand, GuestFacts
from ...planrules import PlanContext, PlanFinding, others, plan_rule
from ...rule import QEMU, HostPart
from ...units import format_kib
from .._wording import approx_kib, describe_nodes
from ..dx0_document.host_setup import host_name

if TYPE_CHECKING:  # the host model is loaded only when a snapshot is
    from ...host import Host


@plan_rule(
    code="DX324",
    name="thp-on-with-static-hugepages",
    severity="info",
    summary="Every guest uses static huge pages, but transparent huge pages are still on",
    needs=(HostPart.SYSTEM,),
    domains=QEMU,
)
def thp_on_with_static_hugepages(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Reports a host whose every guest is backed by static huge pages
    (`<memoryBacking><hugepages>`) while transparent huge pages are not
    `never`. A host with some guests on ordinary memory is left alone: those
    guests need THP (thp-off-without-hugepages).

    ## Why is this bad?
    With static huge pages for the guests, THP only adds the work of
    khugepaged scanning and compacting memory, and its latency spikes. The
    guide's procedure for static huge pages therefore sets
    `transparent_hugepage=never` on the kernel command line.

    ## Example
    Guests that all have `<hugepages/>`, on a snapshot with
    `<transparent-hugepages enabled='[always] madvise never'/>`.

    ## Use instead
    Add `transparent_hugepage=never` to the kernel command line and reboot
    (or `echo never > /sys/kernel/mm/transparent_hugepage/enabled` until the
    next boot).

    ## Fix safety
    No fix: host configuration.

    ## Source
    Guide 8.2.3.2 (Configuring Static Huge Pages, step 2: "add
    transparent_hugepage=never to the kernel boot parameters").
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    if not ctx.guests or not all(g.hugepage_backed for g in ctx.guests):
        return
    thp = system.transparent_hugepages
    if thp is None or thp.mode is None:
        ctx.note("the snapshot does not record the transparent huge page setting")
        return
    if thp.mode == "never":
        return
    yield ctx.host_finding(
        f"every guest of {host_name(system)} uses static huge pages, yet "
        f"transparent huge pages are '{thp.mode}': add transparent_hugepage=never to the kernel "
        "command line",
        fact="system/transparent-hugepages",
    )


def _ksm_running(ctx: PlanContext):
    system = ctx.host.system
    assert system is not None
    ksm = system.ksm
    if ksm is None or ksm.run is None:
        ctx.note("the snapshot does not record whether KSM runs")
        return None
    return ksm


@plan_rule(
    code="DX326",
    name="ksm-breaks-thp",
    severity="info",
    summary="KSM runs while guests rely on transparent huge pages, which it breaks up",
    needs=(HostPart.SYSTEM,),
    domains=QEMU,
)
def ksm_breaks_thp(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Reports a host where KSM runs (`/sys/kernel/mm/ksm/run` 1) and
    transparent huge pages are on (`always` or `madvise`) while some of its
    guests have no static huge pages, so their memory relies on THP.

    ## Why is this bad?
    KSM merges identical 4 KiB pages, and to merge a page inside a transparent
    huge page it splits the huge page. The guests then lose the huge pages
    THP gave them. The guide: turn KSM off before relying on THP (and its
    8.3/9.4: KSM is worth it only when memory is overcommitted).

    ## Example
    A guest without `<hugepages>` on a snapshot with `<ksm run='1'/>` and
    `<transparent-hugepages enabled='[always] madvise never'/>`.

    ## Use instead
    `systemctl disable --now ksm ksmtuned; echo 2 > /sys/kernel/mm/ksm/run`,
    unless the host overcommits memory and needs KSM.

    ## Fix safety
    No fix: host configuration.

    ## Source
    Guide 8.2.3.1 (Note: "KSM can reduce the occurrence of transparent huge
    pages, so disable KSM before enabling THP") and 8.3.4 (Deactivating KSM).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    ksm = _ksm_running(ctx)
    thp = system.transparent_hugepages
    if ksm is None or ksm.run != 1 or thp is None or thp.mode in (None, "never"):
        return
    relying = [g for g in ctx.guests if not g.hugepage_backed]
    if not relying:
        return
    related, more = others([ctx.related(g, g.memory_place, g.label) for g in relying])
    yield ctx.host_finding(
        f"{host_name(system)} runs KSM, which splits the transparent huge pages its guests "
        f"without static huge pages rely on{more}: turn KSM off before relying on THP",
        fact="system/ksm",
        related=related,
    )


def _ram_kib(host: Host) -> int | None:
    """The host's RAM: MemTotal from the system facts, else the NUMA cells' memory."""
    system = host.system
    if system is not None and system.memory is not None and system.memory.total_kib:
        return system.memory.total_kib
    cells = host.cells
    if cells and all(c.memory_kib is not None for c in cells):
        return sum(c.memory_kib or 0 for c in cells)
    return None


def _hugepage_pool_kib(host: Host) -> int:
    """Memory set aside as huge pages (configured pools), which ordinary memory cannot use."""
    system = host.system
    if system is not None and system.hugepages is not None:
        return sum(
            (system.hugepages.total_pages(size) or 0) * size for size in system.hugepages.sizes_kib
        )
    base = host.capabilities.base_page_kib if host.capabilities is not None else None
    return sum(
        count * size
        for cell in host.cells
        for size, count in cell.pages.items()
        if base is not None and size > base
    )


def _ordinary(guest: GuestFacts) -> int:
    """The guest's memory that is not on static huge pages (those come from the pools)."""
    if guest.memory_kib is None:
        return 0
    return max(guest.memory_kib - guest.hugepage_kib, 0)


@plan_rule(
    code="DX327",
    name="ksm-against-overcommit",
    severity="info",
    summary="KSM runs although the guests fit in RAM, or is off although they do not",
    needs=(HostPart.SYSTEM,),
    domains=QEMU,
)
def ksm_against_overcommit(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Compares the ordinary memory of every guest of the host (what is not on
    static huge pages) with the host's RAM outside its huge page pools, and
    reports KSM's state when it does not suit the result: KSM running while
    the guests fit, or KSM off while they do not.

    ## Why is this bad?
    KSM scans memory for identical pages and merges them. That raises how
    many similar guests fit in RAM, which is worth its CPU time and latency
    when memory is overcommitted; with plenty of free memory the guide
    recommends stopping and disabling it for better performance. Merged pages
    are also a side channel between guests. Conversely, a host that commits
    more memory than it has runs on swap where KSM could have kept the guests
    in RAM.

    ## Example
    Two 8 GiB guests on a 128 GiB host with `<ksm run='1'/>`.

    ## Use instead
    Guests that fit: `systemctl disable --now ksm ksmtuned` and `echo 2 >
    /sys/kernel/mm/ksm/run`. Overcommitted: `systemctl enable --now ksm
    ksmtuned` (and make sure swap covers the rest: host-memory-overcommit).

    ## Fix safety
    No fix: host configuration.

    ## Source
    Guide 8.3 (KSM: "if your system has plenty of free memory, you may get
    better performance by stopping and disabling the KSM daemon"), 8.3.4 and
    9.4 ("generally, disable KSM sharing for better runtime performance
    unless you overcommit memory").
    """
    host = ctx.host
    system = host.system
    assert system is not None  # needs=SYSTEM
    ksm = _ksm_running(ctx)
    ram = _ram_kib(host)
    if ksm is None:
        return
    if ram is None:
        ctx.note("the snapshot records neither the host's memory nor its NUMA cells")
        return
    available = ram - _hugepage_pool_kib(host)
    committed = sum(_ordinary(g) for g in ctx.guests)
    if ksm.run == 1 and committed <= available:
        yield ctx.host_finding(
            f"{host_name(system)} runs KSM although the ordinary memory of its guests "
            f"({approx_kib(committed)}; KSM cannot merge huge pages) fits in its "
            f"{approx_kib(available)} of RAM outside huge page pools: with memory to spare, KSM "
            "only costs CPU time and latency (stop and disable ksm and ksmtuned)",
            fact="system/ksm",
        )
    elif ksm.run != 1 and committed > available:
        yield ctx.host_finding(
            f"the guests of {host_name(system)} need {approx_kib(committed)} "
            f"of ordinary memory, more than its {approx_kib(available)} outside huge page pools, "
            "and KSM is off: KSM could share their identical pages (systemctl enable --now ksm "
            "ksmtuned)",
            fact="system/ksm",
        )


@plan_rule(
    code="DX328",
    name="ksm-stopped-pages-shared",
    severity="info",
    summary="KSM was stopped with run=0, so the pages it merged stay merged",
    needs=(HostPart.SYSTEM,),
    domains=QEMU,
)
def ksm_stopped_pages_shared(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Reports a host where KSM is stopped (`/sys/kernel/mm/ksm/run` 0) but
    pages it merged are still shared (`pages_sharing` above 0).

    ## Why is this bad?
    `run=0` only stops the scanning: every page merged before stays one
    shared copy, with the copy-on-write faults, remote-node placement and
    side channel that come with it, and khugepaged cannot rebuild transparent
    huge pages over it. Deactivating KSM takes `run=2`, which unmerges them.

    ## Example
    A snapshot with `<ksm run='0' pages-sharing='5400'/>`.

    ## Use instead
    `echo 2 > /sys/kernel/mm/ksm/run` (with enough free memory for the
    unmerged copies).

    ## Fix safety
    No fix: host state.

    ## Source
    Guide 8.3.4 (Deactivating KSM: "echo 2 > /sys/kernel/mm/ksm/run" removes
    all PageKSM, after which khugepaged can rebuild transparent huge pages;
    "echo 0" stops KSM but keeps the shared pages).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    ksm = _ksm_running(ctx)
    if ksm is None or ksm.run != 0 or not ksm.pages_sharing:
        return
    yield ctx.host_finding(
        f"{host_name(system)} stopped KSM with run=0, so {ksm.pages_sharing} pages of its guests "
        "stay merged: echo 2 > /sys/kernel/mm/ksm/run unmerges them",
        fact="system/ksm",
    )


@plan_rule(
    code="DX329",
    name="ksm-services-inconsistent",
    severity="info",
    summary="The ksm and ksmtuned services are not set up as KSM runs",
    needs=(HostPart.SYSTEM,),
    domains=QEMU,
)
def ksm_services_inconsistent(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Reads the state of the `ksm` and `ksmtuned` services and of KSM itself
    and reports, each once: a service that runs but is not enabled (it is
    gone after a reboot), one that is enabled but does not run, and KSM
    running without `ksmtuned` where ksmtuned is installed. Unknown states
    (no systemd in the snapshot) leave the rule silent.

    ## Why is this bad?
    On RHEL the `ksm` service starts KSM (without it KSM shares at most 2000
    pages) and `ksmtuned` adjusts how hard it scans to memory pressure and
    starts or stops it as guests come and go. A service whose runtime state
    differs from its boot state makes the host behave differently after its
    next reboot; KSM without ksmtuned scans at a fixed rate whether or not
    memory is short.

    ## Example
    A snapshot with `<service name='ksm' enabled='disabled' active='active'/>`.

    ## Use instead
    Decide: `systemctl enable --now ksm ksmtuned`, or `systemctl disable --now
    ksm ksmtuned`.

    ## Fix safety
    No fix: host configuration.

    ## Source
    Guide 8.3.1 (The KSM Service: start and enable it), 8.3.2 (The KSM Tuning
    Service) and 8.3.4 (Deactivating KSM: stopping is not persistent;
    `systemctl disable` is).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    for name in ("ksm", "ksmtuned"):
        service = system.service(name)
        if service is None or service.enabled is None or service.running is None:
            continue
        fact = f"system/services/service[{name}]"
        if service.running and service.enabled in ("disabled", "masked"):
            yield ctx.host_finding(
                f"the {name} service runs on {host_name(system)} but is {service.enabled}: it "
                f"does not start after a reboot (systemctl enable {name}, or stop it)",
                fact=fact,
            )
        elif not service.running and service.enabled == "enabled":
            yield ctx.host_finding(
                f"the {name} service is enabled on {host_name(system)} but {service.active}: "
                f"the host runs differently after its next reboot (systemctl start {name}, or "
                "disable it)",
                fact=fact,
            )
    ksm, tuned = system.ksm, system.service("ksmtuned")
    if (
        ksm is not None
        and ksm.run == 1
        and tuned is not None
        and tuned.installed
        and tuned.running is False
    ):
        yield ctx.host_finding(
            f"KSM runs on {host_name(system)} without ksmtuned, so it scans at a fixed rate "
            "whatever the memory pressure (systemctl enable --now ksmtuned)",
            fact="system/services/service[ksmtuned]",
        )


@plan_rule(
    code="DX331",
    name="host-memory-overcommit",
    severity="warning",
    summary="The guests of a host need more memory than its RAM and swap",
    needs=(HostPart.SNAPSHOT,),
    domains=QEMU,
)
def host_memory_overcommit(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Adds up the memory of every guest of the host that is not on static huge
    pages, and compares it with the host's RAM outside its huge page pools
    (MemTotal from the system facts, else the NUMA cells' memory), plus its
    swap (SwapTotal) when the snapshot records it. Reported on the host
    snapshot, pointing at the largest guests. Every guest linted against the
    snapshot counts, as if all run at once; the host's own needs are not
    counted, so the real margin is smaller.

    ## Why is this bad?
    Memory can be overcommitted, but what the guests actually touch has to
    fit in RAM plus swap. Beyond that the kernel's OOM killer ends guests. The
    guide asks for swap large enough for the committed memory, even where KSM
    is expected to save some.

    ## Example
    Three 48 GiB guests on a 128 GiB host with 16 GiB of swap.

    ## Use instead
    More swap, less guest memory, or fewer guests on the host.

    ## Fix safety
    No fix: sizing is the author's choice.

    ## Source
    Guide 8.3 (Important: "make sure swap is large enough for the committed
    RAM, even without KSM") and 9.1 (overcommitted memory without enough swap
    gets guest processes killed).
    """
    host = ctx.host
    ram = _ram_kib(host)
    if ram is None:
        ctx.note("the snapshot records neither the host's memory nor its NUMA cells")
        return
    available = ram - _hugepage_pool_kib(host)
    system = host.system
    swap = system.memory.swap_total_kib if system is not None and system.memory else None
    guests = [g for g in ctx.guests if _ordinary(g)]
    committed = sum(_ordinary(g) for g in guests)
    limit = available + (swap or 0)
    if committed <= limit:
        return
    largest = sorted(guests, key=lambda g: (-_ordinary(g), g.path))
    related, more = others(
        [ctx.related(g, g.memory_place, f"{g.label}: {approx_kib(_ordinary(g))}") for g in largest]
    )
    if swap is None:
        tail = "; the snapshot does not record the host's swap, which must cover the rest"
    else:
        tail = f" and {approx_kib(swap)} of swap: the OOM killer ends guests when they use it"
    yield ctx.host_finding(
        f"the guests of this host need {approx_kib(committed)} of ordinary "
        f"memory, more than its {approx_kib(available)} of RAM outside huge page pools{tail}"
        f"{more}",
        fact="system/memory" if system is not None and system.memory else "capabilities",
        related=related,
    )


@plan_rule(
    code="DX334",
    name="host-hugepage-overcommit",
    severity="warning",
    summary="The guests of a host need more huge pages on some nodes than the pool has",
    needs=(HostPart.NUMA,),
    domains=QEMU,
)
def host_hugepage_overcommit(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Adds up the huge pages every guest of the host needs, per page size and
    per set of host nodes it may take them from (its `<memnode>`, its
    `<numatune>` nodeset, the nodes of its pinned vCPUs, else any node: as
    hugepage-pool-insufficient works them out for one guest), and compares
    each sum with the pages configured on those nodes (capabilities
    `cell/pages`). A pool that two or more guests together over-fill is
    reported on the host snapshot, pointing at each guest.

    ## Why is this bad?
    Static huge pages are preallocated when a guest starts. When the guests of
    a host need more than the pool holds, the last ones to start fail with
    "unable to map backing store for guest RAM: Cannot allocate memory", even
    though each fits on its own. The guide: the guests' huge pages in total
    must be fewer than the host has.

    ## Example
    Two guests of 6 GiB on 2 MiB pages bound to node 1, which has 4096 pages
    (8 GiB).

    ## Use instead
    A larger pool on that node, or one of the guests on another node.

    ## Fix safety
    No fix: the pool is host configuration.

    ## Source
    Guide 8.2.3.2 (Configuring Static Huge Pages: "the total huge pages of the
    guests must be less than what the host has available"); QEMU
    `file_ram_alloc` ("unable to map backing store for guest RAM").
    """
    host = ctx.host
    all_nodes = host.node_ids
    assert all_nodes is not None  # needs=NUMA
    by_size: dict[int, list[tuple[GuestFacts, Demand, frozenset[int]]]] = {}
    for guest in ctx.guests:
        for demand in guest.hugepages:
            if demand.page_kib:
                nodes = demand.nodes or all_nodes
                by_size.setdefault(demand.page_kib, []).append((guest, demand, nodes))
    for size, demands in sorted(by_size.items()):
        nodesets = {nodes for _, _, nodes in demands}
        nodesets.add(frozenset().union(*nodesets))
        reported: list[frozenset[int]] = []
        for nodes in sorted(nodesets, key=lambda s: (len(s), sorted(s))):
            inside = [(g, d) for g, d, n in demands if n <= nodes]
            if len({id(g) for g, _ in inside}) < 2 or any(nodes > r for r in reported):
                continue
            configured = _configured(host, size, nodes)
            if configured is None:
                ctx.note(
                    f"the snapshot lists no {format_kib(size)} page count for some of host "
                    f"{describe_nodes(nodes)}"
                )
                continue
            needed = sum(d.pages for _, d in inside)
            if needed <= configured:
                continue
            reported.append(nodes)
            related, more = others(
                [
                    ctx.related(g, d.place, f"{g.label}: {d.what}, {d.pages} pages")
                    for g, d in inside
                ]
            )
            yield ctx.host_finding(
                f"the guests need {needed} pages of {format_kib(size)} on host "
                f"{describe_nodes(nodes)}, which {'has' if len(nodes) == 1 else 'have'} "
                f'{configured} configured{more}: the last guests to start fail ("unable to map '
                'backing store for guest RAM")',
                fact="capabilities/host/topology/cells",
                related=related,
            )


def _configured(host: Host, size: int, nodes: frozenset[int]) -> int | None:
    total = 0
    for node in nodes:
        cell = host.cell(node)
        if cell is None or size not in cell.pages:
            return None
        total += cell.pages[size]
    return total
