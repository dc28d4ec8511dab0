"""DX486: disks whose QEMU device, block driver or option the guest's QEMU lacks.

libvirt's ``!virQEMUCapsGet(qemuCaps, FLAG)`` checks of a disk's frontend and
backend, answered by ``ctx.qemu_lacks`` (:mod:`domxml_lint.qemu_support`). The
checks of the same functions that need nothing of QEMU are other rules' (see
the rule's page); librbd encryption is disk-encryption-invalid's (DX465),
``tlsHostname`` network-source-option-invalid's (DX481), the IOThread mapping
virtio-blk-queue-mapping-invalid's (DX444), transient disks
disk-transient-invalid's (DX476).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.storage import Disk
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: ``qemuValidateDomainDeviceDefDisk``: storage types that need a QEMU device or driver.
BACKEND_FLAGS = {"vhostuser": "vhost-user-blk", "vhostvdpa": "virtio-blk-vhost-vdpa"}


@rule(
    code="DX486",
    name="disk-unsupported-by-qemu",
    severity="error",
    summary="A disk bus, backend or option the guest's QEMU does not have (usb-storage, "
    "scsi-block, io_uring, vhost-user, vDPA, NVMe, reservations, discard_no_unref)",
    triggers=("disk",),
    domains=QEMU,
    libvirt=(
        "qemuValidateDomainDeviceDefDiskFrontend",
        "qemuValidateDomainDeviceDefDisk",
        "qemuDomainValidateStorageSource",
        "qemuProcessStartValidateDisks",
    ),
)
def disk_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks what a disk needs of the guest's QEMU:

    - a USB disk the `usb-storage` device, a SCSI LUN the `scsi-block`
      device (Linux only);
    - `<driver io='io_uring'>` a QEMU built with liburing;
    - `<driver discard_no_unref=...>` QEMU 8.1 or later;
    - a `vhostuser` disk the vhost-user-blk device, a `vhostvdpa` disk the
      virtio-blk-vhost-vdpa block driver (QEMU 8.1, built with libblkio);
    - an `nvme` disk QEMU's userspace NVMe driver (Linux only);
    - `<source><reservations>` the pr-manager-helper (Linux only).

    What the guest's QEMU has comes from the host snapshot's QEMU
    capabilities (libvirt's cache, see the README's "Host snapshots"), else
    from `qemu-version` where the release decides it (`discard_no_unref`,
    vDPA); what depends on how QEMU was built only a snapshot can say. The
    rule stays silent when it cannot know (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition, or the start: "This QEMU doesn't support
    '-device usb-storage'", "This QEMU doesn't support scsi-block for lun
    passthrough", "io uring is not supported by this QEMU binary",
    "'discard_no_unref' is not supported by this QEMU binary", "vhostuser
    disk is not supported with this QEMU binary", "NVMe disks are not
    supported with this QEMU binary", "reservations not supported with this
    QEMU binary".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard_no_unref='on'/>
      <source file='/var/lib/libvirt/images/vm.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```
    with `qemu-version = "8.0"` in the configuration.

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/vm.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    No fix: whether to drop the option or change the disk is yours to say.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`,
    `qemuValidateDomainDeviceDefDisk`), src/qemu/qemu_domain.c
    (`qemuDomainValidateStorageSource`), src/qemu/qemu_process.c
    (`qemuProcessStartValidateDisks`).
    """
    for disk in ctx.facts.disks:
        yield from _frontend(ctx, disk)
        yield from _backend(ctx, disk)


def _frontend(ctx: RuleContext, disk: Disk) -> Iterator[Finding]:
    where = disk.target if disk.target is not None else disk.element
    bus = disk.effective_bus
    if bus == "usb" and disk.device != "lun" and (why := ctx.qemu_lacks("usb-storage")):
        message = "This QEMU doesn't support '-device usb-storage'"
        yield ctx.finding(where, f"{disk.label}: {message}: {why}", attribute="bus")
    if bus == "scsi" and disk.device == "lun" and (why := ctx.qemu_lacks("scsi-block")):
        message = "This QEMU doesn't support scsi-block for lun passthrough"
        yield ctx.finding(disk.element, f"{disk.label}: {message}: {why}", attribute="device")
    driver = disk.driver
    if driver is None:
        return
    if disk.io == "io_uring" and (why := ctx.qemu_lacks("aio.io_uring")):
        message = "io uring is not supported by this QEMU binary"
        yield ctx.finding(driver, f"{disk.label}: {message}: {why}", attribute="io")
    if driver.get("discard_no_unref") is not None:
        why = ctx.qemu_lacks("qcow2-discard-no-unref")
        if why:
            message = "'discard_no_unref' is not supported by this QEMU binary"
            yield ctx.finding(
                driver, f"{disk.label}: {message}: {why}", attribute="discard_no_unref"
            )


def _backend(ctx: RuleContext, disk: Disk) -> Iterator[Finding]:
    storage = disk.storage
    if storage.type in BACKEND_FLAGS and (why := ctx.qemu_lacks(BACKEND_FLAGS[storage.type])):
        message = f"{storage.type} disk is not supported with this QEMU binary"
        yield ctx.finding(disk.element, f"{disk.label}: {message}: {why}", attribute="type")
    elif storage.type == "nvme" and (why := ctx.qemu_lacks("drive-nvme")):
        message = "NVMe disks are not supported with this QEMU binary"
        yield ctx.finding(disk.element, f"{disk.label}: {message}: {why}", attribute="type")
    reservations = storage.child("reservations")
    if reservations is not None and (why := ctx.qemu_lacks("pr-manager-helper")):
        message = "reservations not supported with this QEMU binary"
        yield ctx.finding(reservations, f"{disk.label}: {message}: {why}")
