"""DX695: memory device (DIMM) slots and address types."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...facts.addresses import DimmAddress
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import parse_uint

Element = etree._Element

#: Memory device models that take a DIMM slot of ``<maxMemory slots>``.
SLOT_MODELS = frozenset({"dimm", "nvdimm"})
#: Memory device models that are PCI devices.
PCI_MODELS = frozenset({"virtio-pmem", "virtio-mem"})


@rule(
    code="DX695",
    name="memory-device-address-invalid",
    severity="error",
    summary="A DIMM slot beyond <maxMemory slots> or taken twice, or a memory address of the "
    "wrong type",
    triggers=("memory",),
    domains=QEMU,
    libvirt=(
        "qemuDomainDefValidateMemoryHotplugDevice",
        "qemuDomainDefValidateMemoryHotplug",
        "virDomainMemoryDefCheckConflict",
    ),
)
def memory_device_address_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks memory devices (`<devices><memory>`) on a guest with
    `<maxMemory slots=...>`:
    - a `dimm` device takes only a `dimm` address, a `virtio-pmem` or
      `virtio-mem` device only a `pci` one;
    - a DIMM slot must be below `slots`, and no two devices may share one;
    - `dimm` and `nvdimm` devices together need no more slots than `slots`.

    ## Why is this bad?
    Each DIMM and NVDIMM sits in one of the slots the guest was given for
    memory hotplug. libvirt refuses the definition: "memory device slot '4'
    exceeds slots count '4'", "memory device slot '1' is already being used
    by another memory device", "count of memory devices requiring memory
    slots '5' exceeds slots count '4'", "only 'dimm' addresses are supported
    for the pc-dimm device".

    ## Example
    ```xml
    <maxMemory slots='2' unit='GiB'>8</maxMemory>
    <memory model='dimm'>
      <target><size unit='GiB'>1</size><node>0</node></target>
      <address type='dimm' slot='2'/>
    </memory>
    ```

    ## Use instead
    ```xml
    <address type='dimm' slot='1'/>
    ```

    ## Fix safety
    No fix: slots are guest-visible.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainDefValidateMemoryHotplugDevice`,
    `qemuDomainDefValidateMemoryHotplug`), src/conf/domain_validate.c
    (`virDomainMemoryDefCheckConflict`); formatdomain "Memory devices".
    """
    facts = ctx.facts
    max_memory = facts.max_memory
    slots = None if max_memory is None else parse_uint(max_memory.element.get("slots"))
    if max_memory is None or slots is None:
        return  # no memory hotplug: other rules say what libvirt says then
    taken: dict[int, Element] = {}
    needing_slots = []
    for device in facts.memory_devices:
        model = device.model or ""
        address = facts.address_of(device.element)
        kind = None if address is None else address.type
        if model in SLOT_MODELS:
            needing_slots.append(device.element)
        if address is None:
            continue
        if model == "dimm" and kind != "dimm":
            yield ctx.finding(
                address.element,
                "only 'dimm' addresses are supported for the pc-dimm device",
                attribute="type",
            )
            continue
        if model in PCI_MODELS and kind != "pci":
            yield ctx.finding(
                address.element,
                f"only 'pci' addresses are supported for the {model} device",
                attribute="type",
            )
            continue
        value = address.value
        if not isinstance(value, DimmAddress) or value.slot is None:
            continue
        if model in SLOT_MODELS and value.slot >= slots:
            yield ctx.finding(
                address.element,
                f"memory device slot '{value.slot}' exceeds slots count '{slots}'",
                attribute="slot",
            )
        elif value.slot in taken:
            yield ctx.finding(
                address.element,
                f"memory device slot '{value.slot}' is already being used by another memory device",
                attribute="slot",
            )
        else:
            taken[value.slot] = device.element
    if len(needing_slots) > slots:
        yield ctx.finding(
            needing_slots[slots],
            f"count of memory devices requiring memory slots '{len(needing_slots)}' exceeds "
            f"slots count '{slots}'",
        )
