"""DX305-DX306: guest memory and huge page sizes, and huge page nodesets (guide 8.2.3)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import page_kib
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import format_kib


@rule(
    code="DX305",
    name="memory-not-hugepage-aligned",
    severity="warning",
    summary="Guest memory (or a NUMA cell's) not a multiple of its huge page size",
    fix="unsafe",
    triggers=("hugepages",),
    domains=QEMU,
)
def memory_not_hugepage_aligned(ctx: RuleContext) -> Iterator[Finding]:
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
def hugepage_nodeset_invalid(ctx: RuleContext) -> Iterator[Finding]:
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
                    f"two master hugepages detected: {_kib(page)} and {_kib(earlier)}",
                )
                break
            if nodeset is not None and earlier_set is not None and nodeset & earlier_set:
                cells = ",".join(str(i) for i in sorted(nodeset & earlier_set))
                yield ctx.finding(
                    page.element,
                    f"huge page sizes {_size_text(earlier)} and {size} both claim guest cell(s) "
                    f"{cells}: nodeset attribute of hugepages of sizes {_kib(page)} and "
                    f"{_kib(earlier)} intersect",
                    attribute="nodeset",
                )
                break
        seen.append(page)
        if nodeset is None:
            continue
        missing = sorted(i for i in nodeset if i >= cell_count)
        if missing and page.nodeset is not None:
            have = f"cells 0-{cell_count - 1}" if cell_count else "no guest NUMA cells"
            yield ctx.finding(
                page.element,
                f"huge page nodeset '{page.nodeset.text}' names guest NUMA cell {missing[0]}, but "
                f'the guest has {have} ("hugepages: node {missing[0]} not found"); nodeset '
                "names guest cells, host nodes belong in <numatune>",
                attribute="nodeset",
            )


def _kib(page) -> str:
    """The page size as libvirt prints it in these messages: KiB, without a unit."""
    if page.size is None or page.size.kib is None:
        return str(page.element.get("size"))
    return str(page.size.kib)


def _size_text(page) -> str:
    if page.size is None or page.size.kib is None:
        return f"'{page.element.get('size')}'"
    return format_kib(page.size.kib)
