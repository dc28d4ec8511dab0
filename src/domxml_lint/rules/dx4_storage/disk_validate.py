"""DX456-DX462: what libvirt's disk validator (virDomainDiskDefValidate) refuses.

Addresses and buses, target attributes, a missing medium, the startup policy,
NVMe namespaces and discard_no_unref. The options only virtio takes are DX445,
rawio, sgio and reservations DX451, iotune totals DX410, vhost-user DX449.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.storage import LOCAL_STORAGE_TYPES, Disk
from ...findings import Finding
from ...rule import RuleContext, rule

#: Buses whose disks take a drive address (virDomainDiskAddressDiskBusCompatibility).
DRIVE_ADDRESS_BUSES = frozenset({"ide", "fdc", "scsi", "sata"})


def _target(disk: Disk):
    return disk.target if disk.target is not None else disk.element


@rule(
    code="DX456",
    name="disk-address-type-invalid",
    severity="error",
    summary="A disk address of a type its bus cannot take (pci on sata, drive on usb ...)",
    triggers=("disk",),
    libvirt=("virDomainDiskDefValidate", "qemuValidateDomainDeviceDefDiskFrontend"),
)
def disk_address_type_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `<address type>` of each disk against its bus (written, or
    implied by the target name): IDE, floppy (fdc), SCSI and SATA disks sit
    on a controller and take a `drive` address; a USB disk takes a `usb`
    address (QEMU).

    ## Why is this bad?
    The address says where the disk is plugged in; a PCI address on a SATA
    disk names a slot the disk cannot occupy. libvirt refuses the
    definition: "Invalid address type 'pci' for the disk 'sda' with the bus
    type 'sata'" (proven on libvirt 9.0), and its QEMU driver "unexpected
    address type for usb disk".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/data.img'/>
      <target dev='sda' bus='sata'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/data.img'/>
      <target dev='sda' bus='sata'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    ```

    ## Fix safety
    No fix: removing the address lets libvirt assign one, but which
    controller and unit were meant (or whether the bus was wrong) is the
    author's call.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`,
    `virDomainDiskAddressDiskBusCompatibility`), src/qemu/qemu_validate.c
    (`qemuValidateDomainDeviceDefDiskFrontend`); libvirt tests
    disk-sata-incompatible-address, disk-fdc-incompatible-address.
    """
    is_qemu = ctx.facts.driver == "qemu"
    for disk in ctx.facts.disks:
        kind = disk.address_type
        if disk.address is None or kind is None:
            continue
        bus = disk.effective_bus
        if bus in DRIVE_ADDRESS_BUSES and kind != "drive":
            yield ctx.finding(
                disk.address,
                f"Invalid address type '{kind}' for the disk '{disk.dev}' with the bus type "
                f"'{bus}': it takes a drive address",
                attribute="type",
            )
        elif bus == "usb" and kind != "usb" and is_qemu:
            yield ctx.finding(
                disk.address,
                f"{disk.label}: unexpected address type for usb disk ('{kind}'; a USB disk "
                "takes a usb address)",
                attribute="type",
            )


@rule(
    code="DX457",
    name="disk-bus-device-mismatch",
    severity="error",
    summary="A floppy on a bus other than fdc, or another device on the fdc bus",
    fix="safe",
    triggers=("disk",),
    libvirt=("virDomainDiskDefValidate",),
)
def disk_bus_device_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `device='floppy'` disks whose `<target bus>` is not `fdc`, and
    disks on `bus='fdc'` that are not floppies.

    ## Why is this bad?
    The floppy controller drives floppies and nothing else. libvirt refuses
    the definition: "Invalid bus type 'ide' for floppy disk", "Invalid bus
    type 'fdc' for disk" (proven on libvirt 9.0).

    ## Example
    ```xml
    <disk type='file' device='floppy'>
      <source file='/var/lib/libvirt/images/boot.img'/>
      <target dev='fda' bus='ide'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='floppy'>
      <source file='/var/lib/libvirt/images/boot.img'/>
      <target dev='fda' bus='fdc'/>
    </disk>
    ```

    ## Fix safety
    Safe for a floppy: the fix sets `bus='fdc'`, the only bus a floppy can
    use, on a definition libvirt refuses as written. No fix for another
    device on `fdc`: which bus was meant is unknown.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`).
    """
    for disk in ctx.facts.disks:
        if disk.target is None or not disk.bus:
            continue
        if disk.device == "floppy" and disk.bus != "fdc":
            yield ctx.finding(
                disk.target,
                f"Invalid bus type '{disk.bus}' for floppy disk ({disk.label}; floppies use "
                "bus='fdc')",
                attribute="bus",
                fix=ctx.safe_fix(
                    "Set bus='fdc'", ctx.edit.set_attribute(disk.target, "bus", "fdc")
                ),
            )
        elif disk.device != "floppy" and disk.bus == "fdc":
            yield ctx.finding(
                disk.target,
                f"Invalid bus type 'fdc' for disk ({disk.label} is a {disk.device}; only a "
                "floppy sits on fdc)",
                attribute="bus",
            )


@rule(
    code="DX458",
    name="disk-target-option-invalid",
    severity="error",
    summary="tray, removable or rotation_rate on a device or bus that cannot have it",
    fix="safe",
    triggers=("disk",),
    libvirt=("virDomainDiskDefValidate", "qemuValidateDomainDeviceDefDiskFrontend"),
)
def disk_target_option_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `<target>` attributes that describe the medium: `tray='open'`
    only on a CD-ROM or floppy; `removable` only on a USB disk (libvirt 9.1
    and later also on a SCSI `device='disk'`); `rotation_rate` only on a
    `device='disk'` on the SCSI, IDE or SATA bus (QEMU).

    ## Why is this bad?
    libvirt refuses the definition: "tray is only valid for cdrom and floppy",
    "removable is only valid for usb or scsi disks" (libvirt 9.0: "... for
    usb disks"), "rotation rate is only valid for SCSI/IDE/SATA bus",
    "rotation rate is only valid for disk device". The schema allows each
    attribute on any target.

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/data.img'/>
      <target dev='vdb' bus='virtio' rotation_rate='1'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/data.img'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    Safe: the fix removes the attribute. The device or bus cannot carry it,
    and the definition is refused as written.

    ## Versions
    The SCSI exception for `removable` is newer than libvirt 9.0 (proven
    there: "removable is only valid for usb disks"); with `libvirt-version`
    9.0 or older the rule follows 9.0.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`).
    """
    scsi_removable = ctx.libvirt_at_least(9, 1)
    is_qemu = ctx.facts.driver == "qemu"
    for disk in ctx.facts.disks:
        target = disk.target
        if target is None:
            continue
        bus = disk.effective_bus
        problems = []
        if target.get("tray") == "open" and disk.device not in ("cdrom", "floppy"):
            problems.append(("tray", "tray is only valid for cdrom and floppy"))
        if target.get("removable") is not None and bus != "usb":
            if not scsi_removable:
                problems.append(("removable", "removable is only valid for usb disks"))
            elif not (bus == "scsi" and disk.device == "disk"):
                problems.append(("removable", "removable is only valid for usb or scsi disks"))
        if target.get("rotation_rate") is not None and is_qemu:
            if bus not in ("scsi", "ide", "sata"):
                problems.append(
                    ("rotation_rate", "rotation rate is only valid for SCSI/IDE/SATA bus")
                )
            elif disk.device != "disk":
                problems.append(("rotation_rate", "rotation rate is only valid for disk device"))
        for attribute, message in problems:
            yield ctx.finding(
                target,
                f"{message} ({disk.label} is a {disk.device} on bus '{bus}')",
                attribute=attribute,
                fix=ctx.safe_fix(
                    f"Remove {attribute}", ctx.edit.remove_attribute(target, attribute)
                ),
            )


@rule(
    code="DX459",
    name="disk-source-missing",
    severity="error",
    summary="A hard disk (or any USB disk) without a source",
    triggers=("disk",),
    libvirt=("virDomainDiskDefValidate", "qemuValidateDomainDeviceDefDiskFrontend"),
)
def disk_source_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `device='disk'` disks with no medium: no `<source>`, or one whose
    path is missing or empty (a network source needs its protocol). With the
    QEMU driver, a USB disk of any device (a USB CD-ROM too) needs a medium.

    ## Why is this bad?
    Only CD-ROMs and floppies can be empty (no disc inserted); a hard disk
    with nothing behind it is refused: "missing source information for
    device vda" (proven on libvirt 9.0), and for USB "'usb' disk must not be
    empty", since QEMU's usb-storage device cannot start without a drive.

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/data.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    No fix: only the author knows the image.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`, error
    VIR_ERR_NO_SOURCE), src/qemu/qemu_validate.c
    (`qemuValidateDomainDeviceDefDiskFrontend`); libvirt test
    disk-cdrom-usb-empty.
    """
    is_qemu = ctx.facts.driver == "qemu"
    for disk in ctx.facts.disks:
        if not disk.storage.is_empty:
            continue
        if is_qemu and disk.effective_bus == "usb":
            yield ctx.finding(
                disk.element, f"{disk.label}: 'usb' disk must not be empty (it has no source)"
            )
        elif disk.device == "disk":
            yield ctx.finding(
                disk.element,
                f"missing source information for device {disk.dev}: a hard disk needs a "
                "source (only a CD-ROM or floppy may be empty)",
            )


@rule(
    code="DX460",
    name="disk-startup-policy-invalid",
    severity="error",
    summary="startupPolicy on a disk that is not local storage, or 'requisite' on a hard disk",
    triggers=("source",),
    libvirt=("virDomainDiskDefValidateStartupPolicy",),
)
def disk_startup_policy_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<source startupPolicy>`: it needs a local source (`file`,
    `block`, `dir`) or a storage volume, and `requisite` needs a CD-ROM or
    floppy.

    ## Why is this bad?
    The policy says what to do when the source is missing at start (drop
    the medium, or fail); libvirt can only check that for paths on the host.
    It refuses the definition: "disk startupPolicy 'optional' is not allowed
    for disk of 'nvme' type", "disk startupPolicy 'requisite' is allowed only
    for cdrom or floppy" (both proven on libvirt 9.0).

    ## Example
    ```xml
    <source file='/var/lib/libvirt/images/data.qcow2' startupPolicy='requisite'/>
    ```

    ## Use instead
    ```xml
    <source file='/var/lib/libvirt/images/data.qcow2' startupPolicy='optional'/>
    ```

    ## Fix safety
    No fix: whether the guest may start without the disk is the author's
    decision.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidateStartupPolicy`).
    """
    for disk in ctx.facts.disks:
        source = disk.storage
        policy = source.attr("startupPolicy")
        if policy is None or source.element is None:
            continue
        if source.type not in LOCAL_STORAGE_TYPES and source.type != "volume":
            yield ctx.finding(
                source.element,
                f"disk startupPolicy '{policy}' is not allowed for disk of '{source.type}' "
                f"type ({disk.label})",
                attribute="startupPolicy",
            )
        elif policy == "requisite" and disk.device not in ("cdrom", "floppy"):
            yield ctx.finding(
                source.element,
                f"disk startupPolicy 'requisite' is allowed only for cdrom or floppy "
                f"({disk.label} is a {disk.device})",
                attribute="startupPolicy",
            )


@rule(
    code="DX461",
    name="nvme-namespace-zero",
    severity="error",
    summary="An NVMe disk source with namespace 0",
    triggers=("disk",),
    libvirt=("virDomainDiskDefValidate",),
)
def nvme_namespace_zero(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<disk type='nvme'>` sources with `namespace='0'`.

    ## Why is this bad?
    NVMe namespaces are numbered from 1; 0 is not a namespace. libvirt
    refuses the definition: "NVMe namespace can't be zero" (proven on
    libvirt 9.0).

    ## Example
    ```xml
    <source type='pci' managed='yes' namespace='0'>
    ```

    ## Use instead
    ```xml
    <source type='pci' managed='yes' namespace='1'>
    ```

    ## Fix safety
    No fix: which namespace holds the guest's data is the author's knowledge.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`).
    """
    for disk in ctx.facts.disks:
        source = disk.storage
        if source.type == "nvme" and source.element is not None and source.nvme_namespace == 0:
            yield ctx.finding(
                source.element,
                f"{disk.label}: NVMe namespace can't be zero (namespaces start at 1)",
                attribute="namespace",
            )


@rule(
    code="DX462",
    name="discard-no-unref-invalid",
    severity="error",
    summary="discard_no_unref='on' on an image that is not qcow2, or on a read-only disk",
    fix="safe",
    triggers=("driver",),
    libvirt=("virDomainDiskDefValidate",),
)
def discard_no_unref_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks whose `<driver discard_no_unref='on'>` is set on a format
    other than qcow2 (an unset format is raw for a file, block or network
    disk), or on a read-only disk (`<readonly/>`, or any CD-ROM).

    ## Why is this bad?
    `discard_no_unref` keeps qcow2 clusters allocated when the guest discards
    them, to avoid fragmentation; it is a qcow2 feature that only matters for
    writes. libvirt refuses the definition: "'discard_no_unref' only works
    with qcow2 disk format", "'discard_no_unref' is not compatible with
    read-only disk".

    ## Example
    ```xml
    <driver name='qemu' type='raw' discard_no_unref='on'/>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='raw'/>
    ```

    ## Fix safety
    Safe: the fix removes the attribute, which has no effect on a raw image
    or a read-only disk, from a definition libvirt refuses as written.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`);
    formatdomain, disk `driver` `discard_no_unref` (since 9.7.0).
    """
    for disk in ctx.facts.disks:
        if disk.driver is None or disk.driver_attr("discard_no_unref") != "on":
            continue
        source = disk.storage
        effective = source.format or (None if source.type == "volume" else "raw")
        if effective != "qcow2":
            message = "'discard_no_unref' only works with qcow2 disk format"
            shown = f"format '{effective}'" if effective else "no format"
        elif disk.readonly:
            message = "'discard_no_unref' is not compatible with read-only disk"
            shown = "it has <readonly/>" if disk.device != "cdrom" else "a CD-ROM is read-only"
        else:
            continue
        yield ctx.finding(
            disk.driver,
            f"{disk.label}: {message} ({shown})",
            attribute="discard_no_unref",
            fix=ctx.safe_fix(
                "Remove discard_no_unref",
                ctx.edit.remove_attribute(disk.driver, "discard_no_unref"),
            ),
        )
