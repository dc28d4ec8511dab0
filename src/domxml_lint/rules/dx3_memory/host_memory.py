"""DX322, DX323, DX325, DX330: a guest's memory against the host's hugetlbfs mounts,
transparent huge pages, KSM and boot-time huge page pools (guide 8.2.3, 8.3, 9.4)."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...facts import DomainFacts
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule
from ...units import format_kib
from .._wording import describe_nodes
from ..dx0_document.host_setup import host_name

#: Sizes no larger than this are base pages, not huge pages (libvirt treats them so).
BASE_PAGE_KIB = 4


def page_uses(facts: DomainFacts) -> list[tuple[int | None, etree._Element]]:
    """The huge page sizes the guest's memory asks for and where: ``None`` for
    ``<hugepages/>`` without a size (the host's default size)."""
    uses: list[tuple[int | None, etree._Element]] = []
    backing = facts.hugepage_backing
    if backing is not None and backing.hugepages is not None:
        if not backing.pages:
            uses.append((None, backing.hugepages))
        for page in backing.pages:
            kib = page.size.kib if page.size is not None else None
            if kib and kib > BASE_PAGE_KIB:
                uses.append((kib, page.element))
    for device in facts.hugepage_devices:
        pagesize = device.pagesize
        if pagesize is not None and pagesize.kib and pagesize.kib > BASE_PAGE_KIB:
            uses.append((pagesize.kib, pagesize.element))
    return uses


@rule(
    code="DX322",
    name="hugetlbfs-mount-missing",
    severity="error",
    summary="Guest memory on huge pages of a size the host has no hugetlbfs mount for",
    needs=(HostPart.SYSTEM,),
    triggers=("hugepages", "pagesize"),
    domains=QEMU,
    libvirt=("qemuGetDomainHupageMemPath", "qemuBuildMemoryGetDefaultPagesize"),
)
def hugetlbfs_mount_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every huge page size the guest's memory asks for
    (`<hugepages><page size>`, a memory device's `<source><pagesize>`) against
    the hugetlbfs mounts the host snapshot recorded (`/proc/mounts`, with
    their `pagesize=`). `<hugepages/>` without a size only needs some mount.
    Sizes the host does not support at all are hugepage-size-unavailable's.
    With `<source type='memfd'/>` QEMU allocates the huge pages through
    memfd, so only `<hugepages/>` without a size (whose size libvirt takes
    from the default mount) needs a mount.

    ## Why is this bad?
    QEMU maps huge-page-backed guest memory from a file on a hugetlbfs mount
    of that page size, which libvirt picks when the guest starts. With no such
    mount the guest does not start: "Unable to find any usable hugetlbfs
    mount for 1048576 KiB", or, with no hugetlbfs mounted at all, "hugetlbfs
    filesystem is not mounted or disabled by administrator config". The
    default `/dev/hugepages` mount serves only the default size (usually
    2 MiB); 1 GiB pages need a mount of their own.

    ## Example
    On a host with only `/dev/hugepages` (2 MiB):
    ```xml
    <memoryBacking>
      <hugepages>
        <page size='1' unit='GiB'/>
      </hugepages>
    </memoryBacking>
    ```

    ## Use instead
    Mount hugetlbfs for that size on the host, and keep it across reboots (an
    `/etc/fstab` line or a systemd mount unit):
    ```sh
    mkdir /dev/hugepages1G
    mount -t hugetlbfs -o pagesize=1G none /dev/hugepages1G
    systemctl restart libvirtd
    ```
    (libvirt looks for mounts when it starts, or uses qemu.conf's
    `hugetlbfs_mount`, which the snapshot does not record.)

    ## Fix safety
    No fix: the mount is host configuration.

    ## Source
    Guide 8.2.3.2 (mount hugetlbfs) and 8.2.3.3 (mount 2 MB and 1 GB huge
    pages separately, `-o pagesize=1G`); libvirt src/qemu/qemu_conf.c
    `qemuGetDomainHupageMemPath` and src/qemu/qemu_command.c
    `qemuBuildMemoryGetDefaultPagesize` and `qemuBuildMemoryBackendProps`
    (memory-backend-file on the mount's path; memory-backend-memfd with
    `hugetlb` and `hugetlbsize` instead for a memfd source).
    """
    uses = page_uses(ctx.facts)
    backing = ctx.facts.memory_backing
    if backing is not None and backing.source_type == "memfd":
        # memfd allocates huge pages itself (MFD_HUGETLB) once their size is known
        uses = [(size, element) for size, element in uses if size is None]
    if not uses:
        return
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    mounts = system.hugetlbfs_mounts
    if mounts is None:
        ctx.note("the snapshot does not list the host's hugetlbfs mounts")
        return
    offered = ctx.host.page_sizes_kib
    if not mounts:
        element = uses[0][1]
        yield ctx.finding(
            element,
            f"{host_name(system)} has no hugetlbfs mounted, so the guest's huge-page-backed memory "
            'cannot be mapped and the guest does not start ("hugetlbfs filesystem is not mounted '
            'or disabled by administrator config")',
        )
        return
    sizes = {m.page_size_kib for m in mounts}
    if None in sizes:
        ctx.note("a hugetlbfs mount of the snapshot has no known page size")
        return
    reported: set[int] = set()
    for size, element in uses:
        if size is None or size in sizes or size in reported:
            continue
        if offered is not None and size not in offered:
            continue  # hugepage-size-unavailable reports it
        reported.add(size)
        listed = ", ".join(
            f"{m.path} ({format_kib(m.page_size_kib)})" for m in mounts if m.page_size_kib
        )
        yield ctx.finding(
            element,
            f"{host_name(system)} has no hugetlbfs mount for {format_kib(size)} pages (only "
            f'{listed}), so the guest does not start ("Unable to find any usable hugetlbfs '
            f'mount for {size} KiB"); mount one with -o pagesize={_kernel_size(size)}',
        )


def _kernel_size(kib: int) -> str:
    for unit, size in (("G", 1024**2), ("M", 1024)):
        if kib % size == 0:
            return f"{kib // size}{unit}"
    return f"{kib}K"


@rule(
    code="DX323",
    name="thp-off-without-hugepages",
    severity="warning",
    summary="Transparent huge pages are off on the host and a large guest has no static ones",
    needs=(HostPart.SYSTEM,),
    domains=QEMU,
    options={"min-memory-gib": 4},
)
def thp_off_without_hugepages(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Reports a guest of at least `min-memory-gib` (4 GiB) whose memory is not
    backed by static huge pages (`<memoryBacking><hugepages>`) when the host
    snapshot recorded transparent huge pages as `never`
    (`/sys/kernel/mm/transparent_hugepage/enabled`). `madvise` counts as on:
    QEMU asks for huge pages for guest memory itself.

    ## Why is this bad?
    Without static huge pages, KVM backs guest memory with transparent huge
    pages when the host allows them; with THP off it uses 4 KiB pages. A
    large guest then takes many more TLB misses, each a walk of both the
    guest's and the host's page tables, and runs measurably slower on
    memory-heavy work. THP is turned off on hosts that give guests static
    huge pages: those guests are fine, the others lose.

    ## Example
    A 16 GiB guest without `<memoryBacking><hugepages/>` on a snapshot with
    `<transparent-hugepages enabled='always madvise [never]'/>`.

    ## Use instead
    Back the guest with static huge pages (see hugepages-suggested):
    ```xml
    <memoryBacking>
      <hugepages/>
    </memoryBacking>
    ```
    or turn THP back on for it (`echo madvise >
    /sys/kernel/mm/transparent_hugepage/enabled`, and drop
    `transparent_hugepage=never` from the kernel command line).

    ## Fix safety
    No fix: huge pages need a host pool, and THP is host configuration.

    ## Source
    Guide 8.2.3.1 (Configuring Transparent Huge Pages: on by default; "if
    static huge pages are not used, KVM uses transparent huge pages instead
    of the regular 4 kB pages") and 8.2.3; QEMU `qemu_madvise(QEMU_MADV_HUGEPAGE)`
    on guest RAM.
    """
    facts = ctx.facts
    if facts.hugepage_backing is not None:
        return
    total = facts.memory_total_kib
    if total is None or total < ctx.option("min-memory-gib") * 1024**2:
        return
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    thp = system.transparent_hugepages
    if thp is None or thp.mode is None:
        ctx.note("the snapshot does not record the transparent huge page setting")
        return
    if thp.mode != "never":
        return
    memory = facts.memory
    element = memory.element if memory is not None else ctx.doc.root
    yield ctx.finding(
        element,
        f"{host_name(system)} has transparent huge pages off (never) and this "
        f"{format_kib(total)} guest has no static huge pages, so its memory is on 4 KiB pages: "
        "more TLB misses, slower memory-heavy work",
    )


@rule(
    code="DX325",
    name="ksm-merges-across-nodes",
    severity="warning",
    summary="KSM merges pages across NUMA nodes while this guest is bound to host nodes",
    needs=(HostPart.SYSTEM, HostPart.NUMA),
    domains=QEMU,
)
def ksm_merges_across_nodes(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Reports a guest whose vCPUs or memory are bound to host NUMA nodes
    (pinned vCPUs, a `<numatune>` nodeset) and whose memory KSM may merge (no
    `<nosharepages/>`, no static huge pages), on a host with more than one node
    where KSM runs (`/sys/kernel/mm/ksm/run` 1) with `merge_across_nodes` 1,
    the kernel's default.

    ## Why is this bad?
    KSM replaces identical pages of different guests with one shared copy.
    With `merge_across_nodes=1` that copy may sit on another node, so memory
    this guest was bound to a node for becomes remote memory, with the access
    latency pinning was meant to avoid; heavy cross-node merging also
    confuses numad's accounting. The guide: on NUMA hosts that use KSM, set
    `merge_across_nodes` to 0.

    ## Example
    A guest with `<numatune><memory mode='strict' nodeset='1'/>` on a
    snapshot with `<ksm run='1' merge-across-nodes='1'/>`.

    ## Use instead
    On the host (with KSM's merged pages unmerged first, `echo 2 >
    /sys/kernel/mm/ksm/run`): `virsh node-memory-tune
    --shm-merge-across-nodes 0`. Or keep this guest out of KSM:
    ```xml
    <memoryBacking>
      <nosharepages/>
    </memoryBacking>
    ```

    ## Fix safety
    No fix: host configuration, or a per-guest choice.

    ## Source
    Guide 8.3 (Kernel Same-page Merging: "set merge_across_nodes to 0 to
    avoid merging pages across NUMA nodes", `virsh node-memory-tune
    --shm-merge-across-nodes 0`) and 9.4 (NUMA-Aware KSM).
    """
    host = ctx.host
    system = host.system
    assert system is not None and host.node_ids is not None  # needs=SYSTEM, NUMA
    facts = ctx.facts
    if len(host.node_ids) < 2 or facts.hugepage_backing is not None:
        return
    backing = facts.memory_backing
    if backing is not None and backing.nosharepages:
        return
    binding = ctx.placement
    nodes = binding.bound_nodes
    if nodes is None or binding.automatic:
        return
    ksm = system.ksm
    if ksm is None or ksm.run is None or ksm.merge_across_nodes is None:
        ctx.note("the snapshot does not record KSM's run and merge_across_nodes")
        return
    if ksm.run != 1 or ksm.merge_across_nodes != 1:
        return
    element = None
    if facts.numatune is not None and facts.numatune.memory is not None:
        element = facts.numatune.memory.element
    elif facts.cputune is not None:
        element = facts.cputune.element
    elif facts.vcpus.element is not None:
        element = facts.vcpus.element
    yield ctx.finding(
        element if element is not None else ctx.doc.root,
        f"the guest is bound to host {describe_nodes(nodes)}, but {host_name(system)} runs KSM "
        "with merge_across_nodes=1, so its pages may be merged into copies on other nodes "
        "(set merge_across_nodes to 0, or add <nosharepages/>)",
    )


@rule(
    code="DX330",
    name="hugepage-pool-not-at-boot",
    severity="info",
    summary="Huge pages of a non-default size that the kernel command line does not allocate",
    needs=(HostPart.SYSTEM,),
    triggers=("hugepages", "pagesize"),
    domains=QEMU,
)
def hugepage_pool_not_at_boot(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For every huge page size the guest uses other than the host's default
    size (usually 1 GiB pages on x86), checks that the host's kernel command
    line allocates pages of that size at boot (`hugepagesz=1G hugepages=N`).
    The default size is left alone: `vm.nr_hugepages` in `/etc/sysctl.conf`
    keeps its pool across reboots, and the snapshot does not record sysctl
    files. So is a size the host has no pool of at all (the pool rules say so).

    ## Why is this bad?
    Pages allocated at run time (`echo N > /sys/devices/system/node/node1/
    hugepages/hugepages-1048576kB/nr_hugepages`) are gone after a reboot, and
    allocating them again may fail: 1 GiB of contiguous memory is hard to find
    once memory is fragmented. The guest then does not start after the host's
    next reboot. The guide allocates 1 GiB pages at boot for this reason.

    ## Example
    A guest with `<page size='1' unit='GiB'/>` on a host whose command line
    has no `hugepagesz=1G hugepages=...`.

    ## Use instead
    Add the pool to the kernel command line, e.g. `hugepagesz=1G hugepages=16`
    (`grubby --update-kernel=ALL --args=...`), and reboot.

    ## Fix safety
    No fix: the kernel command line is host configuration.

    ## Source
    Guide 8.2.3.3 (Enabling 1 GB huge pages for guests at boot or runtime:
    "allocating at run time may fail because of memory fragmentation") and
    8.2.3.2 (make the pool persistent).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    uses = [(size, element) for size, element in page_uses(ctx.facts) if size is not None]
    if not uses:
        return
    default = system.hugepages.default_size_kib if system.hugepages is not None else None
    boot = system.boot_hugepages
    if default is None or boot is None:
        ctx.note("the snapshot does not record the kernel command line and default page size")
        return
    reported: set[int] = set()
    for size, element in uses:
        if size == default or size in reported or boot.get(size):
            continue
        configured = system.hugepages.total_pages(size) if system.hugepages is not None else None
        if not configured:
            continue
        reported.add(size)
        yield ctx.finding(
            element,
            f"the {configured} pages of {format_kib(size)} of {host_name(system)} are not "
            "allocated on the kernel command line: they are gone after a reboot, and allocating "
            f"them again may fail on fragmented memory (hugepagesz={_kernel_size(size)} "
            f"hugepages={configured})",
        )
