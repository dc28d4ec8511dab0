"""DX301-DX308: memory tuning, huge pages and KSM (guide chapter 8, 9.4)."""

from __future__ import annotations

from ..edits import new_element
from ..facts import child, page_kib
from ..rule import QEMU, rule
from ..units import format_kib

#: libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED (KiB): larger limits mean "no limit".
UNLIMITED_KIB = 9007199254740991
GIB_IN_KIB = 1024 * 1024
#: Domain types whose memtune limits go to the Linux memory cgroup.
CGROUP_VIRT_TYPES = frozenset({"kvm", "qemu", "lxc"})
#: libvirt's order of <memtune> children, and of the domain's top-level memory elements.
MEMTUNE_ORDER = ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee")
MEMORY_BACKING_ORDER = ("hugepages", "nosharepages", "locked", "source", "access", "allocation")


def _limit_kib(size) -> int | None:
    """A memtune limit in KiB, capped at libvirt's "unlimited" (None when absent or invalid)."""
    if size is None or size.kib is None:
        return None
    return min(size.kib, UNLIMITED_KIB)


def _describe(kib: int) -> str:
    return "unlimited" if kib >= UNLIMITED_KIB else format_kib(kib)


def maximum_memory_kib(facts) -> int | None:
    """The most memory the guest can have: ``<maxMemory>`` when set, else its total memory."""
    if facts.max_memory is not None and facts.max_memory.kib is not None:
        return facts.max_memory.kib
    return facts.memory_total_kib


# -- memtune ---------------------------------------------------------------------------


@rule(
    code="DX301",
    name="locked-without-hard-limit",
    severity="warning",
    summary="<memoryBacking><locked/> without <memtune><hard_limit>: unlimited memlock",
    fix="unsafe",
    triggers=("locked",),
    domains=QEMU,
)
def locked_without_hard_limit(ctx):
    """
    ## What it does
    Finds `<memoryBacking><locked/>` in a guest that has no
    `<memtune><hard_limit>`.

    ## Why is this bad?
    `<locked/>` keeps the guest's memory from being swapped out, so QEMU needs
    a memory-locking limit. libvirt takes it from `hard_limit`; without one it
    sets the limit to unlimited, so a misbehaving or compromised QEMU can pin
    all of the host's memory. The guide says that with `locked` the
    `hard_limit` must be set to the guest's maximum memory plus what the QEMU
    process itself uses; libvirt's documentation strongly recommends it too.

    ## Example
    ```xml
    <memory unit='GiB'>4</memory>
    <memoryBacking>
      <locked/>
    </memoryBacking>
    ```

    ## Use instead
    ```xml
    <memory unit='GiB'>4</memory>
    <memtune>
      <hard_limit unit='KiB'>5242880</hard_limit>
    </memtune>
    <memoryBacking>
      <locked/>
    </memoryBacking>
    ```

    ## Fix safety
    Unsafe: the fix adds `<hard_limit unit='KiB'>` equal to the guest's
    maximum memory (`<maxMemory>` when set, else its total memory) plus 1 GiB,
    a heuristic allowance for QEMU's own memory (device emulation, I/O
    buffers, vhost rings); libvirt sizes the memory-locking limit of a guest
    with VFIO host devices the same way (qemumemlocktest `pc-hostdev`: a
    1 GiB guest gets 2 GiB). A hard limit that is too low gets the guest killed
    by the kernel, so review the value for guests with many devices, large
    video memory or VFIO devices. The `<hard_limit>` goes into the existing
    `<memtune>`, or a new `<memtune>` is placed before `<memoryBacking>`.
    An existing `swap_hard_limit` caps the value (libvirt requires hard_limit
    <= swap_hard_limit); when even that is below the guest's memory, no fix
    is offered.

    ## Source
    Guide 8.2.2 (使用 virsh 进行内存调优, the warning under `locked`); libvirt
    formatdomain, "Memory Backing" (`locked`) and "Memory Tuning"
    (`hard_limit`); libvirt tests/qemumemlocktest.c (`pc-locked`: unlimited
    memlock without `hard_limit`; `pc-hardlimit+locked`: the hard limit).
    """
    facts = ctx.facts
    backing = facts.memory_backing
    if backing is None or not backing.locked:
        return
    memtune = facts.memtune
    if memtune is not None and memtune.hard_limit is not None:
        return
    maximum = maximum_memory_kib(facts)
    fix = None
    limit = None if maximum is None else maximum + GIB_IN_KIB
    swap = memtune.swap_hard_limit if memtune is not None else None
    if limit is not None and swap is not None and swap.kib is not None and swap.kib < limit:
        # hard_limit may not exceed swap_hard_limit (equal is fine) nor undercut the memory
        limit = swap.kib if swap.kib >= maximum else None
    if limit is not None:
        hard_limit = new_element("hard_limit", {"unit": "KiB"}, text=str(limit))
        if memtune is not None:
            edit = ctx.edit.insert_in_order(memtune.element, hard_limit, before=MEMTUNE_ORDER[1:])
        else:
            edit = ctx.edit.insert_child(
                facts.root, new_element("memtune", None, hard_limit), before=backing.element
            )
        basis = "+ 1 GiB" if limit == maximum + GIB_IN_KIB else "capped at swap_hard_limit"
        fix = ctx.unsafe_fix(
            f"Add <memtune><hard_limit> of {format_kib(limit)} (maximum memory "
            f"{format_kib(maximum)} {basis}); review it",
            edit,
        )
    yield ctx.finding(
        child(backing.element, "locked"),
        "<locked/> without <memtune><hard_limit>: libvirt sets QEMU's memory-locking limit to "
        "unlimited, so the guest can pin all host memory",
        fix=fix,
    )


@rule(
    code="DX302",
    name="hard-limit-below-memory",
    severity="error",
    summary="A memtune hard_limit below the guest's memory: the kernel kills the guest",
    triggers=("memtune",),
)
def hard_limit_below_memory(ctx):
    """
    ## What it does
    Finds a `<memtune><hard_limit>` smaller than the guest's memory (the sum
    of the guest NUMA cells plus memory devices when cells are defined, else
    `<memory>`). Applies to the cgroup-based drivers: `kvm`, `qemu`, `lxc`.

    ## Why is this bad?
    `hard_limit` caps the memory cgroup of the whole QEMU process: guest RAM
    plus QEMU's own memory. Below the guest's memory, the kernel's OOM killer
    ends the guest once it touches enough of its RAM. The guide warns that a
    limit set too low can get the guest killed by the kernel.

    ## Example
    ```xml
    <memory unit='GiB'>8</memory>
    <memtune>
      <hard_limit unit='GiB'>4</hard_limit>
    </memtune>
    ```

    ## Use instead
    ```xml
    <memory unit='GiB'>8</memory>
    <memtune>
      <hard_limit unit='GiB'>9</hard_limit>
    </memtune>
    ```

    ## Fix safety
    No fix: the right limit depends on the guest's devices and workload.

    ## Source
    Guide 8.2.2 (使用 virsh 进行内存调优): hard_limit, "设置此限制太低，可能会导致虚拟机被内核终止";
    libvirt formatdomain, "Memory Tuning".
    """
    facts = ctx.facts
    if facts.virt_type not in CGROUP_VIRT_TYPES or facts.memtune is None:
        return
    hard = _limit_kib(facts.memtune.hard_limit)
    memory = facts.memory_total_kib
    if hard is None or memory is None or hard >= memory:
        return
    yield ctx.finding(
        facts.memtune.hard_limit.element,
        f"hard_limit {format_kib(hard)} is below the guest's memory {format_kib(memory)}: "
        "the kernel kills the guest when it uses its memory",
    )


@rule(
    code="DX303",
    name="swap-hard-limit-below-hard-limit",
    severity="error",
    summary="A memtune swap_hard_limit smaller than hard_limit",
    triggers=("memtune",),
    libvirt=("virDomainCgroupSetMemoryLimitParameters",),
)
def swap_hard_limit_below_hard_limit(ctx):
    """
    ## What it does
    Finds a `<memtune><swap_hard_limit>` smaller than `<hard_limit>` (equal
    is allowed). Applies to the cgroup-based drivers: `kvm`, `qemu`, `lxc`.

    ## Why is this bad?
    `swap_hard_limit` is memory plus swap, so it cannot be below the memory
    limit. libvirt's memory-tuning API refuses it ("memory hard_limit tunable
    value must be lower than or equal to swap_hard_limit"), and on cgroup v1
    the kernel refuses a `memory.memsw.limit_in_bytes` below
    `memory.limit_in_bytes`, so the guest fails to start.

    ## Example
    ```xml
    <memtune>
      <hard_limit unit='GiB'>9</hard_limit>
      <swap_hard_limit unit='GiB'>8</swap_hard_limit>
    </memtune>
    ```

    ## Use instead
    ```xml
    <memtune>
      <hard_limit unit='GiB'>9</hard_limit>
      <swap_hard_limit unit='GiB'>10</swap_hard_limit>
    </memtune>
    ```

    ## Fix safety
    No fix: which of the two limits is wrong is the author's decision.

    ## Source
    Guide 8.2.2: "swap_hard_limit 值必须大于 hard_limit 值" (corrected: equal is
    allowed); libvirt src/hypervisor/domain_cgroup.c
    (`virDomainCgroupSetMemoryLimitParameters`).
    """
    facts = ctx.facts
    if facts.virt_type not in CGROUP_VIRT_TYPES or facts.memtune is None:
        return
    hard = _limit_kib(facts.memtune.hard_limit)
    swap = _limit_kib(facts.memtune.swap_hard_limit)
    if hard is None or swap is None or swap >= hard:
        return
    yield ctx.finding(
        facts.memtune.swap_hard_limit.element,
        f"swap_hard_limit {_describe(swap)} is below hard_limit {_describe(hard)}: it counts "
        "memory plus swap, so it must be at least hard_limit",
    )


@rule(
    code="DX304",
    name="soft-limit-above-hard-limit",
    severity="warning",
    summary="A memtune soft_limit greater than hard_limit",
    triggers=("memtune",),
)
def soft_limit_above_hard_limit(ctx):
    """
    ## What it does
    Finds a `<memtune><soft_limit>` greater than `<hard_limit>`. Applies to
    the cgroup-based drivers: `kvm`, `qemu`, `lxc`.

    ## Why is this bad?
    `soft_limit` is what the guest is pushed back to under host memory
    contention; it only means something below the hard limit. Above it, it
    never takes effect, which usually means one of the two values is a typo
    or uses the wrong unit.

    ## Example
    ```xml
    <memtune>
      <hard_limit unit='GiB'>9</hard_limit>
      <soft_limit unit='GiB'>12</soft_limit>
    </memtune>
    ```

    ## Use instead
    ```xml
    <memtune>
      <hard_limit unit='GiB'>9</hard_limit>
      <soft_limit unit='GiB'>6</soft_limit>
    </memtune>
    ```

    ## Fix safety
    No fix: which of the two limits is wrong is the author's decision.

    ## Source
    Guide 8.2.2 (soft_limit: "要在内存争用期间强制实施的内存限值"); libvirt
    formatdomain, "Memory Tuning".
    """
    facts = ctx.facts
    if facts.virt_type not in CGROUP_VIRT_TYPES or facts.memtune is None:
        return
    hard = _limit_kib(facts.memtune.hard_limit)
    soft = _limit_kib(facts.memtune.soft_limit)
    if hard is None or soft is None or soft <= hard:
        return
    yield ctx.finding(
        facts.memtune.soft_limit.element,
        f"soft_limit {_describe(soft)} is above hard_limit {_describe(hard)}: it can never "
        "take effect",
    )


# -- huge pages ------------------------------------------------------------------------


@rule(
    code="DX305",
    name="memory-not-hugepage-aligned",
    severity="warning",
    summary="Guest memory (or a NUMA cell's) not a multiple of its huge page size",
    fix="unsafe",
    triggers=("hugepages",),
    domains=QEMU,
)
def memory_not_hugepage_aligned(ctx):
    """
    ## What it does
    With huge pages of size S (`<hugepages><page size>`), finds a guest
    memory size that is not a multiple of S: `<memory>` without guest NUMA,
    else each guest NUMA cell's `memory`, each checked against the page whose
    `nodeset` names the cell (or the page without a nodeset). Smaller than
    one page is an error. `<hugepages/>` without a `<page>` uses the host's
    default huge page size: with a host snapshot that is 2 MiB when the host
    supports it, else its smallest huge page size (capabilities do not report
    the kernel's default); without a host it is not checked.

    ## Why is this bad?
    QEMU rounds a hugepage-backed memory region up to whole pages, so the
    rest of the last page is reserved from the huge page pool but never given
    to the guest, and pool sizing by "memory / page size" comes out one page
    short. A region smaller than one page does not start at all: "memory size
    0x... must be equal to or larger than page size 0x...".

    ## Example
    ```xml
    <memory unit='MiB'>3000</memory>
    <memoryBacking>
      <hugepages>
        <page size='1' unit='GiB'/>
      </hugepages>
    </memoryBacking>
    ```

    ## Use instead
    ```xml
    <memory unit='MiB'>3072</memory>
    ```

    ## Fix safety
    Unsafe: it gives the guest more memory (and takes more huge pages from the
    host). The fix rounds the size up to a multiple of S, in its own unit when
    that is exact, else in KiB; `<memory>` and `<currentMemory>` follow when
    they equalled the old total. No fix when the rounded memory would exceed
    an existing `<memtune><hard_limit>` (that would make hard-limit-below-memory
    fire); raise or drop the limit by hand.

    ## Source
    Guide 8.2.3 (大内存页和透明大内存页); QEMU system/physmem.c
    (`file_ram_alloc`: the size check and `ROUND_UP(memory, page_size)`);
    libvirt formatdomain, "Memory Backing" (`page` `nodeset` names guest NUMA
    nodes); libvirt src/util/virfile.c `virFileFindHugeTLBFS` (the default
    hugetlbfs mount is the one whose page size is /proc/meminfo's
    Hugepagesize).
    """
    facts = ctx.facts
    backing = facts.hugepage_backing
    if backing is None:
        return
    host = ctx.optional_host
    default_kib = host.default_hugepage_kib if host is not None else None
    if not backing.pages and default_kib is None:
        ctx.note(
            "<hugepages/> without <page>: the host's default huge page size is unknown "
            + ("(the host lists no huge page size)" if host is not None else "without a host")
        )
        return
    for region in facts.hugepage_regions:
        size = default_kib if region.page is None else page_kib(region.page)
        if size is None:
            continue
        if region.cell is None:
            yield from _check_memory(ctx, size)
        else:
            yield from _check_cell(ctx, region.cell, size)


def _severity_and_reason(kib: int, size: int) -> tuple[str, str] | None:
    if kib < size:
        return "error", "smaller than one page: QEMU refuses to start"
    if kib % size:
        waste = size - kib % size
        return "warning", f"QEMU rounds it up, leaving {format_kib(waste)} of a huge page unused"
    return None


def _check_memory(ctx, size: int):
    facts = ctx.facts
    memory = facts.memory
    verdict = _severity_and_reason(memory.kib, size)
    if verdict is None:
        return
    severity, reason = verdict
    rounded = -(-memory.kib // size) * size
    edits = ctx.edit.resize(memory.element, rounded)
    current = facts.current_memory
    if current is not None and current.kib == memory.kib:
        edits += ctx.edit.resize(current.element, rounded)
    fix = None
    if _within_hard_limit(facts, rounded):
        fix = ctx.unsafe_fix(f"Round the memory up to {format_kib(rounded)}", *edits)
    yield ctx.finding(
        memory.element,
        f"guest memory {format_kib(memory.kib)} is not a multiple of the {format_kib(size)} "
        f"huge page size ({reason})",
        severity=severity,
        fix=fix,
    )


def _within_hard_limit(facts, total_kib: int | None) -> bool:
    """Whether a guest of ``total_kib`` still fits its ``<memtune><hard_limit>``, if any.

    Rounding memory past the hard limit would make hard-limit-below-memory fire.
    """
    limit = facts.memtune.hard_limit if facts.memtune is not None else None
    if limit is None or limit.kib is None:
        return True
    return total_kib is not None and total_kib <= limit.kib


def _check_cell(ctx, cell, size: int):
    facts = ctx.facts
    kib = cell.memory.kib
    verdict = _severity_and_reason(kib, size)
    if verdict is None:
        return
    severity, reason = verdict
    rounded = -(-kib // size) * size
    edits = ctx.edit.resize(cell.element, rounded, value_attribute="memory")
    total = facts.memory_total_kib
    new_total = None
    if total is not None:
        new_total = total + rounded - kib
        for follower in (facts.memory, facts.current_memory):
            if follower is not None and follower.kib == total:
                edits += ctx.edit.resize(follower.element, new_total)
    fix = None
    if _within_hard_limit(facts, new_total):
        fix = ctx.unsafe_fix(f"Round cell {cell.id} up to {format_kib(rounded)}", *edits)
    yield ctx.finding(
        cell.element,
        f"guest NUMA cell {cell.id} memory {format_kib(kib)} is not a multiple of the "
        f"{format_kib(size)} huge page size ({reason})",
        attribute="memory",
        severity=severity,
        fix=fix,
    )


@rule(
    code="DX306",
    name="hugepage-nodeset-invalid",
    severity="error",
    summary="A huge page nodeset naming a missing guest NUMA cell, or overlapping pages",
    triggers=("hugepages",),
    libvirt=("virDomainDefMemtuneValidate",),
)
def hugepage_nodeset_invalid(ctx):
    """
    ## What it does
    Checks `<hugepages><page nodeset>` the way libvirt validates it:

    - a nodeset naming a guest NUMA cell that does not exist (the nodeset
      names guest cells, not host nodes; without guest NUMA libvirt drops a
      nodeset of exactly `0`, any other is an error);
    - two page sizes whose nodesets intersect;
    - two pages without a nodeset (two "default" sizes).

    ## Why is this bad?
    libvirt refuses the definition: "hugepages: node 1 not found",
    "nodeset attribute of hugepages of sizes 2048 and 1048576 intersect", or
    "two master hugepages detected: 2048 and 1048576". A host node number in
    `nodeset` is a common mistake: host placement belongs in `<numatune>`.

    ## Example
    ```xml
    <memoryBacking>
      <hugepages>
        <page size='1' unit='G' nodeset='1'/>
      </hugepages>
    </memoryBacking>
    <!-- no <cpu><numa>: the guest has no cell 1 -->
    ```

    ## Use instead
    ```xml
    <memoryBacking>
      <hugepages>
        <page size='1' unit='G'/>
      </hugepages>
    </memoryBacking>
    <numatune>
      <memory mode='strict' nodeset='1'/>
    </numatune>
    ```

    ## Fix safety
    No fix: only the author knows which cells each page size was meant for.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefMemtuneValidate`) and
    src/conf/domain_postparse.c (`virDomainDefPostParseMemtune`); libvirt
    formatdomain, "Memory Backing"; guide 8.2.3.3 and 9.3 (NUMA tuning).
    """
    facts = ctx.facts
    backing = facts.memory_backing
    if backing is None or not backing.pages:
        return
    cell_count = len(facts.numa_cells)
    seen: list = []
    for page in backing.pages:
        if page.nodeset is not None and page.nodeset.ids is None:
            continue  # cpuset-invalid reports the syntax
        nodeset = facts.page_nodeset(page)
        size = _size_text(page)
        for earlier in seen:
            earlier_set = facts.page_nodeset(earlier)
            if nodeset is None and earlier_set is None:
                yield ctx.finding(
                    page.element,
                    f"two huge page sizes without a nodeset ({_size_text(earlier)} and {size}): "
                    'libvirt refuses two default sizes ("two master hugepages detected")',
                )
                break
            if nodeset is not None and earlier_set is not None and nodeset & earlier_set:
                cells = ",".join(str(i) for i in sorted(nodeset & earlier_set))
                yield ctx.finding(
                    page.element,
                    f"huge page sizes {_size_text(earlier)} and {size} both claim guest cell(s) "
                    f"{cells}: libvirt refuses intersecting nodesets",
                    attribute="nodeset",
                )
                break
        seen.append(page)
        if nodeset is None:
            continue
        missing = sorted(i for i in nodeset if i >= cell_count)
        if missing:
            have = f"cells 0-{cell_count - 1}" if cell_count else "no guest NUMA cells"
            yield ctx.finding(
                page.element,
                f"huge page nodeset '{page.nodeset.text}' names guest NUMA cell {missing[0]}, but "
                f'the guest has {have} ("hugepages: node {missing[0]} not found"); nodeset '
                "names guest cells, host nodes belong in <numatune>",
                attribute="nodeset",
            )


def _size_text(page) -> str:
    if page.size is None or page.size.kib is None:
        return f"'{page.element.get('size')}'"
    return format_kib(page.size.kib)


# -- KSM -------------------------------------------------------------------------------


@rule(
    code="DX307",
    name="nosharepages-missing",
    severity="info",
    summary="A pinned or hugepage-backed guest without <nosharepages/> (KSM merging)",
    fix="safe",
    triggers=("vcpupin", "emulatorpin", "iothreadpin", "vcpu", "hugepages"),
    domains=QEMU,
)
def nosharepages_missing(ctx):
    """
    ## What it does
    Finds guests tuned for performance, with pinned CPUs (`<vcpu cpuset>`,
    `<vcpupin>`, `<emulatorpin>`, `<iothreadpin>`) or huge pages, whose
    `<memoryBacking>` lacks `<nosharepages/>`.

    ## Why is this bad?
    Kernel same-page merging (KSM) scans the guest's memory and merges
    identical pages copy-on-write. The scanning costs host CPU, a write to a
    merged page takes a copy-on-write fault, and on NUMA hosts KSM can merge
    pages across nodes, so a pinned guest ends up reading memory from a
    remote node. The guide recommends turning sharing off for such guests
    unless memory is overcommitted. (KSM cannot merge hugetlbfs pages, so for
    a hugepage guest this covers QEMU's other memory, and records the intent.)

    ## Example
    ```xml
    <memoryBacking>
      <hugepages/>
    </memoryBacking>
    ```

    ## Use instead
    ```xml
    <memoryBacking>
      <hugepages/>
      <nosharepages/>
    </memoryBacking>
    ```

    ## Fix safety
    Safe: `<nosharepages/>` only tells QEMU not to mark the guest's memory
    mergeable; the guest starts wherever it started before and sees no
    difference. It costs host memory only when the host relied on KSM to
    overcommit. The fix adds it to `<memoryBacking>`, creating
    `<memoryBacking>` (after the memory elements) when the guest has none.

    ## Source
    Guide 8.2.2 (`nosharepages`), 8.3 (内核同页合并 KSM) and 9.4 (NUMA-aware
    KSM: "通常，除非您被超过系统内存，通过禁用 KSM 共享来获得更好的运行时性能");
    libvirt formatdomain, "Memory Backing"; QEMU system/physmem.c
    (`memory_try_enable_merging`: MADV_MERGEABLE unless mem-merge is off).
    """
    facts = ctx.facts
    backing = facts.memory_backing
    if backing is not None and backing.nosharepages:
        return
    hugepages = facts.hugepage_backing is not None
    pinned = bool(facts.pinned_host_cpus)
    if not (hugepages or pinned):
        return
    why = "pinned" if pinned else "hugepage-backed"
    if backing is not None:
        edit = ctx.edit.insert_in_order(
            backing.element,
            new_element("nosharepages"),
            after=("hugepages",),
            before=MEMORY_BACKING_ORDER[2:],
        )
        where = backing.element
    else:
        backing_element = new_element("memoryBacking", None, new_element("nosharepages"))
        edit = ctx.edit.insert_top_level(backing_element)
        where = facts.cputune.element if facts.cputune is not None else facts.vcpus.element
    yield ctx.finding(
        where,
        f"{why} guest without <nosharepages/>: KSM scans and merges its memory, costing CPU "
        "and latency, and can merge pages across NUMA nodes",
        fix=ctx.safe_fix("Add <nosharepages/> to <memoryBacking>", edit),
    )


# -- current memory ---------------------------------------------------------------------


@rule(
    code="DX308",
    name="current-memory-exceeds-memory",
    severity="warning",
    summary="<currentMemory> greater than the guest's memory",
    fix="safe",
    triggers=("currentMemory",),
)
def current_memory_exceeds_memory(ctx):
    """
    ## What it does
    Finds a `<currentMemory>` greater than the guest's memory (`<memory>`, or
    with guest NUMA cells their sum plus memory devices, which is what libvirt
    puts in `<memory>`).

    ## Why is this bad?
    The balloon cannot give the guest more than its memory. libvirt silently
    resets `currentMemory` to the memory size on define, so the file says one
    thing and the guest gets another; usually the two values were meant to be
    in the same unit.

    ## Example
    ```xml
    <memory unit='GiB'>4</memory>
    <currentMemory unit='GiB'>8</currentMemory>
    ```

    ## Use instead
    ```xml
    <memory unit='GiB'>4</memory>
    <currentMemory unit='GiB'>4</currentMemory>
    ```

    ## Fix safety
    Safe: it writes down what libvirt does anyway. The value keeps
    `<currentMemory>`'s unit when exact, else it is written in KiB.

    ## Source
    libvirt src/conf/domain_postparse.c (`virDomainDefPostParseMemory`:
    "cur_balloon > virDomainDefGetMemoryTotal(def)" resets it); libvirt
    formatdomain, "Memory Allocation"; guide 8.1 (do not give a guest more
    than it uses).
    """
    facts = ctx.facts
    current = facts.current_memory
    total = facts.memory_total_kib
    if current is None or current.kib is None or total is None or current.kib <= total:
        return
    edits = ctx.edit.resize(current.element, total)
    memory = facts.memory
    origin = ""
    if memory is None or memory.kib != total:
        origin = " (its NUMA cells plus memory devices, which libvirt writes into <memory>)"
    yield ctx.finding(
        current.element,
        f"currentMemory {format_kib(current.kib)} exceeds the guest's memory "
        f"{format_kib(total)}{origin}: libvirt silently lowers it to {format_kib(total)}",
        fix=ctx.safe_fix(f"Set currentMemory to {format_kib(total)}", *edits),
    )
