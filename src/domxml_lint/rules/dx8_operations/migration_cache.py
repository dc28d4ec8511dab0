"""DX801: cache modes that stop a guest from live-migrating (guide 7.2, corrected)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import DIRECT_CACHE_MODES
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX801",
    name="migration-unsafe-cache",
    severity="warning",
    summary="A disk cache mode that makes libvirt refuse live migration with QEMU older than 4.0",
    fix="unsafe",
    default=False,
    triggers=("disk",),
    domains=QEMU,
    libvirt=("qemuMigrationSrcIsSafe",),
)
def migration_unsafe_cache(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For guests that must live-migrate (opt-in), when the target QEMU is older
    than 4.0 (`qemu-version` in the configuration, or the host snapshot's):
    finds writable, non-shareable, non-network disks with a source whose cache
    mode is neither `none` nor `directsync` (no cache mode counts: QEMU's
    default is `writeback`). With QEMU 4.0 or newer, or no version known, it
    says nothing: see below.

    ## Why is this bad?
    With a host-side cache, the destination could read stale data that the
    source host has not yet written back. libvirt's migration check refuses:
    "Migration may lead to data corruption if disks use cache other than none
    or directsync", unless the storage is copied with the migration or the
    QEMU binary can drop the file cache on switch-over: the `drop-cache`
    option of its `file` driver, which QEMU 4.0 added. Every QEMU that
    libvirt 9.x and 10.x support has it, so for them the cache mode no longer
    matters for migration. What still stops a migration is a disk that is not
    on shared storage at all ("Migration without shared storage is unsafe"),
    whatever its cache; only the host can tell. Read-only, empty, shareable
    and network disks are exempt, as in libvirt; so are vhost-user disks, which
    accept no cache mode at all.

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='writeback'/>
      <source file='/mnt/nfs/vm1.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/mnt/nfs/vm1.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    Unsafe: `cache='none'` opens the image with O_DIRECT, which some
    filesystems (tmpfs, some FUSE and network mounts) refuse, and it changes
    the guest's I/O performance profile. The fix adds `cache='none'` to the
    `<driver>`, or a `<driver cache='none'/>` when the disk has none.

    ## Source
    Guide 7.2 (Caching): "cache=none ... is the only option that supports
    migration", corrected: libvirt src/qemu/qemu_migration.c
    (`qemuMigrationSrcIsSafe`) also accepts `directsync`, skips read-only,
    empty, shareable and network disks, and skips the cache check whenever QEMU
    has `drop-cache` (`QEMU_CAPS_MIGRATION_FILE_DROP_CACHE`, QEMU 4.0).
    """
    if ctx.qemu_at_least(4, 0):
        # QEMU 4.0 added the file driver's drop-cache, and libvirt then lets any cache
        # mode migrate (qemuMigrationSrcIsSafe): every QEMU libvirt 9.x and 10.x supports.
        ctx.note("the target QEMU drops the host file cache on switch-over: any cache migrates")
        return
    for disk in ctx.facts.disks:
        if disk.cache in DIRECT_CACHE_MODES or disk.shareable:
            continue
        if disk.readonly or disk.device == "cdrom" or disk.type in ("network", "vhostuser"):
            continue
        if not disk.has_source:
            continue
        current = f"cache='{disk.cache}'" if disk.cache else "no cache mode (QEMU uses writeback)"
        edit = ctx.edit.set_driver_attribute(
            disk.element, disk.driver, "cache", "none", before=("source", "target")
        )
        yield ctx.finding(
            disk.driver if disk.driver is not None else disk.element,
            f"{disk.label} has {current}: with QEMU before 4.0 libvirt refuses to live-migrate "
            'it ("Migration may lead to data corruption if disks use cache other than none or '
            'directsync")',
            attribute="cache" if disk.cache else None,
            fix=ctx.unsafe_fix("Set cache='none'", edit),
        )
