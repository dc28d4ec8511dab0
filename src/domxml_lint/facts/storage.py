"""Disks and their sources."""

from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from .._lazy import lazy
from ..units import parse_uint
from .domain import DomainBase
from .values import child

Element = etree._Element

#: libvirt's bus for a disk without ``target@bus``, from its name (virDomainDiskDefPostParse).
_BUS_BY_DEV_PREFIX = (
    ("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ubd", "uml"), ("fd", "fdc"),
)  # fmt: skip


#: Cache modes that open the image with O_DIRECT (what io='native' and migration need).
DIRECT_CACHE_MODES = ("none", "directsync")

#: Attributes of ``<source>`` that name what a disk reads (file, device, volume, ...).
SOURCE_ATTRIBUTES = ("file", "dev", "dir", "pool", "volume", "name", "path", "protocol")


class Disk(NamedTuple):
    element: Element
    type: str | None
    device: str
    driver: Element | None
    target: Element | None
    source: Element | None
    bus: str | None
    dev: str | None
    readonly: bool
    shareable: bool
    transient: bool

    def driver_attr(self, name: str) -> str | None:
        return None if self.driver is None else self.driver.get(name)

    @property
    def cache(self) -> str | None:
        return self.driver_attr("cache")

    @property
    def io(self) -> str | None:
        return self.driver_attr("io")

    @property
    def format(self) -> str | None:
        return self.driver_attr("type")

    @property
    def effective_bus(self) -> str | None:
        """The bus libvirt uses: ``target@bus``, else the one its name implies (``vd`` virtio)."""
        if self.bus:
            return self.bus
        dev = self.dev or ""
        for prefix, bus in _BUS_BY_DEV_PREFIX:
            if dev.startswith(prefix):
                return bus
        return None

    @property
    def label(self) -> str:
        """How messages name the disk: ``disk 'vda'``."""
        return f"disk '{self.dev}'" if self.dev else "disk"

    @property
    def writable(self) -> bool:
        return not self.readonly and self.device not in ("cdrom", "floppy")

    @property
    def has_source(self) -> bool:
        """Whether the disk names a source (libvirt's ``virStorageSourceIsEmpty``, roughly)."""
        source = self.source
        if source is None:
            return False
        if any(source.get(a) for a in SOURCE_ATTRIBUTES):
            return True
        return any(isinstance(item.tag, str) for item in source)


class StorageFacts(DomainBase):
    """``<disk>`` devices."""

    @lazy
    def disks(self) -> tuple[Disk, ...]:
        disks = []
        for element in self.device_elements("disk"):
            target = child(element, "target")
            disks.append(
                Disk(
                    element=element,
                    type=element.get("type"),
                    device=element.get("device", "disk"),
                    driver=child(element, "driver"),
                    target=target,
                    source=child(element, "source"),
                    bus=None if target is None else target.get("bus"),
                    dev=None if target is None else target.get("dev"),
                    readonly=child(element, "readonly") is not None,
                    shareable=child(element, "shareable") is not None,
                    transient=child(element, "transient") is not None,
                )
            )
        return tuple(disks)

    @lazy
    def scsi_drive_controllers(self) -> frozenset[int] | None:
        """The SCSI controller indexes that SCSI disks and SCSI host devices sit on.

        Read from their ``<address type='drive' controller='N'>``. None when some SCSI
        device has no drive address: libvirt then picks its controller itself
        (``virDomainDiskDefAssignAddress``), so any controller may be in use.
        """
        devices = [d.element for d in self.disks if d.effective_bus == "scsi"]
        devices += [e for e in self.device_elements("hostdev") if e.get("type") == "scsi"]
        indexes: set[int] = set()
        for element in devices:
            address = child(element, "address")
            if address is None or address.get("type") != "drive":
                return None
            index = parse_uint(address.get("controller", "0"))
            if index is None:
                return None
            indexes.add(index)
        return frozenset(indexes)
