"""DX681, DX691-DX693: address types per device, user aliases, PCI-only device options."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ._where import a_device

Element = etree._Element

#: Address types a virtio disk may have (the others are refused on machines with PCI).
VIRTIO_DISK_ADDRESS_TYPES = frozenset({"pci", "ccw", "virtio-mmio"})


@rule(
    code="DX681",
    name="virtio-disk-address-type-invalid",
    severity="error",
    summary="A virtio disk with an address type other than PCI, CCW or virtio-mmio",
    triggers=("disk",),
    domains=QEMU,
    libvirt=("qemuDomainAssignDevicePCISlots",),
)
def virtio_disk_address_type_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds virtio disks (`bus='virtio'`) whose `<address>` is not a PCI, CCW or
    virtio-mmio one, on machines with PCI.

    ## Why is this bad?
    A virtio disk is a PCI (or CCW, or MMIO) device; a `drive` or `usb`
    address says nothing QEMU can use. libvirt refuses the definition:
    "virtio disk cannot have an address of type 'drive'".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <target dev='vda' bus='virtio'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    ```

    ## Use instead
    Drop the `<address>` (libvirt assigns a PCI slot), or give a PCI one.

    ## Fix safety
    No fix: the address may belong to a disk whose bus was meant to be SCSI.

    ## Source
    libvirt src/qemu/qemu_domain_address.c (`qemuDomainAssignDevicePCISlots`).
    """
    facts = ctx.facts
    if not facts.pci_buses:
        return
    for disk in facts.disks:
        if facts.disk_bus(disk.element) != "virtio":
            continue
        address = facts.address_of(disk.element)
        if address is None or address.type in VIRTIO_DISK_ADDRESS_TYPES or address.type is None:
            continue
        yield ctx.finding(
            address.element,
            f"virtio disk cannot have an address of type '{address.type}'",
            attribute="type",
        )


#: A user-defined alias (``virDomainDeviceAliasIsUserAlias``).
USER_ALIAS_PREFIX = "ua-"


@rule(
    code="DX691",
    name="device-alias-duplicate",
    severity="error",
    summary="Two devices with the same user alias (ua-...)",
    triggers=("alias",),
    domains=QEMU,
    libvirt=("virDomainDeviceDefValidateAliasesIterator",),
)
def device_alias_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds devices whose user alias (`<alias name='ua-...'/>`) another device
    already has. (The console that mirrors the first serial port may repeat
    that serial port's alias.)

    ## Why is this bad?
    The alias becomes the QEMU device id and names the device in libvirt's
    APIs, so it must be unique. libvirt refuses the definition: "non unique
    alias detected: ua-disk0".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <target dev='vda' bus='virtio'/>
      <alias name='ua-disk'/>
    </disk>
    <disk type='file' device='disk'>
      <target dev='vdb' bus='virtio'/>
      <alias name='ua-disk'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <alias name='ua-disk1'/>
    ```

    ## Fix safety
    No fix: tools may look the device up by its alias.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefValidateAliases`,
    `virDomainDeviceDefValidateAliasesIterator`); formatdomain "Devices"
    (user aliases).
    """
    facts = ctx.facts
    devices = facts.devices
    if devices is None:
        return
    mirror = facts.mirrored_console  # a copy of the first serial port, alias and all
    seen: dict[str, Element] = {}
    for device in devices:
        if not isinstance(device.tag, str) or device is mirror:
            continue
        alias = child(device, "alias")
        name = None if alias is None else alias.get("name")
        if alias is None or not name or not name.startswith(USER_ALIAS_PREFIX):
            continue
        if name in seen:
            yield ctx.finding(
                alias,
                f"non unique alias detected: {name} ({a_device(seen[name].tag)} earlier in the "
                "XML has it too)",
                attribute="name",
            )
        else:
            seen[name] = device


@rule(
    code="DX692",
    name="address-unassigned-not-hostdev",
    severity="error",
    summary="An unassigned address on a device other than a hostdev",
    triggers=("address",),
    domains=QEMU,
    libvirt=("virDomainDeviceInfoValidate",),
)
def address_unassigned_not_hostdev(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<address type='unassigned'/>` on devices other than `<hostdev>`.

    ## Why is this bad?
    `unassigned` keeps a host device attached to the guest without giving it
    a guest address, which only host devices can do. libvirt refuses the
    definition: "address of type 'unassigned' is supported only for hostdevs".

    ## Example
    ```xml
    <interface type='network'>
      <address type='unassigned'/>
    </interface>
    ```

    ## Use instead
    Leave the address out, or use a `<hostdev>`.

    ## Fix safety
    No fix.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDeviceInfoValidate`).
    """
    for address in ctx.facts.device_addresses:
        if address.type == "unassigned" and address.device.tag != "hostdev":
            yield ctx.finding(
                address.element,
                "address of type 'unassigned' is supported only for hostdevs",
                attribute="type",
            )


#: Address types on which a device may carry ROM settings (PCI, or none yet).
ROM_ADDRESS_TYPES = frozenset({"pci", "unassigned"})


@rule(
    code="DX693",
    name="pci-only-device-option",
    severity="error",
    summary="ROM settings or an ACPI index on a device that is not a PCI device; an ACPI "
    "index with a QEMU older than 6.0",
    triggers=("rom", "acpi"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceInfo", "virDomainDeviceInfoParseXML"),
)
def pci_only_device_option(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<rom>` settings (`bar`, `enabled`, `file`) and `<acpi index>` on
    devices whose address is not a PCI one (ROM settings also allow
    `unassigned`), and `<rom enabled='no'>` together with `bar` or `file`.
    An ACPI index also needs QEMU 6.0 or later (from the host snapshot's QEMU
    capabilities, else `qemu-version`; silent when neither is known).

    ## Why is this bad?
    Option ROMs and ACPI indexes are properties of PCI devices. libvirt
    refuses the definition: "ROM tuning is only supported for PCI devices",
    "ACPI index is only supported for PCI devices", "ROM tuning is not
    supported when ROM is disabled", "ACPI index is not supported with this
    QEMU".

    ## Example
    ```xml
    <interface type='network'>
      <rom enabled='no' file='/usr/share/ipxe/1af41000.rom'/>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='network'>
      <rom enabled='no'/>
    </interface>
    ```

    ## Fix safety
    No fix.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceInfo`),
    src/conf/domain_conf.c (`virDomainDeviceInfoParseXML`).
    """
    facts = ctx.facts
    devices = facts.devices
    if devices is None:
        return
    for device in devices:
        if not isinstance(device.tag, str):
            continue
        rom = child(device, "rom")
        acpi = child(device, "acpi")
        if rom is None and acpi is None:
            continue
        address = facts.address_of(device)
        kind = None if address is None else address.type
        if rom is not None:
            tuned = [a for a in ("bar", "enabled", "file") if rom.get(a) is not None]
            if rom.get("enabled") == "no" and (rom.get("bar") or rom.get("file")):
                yield ctx.finding(
                    rom,
                    "ROM tuning is not supported when ROM is disabled",
                    attribute="bar" if rom.get("bar") else "file",
                )
            elif tuned and kind is not None and kind not in ROM_ADDRESS_TYPES:
                yield ctx.finding(
                    rom,
                    f"ROM tuning is only supported for PCI devices, not on a '{kind}' address",
                    attribute=tuned[0],
                )
        if acpi is None or acpi.get("index") is None:
            continue
        why = ctx.qemu_lacks("acpi-index")
        if why:
            yield ctx.finding(
                acpi, f"ACPI index is not supported with this QEMU: {why}", attribute="index"
            )
        elif kind not in (None, "pci"):
            yield ctx.finding(
                acpi,
                f"ACPI index is only supported for PCI devices, not on a '{kind}' address",
                attribute="index",
            )
