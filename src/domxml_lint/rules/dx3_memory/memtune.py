"""DX301-DX304: ``<memtune>`` limits and locked memory (guide 8.2.2)."""

from __future__ import annotations

from collections.abc import Iterator

from ...edits import new_element
from ...facts import DomainFacts, MemorySize, child
from ...findings import Finding
from ...rule import CGROUPS, QEMU, RuleContext, rule
from ...units import format_kib

#: libvirt's VIR_DOMAIN_MEMORY_PARAM_UNLIMITED (KiB): larger limits mean "no limit".
UNLIMITED_KIB = 9007199254740991


GIB_IN_KIB = 1024 * 1024


#: libvirt's order of <memtune> children, and of the domain's top-level memory elements.
MEMTUNE_ORDER = ("hard_limit", "soft_limit", "swap_hard_limit", "min_guarantee")


def _limit_kib(size: MemorySize | None) -> int | None:
    """A memtune limit in KiB, capped at libvirt's "unlimited" (None when absent or invalid)."""
    if size is None or size.kib is None:
        return None
    return min(size.kib, UNLIMITED_KIB)


def _describe(kib: int) -> str:
    return "unlimited" if kib >= UNLIMITED_KIB else format_kib(kib)


def maximum_memory_kib(facts: DomainFacts) -> int | None:
    """The most memory the guest can have: ``<maxMemory>`` when set, else its total memory."""
    if facts.max_memory is not None and facts.max_memory.kib is not None:
        return facts.max_memory.kib
    return facts.memory_total_kib


@rule(
    code="DX301",
    name="locked-without-hard-limit",
    severity="warning",
    summary="<memoryBacking><locked/> without <memtune><hard_limit>: unlimited memlock",
    fix="unsafe",
    triggers=("locked",),
    domains=QEMU,
)
def locked_without_hard_limit(ctx: RuleContext) -> Iterator[Finding]:
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
        limit = swap.kib if maximum is not None and swap.kib >= maximum else None
    if limit is not None and maximum is not None:
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
    locked = child(backing.element, "locked")
    assert locked is not None  # backing.locked says it is there
    yield ctx.finding(
        locked,
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
    domains=CGROUPS,
)
def hard_limit_below_memory(ctx: RuleContext) -> Iterator[Finding]:
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
    if facts.memtune is None:
        return
    hard_limit = facts.memtune.hard_limit
    hard = _limit_kib(hard_limit)
    memory = facts.memory_total_kib
    if hard_limit is None or hard is None or memory is None or hard >= memory:
        return
    yield ctx.finding(
        hard_limit.element,
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
    domains=CGROUPS,
)
def swap_hard_limit_below_hard_limit(ctx: RuleContext) -> Iterator[Finding]:
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
    if facts.memtune is None:
        return
    swap_limit = facts.memtune.swap_hard_limit
    hard = _limit_kib(facts.memtune.hard_limit)
    swap = _limit_kib(swap_limit)
    if swap_limit is None or hard is None or swap is None or swap >= hard:
        return
    yield ctx.finding(
        swap_limit.element,
        f"swap_hard_limit {_describe(swap)} is below hard_limit {_describe(hard)}: it counts "
        "memory plus swap, so it must be at least hard_limit",
    )


@rule(
    code="DX304",
    name="soft-limit-above-hard-limit",
    severity="warning",
    summary="A memtune soft_limit greater than hard_limit",
    triggers=("memtune",),
    domains=CGROUPS,
)
def soft_limit_above_hard_limit(ctx: RuleContext) -> Iterator[Finding]:
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
    if facts.memtune is None:
        return
    soft_limit = facts.memtune.soft_limit
    hard = _limit_kib(facts.memtune.hard_limit)
    soft = _limit_kib(soft_limit)
    if soft_limit is None or hard is None or soft is None or soft <= hard:
        return
    yield ctx.finding(
        soft_limit.element,
        f"soft_limit {_describe(soft)} is above hard_limit {_describe(hard)}: it can never "
        "take effect",
    )
