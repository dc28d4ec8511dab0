"""DX412-DX413: the host's I/O scheduler under a guest's disk; one image in two guests
(guide 6.1, 7)."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...findings import Finding
from ...guests import DiskUse, GuestFacts
from ...planrules import PlanContext, PlanFinding, others, plan_rule
from ...rule import QEMU, HostPart, RuleContext, rule
from ..dx0_document.host_setup import host_name

if TYPE_CHECKING:  # loaded only with a snapshot
    from ...host.system import HostSystem

#: Schedulers the guide recommends on a KVM host: deadline (mq-deadline on blk-mq kernels),
#: and cfq (bfq, its blk-mq successor) where throughput matters more than latency.
GUIDE_SCHEDULERS = frozenset({"deadline", "mq-deadline", "cfq", "bfq"})
#: Devices whose scheduler is 'none' by design: NVMe (the kernel's default, and right for
#: its many queues), device mapper and md (they pass requests to the devices below), RAM
#: and network block devices.
_NO_SCHEDULER = re.compile(r"^(nvme|dm-|md|loop|zram|nbd|rbd|pmem)")
_PARTITION = re.compile(r"^((?:sd|vd|hd|xvd)[a-z]+)\d+$|^((?:nvme\d+n\d+|mmcblk\d+))p\d+$")


def block_device_of(path: str, system: HostSystem) -> str | None:
    """The whole-disk name (``sda``) under a ``/dev/sda`` or ``/dev/sda2`` path, if the
    snapshot lists it; None for paths it cannot resolve (LVM, /dev/disk/by-*, files)."""
    if system.block_devices is None or not path.startswith("/dev/"):
        return None
    name = path[len("/dev/") :]
    if name in system.block_devices:
        return name
    match = _PARTITION.match(name)
    if match:
        parent = match.group(1) or match.group(2)
        if parent in system.block_devices:
            return parent
    return None


@rule(
    code="DX412",
    name="host-io-scheduler",
    severity="info",
    summary="A guest disk on a host block device whose I/O scheduler is not deadline",
    needs=(HostPart.SYSTEM,),
    triggers=("disk",),
    domains=QEMU,
)
def host_io_scheduler(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For each `<disk type='block'>` whose `<source dev>` is a host disk or a
    partition of one (`/dev/sdb`, `/dev/sdb2`), reads that disk's I/O
    scheduler from the host snapshot (`/sys/block/*/queue/scheduler`) and
    reports one other than deadline (`mq-deadline`) or cfq (`bfq` on newer
    kernels). NVMe, device-mapper, md and similar devices, whose scheduler is
    `none` by design, are left out, and so are paths the snapshot cannot map
    to a disk (LVM volumes, `/dev/disk/by-*` links, image files).

    ## Why is this bad?
    The host schedules the I/O of all the guests on a disk. The guide: on a
    virtualization host the deadline scheduler is usually ideal, performing
    well for almost every workload, and cfq may help where throughput matters
    more than guest I/O latency. `none`/`noop` on a rotating or SATA disk
    leaves requests of different guests unordered; `kyber` is tuned for fast
    multi-queue devices.

    ## Example
    `<source dev='/dev/sdb'/>` on a snapshot with
    `<device name='sdb' scheduler='mq-deadline kyber bfq [none]'/>`.

    ## Use instead
    On the host: `echo mq-deadline > /sys/block/sdb/queue/scheduler`, kept
    across reboots by a udev rule or the tuned profile.

    ## Fix safety
    No fix: host configuration.

    ## Source
    Guide 6.1 (I/O Scheduling with Red Hat Enterprise Linux as a
    Virtualization Host: deadline is usually ideal; cfq when throughput
    matters more than latency); Linux Documentation/block/ (mq-deadline, bfq).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    for disk in ctx.facts.disks:
        if disk.type != "block" or disk.source is None:
            continue
        path = disk.source.get("dev")
        if not path:
            continue
        if system.block_devices is None:
            ctx.note("the snapshot does not record the host's block devices")
            return
        name = block_device_of(path, system)
        if name is None:
            ctx.note(f"{disk.label}: the snapshot cannot tell which host disk holds {path}")
            continue
        if _NO_SCHEDULER.match(name):
            continue
        scheduler = system.block_devices[name].scheduler.selected
        if scheduler is None or scheduler in GUIDE_SCHEDULERS:
            continue
        yield ctx.finding(
            disk.source,
            f"{disk.label} is on disk {name} of {host_name(system)}, whose I/O scheduler is "
            f"{scheduler}: the guide recommends deadline (mq-deadline) for a virtualization "
            "host, or cfq (bfq) where throughput matters more than latency",
            attribute="dev",
        )


def _verb(disk: DiskUse) -> str:
    return "writes" if disk.writable else "reads"


def _source(key: tuple[str, ...]) -> str:
    kind, *rest = key
    return "/".join(rest) if kind != "network" else f"{rest[0]}:{rest[1]}"


@plan_rule(
    code="DX413",
    name="disk-image-shared",
    severity="error",
    summary="One disk image written by two guests of a host without <shareable/>",
    domains=QEMU,
)
def disk_image_shared(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Finds a disk source (an image file, a host block device, a network
    volume such as an RBD image or an iSCSI LUN, a storage pool volume) that
    more than one guest of the host uses, where at least one of them writes it
    without `<shareable/>`. Written by two guests that is an error; written by
    one and read by another, a warning. Read-only disks, CD-ROMs, `<transient/>`
    disks (their writes go to an overlay) and disks that all say
    `<shareable/>` are fine.

    ## Why is this bad?
    Two guests that write one image each cache and update its metadata and
    file system as if they were alone: when both run, the image and the file
    systems in it are corrupted. A guest that only reads it sees a disk that
    changes under its file system. For local image files QEMU's image locking
    stops the second guest from starting ("Failed to get \\"write\\" lock");
    block devices and network volumes have no such lock. Cloning a guest's
    XML without giving the copy its own disk is the usual cause.

    ## Example
    `web-01.xml` and `web-02.xml` both with
    `<source file='/var/lib/libvirt/images/web.qcow2'/>`.

    ## Use instead
    An image of its own for each guest (or a qcow2 overlay with the shared
    image as its read-only backing file), or, for a cluster file system
    designed for it, `<shareable/>` with `cache='none'` on a raw image in every
    guest.

    ## Fix safety
    No fix: which guest gets a new image is the author's choice.

    ## Source
    libvirt formatdomain, "Hard drives, floppy disks, CDROMs" (`<shareable/>`:
    "the device is expected to be shared between domains"); QEMU's image
    locking (docs/system/qemu-block-drivers, "Image locking"); guide 7.
    """
    users: dict[tuple[str, ...], list[tuple[GuestFacts, DiskUse]]] = defaultdict(list)
    for guest in ctx.guests:
        for disk in guest.disks:
            users[disk.key].append((guest, disk))
    for key, group in users.items():
        per_guest = Counter(id(g) for g, _ in group)
        if len(per_guest) < 2:
            continue
        writers = [(g, d) for g, d in group if d.writable]
        if not any(not d.shareable for _, d in writers):
            continue
        own_writes = Counter(id(g) for g, _ in writers)
        unshared = Counter(id(g) for g, d in writers if not d.shareable)
        total_unshared = sum(unshared.values())
        for guest, disk in group:
            other_writers = len(writers) - own_writes[id(guest)]
            other_unshared = total_unshared - unshared[id(guest)]
            if not disk.writable and not other_unshared:
                continue  # a reader of an image only shareable writers write
            both_write = disk.writable and other_writers > 0
            if both_write and disk.shareable and not other_unshared:
                continue
            peers: Iterator[tuple[GuestFacts, DiskUse]] = (
                (g, d) for g, d in group if g is not guest
            )
            if both_write:
                other, other_disk = next((g, d) for g, d in writers if g is not guest)
            else:
                other, other_disk = next(peers)
                peers = itertools.chain(((other, other_disk),), peers)
            related, more = others(
                (
                    ctx.related(g, d.place, f"{d.label} of {g.label} {_verb(d)} it")
                    for g, d in peers
                ),
                len(group) - per_guest[id(guest)],
            )
            if both_write:
                message = (
                    f"{disk.label} writes {_source(key)}, which {other.label} writes too (its "
                    f"{other_disk.label}){more}, without <shareable/> on both: when both run "
                    "they corrupt it"
                )
                severity = None
            elif disk.writable:
                message = (
                    f"{disk.label} writes {_source(key)}, which {other.label} reads (its "
                    f"{other_disk.label}){more}: that guest's file system changes under it"
                )
                severity = "warning"
            else:
                message = (
                    f"{disk.label} reads {_source(key)}, which {other.label} writes (its "
                    f"{other_disk.label}){more}: this guest's file system changes under it"
                )
                severity = "warning"
            yield ctx.finding(guest, disk.place, message, related=related, severity=severity)
