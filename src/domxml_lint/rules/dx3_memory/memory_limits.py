"""DX346-DX347: memory sizes beyond what libvirt can hold, and a huge page size of zero."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import MemorySize
from ...findings import Finding
from ...rule import RuleContext, rule
from ...units import KIB, UnitError, parse_uint, unit_scale

#: virMemoryMaxValue: libvirt holds sizes in bytes up to LLONG_MAX ...
MAX_BYTES = 2**63 - 1
#: ... and in KiB below DIV_UP(LLONG_MAX, 1024) (virDomainParseMemory).
MAX_KIB = -(-MAX_BYTES // KIB)
PPC64_ARCHES = frozenset({"ppc64", "ppc64le"})


@rule(
    code="DX346",
    name="memory-size-overflow",
    severity="error",
    summary="A memory size at or above libvirt's 8 EiB limit, or that overflows it once QEMU's "
    "alignment rounds it up",
    triggers=("memory", "currentMemory", "maxMemory", "cell"),
    libvirt=("virDomainParseMemory", "qemuDomainAlignMemorySizes"),
)
def memory_size_overflow(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<memory>`, `<currentMemory>`, `<maxMemory>`, the guest NUMA cells'
    `memory` and the memory devices' sizes against the largest size libvirt
    can hold (2^63 bytes, 8 EiB), and, for QEMU guests, the sizes after QEMU's
    alignment (1 MiB for memory and cells, 2 MiB for memory modules, 256 MiB
    on ppc64).

    ## Why is this bad?
    libvirt refuses the definition: "size value too large" (or "value too
    large" for a number beyond 2^63 bytes). A size just below the limit passes
    parsing but overflows when libvirt aligns it for QEMU at start: "initial
    memory size overflowed after alignment", "memory size of NUMA node '%u'
    overflowed after alignment", "maximum memory size overflowed after
    alignment", "size of memory module '%u' overflowed after alignment". Such
    a size is almost always a unit mistake (`unit='EiB'` for `GiB`).

    ## Example
    ```xml
    <memory unit='EiB'>8</memory>
    ```

    ## Use instead
    ```xml
    <memory unit='GiB'>8</memory>
    ```

    ## Fix safety
    No fix: the intended size is the author's.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainParseMemory`), src/util/virutil.c
    (`virMemoryMaxValue`, `virScaleInteger`), src/qemu/qemu_domain.c
    (`qemuDomainAlignMemorySizes`, `qemuDomainGetMemorySizeAlignment`).
    """
    facts = ctx.facts
    sizes: list[MemorySize | None] = [facts.memory, facts.current_memory, facts.max_memory]
    sizes += [c.memory for c in facts.numa_cells]
    for device in facts.memory_devices:
        sizes += [device.size, device.block, device.requested, device.label_size]
    too_large = False
    for size in sizes:
        message = _too_large(size)
        if message is not None and size is not None:
            too_large = True
            yield ctx.finding(size.element, message)
    if too_large or facts.driver != "qemu":
        return
    yield from _alignment_overflow(ctx)


def _too_large(size: MemorySize | None) -> str | None:
    if size is None or size.kib is None:
        return None
    number = parse_uint(size.text)
    try:
        scale = unit_scale(size.unit)
    except UnitError:
        return None
    if number is None:
        return None
    if number * scale > MAX_BYTES:
        return f"value too large: {number}{size.unit or ''} (libvirt holds less than 8 EiB)"
    if size.kib >= MAX_KIB:
        return f"{size.kib} KiB: size value too large (libvirt holds less than 8 EiB)"
    return None


def _alignment_overflow(ctx: RuleContext) -> Iterator[Finding]:
    facts = ctx.facts
    ppc64 = facts.arch in PPC64_ARCHES
    align = 256 * 1024 if ppc64 else 1024
    limit = MAX_BYTES >> 10
    cells_kib = 0
    for index, cell in enumerate(facts.numa_cells):
        if cell.memory is None or cell.memory.kib is None:
            continue
        rounded = _round_up(cell.memory.kib, align)
        cells_kib += rounded
        if rounded > limit:
            yield ctx.finding(
                cell.element,
                f"memory size of NUMA node '{index}' overflowed after alignment",
                attribute="memory",
            )
            return
    if not cells_kib and facts.memory is not None and facts.memory.kib is not None:
        devices = facts.memory_devices_kib or 0
        if _round_up(max(facts.memory.kib - devices, 0), align) > limit:
            yield ctx.finding(
                facts.memory.element, "initial memory size overflowed after alignment"
            )
            return
    max_memory = facts.max_memory
    if max_memory is not None and max_memory.kib and _round_up(max_memory.kib, align) > limit:
        yield ctx.finding(max_memory.element, "maximum memory size overflowed after alignment")
        return
    for index, device in enumerate(facts.memory_devices):
        if device.size is None or device.size.kib is None:
            continue
        module_align = 256 * 1024 if ppc64 else 2048
        if device.model == "nvdimm" and ppc64:
            module_align = 1
        if _round_up(device.size.kib, module_align) > limit:
            yield ctx.finding(
                device.size.element,
                f"size of memory module '{index}' overflowed after alignment",
            )
            return


def _round_up(value: int, align: int) -> int:
    return -(-value // align) * align


@rule(
    code="DX347",
    name="hugepage-size-zero",
    severity="error",
    summary="A <hugepages><page> of size 0",
    triggers=("page",),
    libvirt=("virDomainHugepagesParseXML",),
)
def hugepage_size_zero(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<memoryBacking><hugepages><page size='0'>`.

    ## Why is this bad?
    libvirt refuses the definition: "hugepage size can't be zero". To use the
    host's default huge page size, write `<hugepages/>` without a `<page>`.

    ## Example
    ```xml
    <memoryBacking>
      <hugepages>
        <page size='0' unit='KiB'/>
      </hugepages>
    </memoryBacking>
    ```

    ## Use instead
    ```xml
    <memoryBacking>
      <hugepages/>
    </memoryBacking>
    ```

    ## Fix safety
    No fix: the intended page size is the author's.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainHugepagesParseXML`);
    formatdomain "Memory Backing".
    """
    backing = ctx.facts.memory_backing
    if backing is None:
        return
    for page in backing.pages:
        if page.size is not None and page.size.kib == 0:
            yield ctx.finding(page.element, "hugepage size can't be zero", attribute="size")
