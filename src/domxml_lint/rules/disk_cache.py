"""DX4xx: disk cache and I/O modes (guide chapter 7.2 and 7.3)."""

from __future__ import annotations

from ..rule import rule

DIRECT_CACHE_MODES = ("none", "directsync")


@rule(
    code="DX401",
    name="disk-cache-unsafe",
    severity="error",
    summary="Disk cache mode 'unsafe' ignores guest flushes: data is lost if the host crashes",
    fix="unsafe",
    triggers=("disk",),
)
def disk_cache_unsafe(ctx):
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
    if not ctx.facts.is_qemu:
        return
    for disk in ctx.facts.disks:
        if disk.cache == "unsafe":
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
)
def io_native_needs_direct_cache(ctx):
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
    if not ctx.facts.is_qemu:
        return
    for disk in ctx.facts.disks:
        if disk.io == "native" and disk.cache not in DIRECT_CACHE_MODES:
            current = f"cache='{disk.cache}'" if disk.cache else "no cache mode"
            fix = ctx.safe_fix(
                "Set cache='none'", ctx.edit.set_attribute(disk.driver, "cache", "none")
            )
            yield ctx.finding(
                disk.driver,
                f"{disk.label}: io='native' with {current}: libvirt refuses it (needs cache='none' or "
                "'directsync')",
                attribute="io",
                fix=fix,
            )
