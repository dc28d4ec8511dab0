"""DX453-DX455: disk target names: what the name must look like, and that it is unique."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.storage import Disk
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: The prefixes virDomainDiskDefValidate accepts for a hard disk or LUN.
HARDDISK_PREFIXES = ("hd", "sd", "vd", "xvd", "ubd")


@rule(
    code="DX453",
    name="disk-target-invalid",
    severity="error",
    summary="A disk target name QEMU's driver cannot parse, or one with a partition number",
    triggers=("disk",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDisk",),
)
def disk_target_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Parses each disk's `<target dev>` as libvirt's `virDiskNameParse` does: a
    prefix (`fd`, `hd`, `vd`, `sd`, `xvd`, `ubd`), then one or more lowercase
    letters, then nothing but digits. Reports names it cannot parse (`vdA`,
    `sda_1`, `vd`) and names with a partition number (`vdb1`).

    ## Why is this bad?
    The target name is a device on the guest's bus, not a partition: libvirt
    derives the drive's position from the letters and refuses the definition:
    "invalid disk target 'vdA'", or "invalid disk target 'vdb1', partitions
    can't appear in disk targets". (`vda0` passes: partition 0 means none.)

    ## Example
    ```xml
    <target dev='vdb1' bus='virtio'/>
    ```

    ## Use instead
    ```xml
    <target dev='vdb' bus='virtio'/>
    ```

    ## Fix safety
    No fix: which disk name was meant, and whether it collides with another
    disk, is the author's call.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDisk`),
    src/util/virutil.c (`virDiskNameParse`); libvirt test
    disk-attaching-partition-nosupport.
    """
    for disk in ctx.facts.disks:
        if not disk.dev:
            continue
        name = disk.name
        if name is None:
            yield ctx.finding(_target(disk), f"invalid disk target '{disk.dev}'", attribute="dev")
        elif name.partition:
            yield ctx.finding(
                _target(disk),
                f"invalid disk target '{disk.dev}', partitions can't appear in disk targets",
                attribute="dev",
            )


def _target(disk: Disk):
    return disk.target if disk.target is not None else disk.element


@rule(
    code="DX454",
    name="disk-target-prefix-invalid",
    severity="error",
    summary="A hard disk named like a floppy (fd*), or a floppy not named fd*",
    triggers=("disk",),
    libvirt=("virDomainDiskDefValidate",),
)
def disk_target_prefix_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that the `<target dev>` of a `device='disk'` or `device='lun'`
    starts with `hd`, `sd`, `vd`, `xvd` or `ubd`, and that of a
    `device='floppy'` with `fd`.

    ## Why is this bad?
    libvirt refuses the definition: "Invalid harddisk device name: fda",
    "Invalid floppy device name: hda" (proven on libvirt 9.0). The schema
    lets these names through, since each prefix is valid for some device.

    ## Example
    ```xml
    <disk type='file' device='floppy'>
      <source file='/var/lib/libvirt/images/boot.img'/>
      <target dev='hdb'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='floppy'>
      <source file='/var/lib/libvirt/images/boot.img'/>
      <target dev='fda'/>
    </disk>
    ```

    ## Fix safety
    No fix: renaming a target can collide with another disk's name.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`).
    """
    for disk in ctx.facts.disks:
        dev = disk.dev
        if not dev:
            continue
        if disk.device in ("disk", "lun") and not dev.startswith(HARDDISK_PREFIXES):
            message = f"Invalid harddisk device name: {dev}"
        elif disk.device == "floppy" and not dev.startswith("fd"):
            message = f"Invalid floppy device name: {dev}"
        else:
            continue
        yield ctx.finding(_target(disk), f"{message} (device='{disk.device}')", attribute="dev")


@rule(
    code="DX455",
    name="disk-target-duplicate",
    severity="error",
    summary="Two disks with the same target name",
    triggers=("disk",),
    libvirt=("virDomainDiskDefCheckDuplicateInfo",),
)
def disk_target_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a `<target dev>` that another disk of the domain already uses. The
    message names the two sources in the order libvirt keeps its disks
    (grouped by the bus written, by number within a bus), as libvirt does.

    ## Why is this bad?
    The target name identifies the disk (to `virsh domblklist`,
    `blockresize`, hot-unplug, and for the drive's address on its bus).
    libvirt refuses the definition: "target 'vda' duplicated for disk sources
    '/a.qcow2' and '/b.qcow2'" (proven on libvirt 9.0; a network source is
    named by its image, a volume or an empty CD-ROM as `<null>`).

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/a.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/b.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <target dev='vdb' bus='virtio'/>
    ```

    ## Fix safety
    No fix: a free name is easy to pick, but the guest may find its disks in
    another order.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDiskDefCheckDuplicateInfo`,
    called by `virDomainDefValidateInternal`).
    """
    first: dict[str, Disk] = {}
    for disk in ctx.facts.disks_in_libvirt_order:
        if not disk.dev:
            continue
        earlier = first.setdefault(disk.dev, disk)
        if earlier is disk:
            continue
        yield ctx.finding(
            _target(disk),
            f"target '{disk.dev}' duplicated for disk sources "
            f"'{_source_name(earlier)}' and '{_source_name(disk)}'",
            attribute="dev",
        )


def _source_name(disk: Disk) -> str:
    """What libvirt's message names a disk's source by (virDomainDiskGetSource)."""
    return disk.storage.message_path or "<null>"
