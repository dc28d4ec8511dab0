"""DX476: transient disks (``<transient/>``): what QEMU's driver can make throw-away."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: Buses whose disks libvirt can hot-plug, which sharing the backing image needs.
SHARE_BACKING_BUSES = frozenset({"usb", "virtio", "scsi"})


@rule(
    code="DX476",
    name="disk-transient-invalid",
    severity="error",
    summary="<transient/> on an empty, read-only, non-file or non-disk device, or "
    "shareBacking on a bus that cannot hot-plug or with a QEMU older than 6.0",
    triggers=("transient",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskTransient",),
)
def disk_transient_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks disks marked `<transient/>`: they need a source, must be writable,
    of `type='file'`, and a `device='disk'`; with `shareBacking='yes'` they
    must sit on the `usb`, `virtio` or `scsi` bus, and when every lifecycle
    action (`on_poweroff`, `on_reboot`, `on_crash`) is `destroy`, the guest's
    QEMU needs the `set-action` command (QEMU 6.0: from the host snapshot's
    QEMU capabilities, else `qemu-version`). (Volume disks are left alone:
    they resolve to a file only through their pool.)

    ## Why is this bad?
    QEMU implements a transient disk as a temporary overlay file on top of
    the image, thrown away when the guest stops; with `shareBacking` libvirt
    hot-plugs the disk after start. libvirt refuses the definition:
    "transient disk 'vdb' must not be empty", "transient disk 'vdb' must not
    be read-only", "transient disk supported only with 'file' type (vdb)",
    "transient disk supported only with 'disk' device (sdb)", "disk bus 'sata'
    doesn't support transiend disk backing image sharing" (libvirt's
    spelling), "transient disk backing image sharing with destroy action of
    lifecycle isn't supported by this QEMU binary".

    ## Example
    ```xml
    <disk type='block' device='disk'>
      <source dev='/dev/vg0/scratch'/>
      <target dev='vdb' bus='virtio'/>
      <transient/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/scratch.qcow2'/>
      <target dev='vdb' bus='virtio'/>
      <transient/>
    </disk>
    ```

    ## Fix safety
    No fix: dropping `<transient/>` would make the disk keep the guest's
    writes, the opposite of what was asked.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskTransient`).
    """
    for disk in ctx.facts.disks:
        if not disk.transient:
            continue
        source = disk.storage
        transient = disk.child("transient")
        assert transient is not None
        if source.is_empty:
            message = f"transient disk '{disk.dev}' must not be empty"
        elif disk.readonly:
            message = f"transient disk '{disk.dev}' must not be read-only"
        elif source.type == "volume":
            continue
        elif source.type != "file":
            message = (
                f"transient disk supported only with 'file' type ({disk.dev}), not '{source.type}'"
            )
        elif disk.device != "disk":
            message = (
                f"transient disk supported only with 'disk' device ({disk.dev}), not "
                f"'{disk.device}'"
            )
        elif (
            transient.get("shareBacking") == "yes" and disk.effective_bus not in SHARE_BACKING_BUSES
        ):
            yield ctx.finding(
                transient,
                f"disk bus '{disk.effective_bus}' doesn't support transiend disk backing image "
                f"sharing ({disk.label}; use usb, virtio or scsi)",
                attribute="shareBacking",
            )
            continue
        elif transient.get("shareBacking") == "yes" and _always_destroy(ctx.facts.lifecycle):
            why = ctx.qemu_lacks("set-action")
            if not why:
                continue
            message = (
                "transient disk backing image sharing with destroy action of lifecycle isn't "
                f"supported by this QEMU binary: {why}"
            )
        else:
            continue
        yield ctx.finding(transient, message)


def _always_destroy(lifecycle: dict[str, str]) -> bool:
    return all(action == "destroy" for action in lifecycle.values())
