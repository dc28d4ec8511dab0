"""DX340-DX342: memory backing, memory sizes and memory devices libvirt refuses."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import KIB, format_kib, parse_uint

#: virtio-mem's block size floor when the host's THP size is unknown (x86: 2 MiB).
THP_FALLBACK_KIB = 2048


@rule(
    code="DX340",
    name="hugepage-backing-incompatible",
    severity="error",
    summary="Huge pages combined with on-demand allocation or an anonymous memory source",
    triggers=("hugepages",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefMemory",),
)
def hugepage_backing_incompatible(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds QEMU/KVM guests whose `<memoryBacking>` asks for `<hugepages>`
    together with `<allocation mode='ondemand'/>` or `<source type='anonymous'/>`.

    ## Why is this bad?
    Huge pages are reserved from a hugetlbfs pool and mapped up front; they
    cannot be allocated on demand, and anonymous memory is not backed by
    hugetlbfs. libvirt refuses the definition: "hugepages are not allowed with
    memory allocation ondemand" and "hugepages are not allowed with anonymous
    memory source".

    ## Example
    ```xml
    <memoryBacking>
      <hugepages/>
      <source type='anonymous'/>
    </memoryBacking>
    ```

    ## Use instead
    ```xml
    <memoryBacking>
      <hugepages/>
      <source type='file'/>
    </memoryBacking>
    ```

    ## Fix safety
    No fix: whether to drop huge pages or change the source is the author's call.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefMemory`);
    formatdomain "Memory Backing"; guide 8.2.3 (Huge Pages and Transparent
    Huge Pages) and 8.2.3.2 (Configuring Static Huge Pages).
    """
    facts = ctx.facts
    backing = facts.hugepage_backing
    if backing is None:
        return
    allocation = child(backing.element, "allocation")
    if allocation is not None and backing.allocation_mode == "ondemand":
        yield ctx.finding(
            allocation,
            "hugepages are not allowed with memory allocation ondemand",
            attribute="mode",
        )
    source = child(backing.element, "source")
    if source is not None and backing.source_type == "anonymous":
        yield ctx.finding(
            source,
            "hugepages are not allowed with anonymous memory source",
            attribute="type",
        )


@rule(
    code="DX341",
    name="memory-sizes-inconsistent",
    severity="error",
    summary="maxMemory, memory devices or memtune sizes that libvirt refuses",
    fix="safe",
    domains=QEMU,
    libvirt=(
        "virDomainDefParseMemory",
        "virDomainDefPostParseMemory",
        "qemuValidateDomainDef",
        "qemuDomainDefValidateMemoryHotplug",
    ),
)
def memory_sizes_inconsistent(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the memory sizes against each other: `<maxMemory slots>` needs a
    size, and `<maxMemory>` must not be below the guest's memory (`<memory>`,
    or the guest NUMA cells plus the memory devices, which libvirt writes into
    `<memory>` on define); memory devices (DIMMs, virtio-mem ...) must fit in
    `<memory>` and leave some initial memory when there is no guest NUMA
    memory, and a guest needs `<memory>` or NUMA cells with memory; memory
    hotplug on a QEMU guest (other than ppc64) needs a guest NUMA topology
    before libvirt 9.6; the
    QEMU driver does not support `<memtune><min_guarantee>`.

    ## Why is this bad?
    libvirt refuses the definition: "maximum memory size must be specified
    when specifying number of memory slots" (libvirt 9.0: "both maximum memory
    size and memory slot count must be specified"; 9.0 also wanted `slots`
    with every size, newer releases do not, so that is not reported), "maximum
    memory size
    must be equal or greater than the actual memory size", "Total size of
    memory devices exceeds the total memory size" (all proven on libvirt 9.0),
    "Memory size must be specified via <memory> or in the <numa>
    configuration" (no initial memory is left),
    "At least one numa node has to be configured when enabling memory
    hotplug" (up to libvirt 9.5; since 9.6 `virsh define` adds a NUMA node
    itself, except on s390-ccw machines, so this follows `libvirt-version`),
    "Parameter 'min_guarantee' not supported by QEMU."

    ## Example
    ```xml
    <maxMemory slots='16' unit='GiB'>2</maxMemory>
    <memory unit='GiB'>4</memory>
    ```

    ## Use instead
    ```xml
    <maxMemory slots='16' unit='GiB'>8</maxMemory>
    <memory unit='GiB'>4</memory>
    ```

    ## Fix safety
    Safe for `min_guarantee` on QEMU: the fix removes it; the definition is
    refused as written, so removing the unsupported knob cannot break a guest
    that starts today. The size conflicts have no fix: the intended sizes are
    the author's.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefParseMemory`),
    src/conf/domain_postparse.c (`virDomainDefPostParseMemory`),
    src/qemu/qemu_domain.c (`qemuDomainDefValidateMemoryHotplug`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDef`); formatdomain "Memory
    Allocation"; guide 8.2 (memory tuning).
    """
    facts = ctx.facts
    memory = facts.memory
    max_memory = facts.max_memory
    memory_kib = memory.kib if memory is not None else None
    total_kib = facts.memory_total_kib
    if max_memory is not None:
        slots = parse_uint(max_memory.element.get("slots"))
        if slots and not max_memory.text:
            yield ctx.finding(
                max_memory.element,
                f"<maxMemory slots='{slots}'> without a size: libvirt refuses it (\"maximum "
                'memory size must be specified when specifying number of memory slots")',
            )
        elif max_memory.kib and total_kib is not None and max_memory.kib < total_kib:
            yield ctx.finding(
                max_memory.element,
                f"maxMemory {format_kib(max_memory.kib)} is below the guest's memory "
                f"{format_kib(total_kib)}: maximum memory size must be equal or greater than the "
                "actual memory size",
            )
    devices = facts.memory_devices
    device_kib = sum(d.size.kib for d in devices if d.size is not None and d.size.kib is not None)
    numa_kib = _numa_memory_kib(facts)
    # virDomainDefPostParseMemory: without NUMA memory, <memory> (0 when absent) holds
    # the memory devices and what is left is the initial memory.
    stated_kib = 0 if memory is None else memory_kib
    if not numa_kib and stated_kib is not None:
        if device_kib > stated_kib:
            yield ctx.finding(
                devices[0].element,
                f"memory devices total {format_kib(device_kib)}, more than memory "
                f'{format_kib(stated_kib)}: libvirt refuses it ("Total size of memory devices '
                'exceeds the total memory size")',
            )
        elif stated_kib == device_kib:
            shown = (
                f"memory {format_kib(stated_kib)} is all taken by memory devices"
                if stated_kib
                else "no <memory> size and no guest NUMA cell with memory"
            )
            yield ctx.finding(
                memory.element if memory is not None else facts.root,
                f"{shown}: Memory size must be specified via <memory> or in the <numa> "
                "configuration",
            )
    hotplug = max_memory is not None and max_memory.kib
    # Since 9.6 libvirt adds a NUMA node itself on define (qemuDomainDefNumaAutoAdd),
    # except on s390-ccw machines; ppc64 pSeries hotplugs without NUMA.
    adds_node = ctx.libvirt_at_least(9, 6) and not (facts.machine or "").startswith("s390-ccw")
    pseries = facts.arch in ("ppc64", "ppc64le")
    if (
        max_memory is not None
        and hotplug
        and not facts.numa_cells
        and not pseries
        and not adds_node
    ):
        yield ctx.finding(
            max_memory.element,
            'memory hotplug (maxMemory) without a guest NUMA topology: libvirt refuses it ("At '
            'least one numa node has to be configured when enabling memory hotplug")',
        )
    memtune = facts.memtune
    if memtune is not None and memtune.min_guarantee is not None:
        element = memtune.min_guarantee.element
        yield ctx.finding(
            element,
            "Parameter 'min_guarantee' not supported by QEMU.",
            fix=ctx.safe_fix("Remove <min_guarantee>", ctx.edit.remove_element(element)),
        )


@rule(
    code="DX342",
    name="virtio-mem-invalid",
    severity="error",
    summary="A virtio-mem or virtio-pmem device with sizes or options libvirt refuses",
    triggers=("memory",),
    libvirt=("virDomainMemoryDefValidate",),
)
def virtio_mem_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<memory model='virtio-mem'>`: `requested` must not exceed `size`,
    `block` must be a power of two of at least 2 MiB (x86), and `requested`
    a multiple of `block`, and its `<target><address base>` aligned to
    `block`. Checks `<memory model='virtio-pmem'>`: it needs a
    `<source><path>`, no access mode but `shared` (libvirt makes one without
    `access` shared itself), no `discard` and no target NUMA node.

    ## Why is this bad?
    libvirt refuses the definition (all proven on libvirt 9.0): "requested size
    must be smaller than or equal to @size", "block size must be a power of
    two", "block size too small, must be at least %lluKiB" (the host's
    transparent huge page size, 2048 KiB on x86), "requested size must be an
    integer multiple of block size", "memory device address must be aligned
    to blocksize", "path is required for model 'virtio-pmem'", "discard is not
    supported for model 'virtio-pmem'", "shared access mode required for
    virtio-pmem device", "virtio-pmem does not support NUMA nodes".

    ## Example
    ```xml
    <memory model='virtio-mem'>
      <target>
        <size unit='MiB'>1024</size>
        <node>0</node>
        <block unit='KiB'>3072</block>
        <requested unit='MiB'>2048</requested>
      </target>
    </memory>
    ```

    ## Use instead
    ```xml
    <memory model='virtio-mem'>
      <target>
        <size unit='MiB'>2048</size>
        <node>0</node>
        <block unit='MiB'>2</block>
        <requested unit='MiB'>1024</requested>
      </target>
    </memory>
    ```

    ## Fix safety
    No fix: the sizes are the author's choice.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainMemoryDefValidate`);
    formatdomain "Memory devices".
    """
    facts = ctx.facts
    for device in facts.memory_devices:
        element = device.element
        if device.model == "virtio-mem":
            yield from _virtio_mem(ctx, device)
        elif device.model == "virtio-pmem":
            if not device.path:
                yield ctx.finding(element, "path is required for model 'virtio-pmem'")
            if device.discard:
                yield ctx.finding(
                    element, "discard is not supported for model 'virtio-pmem'", attribute="discard"
                )
            # Without access= libvirt defaults virtio-pmem to shared
            # (virDomainMemoryDefPostParse): only another explicit mode is refused.
            if device.access is not None and device.access != "shared":
                yield ctx.finding(
                    element,
                    "shared access mode required for virtio-pmem device (access='shared')",
                    attribute="access",
                )
            node = element.find("target/node")
            if device.node is not None and node is not None:
                yield ctx.finding(node, "virtio-pmem does not support NUMA nodes")


def _numa_memory_kib(facts) -> int:
    """The guest NUMA cells' memory, which libvirt takes as the initial memory (0 without)."""
    return sum(c.memory.kib for c in facts.numa_cells if c.memory is not None and c.memory.kib)


def _virtio_mem(ctx, device):
    size = device.size.kib if device.size is not None else None
    block = device.block.kib if device.block is not None else None
    requested = device.requested.kib if device.requested is not None else 0
    target = child(device.element, "target")
    anchor = target if target is not None else device.element
    if size is not None and requested is not None and requested > size:
        yield ctx.finding(
            device.requested.element,
            f"requested {format_kib(requested)} is above size {format_kib(size)}: requested size "
            "must be smaller than or equal to @size",
        )
    if block is None or block <= 0 or block & (block - 1):
        shown = device.block.element if device.block is not None else anchor
        yield ctx.finding(shown, "block size must be a power of two")
        return
    if ctx.facts.is_x86 and block < THP_FALLBACK_KIB:
        yield ctx.finding(
            device.block.element,
            f"block {format_kib(block)}: block size too small, must be at least "
            f"{THP_FALLBACK_KIB}KiB",
        )
    elif requested is not None and requested % block:
        yield ctx.finding(
            device.requested.element,
            f"requested {format_kib(requested)} is not a multiple of block {format_kib(block)}: "
            "requested size must be an integer multiple of block size",
        )
    elif device.target_base and device.target_base % (block * KIB):
        yield ctx.finding(
            device.target_address,
            f"address base {device.target_base:#x} is not a multiple of block "
            f"{format_kib(block)}: memory device address must be aligned to blocksize",
            attribute="base",
        )
