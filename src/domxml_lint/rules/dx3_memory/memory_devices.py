"""DX343-DX345: memory devices (DIMM, NVDIMM, virtio-mem, virtio-pmem, SGX EPC) and hotplug."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import KIB, format_kib

#: virDomainMemoryTargetDefParseXML: an NVDIMM label holds at least 128 KiB.
NVDIMM_LABEL_MIN_KIB = 128
#: qemuDomainNVDimmAlignSizePseries: a pSeries NVDIMM's guest area is at least 256 MiB.
PSERIES_NVDIMM_MIN_KIB = 256 * 1024
PPC64_ARCHES = frozenset({"ppc64", "ppc64le"})
#: Models that take a slot in ``<maxMemory slots>`` (pc-dimm devices).
SLOT_MODELS = frozenset({"dimm", "nvdimm"})


def guest_numa_node_count(ctx: RuleContext) -> int:
    """The guest NUMA nodes libvirt validates memory devices against.

    Since 9.6 ``virsh define`` adds one node to a QEMU guest with memory hotplug
    and no NUMA (``qemuDomainDefNumaAutoAdd``, not on s390-ccw machines).
    """
    facts = ctx.facts
    count = len(facts.numa_cells)
    if count or not _auto_adds_node(ctx):
        return count
    return 1


def _auto_adds_node(ctx: RuleContext) -> bool:
    facts = ctx.facts
    max_memory = facts.max_memory
    hotplug = max_memory is not None and (
        bool(max_memory.kib) or bool(max_memory.element.get("slots", "0").strip("0"))
    )
    return (
        hotplug
        and facts.driver == "qemu"
        and ctx.libvirt_at_least(9, 6)
        and not (facts.machine or "").startswith("s390-ccw")
    )


@rule(
    code="DX343",
    name="memory-device-invalid",
    severity="error",
    summary="A memory device libvirt refuses: target node beyond the guest NUMA cells, NVDIMM "
    "path, label, discard or UUID, an empty nodemask, an SGX EPC address",
    triggers=("memory",),
    libvirt=(
        "virDomainMemoryDefValidate",
        "virDomainMemorySourceDefParseXML",
        "virDomainMemoryTargetDefParseXML",
        "qemuDomainNVDimmAlignSizePseries",
    ),
)
def memory_device_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each `<devices><memory model=...>`:

    - `<target><node>` must name an existing guest NUMA cell (the guest must
      have cells at all);
    - an NVDIMM needs a `<source><path>`, takes no `discard='yes'`, a
      `<label><size>` of at least 128 KiB and below the device size, a label
      on ppc64, a `<uuid>` only on ppc64, and on pSeries at least 256 MiB
      beside the label;
    - a `<source><nodemask>` must name at least one host node;
    - an SGX EPC section takes no `<address>`.

    ## Why is this bad?
    libvirt refuses the definition: "can't add memory backend as guest has
    no NUMA nodes configured", "can't add memory backend for guest node '%d'
    as the guest has only '%u' NUMA nodes configured", "path is required for
    model 'nvdimm'", "discard is not supported for nvdimms", "label size is
    required for NVDIMM device", "UUID is not supported for NVDIMM device",
    "nvdimm label must be at least 128KiB", "label size must be smaller than
    NVDIMM size", "minimum target size for the NVDIMM must be 256MB plus the
    label size", "Invalid value of 'nodemask': %s", "memory device address is
    not supported for model 'sgx-epc'". Since libvirt 9.6 `virsh define` gives
    a QEMU guest with memory hotplug and no NUMA one node itself, so node 0 is
    then valid.

    ## Example
    ```xml
    <cpu>
      <numa>
        <cell id='0' cpus='0-1' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    <devices>
      <memory model='dimm'>
        <target>
          <size unit='GiB'>1</size>
          <node>1</node>
        </target>
      </memory>
    </devices>
    ```

    ## Use instead
    ```xml
    <memory model='dimm'>
      <target>
        <size unit='GiB'>1</size>
        <node>0</node>
      </target>
    </memory>
    ```

    ## Fix safety
    No fix: the intended node, path or sizes are the author's.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainMemoryDefValidate`),
    src/conf/domain_conf.c (`virDomainMemorySourceDefParseXML`,
    `virDomainMemoryTargetDefParseXML`), src/qemu/qemu_domain.c
    (`qemuDomainNVDimmAlignSizePseries`, `qemuDomainDefNumaAutoAdd`);
    formatdomain "Memory devices".
    """
    facts = ctx.facts
    nodes = guest_numa_node_count(ctx)
    for device in facts.memory_devices:
        target = child(device.element, "target")
        node_el = None if target is None else child(target, "node")
        if device.node is not None and node_el is not None:
            if nodes == 0:
                yield ctx.finding(
                    node_el, "can't add memory backend as guest has no NUMA nodes configured"
                )
            elif device.node >= nodes:
                yield ctx.finding(
                    node_el,
                    f"can't add memory backend for guest node '{device.node}' as the guest has "
                    f"only '{nodes}' NUMA nodes configured",
                )
        if device.nodemask_text is not None and device.nodemask is None:
            source = child(device.element, "source")
            nodemask = None if source is None else child(source, "nodemask")
            yield ctx.finding(
                nodemask if nodemask is not None else device.element,
                f"Invalid value of 'nodemask': {device.nodemask_text.strip()[:60]} (names no "
                "host node)",
            )
        if device.model == "nvdimm":
            yield from _nvdimm(ctx, device)
        elif device.model == "sgx-epc" and device.address is not None:
            yield ctx.finding(
                device.address, "memory device address is not supported for model 'sgx-epc'"
            )


def _nvdimm(ctx: RuleContext, device) -> Iterator[Finding]:
    facts = ctx.facts
    element = device.element
    size = device.size.kib if device.size is not None else None
    label = device.label_size
    label_kib = label.kib if label is not None else None
    if label is not None and label_kib:
        if label_kib < NVDIMM_LABEL_MIN_KIB:
            yield ctx.finding(
                label.element,
                f"label {format_kib(label_kib)}: nvdimm label must be at least 128KiB",
            )
        elif size is not None and label_kib >= size:
            yield ctx.finding(
                label.element,
                f"label {format_kib(label_kib)}, device {format_kib(size)}: label size must be "
                "smaller than NVDIMM size",
            )
    if not device.path:
        yield ctx.finding(element, "path is required for model 'nvdimm'")
    if device.discard:
        yield ctx.finding(element, "discard is not supported for nvdimms", attribute="discard")
    if facts.arch in PPC64_ARCHES:
        if not label_kib:
            yield ctx.finding(element, "label size is required for NVDIMM device")
        elif facts.is_pseries and size is not None and size - label_kib < PSERIES_NVDIMM_MIN_KIB:
            yield ctx.finding(
                device.size.element,
                f"size {format_kib(size)} with a {format_kib(label_kib)} label: minimum target "
                "size for the NVDIMM must be 256MB plus the label size",
            )
    elif device.uuid is not None:
        uuid = child(element, "uuid")
        yield ctx.finding(
            uuid if uuid is not None else element, "UUID is not supported for NVDIMM device"
        )


@rule(
    code="DX344",
    name="memory-device-conflict",
    severity="error",
    summary="Two memory devices on one DIMM slot, or whose address ranges overlap",
    triggers=("memory",),
    libvirt=("virDomainMemoryDefCheckConflict",),
)
def memory_device_conflict(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares the memory devices' guest addresses: two DIMMs or NVDIMMs with
    `<address type='dimm'>` must not share a `slot`, and no device's range
    (a DIMM's `base`, a virtio-mem or virtio-pmem `<target><address base>`,
    plus its size) may contain the start of another's.

    ## Why is this bad?
    libvirt refuses the definition: "memory device slot '%u' is already being
    used by another memory device", "memory device address [0x%llx:0x%llx]
    overlaps with other memory device (0x%llx)". Devices with the very same
    address are taken for one device being updated and not compared.

    ## Example
    ```xml
    <memory model='virtio-mem'>
      <target>
        <size unit='GiB'>1</size>
        <node>0</node>
        <block unit='MiB'>2</block>
        <address base='0x140000000'/>
      </target>
    </memory>
    <memory model='virtio-mem'>
      <target>
        <size unit='GiB'>1</size>
        <node>0</node>
        <block unit='MiB'>2</block>
        <address base='0x160000000'/>
      </target>
    </memory>
    ```

    ## Use instead
    ```xml
    <address base='0x180000000'/>
    ```
    for the second device (or no address: QEMU places it).

    ## Fix safety
    No fix: moving a device changes the guest's physical memory map.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainMemoryDefCheckConflict`);
    formatdomain "Memory devices".
    """
    devices = ctx.facts.memory_devices
    if len(devices) < 2:
        return
    for device in devices:
        start = _start(device)
        size = device.size.kib if device.size is not None else None
        for other in devices:
            if other is device or _same_address(device, other):
                continue
            slot = device.dimm_slot
            if (
                device.model in SLOT_MODELS
                and other.model in SLOT_MODELS
                and slot is not None
                and slot == other.dimm_slot
            ):
                if devices.index(other) < devices.index(device):
                    continue  # reported on the earlier device
                yield ctx.finding(
                    device.address,  # type: ignore[arg-type]  # a dimm slot came from it
                    f"memory device slot '{slot}' is already being used by another memory device",
                    attribute="slot",
                )
                break
            other_start = _start(other)
            if not start or not other_start or size is None:
                continue
            end = start + size * KIB
            if start <= other_start < end:
                anchor = device.target_address if device.target_address is not None else None
                anchor = anchor if anchor is not None else device.address
                yield ctx.finding(
                    anchor if anchor is not None else device.element,
                    f"memory device address [{start:#x}:{end:#x}] overlaps with other memory "
                    f"device ({other_start:#x})",
                    attribute="base",
                )
                break


def _start(device) -> int | None:
    """Where a device starts in the guest's physical address space (None or 0: unknown)."""
    if device.model in SLOT_MODELS:
        return device.dimm_base
    if device.model in ("virtio-mem", "virtio-pmem"):
        return device.target_base
    return None


def _same_address(device, other) -> bool:
    """virDomainDeviceInfoAddressIsEqual: the same device being updated, not a conflict."""
    if device.address is None or other.address is None:
        return False
    return dict(device.address.attrib) == dict(other.address.attrib)


@rule(
    code="DX345",
    name="memory-hotplug-invalid",
    severity="error",
    summary="Memory devices without <maxMemory>, beyond its slots, with the wrong address type "
    "or without a target NUMA node",
    triggers=("memory",),
    domains=QEMU,
    libvirt=("qemuDomainDefValidateMemoryHotplug", "qemuDomainDefValidateMemoryHotplugDevice"),
)
def memory_hotplug_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the memory devices of a QEMU guest against its memory hotplug
    configuration (`<maxMemory slots=...>`):

    - memory devices need `<maxMemory>`;
    - DIMMs and NVDIMMs take a `dimm` address (or none) whose `slot` is below
      `slots`, and there may be no more of them than `slots`;
    - virtio-pmem and virtio-mem take a `pci` address (or none);
    - with guest NUMA cells, DIMMs, NVDIMMs and virtio-mem need a
      `<target><node>`.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "cannot use/hotplug a
    memory device when domain 'maxMemory' is not defined", "only 'dimm'
    addresses are supported for the pc-dimm device", "memory device slot '%u'
    exceeds slots count '%u'", "only 'pci' addresses are supported for the
    virtio-pmem device", "only 'pci' addresses are supported for the
    virtio-mem device", "target NUMA node needs to be specified for memory
    device", "count of memory devices requiring memory slots '%zu' exceeds
    slots count '%u'".

    ## Example
    ```xml
    <maxMemory slots='1' unit='GiB'>16</maxMemory>
    <devices>
      <memory model='dimm'>
        <target><size unit='GiB'>1</size><node>0</node></target>
        <address type='dimm' slot='1'/>
      </memory>
    </devices>
    ```

    ## Use instead
    ```xml
    <maxMemory slots='2' unit='GiB'>16</maxMemory>
    ```

    ## Fix safety
    No fix: the slot count and addresses are the author's design.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainDefValidateMemoryHotplug`,
    `qemuDomainDefValidateMemoryHotplugDevice`); formatdomain "Memory
    Allocation" and "Memory devices".
    """
    facts = ctx.facts
    devices = facts.memory_devices
    if not devices:
        return
    max_memory = facts.max_memory
    slots_text = None if max_memory is None else max_memory.element.get("slots")
    slots = int(slots_text) if slots_text is not None and slots_text.isdigit() else 0
    hotplug = max_memory is not None and (bool(max_memory.kib) or slots > 0)
    if not hotplug:
        yield ctx.finding(
            devices[0].element,
            "cannot use/hotplug a memory device when domain 'maxMemory' is not defined",
        )
        return
    numa_nodes = len(facts.numa_cells)
    for device in devices:
        yield from _hotplug_device(ctx, device, slots, numa_nodes)
    needing_slots = [d for d in devices if d.model in SLOT_MODELS]
    if len(needing_slots) > slots:
        anchor = max_memory.element if max_memory is not None else needing_slots[0].element
        yield ctx.finding(
            anchor,
            f"count of memory devices requiring memory slots '{len(needing_slots)}' exceeds "
            f"slots count '{slots}'",
            attribute="slots" if slots_text is not None else None,
        )


def _hotplug_device(ctx: RuleContext, device, slots: int, numa_nodes: int) -> Iterator[Finding]:
    address_type = device.address_type
    if device.model in SLOT_MODELS:
        if address_type not in (None, "dimm"):
            yield ctx.finding(
                device.address,
                f"address type '{address_type}': only 'dimm' addresses are supported for the "
                "pc-dimm device",
                attribute="type",
            )
        elif device.dimm_slot is not None and device.dimm_slot >= slots:
            yield ctx.finding(
                device.address,
                f"memory device slot '{device.dimm_slot}' exceeds slots count '{slots}'",
                attribute="slot",
            )
    elif device.model in ("virtio-pmem", "virtio-mem"):
        if address_type not in (None, "pci"):
            yield ctx.finding(
                device.address,
                f"address type '{address_type}': only 'pci' addresses are supported for the "
                f"{device.model} device",
                attribute="type",
            )
    else:
        return
    if device.model != "virtio-pmem" and numa_nodes and device.node is None:
        target = child(device.element, "target")
        yield ctx.finding(
            target if target is not None else device.element,
            "target NUMA node needs to be specified for memory device",
        )
