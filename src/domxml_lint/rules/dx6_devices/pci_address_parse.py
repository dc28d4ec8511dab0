"""DX696: PCI address fields out of range, as libvirt's parser reads them."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import RuleContext, rule

#: (field, largest value, how virPCIDeviceAddressIsValid words the limit), in its order.
_LIMITS = (
    ("bus", 0xFF, "bus='0x{:x}', must be <= 0xFF"),
    ("slot", 0x1F, "slot='0x{:x}', must be <= 0x1F"),
    ("function", 7, "function=0x{:x}, must be <= 7"),
)


@rule(
    code="DX696",
    name="pci-address-out-of-range",
    severity="error",
    summary="A PCI address whose bus, slot or function is beyond what PCI has",
    triggers=("address",),
    libvirt=("virPCIDeviceAddressParseXML", "virPCIDeviceAddressIsValid"),
)
def pci_address_out_of_range(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every device's `<address type='pci'>` that names a domain, bus or
    slot: the bus must be at most 0xFF, the slot at most 0x1F and the
    function at most 7. (An address of zeros asks libvirt to choose one and
    is not checked here.)

    ## Why is this bad?
    libvirt's parser refuses the definition: "Invalid PCI address
    slot='0x20', must be <= 0x1F", "Invalid PCI address function=0x8, must
    be <= 7". The schema refuses these too, in its own words; this rule gives
    libvirt's, and the schema rule's finding on the same element gives way
    to it.

    ## Example
    ```xml
    <address type='pci' domain='0x0000' bus='0x00' slot='0x20' function='0x0'/>
    ```

    ## Use instead
    ```xml
    <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    ```

    ## Fix safety
    No fix: which free slot to use depends on the other devices.

    ## Source
    libvirt src/conf/device_conf.c (`virPCIDeviceAddressParseXML`),
    src/util/virpci.c (`virPCIDeviceAddressIsValid`); libvirt tests
    pci-slot-invalid and pci-function-invalid; formatdomain "Device Addresses".
    """
    for address in ctx.facts.device_addresses:
        pci = address.pci
        if pci is None or not address.pci_present:
            continue
        for field, largest, wording in _LIMITS:
            value = getattr(pci, field)
            if value > largest:
                yield ctx.finding(
                    address.element,
                    "Invalid PCI address " + wording.format(value),
                    attribute=field,
                )
                break  # libvirt stops at the first
