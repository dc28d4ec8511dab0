"""DX469-DX475: the device a disk becomes in QEMU, and what its bus can do.

From libvirt's ``qemuValidateDomainDeviceDefDiskFrontend`` (geometry, serial,
wwn, vendor, ejectable media, read-only, copy-on-read), the driver name of
``qemuValidateDomainDeviceDefDisk``, and the pseries floppy of
``qemuProcessStartValidateDisks``. LUNs are DX468, io='native' DX404.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.storage import Disk
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import parse_uint


def _geometry_set(disk: Disk) -> bool:
    """Whether ``<geometry>`` gives cylinders, heads and sectors, all above 0."""
    geometry = disk.child("geometry")
    if geometry is None:
        return False
    return all((parse_uint(geometry.get(name)) or 0) > 0 for name in ("cyls", "heads", "secs"))


@rule(
    code="DX469",
    name="disk-geometry-invalid",
    severity="error",
    summary="A CHS <geometry> on a USB or SD disk, or a BIOS translation off the IDE bus",
    fix="safe",
    triggers=("geometry",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskFrontend",),
)
def disk_geometry_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks a disk's `<geometry cyls heads secs>`: QEMU's USB and SD devices
    have no CHS geometry, and the BIOS translation (`trans`) exists only on
    the IDE bus.

    ## Why is this bad?
    libvirt refuses the definition: "CHS geometry can not be set for 'usb'
    bus", "CHS translation mode can only be set for 'ide' bus not 'virtio'".

    ## Example
    ```xml
    <geometry cyls='16383' heads='16' secs='63' trans='lba'/>
    <target dev='vda' bus='virtio'/>
    ```

    ## Use instead
    ```xml
    <geometry cyls='16383' heads='16' secs='63'/>
    <target dev='vda' bus='virtio'/>
    ```

    ## Fix safety
    Safe for `trans`: the fix removes it; only an IDE disk's BIOS uses it,
    and the definition is refused as written. No fix for a geometry on USB
    or SD: whether the bus or the geometry is wrong is the author's call.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`).
    """
    for disk in ctx.facts.disks:
        if not _geometry_set(disk):
            continue
        geometry = disk.child("geometry")
        assert geometry is not None
        bus = disk.effective_bus
        if bus in ("usb", "sd"):
            yield ctx.finding(
                geometry, f"{disk.label}: CHS geometry can not be set for '{bus}' bus"
            )
        elif geometry.get("trans") not in (None, "default") and bus != "ide":
            yield ctx.finding(
                geometry,
                f"{disk.label}: CHS translation mode can only be set for 'ide' bus not '{bus}'",
                attribute="trans",
                fix=ctx.safe_fix("Remove trans", ctx.edit.remove_attribute(geometry, "trans")),
            )


@rule(
    code="DX470",
    name="disk-identity-bus-invalid",
    severity="error",
    summary="A disk <serial>, <wwn>, <vendor> or <product> on a bus whose device cannot show it",
    triggers=("serial", "wwn", "vendor", "product"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskFrontend",),
)
def disk_identity_bus_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the identity a disk reports to the guest against its bus: no
    `<serial>` on an SD card, `<wwn>` only on IDE and SCSI disks, `<vendor>`
    and `<product>` only on SCSI disks.

    ## Why is this bad?
    Only those QEMU devices have the property to carry the value. libvirt
    refuses the definition: "Serial property not supported for drive bus
    'sd'", "Only ide and scsi disk support wwn", "Only scsi disk supports
    vendor and product".

    ## Example
    ```xml
    <target dev='vdb' bus='virtio'/>
    <vendor>ACME</vendor>
    ```

    ## Use instead
    ```xml
    <target dev='sdb' bus='scsi'/>
    <vendor>ACME</vendor>
    ```

    ## Fix safety
    No fix: the guest may rely on the identity (udev rules, multipath), so
    dropping it or moving the disk is the author's call.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`);
    libvirt test disk-scsi-disk-vpd-build-error.
    """
    for disk in ctx.facts.disks:
        bus = disk.effective_bus
        serial = disk.child("serial")
        if serial is not None and bus == "sd":
            yield ctx.finding(
                serial, f"{disk.label}: Serial property not supported for drive bus 'sd'"
            )
        wwn = disk.child("wwn")
        if wwn is not None and bus not in ("ide", "scsi"):
            yield ctx.finding(
                wwn, f"{disk.label}: Only ide and scsi disk support wwn (bus '{bus}')"
            )
        if bus != "scsi":
            for tag in ("vendor", "product"):
                element = disk.child(tag)
                if element is not None:
                    yield ctx.finding(
                        element,
                        f"{disk.label}: Only scsi disk supports vendor and product (bus '{bus}')",
                    )
                    break


@rule(
    code="DX471",
    name="cdrom-bus-invalid",
    severity="error",
    summary="A CD-ROM on the virtio or sd bus, which have no ejectable media",
    triggers=("disk",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskFrontend",),
)
def cdrom_bus_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `device='cdrom'` disks on the `virtio` or `sd` bus (written, or
    implied by a `vd*` name).

    ## Why is this bad?
    virtio-blk and SD devices have no tray and no media change, so they
    cannot be a CD-ROM. libvirt refuses the definition: "disk type of 'vdb'
    does not support ejectable media".

    ## Example
    ```xml
    <disk type='file' device='cdrom'>
      <source file='/var/lib/libvirt/images/install.iso'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='cdrom'>
      <source file='/var/lib/libvirt/images/install.iso'/>
      <target dev='sdb' bus='sata'/>
    </disk>
    ```

    ## Fix safety
    No fix: the right bus (SATA on q35, IDE on i440fx, SCSI) depends on the
    machine and its controllers.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`).
    """
    for disk in ctx.facts.disks:
        bus = disk.effective_bus
        if disk.device == "cdrom" and bus in ("virtio", "sd"):
            yield ctx.finding(
                disk.target if disk.target is not None else disk.element,
                f"disk type of '{disk.dev}' does not support ejectable media (a CD-ROM on bus "
                f"'{bus}')",
                attribute="bus" if disk.bus else "dev",
            )


@rule(
    code="DX472",
    name="readonly-disk-bus-invalid",
    severity="error",
    summary="A read-only hard disk on the IDE or SATA bus",
    triggers=("readonly",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskFrontend",),
)
def readonly_disk_bus_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `device='disk'` disks marked `<readonly/>` on the `ide` or `sata`
    bus.

    ## Why is this bad?
    QEMU's IDE hard disk device (ide-hd, used for SATA too) cannot be
    read-only. libvirt refuses the definition: "readonly ide disks are not
    supported", "readonly sata disks are not supported".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/tools.img'/>
      <target dev='sdb' bus='sata'/>
      <readonly/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/tools.img'/>
      <target dev='sdb' bus='scsi'/>
      <readonly/>
    </disk>
    ```

    ## Fix safety
    No fix: a CD-ROM, a SCSI or virtio disk, or a writable disk are all
    plausible intents.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`).
    """
    for disk in ctx.facts.disks:
        bus = disk.effective_bus
        if disk.device != "disk" or not disk.readonly or bus not in ("ide", "sata"):
            continue
        readonly = disk.child("readonly")
        yield ctx.finding(
            readonly if readonly is not None else disk.element,
            f"{disk.label}: readonly {bus} disks are not supported",
        )


@rule(
    code="DX473",
    name="copy-on-read-invalid",
    severity="error",
    summary="copy_on_read='on' on a read-only disk, a CD-ROM or floppy, or a LUN",
    fix="safe",
    triggers=("driver",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskFrontend",),
)
def copy_on_read_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<driver copy_on_read='on'>` on a read-only disk (`<readonly/>`, or
    any CD-ROM), on a floppy, or on a `device='lun'`.

    ## Why is this bad?
    Copy-on-read writes the data it reads from the backing image into the
    top image; that needs a writable image layer. libvirt refuses the
    definition: "copy_on_read is not compatible with read-only disk 'sdb'",
    "copy_on_read is not supported with removable disk 'fda'",
    "copy_on_read is not compatible with 'lun' disk 'sdc'".

    ## Example
    ```xml
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw' copy_on_read='on'/>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
    ```

    ## Fix safety
    Safe: the fix removes `copy_on_read`, which cannot work on these devices,
    from a definition libvirt refuses as written.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`).
    """
    for disk in ctx.facts.disks:
        if disk.driver_attr("copy_on_read") != "on" or disk.driver is None:
            continue
        if disk.readonly:
            message = f"copy_on_read is not compatible with read-only disk '{disk.dev}'"
        elif disk.device in ("cdrom", "floppy"):
            message = f"copy_on_read is not supported with removable disk '{disk.dev}'"
        elif disk.device == "lun":
            message = f"copy_on_read is not compatible with 'lun' disk '{disk.dev}'"
        else:
            continue
        yield ctx.finding(
            disk.driver,
            message,
            attribute="copy_on_read",
            fix=ctx.safe_fix(
                "Remove copy_on_read", ctx.edit.remove_attribute(disk.driver, "copy_on_read")
            ),
        )


@rule(
    code="DX474",
    name="disk-driver-name-invalid",
    severity="error",
    summary="A disk <driver name> other than 'qemu' in a QEMU/KVM domain",
    fix="safe",
    triggers=("driver",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDisk",),
)
def disk_driver_name_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks whose `<driver name>` is set to anything but `qemu` (`tap`,
    `file`, `phy` from Xen definitions, `kvm` ...).

    ## Why is this bad?
    The QEMU driver has one disk backend, named `qemu`. libvirt refuses the
    definition: "unsupported driver name 'tap' for disk 'vda'".

    ## Example
    ```xml
    <driver name='phy' type='raw'/>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='raw'/>
    ```

    ## Fix safety
    Safe: the fix sets `name='qemu'`, the only value the QEMU driver accepts
    (and the one it assumes when the name is left out); the guest sees the
    same disk.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDisk`).
    """
    for disk in ctx.facts.disks:
        name = disk.driver_attr("name")
        if disk.driver is None or name is None or name == "qemu":
            continue
        yield ctx.finding(
            disk.driver,
            f"unsupported driver name '{name}' for disk '{disk.dev}'",
            attribute="name",
            fix=ctx.safe_fix(
                "Set name='qemu'", ctx.edit.set_attribute(disk.driver, "name", "qemu")
            ),
        )


@rule(
    code="DX475",
    name="floppy-unsupported-machine",
    severity="error",
    summary="A floppy disk on a PowerPC pseries machine",
    triggers=("disk",),
    domains=QEMU.on("ppc64", "ppc64le"),
    libvirt=("qemuProcessStartValidateDisks",),
)
def floppy_unsupported_machine(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `device='floppy'` disks in a `pseries` guest (a ppc64 machine named
    `pseries` or `pseries-*`, or none: QEMU's default ppc64 machine is
    pseries).

    ## Why is this bad?
    The pseries machine has no floppy controller. libvirt accepts the
    definition but refuses to start it: "PowerPC pseries machines do not
    support floppy device".

    ## Example
    ```xml
    <type arch='ppc64' machine='pseries'>hvm</type>
    ...
    <disk type='file' device='floppy'>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <target dev='sdb' bus='scsi'/>
    ```

    ## Fix safety
    No fix: the medium needs another device, which the guest sees differently.

    ## Source
    libvirt src/qemu/qemu_process.c (`qemuProcessStartValidateDisks`),
    src/qemu/qemu_domain.c (`qemuDomainIsPSeries`); libvirt test
    disk-floppy-pseries.
    """
    machine = ctx.facts.machine
    if machine and machine != "pseries" and not machine.startswith("pseries-"):
        return
    for disk in ctx.facts.disks:
        if disk.device == "floppy":
            yield ctx.finding(
                disk.element,
                f"{disk.label}: PowerPC pseries machines do not support floppy device",
                attribute="device",
            )
