"""DX445, DX447-DX451: disk options libvirt refuses, discard, sharing, vhost-user, error policy."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import VIRTIO_MODELS
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: Driver attributes that only a virtio disk takes, and libvirt's words for each.
VIRTIO_DISK_OPTIONS = (
    ("queues", "queues attribute in disk driver element is only supported by virtio-blk"),
    ("queue_size", "queue_size attribute in disk driver is only supported for virtio bus"),
    ("event_idx", "disk event_idx mode supported only for virtio bus"),
    ("ioeventfd", "disk ioeventfd mode supported only for virtio bus"),
    ("iommu", "iommu driver option is only supported for virtio devices"),
    ("ats", "ats driver option is only supported for virtio devices"),
    ("packed", "packed driver option is only supported for virtio devices"),
    ("page_per_vq", "page_per_vq option is only supported for virtio devices"),
)


@rule(
    code="DX445",
    name="disk-virtio-only-option",
    severity="error",
    summary="A virtio-only disk option (queues, event_idx, iommu ...) on a non-virtio bus",
    fix="safe",
    triggers=("disk",),
    libvirt=("virDomainDiskDefValidate", "virDomainCheckVirtioOptionsAreAbsent"),
)
def disk_virtio_only_option(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks on a bus other than virtio (often a SATA or IDE CD-ROM copied
    from a virtio disk) whose `<driver>` sets `queues`, `queue_size`,
    `event_idx`, `ioeventfd`, `iommu`, `ats`, `packed` or `page_per_vq`, or
    whose `<disk model>` is a virtio model. The bus is `target@bus`, or the one
    libvirt derives from the `dev` prefix (`vd` virtio, `sd` scsi, `hd` ide).

    ## Why is this bad?
    libvirt refuses the definition (proven on libvirt 9.0): "queues attribute
    in disk driver element is only supported by virtio-blk" (newer: "... only
    supported for virtio bus"), "disk event_idx mode supported only for virtio
    bus", "disk ioeventfd mode supported only for virtio bus", "iommu driver
    option is only supported for virtio devices", "disk model 'virtio' not
    supported for bus '%s'". libvirt >= 9.x adds "queue_size attribute in disk
    driver is only supported for virtio bus" (9.0 silently ignores it).

    ## Example
    ```xml
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw' queues='4'/>
      <target dev='sda' bus='sata'/>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
    ```

    ## Fix safety
    Safe: the fix removes the option. The definition is refused as written (or,
    for `queue_size` on old libvirt, the option has no effect), so removing it
    cannot break a guest that starts today.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`,
    `virDomainCheckVirtioOptionsAreAbsent`); formatdomain "Hard drives, floppy
    disks, CDROMs" and "Virtio-related options".
    """
    for disk in ctx.facts.disks:
        bus = disk.effective_bus
        if bus is None or bus == "virtio" or disk.type == "vhostuser":
            continue
        edits = []
        messages = []
        model = disk.element.get("model")
        if model in VIRTIO_MODELS:
            edits.append(ctx.edit.remove_attribute(disk.element, "model"))
            messages.append(f"disk model '{model}' not supported for bus '{bus}'")
        if disk.driver is not None:
            for name, text in VIRTIO_DISK_OPTIONS:
                if disk.driver.get(name) is not None:
                    edits.append(ctx.edit.remove_attribute(disk.driver, name))
                    messages.append(text)
        if not edits:
            continue
        element = disk.element if model in VIRTIO_MODELS or disk.driver is None else disk.driver
        yield ctx.finding(
            element,
            f"{disk.label} on bus '{bus}': " + "; ".join(messages),
            fix=ctx.safe_fix("Remove the virtio-only option(s)", *edits),
        )


@rule(
    code="DX447",
    name="discard-suggested",
    severity="info",
    summary="A thin-provisioned (qcow2 or RBD) disk without discard='unmap'",
    fix="unsafe",
    default=False,
    triggers=("disk",),
    domains=QEMU,
)
def discard_suggested(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds writable QEMU/KVM disks on thin-provisioned storage (qcow2 images,
    Ceph RBD volumes) whose `<driver>` has no `discard` attribute.

    ## Why is this bad?
    Without `discard='unmap'`, QEMU ignores the guest's TRIM/UNMAP requests:
    blocks freed inside the guest stay allocated in the image or pool, which
    grows until it is as large as the disk. It is advice (the guest must issue
    discards, e.g. `fstrim`), hence opt-in.

    ## Example
    ```xml
    <driver name='qemu' type='qcow2' cache='none'/>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='qcow2' cache='none' discard='unmap'/>
    ```

    ## Fix safety
    Unsafe: punching holes depends on the storage (filesystem or pool support)
    and on guest drivers (virtio-blk discard needs Linux 5.0 or later), and can
    fragment images.

    ## Source
    formatdomain, disk `driver` `discard`; Proxmox qm.adoc ("Trim/Discard").
    """
    for disk in ctx.facts.disks:
        if disk.device != "disk" or not disk.writable or disk.driver is None:
            continue
        if disk.driver_attr("discard") is not None:
            continue
        protocol = disk.source.get("protocol") if disk.source is not None else None
        if disk.format != "qcow2" and not (disk.type == "network" and protocol == "rbd"):
            continue
        kind = "qcow2 image" if disk.format == "qcow2" else "RBD volume"
        yield ctx.finding(
            disk.driver,
            f"{disk.label} is a thin-provisioned {kind} without discard='unmap': space freed in "
            "the guest is never returned",
            fix=ctx.unsafe_fix(
                "Set discard='unmap'", ctx.edit.set_attribute(disk.driver, "discard", "unmap")
            ),
        )


@rule(
    code="DX448",
    name="shareable-disk-format",
    severity="error",
    summary="A writable <shareable/> disk in a format other than raw",
    triggers=("shareable",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDisk",),
)
def shareable_disk_format(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds QEMU/KVM disks marked `<shareable/>` and not `<readonly/>` whose
    `<driver type>` is set to anything but `raw` (qcow2, vmdk ...).

    ## Why is this bad?
    Image formats with metadata (qcow2 cluster tables, refcounts) cannot be
    written by two QEMU processes at once: the metadata would be corrupted.
    libvirt refuses the definition: "shared access for disk '%s' requires use
    of supported storage format"; only raw supports concurrent access.

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/cluster.qcow2'/>
      <target dev='vdb' bus='virtio'/>
      <shareable/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source dev='/dev/mapper/cluster-lun'/>
      <target dev='vdb' bus='virtio'/>
      <shareable/>
    </disk>
    ```

    ## Fix safety
    No fix: the image must be converted (`qemu-img convert -O raw`) first.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDisk`),
    src/qemu/qemu_block.c (`qemuBlockStorageSourceSupportsConcurrentAccess`:
    "only RAW storage supports this"); libvirt test disk-shared-qcow.err.
    """
    for disk in ctx.facts.disks:
        if not disk.shareable or disk.readonly:
            continue
        if disk.driver is not None and disk.format is not None and disk.format != "raw":
            yield ctx.finding(
                disk.driver,
                f"{disk.label} is shareable and writable but type='{disk.format}': shared access "
                f"for disk '{disk.dev}' requires use of supported storage format (raw)",
                attribute="type",
            )


#: What a vhost-user disk must not have: (XPath under <disk>, attribute or None, libvirt's word).
_VHOSTUSER_DRIVER_ATTRS = (
    ("cache", "cache"), ("error_policy", "error_policy"), ("rerror_policy", "error_policy"),
    ("io", "io"), ("ioeventfd", "ioeventfd"), ("copy_on_read", "copy_on_read"),
    ("discard", "discard"), ("iothread", "iothread"), ("detect_zeroes", "detect_zeroes"),
)  # fmt: skip


_VHOSTUSER_CHILDREN = (
    ("driver/metadata_cache", "metadata_cache"), ("iotune", "iotune"),
    ("backingStore", "backingStore"), ("source/encryption", "encryption"),
    ("encryption", "encryption"), ("readonly", "readonly"), ("shareable", "shareable"),
    ("transient", "transient"), ("serial", "serial"), ("wwn", "wwn"), ("vendor", "vendor"),
    ("product", "product"), ("auth", "auth"), ("source/auth", "auth"), ("geometry", "geometry"),
    ("blockio", "blockio"),
)  # fmt: skip


@rule(
    code="DX449",
    name="vhostuser-disk-invalid",
    severity="error",
    summary="A vhost-user or vhost-vDPA disk with options libvirt refuses",
    triggers=("disk",),
    libvirt=("virDomainDiskVhostUserValidate", "qemuValidateDomainDeviceDefDisk"),
)
def vhostuser_disk_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<disk type='vhostuser'>`: it must be on the virtio bus, keep
    `snapshot='no'`, and carry none of the driver attributes `cache`,
    `error_policy`, `rerror_policy`, `io`, `ioeventfd`, `copy_on_read`,
    `discard`, `iothread`, `detect_zeroes`, nor `<iotune>`, `<backingStore>`,
    `<encryption>`, `<readonly/>`, `<shareable/>`, `<transient/>`, `<serial>`,
    `<wwn>`, `<vendor>`, `<product>`, `<auth>`, `<geometry>`, `<blockio>`.
    Checks `<disk type='vhostvdpa'>` (QEMU) uses `cache='none'` or
    `'directsync'`. (Shared memory is checked by vhostuser-needs-shared-memory.)

    ## Why is this bad?
    The block device lives in an external vhost-user process; QEMU's block
    layer, which implements these options, is not involved. libvirt refuses
    the definition with "%s is not supported with vhostuser disk" (e.g. "cache
    is not supported with vhostuser disk", "vhostuser disk supports only virtio
    bus", "only snapshot=no is supported with vhostuser disk"; proven on
    libvirt 9.0), and for vDPA "disk type 'vhostvdpa' requires cache mode
    'directsync' or 'none'".

    ## Example
    ```xml
    <disk type='vhostuser' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source type='unix' path='/tmp/vhost-blk.sock'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='vhostuser' device='disk'>
      <driver name='qemu' type='raw'/>
      <source type='unix' path='/tmp/vhost-blk.sock'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    No fix: these settings belong in the vhost-user backend's configuration.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskVhostUserValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDisk`); formatdomain
    "Hard drives, floppy disks, CDROMs" (`vhostuser`).
    """
    facts = ctx.facts
    for disk in facts.disks:
        if disk.type == "vhostvdpa" and facts.driver == "qemu":
            if disk.cache not in ("none", "directsync"):
                yield ctx.finding(
                    disk.driver if disk.driver is not None else disk.element,
                    "disk type 'vhostvdpa' requires cache mode 'directsync' or 'none'",
                    attribute="cache" if disk.cache else None,
                )
            continue
        if disk.type != "vhostuser":
            continue
        bus = disk.effective_bus
        if bus != "virtio":
            yield ctx.finding(
                disk.target if disk.target is not None else disk.element,
                f"{disk.label}: vhostuser disk supports only virtio bus, not '{bus}'",
            )
        snapshot = disk.element.get("snapshot")
        if snapshot not in (None, "no"):
            yield ctx.finding(
                disk.element,
                "only snapshot=no is supported with vhostuser disk",
                attribute="snapshot",
            )
        if disk.driver is not None:
            for attribute, word in _VHOSTUSER_DRIVER_ATTRS:
                if disk.driver.get(attribute) is not None:
                    yield ctx.finding(
                        disk.driver,
                        f"{disk.label}: {word} is not supported with vhostuser disk",
                        attribute=attribute,
                    )
        for path, word in _VHOSTUSER_CHILDREN:
            found = disk.element.find(path)
            if path == "driver/metadata_cache" and not disk.storage.metadata_cache_max_size:
                continue  # libvirt refuses only a cache size above 0
            if found is not None and (path != "backingStore" or len(found)):
                yield ctx.finding(
                    found, f"{disk.label}: {word} is not supported with vhostuser disk"
                )


@rule(
    code="DX450",
    name="disk-error-policy-ignore",
    severity="warning",
    summary="error_policy or rerror_policy 'ignore' hides I/O errors from guest and admin",
    fix="unsafe",
    triggers=("disk",),
    domains=QEMU,
)
def disk_error_policy_ignore(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds QEMU/KVM disks whose `<driver>` sets `error_policy='ignore'` or
    `rerror_policy='ignore'`.

    ## Why is this bad?
    With `ignore`, QEMU drops the error of a failed write (or read) and lets the
    guest continue as if it had succeeded: the guest's filesystem or database
    believes data is on disk that never got there, and nobody is told. The
    other policies keep the error visible: `stop` pauses the guest until the
    admin resolves it, `report` passes it to the guest, `enospace` stops on a
    full disk only.

    ## Example
    ```xml
    <driver name='qemu' type='raw' error_policy='ignore'/>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' type='raw' error_policy='stop'/>
    ```

    ## Fix safety
    Unsafe: `error_policy='stop'` (and `rerror_policy='report'`) change how the
    guest behaves when storage fails: it pauses, or sees the read error.

    ## Source
    formatdomain, disk `driver` `error_policy` and `rerror_policy`; QEMU
    `-drive werror=/rerror=` (BlockdevOnError) documentation.
    """
    for disk in ctx.facts.disks:
        if disk.driver is None or disk.type == "vhostuser":
            continue
        for attribute, replacement in (("error_policy", "stop"), ("rerror_policy", "report")):
            if disk.driver_attr(attribute) == "ignore":
                what = "write" if attribute == "error_policy" else "read"
                yield ctx.finding(
                    disk.driver,
                    f"{disk.label}: {attribute}='ignore' drops {what} errors silently; the guest "
                    "carries on with data that never reached the disk",
                    attribute=attribute,
                    fix=ctx.unsafe_fix(
                        f"Set {attribute}='{replacement}'",
                        ctx.edit.set_attribute(disk.driver, attribute, replacement),
                    ),
                )


@rule(
    code="DX451",
    name="disk-lun-options-invalid",
    severity="error",
    summary="rawio, sgio or <reservations> on a disk that is not device='lun'",
    fix="safe",
    triggers=("disk",),
    libvirt=("virDomainDiskDefValidate",),
)
def disk_lun_options_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<disk>` elements with `rawio` or `sgio`, or a `<source>` with
    `<reservations>`, whose `device` is not `lun`, and `sgio='unfiltered'`
    anywhere.

    ## Why is this bad?
    Raw SCSI command access (`rawio`), SG_IO filtering (`sgio`) and SCSI
    persistent reservations only apply to SCSI LUN passthrough. libvirt
    refuses the definition: "rawio can be used only with device='lun'",
    "<reservations/> allowed only for lun devices" (both proven on libvirt
    9.0), "sgio can be used only with device='lun'", "unfiltered sgio is no
    longer supported".

    ## Example
    ```xml
    <disk type='block' device='disk' rawio='yes'>
    ```

    ## Use instead
    ```xml
    <disk type='block' device='lun' rawio='yes'>
    ```

    ## Fix safety
    Safe for `device='disk'` and friends: the fix removes the attribute, which
    the definition cannot keep anyway; it does not turn the disk into a LUN.
    No fix for `sgio='unfiltered'` on a LUN, nor for `<reservations>`: asking
    for persistent reservations suggests a LUN was meant.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`);
    formatdomain "Hard drives, floppy disks, CDROMs" (`rawio`, `sgio`).
    """
    for disk in ctx.facts.disks:
        element = disk.element
        for attribute in ("rawio", "sgio"):
            value = element.get(attribute)
            if value is None:
                continue
            if disk.device != "lun":
                yield ctx.finding(
                    element,
                    f"{disk.label}: {attribute} can be used only with device='lun'",
                    attribute=attribute,
                    fix=ctx.safe_fix(
                        f"Remove {attribute}", ctx.edit.remove_attribute(element, attribute)
                    ),
                )
            elif attribute == "sgio" and value == "unfiltered":
                yield ctx.finding(
                    element, "unfiltered sgio is no longer supported", attribute="sgio"
                )
        reservations = disk.storage.child("reservations")
        if reservations is not None and disk.device != "lun":
            yield ctx.finding(
                reservations,
                f"{disk.label}: <reservations/> allowed only for lun devices (it is a "
                f"{disk.device})",
            )
