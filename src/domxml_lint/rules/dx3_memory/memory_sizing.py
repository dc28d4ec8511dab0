"""DX332-DX333: hard_limit with no room for QEMU itself; huge pages for large guests
(guide 8.2.2, 8.2.3)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import CGROUPS, KVM, RuleContext, rule
from ...units import format_kib


@rule(
    code="DX332",
    name="hard-limit-without-overhead",
    severity="warning",
    summary="A memtune hard_limit that leaves QEMU almost nothing beyond the guest's memory",
    triggers=("hard_limit",),
    domains=CGROUPS,
    options={"min-overhead-mib": 256},
)
def hard_limit_without_overhead(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Reports a `<memtune><hard_limit>` that is at least the guest's memory
    (below it is hard-limit-below-memory's error) but less than the guest's
    memory plus `min-overhead-mib` (256 MiB by default), so it leaves the QEMU
    process hardly anything of its own.

    ## Why is this bad?
    `hard_limit` caps the whole QEMU process: the guest's RAM, and QEMU's own
    memory on top (its code and heap, video memory, device ROMs, I/O buffers,
    page tables), typically a few hundred MiB. With `<locked/>` it is also the
    memory QEMU may lock. A limit equal to the guest's memory is reached as
    soon as the guest touches all of it: the kernel then kills the guest, or
    QEMU fails to lock its memory and does not start. The guide: with
    `<locked/>`, set hard_limit to the guest's maximum memory *plus* what the
    process itself uses.

    ## Example
    ```xml
    <memory unit='GiB'>4</memory>
    <memoryBacking><locked/></memoryBacking>
    <memtune>
      <hard_limit unit='GiB'>4</hard_limit>
    </memtune>
    ```

    ## Use instead
    ```xml
    <memtune>
      <hard_limit unit='GiB'>5</hard_limit>
    </memtune>
    ```

    ## Fix safety
    No fix: how much QEMU needs depends on the guest's devices; measure it
    (the process's peak RSS) and add a margin.

    ## Source
    Guide 8.2.2 (Memory Tuning with virsh: hard_limit "too low and the guest
    may be killed by the kernel"; Important under `locked`: hard_limit = the
    guest's maximum memory plus the memory the process itself consumes);
    libvirt formatdomain, "Memory Tuning".
    """
    facts = ctx.facts
    memtune = facts.memtune
    if memtune is None or memtune.hard_limit is None or memtune.hard_limit.kib is None:
        return
    memory = facts.memory_total_kib
    if memory is None:
        return
    limit = memtune.hard_limit.kib
    overhead = ctx.option("min-overhead-mib") * 1024
    if limit < memory or limit >= memory + overhead:
        return
    backing = facts.memory_backing
    locked = backing is not None and backing.locked
    spare = limit - memory
    left = f"only {format_kib(spare)}" if spare else "nothing"
    yield ctx.finding(
        memtune.hard_limit.element,
        f"hard_limit {format_kib(limit)} leaves {left} beyond the guest's {format_kib(memory)} "
        "for QEMU's own memory"
        + (" (and locked memory)" if locked else "")
        + ": when the guest uses all its memory the kernel kills it; allow for QEMU's overhead",
    )


@rule(
    code="DX333",
    name="hugepages-suggested",
    severity="info",
    summary="A large guest without static huge pages",
    default=False,
    domains=KVM,
    options={"min-memory-gib": 16},
)
def hugepages_suggested(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Opt-in. Suggests static huge pages (`<memoryBacking><hugepages/>`) for a
    KVM guest whose memory is at least `min-memory-gib` (16 GiB by default)
    and that has none.

    ## Why is this bad?
    Huge pages (2 MiB or 1 GiB instead of 4 KiB) cover the same memory with
    far fewer TLB entries and page-table levels, so large and memory-heavy
    guests take fewer TLB misses and run faster. Transparent huge pages give
    part of that automatically; static huge pages give all of it, are never
    split or swapped, and are what the guide configures for such guests. They
    need a pool on the host, which is why this is a suggestion.

    ## Example
    ```xml
    <memory unit='GiB'>64</memory>
    ```

    ## Use instead
    ```xml
    <memory unit='GiB'>64</memory>
    <memoryBacking>
      <hugepages/>
    </memoryBacking>
    ```
    with a pool of at least 32768 pages of 2 MiB on the host (or 64 of 1 GiB
    with `<page size='1' unit='GiB'/>`).

    ## Fix safety
    No fix: the pool must exist on the host first, or the guest does not
    start.

    ## Source
    Guide 8.2.3 (Huge Pages and Transparent Huge Pages: "huge pages can
    significantly increase performance, particularly for large memory and
    memory-intensive workloads"), 8.2.3.2-8.2.3.3 and 1.2.
    """
    facts = ctx.facts
    if facts.hugepage_backing is not None:
        return
    total = facts.memory_total_kib
    if total is None or total < ctx.option("min-memory-gib") * 1024**2:
        return
    memory = facts.memory
    yield ctx.finding(
        memory.element if memory is not None else ctx.doc.root,
        f"this {format_kib(total)} guest has no static huge pages: <memoryBacking><hugepages/> "
        "(with a pool on the host) cuts its TLB misses",
    )
