"""Disks and their sources."""

from __future__ import annotations

import os
from typing import NamedTuple

from lxml import etree

from .._lazy import lazy
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
    def source_key(self) -> tuple[str, ...] | None:
        """What the disk reads and writes, to tell two disks on one image apart from two
        disks on two: ``("file", "/var/lib/libvirt/images/a.qcow2")``, ``("block",
        "/dev/sdb")``, ``("network", "rbd", "pool/image")``, ``("volume", "pool", "vol")``.
        None when the source is missing or of a kind not compared (nvme, vhostuser ...)."""
        source = self.source
        if source is None:
            return None
        kind = self.type or "file"
        if kind in ("file", "block", "dir"):
            value = source.get({"file": "file", "block": "dev", "dir": "dir"}[kind])
            return (kind, os.path.normpath(value)) if value else None
        if kind == "network":
            protocol, name = source.get("protocol"), source.get("name")
            return ("network", protocol, name) if protocol and name else None
        if kind == "volume":
            pool, volume = source.get("pool"), source.get("volume")
            return ("volume", pool, volume) if pool and volume else None
        return None

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
