"""DX401-DX405: disk cache and I/O modes (guide 7.2 and 7.3)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import DIRECT_CACHE_MODES
from ...facts.storage import Disk
from ...findings import Edit, Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX401",
    name="disk-cache-unsafe",
    severity="error",
    summary="Disk cache mode 'unsafe' ignores guest flushes: data is lost if the host crashes",
    fix="unsafe",
    triggers=("disk",),
    domains=QEMU,
)
def disk_cache_unsafe(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks whose `<driver>` sets `cache='unsafe'`.

    ## Why is this bad?
    With `unsafe` the host ignores the guest's flush requests: a write the
    guest believes is on disk may only be in the host page cache. If the host
    crashes or loses power, the guest's filesystem or database is corrupted.
    The mode exists for throw-away installs; the guide lists it as "similar to
    writeback, but ignores all I/O flush requests".

    ## Example
    ```xml
    <driver name='qemu' type='qcow2' cache='unsafe'/>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='qcow2' cache='none'/>
    ```

    ## Fix safety
    Unsafe: `cache='none'` opens the image with O_DIRECT, which some
    filesystems (tmpfs, some FUSE and network mounts) do not support, so the
    guest could then fail to start on such storage.

    ## Source
    Guide 7.2 (缓存, Caching), table 7.1 of cache modes; libvirt formatdomain,
    "Hard drives, floppy disks, CDROMs": driver `cache`.
    """
    for disk in ctx.facts.disks:
        if disk.driver is not None and disk.cache == "unsafe":
            fix = ctx.unsafe_fix(
                "Set cache='none'", ctx.edit.set_attribute(disk.driver, "cache", "none")
            )
            yield ctx.finding(
                disk.driver,
                f"{disk.label} uses cache='unsafe': guest flushes are ignored and data is "
                "lost if the host crashes",
                attribute="cache",
                fix=fix,
            )


@rule(
    code="DX404",
    name="io-native-needs-direct-cache",
    severity="error",
    summary="io='native' needs cache='none' or 'directsync'; libvirt refuses anything else",
    fix="safe",
    triggers=("disk",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskFrontend",),
)
def io_native_needs_direct_cache(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks with `<driver io='native'>` whose cache mode is anything other
    than `none` or `directsync`, including no cache mode at all.

    ## Why is this bad?
    Linux native AIO only works with O_DIRECT. libvirt refuses the definition:
    "io='native' needs either no disk cache or directsync cache mode", and QEMU
    itself refuses "aio=native was specified, but it requires cache.direct=on,
    which was not specified". The guest does not start.

    ## Example
    ```xml
    <driver name='qemu' type='raw' io='native'/>
    <driver name='qemu' type='raw' cache='writeback' io='native'/>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='raw' cache='none' io='native'/>
    ```

    ## Fix safety
    Safe: the definition is refused as written, so setting `cache='none'`
    cannot break a guest that starts today, and `none` honours guest flushes
    just as `writeback` does, so durability does not drop.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskFrontend`);
    QEMU block/file-posix.c; guide 7.3 (I/O 模式, I/O mode), corrected: the
    guide names only `none`, libvirt also accepts `directsync`.
    """
    for disk in ctx.facts.disks:
        if disk.driver is None:
            continue
        if disk.io == "native" and disk.cache not in DIRECT_CACHE_MODES:
            current = f"cache='{disk.cache}'" if disk.cache else "no cache mode"
            fix = ctx.safe_fix(
                "Set cache='none'", ctx.edit.set_attribute(disk.driver, "cache", "none")
            )
            yield ctx.finding(
                disk.driver,
                f"{disk.label}: io='native' with {current}: libvirt refuses it "
                "(needs cache='none' or "
                "'directsync')",
                attribute="io",
                fix=fix,
            )


@rule(
    code="DX402",
    name="disk-cache-writethrough",
    severity="info",
    summary="Disk cache mode 'writethrough' is slow and scales poorly",
    fix="unsafe",
    triggers=("disk",),
    domains=QEMU,
)
def disk_cache_writethrough(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks whose `<driver>` sets `cache='writethrough'`.

    ## Why is this bad?
    With `writethrough` every guest write goes through the host page cache and
    is only acknowledged once it reached the physical disk. The guide calls
    this mode slow and prone to scaling problems, fit only for a small number
    of guests with low I/O needs whose OS cannot handle a writeback cache
    (RHEL 5.5 and older). `cache='none'` bypasses the host page cache and
    still honours the guest's flushes.

    ## Example
    ```xml
    <driver name='qemu' type='raw' cache='writethrough'/>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='raw' cache='none'/>
    ```

    ## Fix safety
    Unsafe: `cache='none'` opens the image with O_DIRECT, which some
    filesystems (tmpfs, some FUSE and network mounts) refuse, and it shows the
    guest a volatile write cache: a guest OS that never sends flushes (the
    reason to choose `writethrough`) would then lose durability.

    ## Source
    Guide 7.2 (缓存, Caching), table 7.1 of cache modes; libvirt formatdomain,
    "Hard drives, floppy disks, CDROMs": driver `cache`.
    """
    for disk in ctx.facts.disks:
        if disk.driver is not None and disk.cache == "writethrough":
            fix = ctx.unsafe_fix(
                "Set cache='none'", ctx.edit.set_attribute(disk.driver, "cache", "none")
            )
            yield ctx.finding(
                disk.driver,
                f"{disk.label} uses cache='writethrough': every write waits for the host's "
                "disk, which is slow and scales poorly; cache='none' is the usual choice",
                attribute="cache",
                fix=fix,
            )


@rule(
    code="DX403",
    name="disk-cache-unset",
    severity="info",
    summary="A writable disk without a cache mode is left to the hypervisor default",
    fix="unsafe",
    default=False,
    triggers=("disk",),
    domains=QEMU,
)
def disk_cache_unset(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds writable disks (not read-only, not a CD-ROM or floppy, with a
    source) whose `<driver>` has no `cache` attribute, or that have no
    `<driver>` at all.

    ## Why is this bad?
    Without a cache mode QEMU uses its default, `writeback`: guest I/O is
    cached twice (in the guest and in the host page cache), the host's memory
    is spent on the guest's data, and I/O latency depends on host memory
    pressure. The guide recommends `cache='none'` for guests with significant
    I/O. Opt-in, because the default is a reasonable choice for light guests.

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/db.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/libvirt/images/db.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    Unsafe: `cache='none'` opens the image with O_DIRECT, which some
    filesystems (tmpfs, some FUSE and network mounts) refuse, so the guest
    could fail to start on such storage. The fix adds `cache='none'` to the
    `<driver>`, or a `<driver cache='none'/>` when the disk has none.

    ## Source
    Guide 7.2 (缓存, Caching): "cache=none ... 这个选项用于具有较大 I/O 要求的虚拟机";
    libvirt formatdomain, "Hard drives, floppy disks, CDROMs": driver `cache`.
    vhost-user disks are skipped: libvirt refuses any cache mode there
    ("cache is not supported with vhostuser disk", src/conf/domain_validate.c).
    """
    for disk in ctx.facts.disks:
        if disk.cache is not None or not disk.writable or disk.type == "vhostuser":
            continue
        if not disk.has_source:
            continue

        def edits(disk: Disk = disk) -> list[Edit]:  # built only when the output needs it
            return [
                ctx.edit.set_driver_attribute(
                    disk.element, disk.driver, "cache", "none", before=("source", "target")
                )
            ]

        where = "it has no <driver>" if disk.driver is None else "its <driver> has no cache mode"
        yield ctx.finding(
            disk.driver if disk.driver is not None else disk.element,
            f"{disk.label}: {where}, so QEMU's default (writeback) double-caches its I/O in "
            "host memory; cache='none' suits I/O-heavy guests",
            fix=ctx.unsafe_fix("Set cache='none'", edits),
        )


@rule(
    code="DX405",
    name="io-native-suggested",
    severity="info",
    summary="A direct-cache disk on a block device or raw image could use io='native'",
    fix="unsafe",
    default=False,
    triggers=("disk",),
    domains=QEMU,
)
def io_native_suggested(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks with `cache='none'` or `cache='directsync'` whose `io` is unset
    or `threads`, when they sit on a block device (`type='block'`) or a raw
    image file.

    ## Why is this bad?
    With `io='threads'` (the default) QEMU hands each request to a pool of
    worker threads. Linux native AIO (`io='native'`) submits the requests
    straight to the kernel, which costs less CPU per I/O and gives lower
    latency on devices and preallocated raw images. The guide names `native`
    as the mode of Red Hat Virtualization environments.

    ## Example
    ```xml
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/vg0/db'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native'/>
      <source dev='/dev/vg0/db'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    Unsafe: native AIO can block QEMU's event loop on a sparse raw file while
    the filesystem allocates blocks, so it may be slower on thin images; newer
    hosts may prefer `io='io_uring'`. Only the administrator knows the storage.
    The cache mode is already direct, so libvirt accepts `io='native'`.

    ## Source
    Guide 7.3 (I/O 模式, I/O mode), table 7.2; libvirt formatdomain, driver
    `io`; src/qemu/qemu_validate.c requires a direct cache for native AIO
    ("io='native' needs either no disk cache or directsync cache mode").
    """
    for disk in ctx.facts.disks:
        if disk.driver is None or disk.cache not in DIRECT_CACHE_MODES:
            continue
        if disk.io not in (None, "threads"):
            continue
        if disk.device not in ("disk", "lun"):
            continue
        on_device = disk.type == "block"
        raw_image = disk.type == "file" and disk.format == "raw"
        if not (on_device or raw_image):
            continue
        backing = "block device" if on_device else "raw image"
        current = "io='threads'" if disk.io else "the default thread pool"
        fix = ctx.unsafe_fix("Set io='native'", ctx.edit.set_attribute(disk.driver, "io", "native"))
        yield ctx.finding(
            disk.driver,
            f"{disk.label}: {backing} with cache='{disk.cache}' uses {current}; io='native' "
            "(Linux AIO) costs less CPU per I/O",
            attribute="io" if disk.io else "cache",
            fix=fix,
        )
