"""DX842-DX844: what blocks or endangers live migration (opt-in: only for guests meant to move)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX842",
    name="migration-host-passthrough",
    severity="warning",
    summary="A host-passthrough or maximum CPU ties the guest to identical hosts",
    default=False,
    triggers=("cpu",),
    domains=QEMU,
)
def migration_host_passthrough(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For guests meant to live-migrate (select this rule to say so), finds
    QEMU/KVM guests whose `<cpu>` uses `mode='host-passthrough'` or
    `mode='maximum'`.

    ## Why is this bad?
    Both modes hand the guest the exact CPU of the host it starts on. After a
    migration to a host with a different CPU model, microcode or BIOS settings
    the guest may crash on a missing instruction; formatdomain calls migrating
    such guests "dangerous" unless the hosts are identical, and
    `migratable='on'` only drops features that cannot migrate at all. For the
    best performance on a single host these modes are right, hence opt-in.

    ## Example
    ```xml
    <cpu mode='host-passthrough' check='none' migratable='on'/>
    ```

    ## Use instead
    ```xml
    <cpu mode='host-model' check='partial'/>
    ```

    ## Fix safety
    No fix: `host-model` or a named model changes what the guest sees and
    should match the oldest host of the migration pool.

    ## Source
    formatdomain "CPU model and topology" (`host-passthrough`, `maximum`,
    `migratable`); Proxmox qm.adoc (CPU type); the RHEL 7 Virtualization
    Deployment and Administration Guide, "KVM Migration" (the tuning guide's
    chapter 6 is I/O scheduling), and guide 3.2.2 and 2.2, which recommend
    host-passthrough for guests that do not migrate.
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is not None and cpu.mode in ("host-passthrough", "maximum"):
        yield ctx.finding(
            cpu.element,
            f"cpu mode='{cpu.mode}' exposes the host's exact CPU: migration is only safe between "
            "identical hosts",
            attribute="mode",
        )


@rule(
    code="DX843",
    name="migration-hostdev",
    severity="warning",
    summary="An assigned host device (PCI, SCSI, mdev) that blocks live migration",
    default=False,
    triggers=("hostdev", "interface"),
    domains=QEMU,
    libvirt=("qemuMigrationSrcIsAllowedHostdev",),
)
def migration_hostdev(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For guests meant to live-migrate (select this rule to say so), finds
    `<hostdev>` devices and `<interface type='hostdev'>` NICs that libvirt
    will not migrate: PCI devices without `<teaming type='transient'/>`,
    SCSI, SCSI-host and mediated devices, and `mode='capabilities'` devices.
    USB host devices are allowed.

    ## Why is this bad?
    The device's state lives in real hardware on the source host. libvirt
    refuses the migration: "cannot migrate a domain with <hostdev
    mode='subsystem' type='%s'>". An SR-IOV NIC can migrate only as the
    transient half of a virtio-net failover pair (`<teaming>`), which is
    unplugged before migration.

    ## Example
    ```xml
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x3b' slot='0x00' function='0x1'/></source>
    </hostdev>
    ```

    ## Use instead
    ```xml
    <interface type='bridge'>
      <source bridge='br0'/>
      <model type='virtio'/>
      <teaming type='persistent'/>
      <alias name='ua-backup0'/>
    </interface>
    <interface type='hostdev' managed='yes'>
      <source><address type='pci' domain='0x0000' bus='0x3b' slot='0x02' function='0x1'/></source>
      <teaming type='transient' persistent='ua-backup0'/>
    </interface>
    ```

    ## Fix safety
    No fix: the device has to be replaced or detached before migration.

    ## Source
    libvirt src/qemu/qemu_migration.c (`qemuMigrationSrcIsAllowedHostdev`);
    formatdomain "Host device assignment" and "Teaming a virtio/hostdev NIC pair".
    """
    facts = ctx.facts
    for hostdev in facts.host_devices:
        element = hostdev.element
        teaming = child(element, "teaming")
        if teaming is not None and teaming.get("type") == "transient":
            continue
        if hostdev.mode == "capabilities":
            yield ctx.finding(element, "cannot migrate a domain with <hostdev mode='capabilities'>")
        elif hostdev.type != "usb":
            kind = hostdev.type or "?"
            what = (
                "interface type='hostdev'"
                if hostdev.is_interface
                else (f"<hostdev mode='subsystem' type='{kind}'>")
            )
            yield ctx.finding(element, f"cannot migrate a domain with {what}")


@rule(
    code="DX844",
    name="migration-transient-disk",
    severity="warning",
    summary="A <transient/> disk, which libvirt refuses to migrate",
    default=False,
    triggers=("transient",),
    domains=QEMU,
    libvirt=("qemuMigrationSrcIsAllowed",),
)
def migration_transient_disk(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For guests meant to live-migrate (select this rule to say so), finds
    QEMU/KVM disks marked `<transient/>`.

    ## Why is this bad?
    A transient disk writes into a temporary overlay on the source host that
    is discarded when the guest stops. libvirt refuses the migration:
    "migration with transient disk is not supported".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/base.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <transient/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/overlay.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    No fix: dropping `<transient/>` makes the guest's writes permanent.

    ## Source
    libvirt src/qemu/qemu_migration.c (`qemuMigrationSrcIsAllowed`);
    formatdomain "Hard drives, floppy disks, CDROMs" (`transient`).
    """
    facts = ctx.facts
    for disk in facts.disks:
        transient = child(disk.element, "transient")
        if transient is not None:
            yield ctx.finding(
                transient,
                f"{disk.label} is transient: migration with transient disk is not supported",
            )
