"""DX320-DX321: huge pages against the host's page sizes and pools (guide 8.2.3)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule
from ...units import format_kib
from .._wording import describe_nodes


def _sizes(sizes) -> str:
    return ", ".join(format_kib(s) for s in sizes)


def _page_sizes_offered(sizes) -> str:
    """``huge pages of 2 MiB, 1 GiB; base pages of 4 KiB``: the smallest size is the base page."""
    base, huge = sizes[0], sizes[1:]
    listed = f"huge pages of {_sizes(huge)}" if huge else "no huge pages"
    return f"{listed}; base pages of {format_kib(base)}"


@rule(
    code="DX320",
    name="hugepage-size-unavailable",
    severity="error",
    summary="A huge page size the host does not offer",
    needs=(HostPart.PAGE_SIZES,),
    triggers=("hugepages", "pagesize"),
    domains=QEMU,
    libvirt=("qemuGetDomainHupageMemPath",),
)
def hugepage_size_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every `<hugepages><page size>`, and the `<source><pagesize>` of
    every memory device (a DIMM, say), against the page sizes the host
    snapshot lists (capabilities `host/cpu/pages`). `<hugepages/>` without a
    `<page>` asks for the host's default huge page size, so a host that
    offers no huge page size at all is reported too.

    ## Why is this bad?
    The definition is accepted, but the guest does not start: libvirt backs
    guest memory with a file on a hugetlbfs mount of that page size, and a
    host that does not support the size cannot have such a mount. libvirt
    refuses with "Unable to find any usable hugetlbfs mount for 16384 KiB"
    (or "hugetlbfs filesystem is not mounted or disabled by administrator
    config" when there is no mount at all). 1 GiB pages on a CPU without
    `pdpe1gb`, or 2 MiB pages on a 64 KiB-page arm64 or ppc64 host, are the
    usual causes.

    ## Example
    On an x86_64 host (4 KiB, 2 MiB and 1 GiB pages):
    ```xml
    <memoryBacking>
      <hugepages>
        <page size='16' unit='MiB'/>
      </hugepages>
    </memoryBacking>
    ```

    ## Use instead
    ```xml
    <memoryBacking>
      <hugepages>
        <page size='2' unit='MiB'/>
      </hugepages>
    </memoryBacking>
    ```

    ## Fix safety
    No fix: which page size to use is the author's choice.

    ## Source
    Guide 8.2.3.2 and 8.2.3.3 (static huge pages, 2 MB and 1 GB pages, mounted
    hugetlbfs); libvirt src/qemu/qemu_conf.c `qemuGetDomainHupageMemPath`
    ("hugetlbfs filesystem is not mounted or disabled by administrator
    config", "Unable to find any usable hugetlbfs mount for %1$llu KiB");
    src/util/virfile.c `virFileFindHugeTLBFS` (a mount's size is its page
    size; the default mount is the one of /proc/meminfo's Hugepagesize).
    """
    facts = ctx.facts
    backing = facts.hugepage_backing
    device_pages = [d.pagesize for d in facts.hugepage_devices if d.pagesize is not None]
    if backing is None and not device_pages:
        return
    sizes = ctx.host.page_sizes_kib
    assert sizes is not None  # needs=PAGE_SIZES
    for pagesize in device_pages:
        if pagesize.kib and pagesize.kib not in sizes:  # an invalid size is refused on define
            yield ctx.finding(
                pagesize.element,
                f"memory device page size {format_kib(pagesize.kib)} is not one the host offers "
                f'({_page_sizes_offered(sizes)}): "Unable to find any usable hugetlbfs mount for '
                f'{pagesize.kib} KiB"',
            )
    if backing is None:
        return
    if not backing.pages and backing.hugepages is not None:
        if ctx.host.default_hugepage_kib is None:
            yield ctx.finding(
                backing.hugepages,
                f"<hugepages/> asks for the host's default huge page size, but the host offers "
                f'no huge pages (base pages of {_sizes(sizes)}): "hugetlbfs filesystem is not '
                'mounted or disabled by administrator config"',
            )
        return
    for page in backing.pages:
        size = page.size.kib if page.size is not None else None
        if not size or size in sizes:
            continue  # an invalid or zero size is refused on define
        yield ctx.finding(
            page.element,
            f"page size {format_kib(size)} is not one the host offers "
            f'({_page_sizes_offered(sizes)}): "Unable to find any usable hugetlbfs mount for '
            f'{size} KiB"',
            attribute="size",
        )


@rule(
    code="DX321",
    name="hugepage-pool-insufficient",
    severity="warning",
    summary="The host nodes the guest may use have fewer huge pages than it needs",
    needs=(HostPart.NUMA,),
    triggers=("hugepages", "pagesize"),
    domains=QEMU,
)
def hugepage_pool_insufficient(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Works out how many huge pages of each size the guest needs (its memory,
    or each guest NUMA cell's, divided by the page size that backs it, rounded
    up; `<hugepages/>` without a size uses the host's default huge page size)
    and compares that with the pages configured on the host nodes it may use:
    a cell's `<memnode>` nodeset, else the `<numatune>` memory nodeset, else
    the host nodes of its pinned vCPUs, else every node. Memory devices with
    a `<source><pagesize>` (a DIMM, say) add their size, on their
    `<source><nodemask>` if they give one, else on their target cell's nodes.

    The counts are the pages *configured* in the snapshot (`cell/pages`),
    not the ones free when the guest starts: a pool other guests already use
    can still be too small. A snapshot without NUMA cells, or a node without
    a count for the size, leaves the rule silent.

    ## Why is this bad?
    QEMU preallocates hugepage-backed memory when the guest starts. Without
    enough pages on the nodes it may use, the guest does not start ("unable
    to map backing store for guest RAM: Cannot allocate memory") or, with a
    non-strict binding, takes its pages from other nodes, losing the
    locality the binding was for. The guide: the huge pages the guests use
    must be fewer than the host has available.

    ## Example
    On a host with 1024 pages of 2 MiB on node 1:
    ```xml
    <memory unit='GiB'>4</memory>
    <memoryBacking>
      <hugepages>
        <page size='2' unit='MiB'/>
      </hugepages>
    </memoryBacking>
    <numatune>
      <memory mode='strict' nodeset='1'/>
    </numatune>
    ```

    ## Use instead
    Configure at least 2048 pages of 2 MiB on node 1
    (`/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages`),
    or give the guest less memory.

    ## Fix safety
    No fix: the pool is host configuration.

    ## Source
    Guide 8.2.3.2 (配置静态大页: "客户机总数必须小于主机中的可用值", and setting
    nr_hugepages); QEMU system/physmem.c `file_ram_alloc` ("unable to map
    backing store for guest RAM"); libvirt formatcaps (`cell/pages`: pages
    configured per node and size); libvirt formatdomain, "NUMA Node Tuning".
    """
    facts = ctx.facts
    if facts.hugepage_backing is None and not facts.hugepage_devices:
        return
    host = ctx.host
    assert host.node_ids is not None  # needs=NUMA
    all_nodes = host.node_ids
    # (page size, host nodes) -> [pages needed, element to report at, what needs them]
    demands: dict[tuple[int, frozenset[int]], list] = {}
    from ...placement import hugepage_demands  # with a snapshot only: not at start-up

    for demand in hugepage_demands(facts, host, ctx.placement):
        assert demand.page_kib is not None  # huge page demands only
        nodes = demand.nodes or all_nodes
        entry = demands.setdefault((demand.page_kib, nodes), [0, demand.element, []])
        entry[0] += demand.pages
        entry[2].append(demand.what)
    checked: dict[int, list] = {}
    for (size, nodes), (needed, element, whats) in demands.items():
        finding = _check_pool(ctx, host, size, nodes, needed, element, whats)
        if finding is not None:
            yield finding
        checked.setdefault(size, []).append((nodes, needed, element, whats))
    for size, groups in checked.items():
        if len(groups) < 2:
            continue
        # Groups that fit one by one can still share too small a pool.
        union = frozenset().union(*(g[0] for g in groups))
        needed = sum(g[1] for g in groups)
        whats = [w for g in groups for w in g[3]]
        counts = [_configured(host, size, g[0]) for g in groups]
        if all(c is not None and c >= g[1] for c, g in zip(counts, groups, strict=True)):
            finding = _check_pool(ctx, host, size, union, needed, groups[0][2], whats)
            if finding is not None:
                yield finding


def _configured(host, size: int, nodes) -> int | None:
    """Pages of ``size`` configured on ``nodes``; None if a node is missing or does not say."""
    total = 0
    for node in nodes:
        cell = host.cell(node)
        if cell is None:
            return None  # numatune-node-missing reports it
        count = cell.pages.get(size)
        if count is None:
            return None
        total += count
    return total


def _check_pool(ctx, host, size, nodes, needed, element, whats):
    configured = _configured(host, size, nodes)
    if configured is None:
        ctx.note(
            f"the host snapshot lists no {format_kib(size)} page count for host "
            f"{describe_nodes(nodes)} (or lacks the node), so the pool is not checked"
        )
        return None
    if needed <= configured:
        return None
    return ctx.finding(
        element,
        f"{' and '.join(whats)} need{'s' if len(whats) == 1 else ''} {needed} "
        f"page{'' if needed == 1 else 's'} of "
        f"{format_kib(size)} ({format_kib(needed * size)}) on host {describe_nodes(nodes)}, "
        f"which {'has' if len(nodes) == 1 else 'have'} {configured} configured: the guest's "
        "memory does not fit there",
    )
