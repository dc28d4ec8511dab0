"""DX467-DX468: SCSI LUN passthrough (device='lun'): its source and its front end."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: The QEMU release that dropped virtio-blk's SCSI passthrough (its ``scsi`` property):
#: libvirt 10.7's tests accept a virtio LUN with QEMU 9.0 and refuse it with 9.1.
VIRTIO_BLK_SCSI_REMOVED = (9, 1)


@rule(
    code="DX467",
    name="disk-lun-source-invalid",
    severity="error",
    summary="A device='lun' disk on a non-iSCSI network source, a non-raw format, a slice "
    "or encryption",
    triggers=("disk",),
    libvirt=("virDomainDiskDefSourceLUNValidate",),
)
def disk_lun_source_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the source of each `device='lun'` disk: a network LUN must be
    iSCSI, any other a host block device (with its `dev`) or a storage
    volume; the format must be raw (or unset); the source cannot be a
    `<slices>` storage slice; and it cannot carry `<encryption>` (other than
    `format='default'`).

    ## Why is this bad?
    A LUN passes the guest's SCSI commands straight to a SCSI device; there
    is no image layer in between to read a format, a slice or an encryption
    header. libvirt refuses the definition: "disk device='lun' is not
    supported for protocol='nbd'", "disk device='lun' is only valid for block
    type disk source", "disk device 'lun' must use 'raw' format", "disk
    device 'lun' doesn't support storage slice", "disk device 'lun' doesn't
    support encryption" (all proven on libvirt 9.0). The schema refuses a
    file or directory LUN itself; a block LUN without its `dev` it lets
    through.

    ## Example
    ```xml
    <disk type='block' device='lun'>
      <driver name='qemu' type='qcow2'/>
      <source dev='/dev/mapper/mpatha'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='block' device='lun'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/mapper/mpatha'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    ```

    ## Fix safety
    No fix: whether a LUN or a disk image was meant is the author's choice.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefSourceLUNValidate`).
    """
    for disk in ctx.facts.disks:
        if disk.device != "lun":
            continue
        source = disk.storage
        if source.is_network:
            if source.protocol not in (None, "iscsi"):
                yield ctx.finding(
                    source.location,
                    f"{disk.label}: disk device='lun' is not supported for "
                    f"protocol='{source.protocol}' (only iSCSI)",
                    attribute="protocol",
                )
        elif source.type != "volume" and not (source.type == "block" and source.path):
            shown = (
                "a block source without a device"
                if source.type == "block"
                else (f"a '{source.type}' source")
            )
            yield ctx.finding(
                source.location,
                f"{disk.label}: disk device='lun' is only valid for block type disk source "
                f"(this is {shown})",
            )
        if source.format not in (None, "raw"):
            yield ctx.finding(
                disk.driver if disk.driver is not None else disk.element,
                f"{disk.label}: disk device 'lun' must use 'raw' format, not '{source.format}'",
                attribute="type",
            )
        if source.storage_slice is not None:
            yield ctx.finding(
                source.storage_slice,
                f"{disk.label}: disk device 'lun' doesn't support storage slice",
            )
        encryption = source.encryption
        if encryption is not None and encryption.format not in (None, "default"):
            yield ctx.finding(
                encryption.element, f"{disk.label}: disk device 'lun' doesn't support encryption"
            )


@rule(
    code="DX468",
    name="disk-lun-frontend-invalid",
    severity="error",
    summary="A device='lun' disk on a bus without SCSI passthrough, or with a wwn, vendor, "
    "product or serial QEMU cannot set",
    triggers=("disk",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskFrontend",),
)
def disk_lun_frontend_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each `device='lun'` disk's front end: the bus must be `scsi` (QEMU's
    scsi-block) or `virtio`, and virtio-blk SCSI passthrough must exist in
    the QEMU (it was removed in QEMU 9.1); a LUN on SCSI cannot set `<wwn>`,
    `<vendor>`, `<product>` or `<serial>`, since the real device reports its
    own.

    ## Why is this bad?
    libvirt refuses the definition: "disk device='lun' is not supported for
    bus='sata'", "This QEMU doesn't support SCSI emulation with 'virtio-blk'
    device", "Setting wwn is not supported for lun device", "Setting vendor or
    product is not supported for lun device", "scsi-block 'lun' devices do not
    support the serial property".

    ## Example
    ```xml
    <disk type='block' device='lun'>
      <source dev='/dev/sdb'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='block' device='lun'>
      <source dev='/dev/sdb'/>
      <target dev='sda' bus='scsi'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'/>
    ```

    ## Fix safety
    No fix: moving the LUN to a virtio-scsi controller changes guest-visible
    hardware.

    ## Versions
    A virtio LUN follows the QEMU version (`qemu-version`, or the host
    snapshot's domain capabilities): refused from QEMU 9.1 on (libvirt 10.7's
    tests accept it with QEMU 9.0 and refuse it with 9.1), and when the
    version is unknown.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`);
    libvirt test virtio-lun.
    """
    virtio_passthrough_gone = ctx.qemu_at_least(*VIRTIO_BLK_SCSI_REMOVED)
    for disk in ctx.facts.disks:
        if disk.device != "lun":
            continue
        bus = disk.effective_bus
        target = disk.target if disk.target is not None else disk.element
        if bus not in ("scsi", "virtio"):
            yield ctx.finding(
                target,
                f"{disk.label}: disk device='lun' is not supported for bus='{bus}' (use scsi)",
                attribute="bus" if disk.bus else None,
            )
            continue
        if bus == "virtio":
            if virtio_passthrough_gone:
                yield ctx.finding(
                    target,
                    f"{disk.label}: This QEMU doesn't support SCSI emulation with 'virtio-blk' "
                    "device (virtio-blk SCSI passthrough is gone since QEMU 9.1; put the LUN on "
                    "a virtio-scsi controller)",
                    attribute="bus" if disk.bus else None,
                )
            continue
        messages = {
            "wwn": "Setting wwn is not supported for lun device",
            "vendor": "Setting vendor or product is not supported for lun device",
            "product": "Setting vendor or product is not supported for lun device",
            "serial": "scsi-block 'lun' devices do not support the serial property",
        }
        reported = set()
        for tag, message in messages.items():
            element = disk.child(tag)
            if element is not None and message not in reported:
                reported.add(message)
                yield ctx.finding(element, f"{disk.label}: {message}")
