"""Other devices: watchdog, panic, RNG, vsock, memballoon, pstore, the ``<nvram>``
device, crypto, filesystems, smartcards, redirected USB devices and hubs.

Read as libvirt's parser reads them (``virDomain*DefParseXML`` in src/conf/domain_conf.c)
and with the defaults its QEMU driver fills in after parsing (``qemuDomainDeviceDefPostParse``:
the panic model per machine, the filesystem driver ``path``). Values libvirt would refuse
become None for rules to report; nothing here raises.

A device's guest ``<address type=...>`` is read only as far as these rules need it
(:func:`address_type`, :attr:`MiscDeviceFacts.virtio_address_type`).
"""

from __future__ import annotations

import re

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import parse_uint, to_kib
from .domain import PPC64_ARCHES, X86_ARCHES, DomainBase
from .values import child, child_text

Element = etree._Element

S390_ARCHES = frozenset({"s390", "s390x"})


def address_type(device: Element) -> str | None:
    """The ``type`` of a device's own ``<address>`` (None: no address, libvirt assigns one)."""
    address = child(device, "address")
    if address is None:
        return None
    return address.get("type") or ""


class Watchdog(NamedTuple):
    element: Element
    model: str | None
    #: ``action=``, 'reset' when absent (libvirt's default).
    action: str
    address_type: str | None


class Panic(NamedTuple):
    element: Element
    #: ``model=`` as written; None when absent.
    written_model: str | None
    #: The model after the QEMU driver's post-parse default (pseries, s390 or isa).
    model: str | None
    address_type: str | None


class Rng(NamedTuple):
    element: Element
    model: str | None
    backend: Element | None
    #: ``<backend model=...>``: random, egd or builtin.
    backend_model: str | None


class Vsock(NamedTuple):
    element: Element
    model: str | None
    #: ``<cid address=...>`` as a number; None when absent or not a number.
    cid: int | None
    cid_element: Element | None


class Memballoon(NamedTuple):
    element: Element
    model: str | None
    autodeflate: str | None
    free_page_reporting: str | None
    address_type: str | None


class Pstore(NamedTuple):
    element: Element
    backend: str | None
    path: str | None
    #: ``<size>`` in KiB; None when absent or invalid.
    size_kib: int | None
    size_element: Element | None
    address_type: str | None


class NvramDevice(NamedTuple):
    """``<devices><nvram>``: the pSeries NVRAM device (not ``<os><nvram>``)."""

    element: Element
    address_type: str | None
    #: Whether a spapr-vio address gives ``reg=``.
    has_reg: bool


class Crypto(NamedTuple):
    element: Element
    model: str | None
    type: str | None
    backend_model: str | None


#: The ``<source>`` attribute that holds a filesystem's source, per filesystem type.
FS_SOURCE_ATTRIBUTE = {
    "mount": "dir", "bind": "dir", "block": "dev", "file": "file", "template": "name",
}  # fmt: skip


class FileMode(NamedTuple):
    """``fmode``/``dmode``: the octal text and its value (None when not octal)."""

    text: str
    value: int | None

    @property
    def set(self) -> bool:
        """Whether libvirt sees a mode: a non-zero octal number (0 means unset)."""
        return bool(self.value)


class Filesystem(NamedTuple):
    element: Element
    #: ``type=``, 'mount' when absent.
    type: str
    #: ``accessmode=`` as written (None: libvirt's default, passthrough).
    accessmode: str | None
    #: ``<driver type=...>``; None when absent (QEMU's default: path, 9p).
    driver_type: str | None
    driver: Element | None
    #: ``<source dir|dev|file|name=...>`` for the type; None when missing.
    source: str | None
    #: ``<source socket=...>``: a virtiofsd started outside libvirt.
    socket: str | None
    #: ``<target dir=...>``; None when missing.
    target: str | None
    target_element: Element | None
    readonly: bool
    fmode: FileMode | None
    dmode: FileMode | None
    multidevs: str | None
    model: str | None
    boot: Element | None
    #: ``<binary><sandbox mode=...>``.
    sandbox: Element | None
    space_limits: tuple[Element, ...]
    address_type: str | None

    @property
    def is_virtiofs(self) -> bool:
        return self.driver_type == "virtiofs"

    @property
    def label(self) -> str:
        """How libvirt names the filesystem in messages: its target, else its source."""
        return self.target or self.source or self.socket or ""


class Smartcard(NamedTuple):
    element: Element
    mode: str | None
    certificates: tuple[Element, ...]
    database: Element | None
    address: Element | None


class Redirdev(NamedTuple):
    element: Element
    bus: str | None
    address_type: str | None


class MiscDeviceFacts(DomainBase):
    """Watchdogs, panic devices, RNGs, vsock, memballoon, pstore, NVRAM, crypto,
    filesystems, smartcards, redirected USB devices and hubs."""

    @lazy
    def virtio_address_type(self) -> str | None:
        """The address type libvirt gives a virtio device written without ``<address>``:
        'ccw' on s390 CCW machines, 'pci' on PC, q35, pSeries and the ``virt`` machines of
        ARM, RISC-V and LoongArch; None where it depends on more (other machines)."""
        machine = self.machine or ""
        if self.is_s390_ccw:
            return "ccw"
        if self.arch in X86_ARCHES and (self.is_q35 or self.is_i440fx):
            return "pci"
        if self.is_pseries or machine == "virt" or machine.startswith("virt-"):
            return "pci"
        return None

    @lazy
    def watchdogs(self) -> tuple[Watchdog, ...]:
        return tuple(
            Watchdog(el, el.get("model"), el.get("action", "reset"), address_type(el))
            for el in self.device_elements("watchdog")
        )

    @lazy
    def panics(self) -> tuple[Panic, ...]:
        return tuple(
            Panic(el, el.get("model"), el.get("model") or self._default_panic_model,
                  address_type(el))
            for el in self.device_elements("panic")
        )  # fmt: skip

    @lazy
    def is_pseries_or_default(self) -> bool:
        """A pSeries machine, or a ppc64 guest without a machine (libvirt then picks pseries)."""
        return self.is_pseries or (not self.machine and self.arch in PPC64_ARCHES)

    @lazy
    def _default_panic_model(self) -> str:
        """``qemuDomainDefaultPanicModel``: pseries on pSeries, s390 on s390, else isa."""
        if self.is_pseries_or_default:
            return "pseries"
        if self.is_s390:
            return "s390"
        return "isa"

    @lazy
    def rngs(self) -> tuple[Rng, ...]:
        result = []
        for el in self.device_elements("rng"):
            backend = child(el, "backend")
            model = None if backend is None else backend.get("model")
            result.append(Rng(el, el.get("model"), backend, model))
        return tuple(result)

    @lazy
    def vsocks(self) -> tuple[Vsock, ...]:
        result = []
        for el in self.device_elements("vsock"):
            cid = child(el, "cid")
            value = None if cid is None else parse_uint(cid.get("address"))
            result.append(Vsock(el, el.get("model"), value, cid))
        return tuple(result)

    @lazy
    def memballoon(self) -> Memballoon | None:
        elements = self.device_elements("memballoon")
        if not elements:
            return None
        el = elements[0]
        return Memballoon(
            el, el.get("model"), el.get("autodeflate"), el.get("freePageReporting"),
            address_type(el),
        )  # fmt: skip

    @lazy
    def pstores(self) -> tuple[Pstore, ...]:
        result = []
        for el in self.device_elements("pstore"):
            size = child(el, "size")
            kib = None if size is None else to_kib((size.text or "").strip(), size.get("unit"))
            path = child_text(el, "path")
            result.append(
                Pstore(el, el.get("backend"), path.strip() if path else None, kib, size,
                       address_type(el))
            )  # fmt: skip
        return tuple(result)

    @lazy
    def nvram_devices(self) -> tuple[NvramDevice, ...]:
        result = []
        for el in self.device_elements("nvram"):
            address = child(el, "address")
            kind = None if address is None else address.get("type") or ""
            has_reg = address is not None and address.get("reg") is not None
            result.append(NvramDevice(el, kind, has_reg))
        return tuple(result)

    @lazy
    def cryptos(self) -> tuple[Crypto, ...]:
        result = []
        for el in self.device_elements("crypto"):
            backend = child(el, "backend")
            result.append(
                Crypto(el, el.get("model"), el.get("type"),
                       None if backend is None else backend.get("model"))
            )  # fmt: skip
        return tuple(result)

    @lazy
    def filesystems(self) -> tuple[Filesystem, ...]:
        return tuple(_filesystem(el) for el in self.device_elements("filesystem"))

    @lazy
    def smartcards(self) -> tuple[Smartcard, ...]:
        return tuple(
            Smartcard(
                el, el.get("mode"), tuple(el.iterchildren("certificate")),
                child(el, "database"), child(el, "address"),
            )
            for el in self.device_elements("smartcard")
        )  # fmt: skip

    @lazy
    def redirdevs(self) -> tuple[Redirdev, ...]:
        return tuple(
            Redirdev(el, el.get("bus"), address_type(el)) for el in self.device_elements("redirdev")
        )

    @lazy
    def redirfilter_usbdevs(self) -> tuple[Element, ...]:
        """``<redirfilter><usbdev>`` rules (libvirt reads the first ``<redirfilter>``)."""
        filters = self.device_elements("redirfilter")
        return tuple(filters[0].iterchildren("usbdev")) if filters else ()


_OCTAL = re.compile(r"^[0-7]+$")


def _file_mode(element: Element, attribute: str) -> FileMode | None:
    text = element.get(attribute)
    if text is None:
        return None
    return FileMode(text, int(text, 8) if _OCTAL.match(text) else None)


def _filesystem(el: Element) -> Filesystem:
    kind = el.get("type") or "mount"
    driver = child(el, "driver")
    source_el = child(el, "source")
    source = socket = None
    if source_el is not None:
        attribute = FS_SOURCE_ATTRIBUTE.get(kind)
        source = source_el.get(attribute) if attribute else None
        socket = source_el.get("socket")
    target_el = child(el, "target")
    binary = child(el, "binary")
    return Filesystem(
        element=el,
        type=kind,
        accessmode=el.get("accessmode"),
        driver_type=None if driver is None else driver.get("type"),
        driver=driver,
        source=source,
        socket=socket,
        target=None if target_el is None else target_el.get("dir"),
        target_element=target_el,
        readonly=child(el, "readonly") is not None,
        fmode=_file_mode(el, "fmode"),
        dmode=_file_mode(el, "dmode"),
        multidevs=el.get("multidevs"),
        model=el.get("model"),
        boot=child(el, "boot"),
        sandbox=None if binary is None else child(binary, "sandbox"),
        space_limits=tuple(
            limit for tag in ("space_hard_limit", "space_soft_limit")
            for limit in el.iterchildren(tag)
        ),
        address_type=address_type(el),
    )  # fmt: skip
