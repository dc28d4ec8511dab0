"""Disks and their storage sources, as libvirt's parser reads them.

A disk's storage is a chain of :class:`StorageSource`: the disk's own source,
then each ``<backingStore>`` below it (libvirt's ``virStorageSource`` and its
``backingStore`` list). Values that libvirt defaults during parsing are
resolved here once: the disk type (``file``), the device (``disk``), the bus
implied by the target name, a CD-ROM's read-only flag, ``type='aio'`` meaning
raw, an empty path meaning no source.
"""

from __future__ import annotations

import functools
import os
import re

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import UnitError, parse_uint, unit_scale
from .domain import DomainBase
from .values import child, child_text, first_children

Element = etree._Element

#: libvirt's bus for a disk without ``target@bus``, from its name (virDomainDiskDefPostParse).
_BUS_BY_DEV_PREFIX = (
    ("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ubd", "uml"),
)  # fmt: skip

#: The name prefixes virDiskNameParse accepts, in its order.
DISK_NAME_PREFIXES = ("fd", "hd", "vd", "sd", "xvd", "ubd")

#: Cache modes that open the image with O_DIRECT (what io='native' and migration need).
DIRECT_CACHE_MODES = ("none", "directsync")

#: Storage types whose source is a path on the host (virStorageSourceIsLocalStorage).
LOCAL_STORAGE_TYPES = frozenset({"file", "block", "dir"})

#: The attribute of ``<source>`` that holds the path, per storage type.
_PATH_ATTRIBUTE = {"file": "file", "block": "dev", "dir": "dir", "vhostuser": "path",
                   "vhostvdpa": "dev"}  # fmt: skip

#: Image formats that can have a backing file (libvirt's VIR_STORAGE_FILE_BACKING and after).
BACKING_FORMATS = frozenset({"cow", "qcow", "qcow2", "qed", "vmdk"})

#: The ``<iotune>`` limits: the per-second rates, their bursts, the I/O size, the burst lengths.
IOTUNE_RATES = (
    "total_bytes_sec", "read_bytes_sec", "write_bytes_sec",
    "total_iops_sec", "read_iops_sec", "write_iops_sec",
)  # fmt: skip
IOTUNE_BURSTS = tuple(f"{name}_max" for name in IOTUNE_RATES)
IOTUNE_BURST_LENGTHS = tuple(f"{name}_max_length" for name in IOTUNE_RATES)
IOTUNE_LIMITS = (*IOTUNE_RATES, *IOTUNE_BURSTS, "size_iops_sec", *IOTUNE_BURST_LENGTHS)

_DIGITS_TAIL = re.compile(r"[0-9]*")


class DiskName(NamedTuple):
    """A target name as virDiskNameParse reads it: ``vdb1`` is disk 1, partition 1."""

    #: The disk's number on its bus: a 0, b 1 ... z 25, aa 26.
    number: int
    partition: int


@functools.lru_cache(maxsize=1024)  # a pure function of the name; names repeat across files
def parse_disk_name(name: str | None) -> DiskName | None:
    """``vda`` -> (0, 0), ``sdz2`` -> (25, 2), ``vdaa`` -> (26, 0); None where libvirt fails.

    A known prefix, then lowercase letters (at least one), then digits only, the
    digits without a leading zero unless there is a single one (virDiskNameParse).
    """
    if not name:
        return None
    rest = next((name[len(p) :] for p in DISK_NAME_PREFIXES if name.startswith(p)), None)
    if rest is None:
        return None
    letters = 0
    index = 0
    while letters < len(rest) and "a" <= rest[letters] <= "z":
        index = (index + (1 if letters else 0)) * 26 + ord(rest[letters]) - ord("a")
        letters += 1
    digits = rest[letters:]
    if letters == 0 or _DIGITS_TAIL.fullmatch(digits) is None:
        return None
    if len(digits) > 1 and digits[0] == "0":
        return None
    if digits and int(digits) > 2**31 - 1:  # virStrToLong_i overflows
        return None
    return DiskName(index, int(digits) if digits else 0)


class NetworkHost(NamedTuple):
    """A ``<host>`` of a network source (virStorageNetHostDef)."""

    element: Element
    name: str | None
    port: str | None
    #: libvirt's default is tcp.
    transport: str
    socket: str | None


class Auth(NamedTuple):
    """An ``<auth>`` (virStorageAuthDef): the user and the secret it names."""

    element: Element
    username: str | None
    #: ``<secret type>``: iscsi or ceph; None when absent.
    secret_type: str | None
    #: The ``<secret>`` element (libvirt's parser requires one).
    secret: Element | None = None


class Encryption(NamedTuple):
    """An ``<encryption>`` (virStorageEncryption)."""

    element: Element
    #: ``format``: default, qcow, luks, luks2, luks-any (None when absent).
    format: str | None
    #: ``engine``: qemu or librbd; None is the default (the QEMU driver's is qemu).
    engine: str | None
    secrets: tuple[Element, ...]
    cipher: Element | None


class Cookie(NamedTuple):
    element: Element
    name: str
    value: str


class StorageSource:
    """One link of a disk's storage chain: its own source, or a ``<backingStore>``.

    ``owner`` is the ``<disk>`` (``depth`` 0) or the ``<backingStore>`` element;
    ``element`` its ``<source>``, when written.
    """

    def __init__(
        self,
        owner: Element,
        depth: int,
        type_: str,
        format_element: Element | None,
        format_attribute: str,
    ) -> None:
        self.owner = owner
        self.depth = depth
        #: The storage type: file, block, dir, network, volume, nvme, vhostuser, vhostvdpa.
        self.type = type_
        self.element = child(owner, "source")
        #: Where the format is written: the disk's ``<driver>`` or the store's ``<format>``.
        self.format_element = format_element
        raw = None if format_element is None else format_element.get(format_attribute)
        #: The image format as written (``aio`` is libvirt's old name for raw); None: unset.
        self.format = "raw" if raw == "aio" else raw

    def attr(self, name: str) -> str | None:
        """An attribute of ``<source>`` (None without one)."""
        return None if self.element is None else self.element.get(name)

    def child(self, tag: str) -> Element | None:
        """A child element of ``<source>``."""
        return None if self.element is None else child(self.element, tag)

    @property
    def location(self) -> Element:
        """Where findings about this source point: ``<source>``, else its owner."""
        return self.owner if self.element is None else self.element

    @lazy
    def path(self) -> str | None:
        """The file, device or directory path; None when missing or empty ('' means none)."""
        attribute = _PATH_ATTRIBUTE.get(self.type)
        if attribute is None:
            return None
        return self.attr(attribute) or None

    @lazy
    def message_path(self) -> str | None:
        """What libvirt holds as the source's path (virDomainDiskGetSource): the local path,
        a network source's name (a gluster or RBD name without its pool), a socket."""
        if self.type == "network":
            name = self.name
            if name and self.protocol in ("gluster", "rbd") and "/" in name:
                return name.split("/", 1)[1]
            return name or None
        return self.path

    @property
    def protocol(self) -> str | None:
        return self.attr("protocol") if self.type == "network" else None

    @property
    def name(self) -> str | None:
        """A network source's ``name`` (the volume, image, export or URL path)."""
        return self.attr("name") if self.type == "network" else None

    @lazy
    def hosts(self) -> tuple[NetworkHost, ...]:
        if self.element is None or self.type != "network":
            return ()
        return tuple(
            NetworkHost(
                element=host,
                name=host.get("name"),
                port=host.get("port"),
                transport=host.get("transport") or "tcp",
                socket=host.get("socket"),
            )
            for host in self.element.iterchildren("host")
        )

    @lazy
    def is_empty(self) -> bool:
        """No medium (virStorageSourceIsEmpty): local storage without a path."""
        if self.type in LOCAL_STORAGE_TYPES:
            return self.path is None
        if self.type == "network":
            return not self.protocol
        return False

    @property
    def is_network(self) -> bool:
        return self.type == "network"

    @lazy
    def auth_elements(self) -> tuple[Element, ...]:
        """Every ``<auth>`` of this source: in ``<source>``, and for a disk also beside it."""
        found = [] if self.element is None else list(self.element.iterchildren("auth"))
        if self.depth == 0:
            found += self.owner.iterchildren("auth")
        return tuple(found)

    @lazy
    def auth(self) -> Auth | None:
        if not self.auth_elements:
            return None
        element = self.auth_elements[0]
        secret = child(element, "secret")
        return Auth(
            element=element,
            username=element.get("username"),
            secret_type=None if secret is None else secret.get("type"),
            secret=secret,
        )

    @lazy
    def encryption_elements(self) -> tuple[Element, ...]:
        """Every ``<encryption>`` of this source: in ``<source>`` and, for a disk, beside it."""
        found = [] if self.element is None else list(self.element.iterchildren("encryption"))
        if self.depth == 0:
            found += self.owner.iterchildren("encryption")
        return tuple(found)

    @lazy
    def encryption(self) -> Encryption | None:
        if not self.encryption_elements:
            return None
        element = self.encryption_elements[0]
        return Encryption(
            element=element,
            format=element.get("format"),
            engine=element.get("engine"),
            secrets=tuple(element.iterchildren("secret")),
            cipher=child(element, "cipher"),
        )

    @lazy
    def cookies(self) -> tuple[Cookie, ...]:
        cookies = self.child("cookies")
        if cookies is None:
            return ()
        return tuple(
            Cookie(element, element.get("name") or "", element.text or "")
            for element in cookies.iterchildren("cookie")
        )

    def _number(self, tag: str, attribute: str) -> int | None:
        element = self.child(tag)
        return None if element is None else parse_uint(element.get(attribute))

    @property
    def readahead(self) -> int | None:
        """``<readahead size>`` in bytes."""
        return self._number("readahead", "size")

    @property
    def timeout(self) -> int | None:
        """``<timeout seconds>``."""
        return self._number("timeout", "seconds")

    @property
    def reconnect_delay(self) -> int | None:
        """``<reconnect delay>`` of an NBD source, in seconds."""
        return self._number("reconnect", "delay")

    @lazy
    def storage_slice(self) -> Element | None:
        """``<slices><slice type='storage'>``: the part of the file that holds the image."""
        slices = self.child("slices")
        if slices is None:
            return None
        return next((s for s in slices.iterchildren("slice") if s.get("type") == "storage"), None)

    @lazy
    def metadata_cache_max_size(self) -> int | None:
        """``<metadata_cache><max_size>`` in bytes (in ``<driver>`` or ``<format>``)."""
        if self.format_element is None:
            return None
        cache = child(self.format_element, "metadata_cache")
        size = None if cache is None else child(cache, "max_size")
        if size is None:
            return None
        number = parse_uint((size.text or "").strip())
        try:
            scale = unit_scale(size.get("unit"), default=1)
        except UnitError:
            return None
        return None if number is None else number * scale

    @property
    def nvme_namespace(self) -> int | None:
        return parse_uint(self.attr("namespace")) if self.type == "nvme" else None

    @lazy
    def backing_element(self) -> Element | None:
        """The ``<backingStore>`` below this source (a terminator has no type)."""
        return child(self.owner, "backingStore")

    @lazy
    def backing(self) -> StorageSource | None:
        """The next image of the chain; None at its end (no store, or a terminator)."""
        store = self.backing_element
        if store is None or not store.get("type"):
            return None
        return StorageSource(
            store, self.depth + 1, store.get("type") or "", child(store, "format"), "type"
        )

    @property
    def what(self) -> str:
        """How messages name the source: ``'/var/lib/a.qcow2'``, ``rbd 'pool/image'``."""
        if self.type == "network":
            return f"{self.protocol or 'network'} source '{self.name or ''}'"
        if self.type == "volume":
            return f"volume '{self.attr('pool') or ''}/{self.attr('volume') or ''}'"
        return f"'{self.path}'" if self.path else f"{self.type} source"


class Iotune(NamedTuple):
    """A disk's ``<iotune>`` (virDomainBlockIoTuneInfo)."""

    element: Element
    #: Each limit written, by name; None where the text is not a number.
    limits: dict[str, int | None]
    group_name: str | None

    def value(self, name: str) -> int:
        """The limit as libvirt holds it: 0 when absent (or unreadable)."""
        return self.limits.get(name) or 0

    def sets(self, name: str) -> bool:
        """Whether the element is written with a value other than 0 (or one not a number)."""
        return name in self.limits and self.limits[name] != 0

    def child(self, name: str) -> Element | None:
        return child(self.element, name)

    @property
    def has_any(self) -> bool:
        """Whether any limit is set (virDomainBlockIoTuneInfoHasAny)."""
        return any(self.value(name) for name in IOTUNE_LIMITS)

    @property
    def enabled(self) -> bool:
        """Whether QEMU throttles the disk (qemuDiskConfigBlkdeviotuneEnabled)."""
        return self.group_name is not None or self.has_any

    def same_limits(self, other: Iotune) -> bool:
        return all(self.value(name) == other.value(name) for name in IOTUNE_LIMITS)


def _iotune(element: Element | None) -> Iotune | None:
    if element is None:
        return None
    limits: dict[str, int | None] = {}
    group_name = None
    for item in element:
        if not isinstance(item.tag, str):
            continue
        if item.tag == "group_name":
            group_name = item.text or ""
        elif item.tag in IOTUNE_LIMITS:
            limits[item.tag] = parse_uint((item.text or "").strip())
    return Iotune(element, limits, group_name)


class Disk:
    """A ``<disk>`` as libvirt's parser leaves it: defaults filled in, its storage chained."""

    def __init__(self, element: Element) -> None:
        self.element = element
        children = self._children = first_children(element)
        target = children.get("target")
        #: The storage type as written (None: libvirt's default, file).
        self.type: str | None = element.get("type")
        #: The device: disk (the default), cdrom, floppy or lun.
        self.device: str = element.get("device", "disk")
        self.driver = children.get("driver")
        self.target = target
        self.source = children.get("source")
        #: ``target@bus`` as written; :attr:`effective_bus` is the bus libvirt uses.
        self.bus = None if target is None else target.get("bus")
        dev = None if target is None else target.get("dev")
        #: ``target@dev`` without the old ``ioemu:`` prefix, which libvirt's parser drops.
        self.dev = dev[6:] if dev and dev.startswith("ioemu:") else dev
        #: ``<readonly/>``, or a CD-ROM (libvirt makes every CD-ROM read-only).
        self.readonly = "readonly" in children or self.device == "cdrom"
        self.shareable = "shareable" in children
        self.transient = "transient" in children

    def driver_attr(self, name: str) -> str | None:
        return None if self.driver is None else self.driver.get(name)

    def target_attr(self, name: str) -> str | None:
        return None if self.target is None else self.target.get(name)

    def child(self, tag: str) -> Element | None:
        """A child element of ``<disk>`` (``geometry``, ``blockio``, ``serial`` ...)."""
        return self._children.get(tag)

    def text(self, tag: str) -> str | None:
        """The text of a child element (``serial``, ``wwn``, ``vendor``, ``product``)."""
        found = self._children.get(tag)
        return None if found is None else (found.text or "")

    @property
    def cache(self) -> str | None:
        return self.driver_attr("cache")

    @property
    def io(self) -> str | None:
        return self.driver_attr("io")

    @property
    def format(self) -> str | None:
        """The image format written in ``<driver type>`` (None: unset)."""
        return self.storage.format

    @lazy
    def effective_bus(self) -> str | None:
        """The bus libvirt uses: ``target@bus``; else fdc for a floppy; else the one the
        name implies (``hd`` ide, ``sd`` scsi, ``vd`` virtio, ``xvd`` xen, ``ubd`` uml), and
        ide for any other name. None only without a target name."""
        if self.bus:
            return self.bus
        if self.device == "floppy":
            return "fdc"
        dev = self.dev
        if not dev:
            return None
        for prefix, bus in _BUS_BY_DEV_PREFIX:
            if dev.startswith(prefix):
                return bus
        return "ide"

    @lazy
    def name(self) -> DiskName | None:
        """The target name parsed (virDiskNameParse); None where libvirt cannot."""
        return parse_disk_name(self.dev)

    @lazy
    def storage(self) -> StorageSource:
        """The disk's own source; ``storage.backing`` continues the chain."""
        return StorageSource(self.element, 0, self.type or "file", self.driver, "type")

    @property
    def chain(self) -> tuple[StorageSource, ...]:
        """The disk's source and every backing image below it, top first."""
        links = []
        link: StorageSource | None = self.storage
        while link is not None:
            links.append(link)
            link = link.backing
        return tuple(links)

    @lazy
    def address(self) -> Element | None:
        return self._children.get("address")

    @property
    def address_type(self) -> str | None:
        return None if self.address is None else self.address.get("type")

    @lazy
    def iotune(self) -> Iotune | None:
        return _iotune(self._children.get("iotune"))

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
        """Whether the disk has a medium (libvirt's ``virStorageSourceIsEmpty``, negated)."""
        return not self.storage.is_empty


def _insert_number(disk: Disk) -> int:
    """virDiskNameToIndex of the target name as written (-1 where it fails)."""
    name = parse_disk_name(disk.target_attr("dev"))
    return -1 if name is None else name.number


class BlkioDevice(NamedTuple):
    """A ``<blkiotune><device>``: the host block device it tunes, by path."""

    element: Element
    path: str | None


class StorageFacts(DomainBase):
    """``<disk>`` devices, and the domain's ``<blkiotune>``."""

    @lazy
    def disks(self) -> tuple[Disk, ...]:
        return tuple(Disk(element) for element in self.device_elements("disk"))

    @lazy
    def disks_in_libvirt_order(self) -> tuple[Disk, ...]:
        """The disks in the order libvirt keeps them, which its messages follow.

        virDomainDiskInsertPreAlloced puts each parsed disk after the last disk of
        its bus, before any of that bus with a higher number (virDiskNameToIndex),
        or at the end. It runs before the post-parse defaults: the bus is the one
        written (none when implied) and the name still has any ``ioemu:`` prefix
        (which then numbers as -1).
        """
        numbered = [(disk, _insert_number(disk)) for disk in self.disks]
        # Usual case, linear: no disk numbers below an earlier one of its bus, so each goes
        # after the last disk of its bus (or at the end): the buses in order of first
        # appearance, each bus's disks as written.
        by_bus: dict[str | None, list[Disk]] = {}
        highest: dict[str | None, int] = {}
        for disk, number in numbered:
            if highest.get(disk.bus, number) > number:
                break
            highest[disk.bus] = number
            by_bus.setdefault(disk.bus, []).append(disk)
        else:
            return tuple(disk for disks in by_bus.values() for disk in disks)
        # libvirt's own insertion, quadratic, for the rest.
        ordered: list[tuple[Disk, int]] = []
        for disk, number in numbered:
            insert_at = -1
            for position in range(len(ordered) - 1, -1, -1):
                other, other_number = ordered[position]
                if other.bus != disk.bus:
                    continue
                if other_number > number:
                    insert_at = position
                elif insert_at == -1:
                    insert_at = position + 1
            if insert_at == -1:
                ordered.append((disk, number))
            else:
                ordered.insert(insert_at, (disk, number))
        return tuple(disk for disk, _ in ordered)

    @lazy
    def blkiotune(self) -> Element | None:
        return self.top("blkiotune")

    @lazy
    def blkio_devices(self) -> tuple[BlkioDevice, ...]:
        if self.blkiotune is None:
            return ()
        return tuple(
            BlkioDevice(device, child_text(device, "path"))
            for device in self.blkiotune.iterchildren("device")
        )
