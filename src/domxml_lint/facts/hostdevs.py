"""Host devices: what libvirt's ``virDomainHostdevDefParseXML*`` reads of a ``<hostdev>``.

libvirt keeps ``<interface type='hostdev'>`` in the same list as ``<hostdev>``
elements (``def->hostdevs``): its source is parsed by the same code, and the
host-device checks (duplicates, address types) see it too. So do these facts:
:attr:`HostdevFacts.host_devices` holds both, interfaces first, as libvirt
parses them.
"""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..pci import PciAddress, address_number, pci_address
from ..units import parse_uint
from .network import NetworkFacts
from .values import child, grandchild

Element = etree._Element

#: Architectures whose QEMU has the vfio-ccw and vfio-ap devices (both are s390 only).
S390_ARCHES = frozenset({"s390", "s390x"})


class HostDevice(NamedTuple):
    """A ``<hostdev>``, or the host device of an ``<interface type='hostdev'>``."""

    element: Element
    is_interface: bool
    #: ``subsystem`` (libvirt's default) or ``capabilities``.
    mode: str
    #: The subsystem type (pci, usb, scsi, scsi_host, mdev); for an interface, its
    #: ``<source><address type>`` (``usb`` when it names a ``<vendor>``).
    type: str | None
    source: Element | None
    model: str | None
    sgio: str | None
    rawio: str | None
    display: str | None
    ramfb: str | None
    startup_policy: str | None
    #: ``<driver>`` (for PCI: ``name`` is vfio, kvm or xen).
    driver: Element | None
    write_filtering: str | None
    teaming: Element | None
    boot: Element | None
    #: The guest ``<address>`` (its ``type`` names the bus the guest sees).
    address: Element | None
    pci: PciAddress | None
    usb_vendor: int | None
    usb_product: int | None
    usb_bus: int | None
    usb_device: int | None
    #: ``iscsi`` for an iSCSI SCSI source, else None (a host adapter).
    scsi_protocol: str | None
    scsi_adapter: str | None
    scsi_bus: int | None
    scsi_target: int | None
    scsi_unit: int | None
    iscsi_hosts: tuple[Element, ...]
    #: The iSCSI target with libvirt's ``/0`` LUN suffix when it has none.
    iscsi_path: str | None
    auth_secret: Element | None
    scsi_host_protocol: str | None
    wwpn: str | None
    #: The mdev UUID, lower-case without dashes (as ``virUUIDParse`` compares it).
    mdev_uuid: str | None

    @property
    def address_type(self) -> str | None:
        return None if self.address is None else self.address.get("type")

    @property
    def driver_name(self) -> str | None:
        return None if self.driver is None else self.driver.get("name")

    @property
    def subsystem(self) -> bool:
        return self.mode == "subsystem"

    @property
    def usb_device_name(self) -> str | None:
        """A USB device as libvirt names it: ``001:002`` (bus:device) when the source has
        an ``<address>``, else ``1234:beef`` (vendor:product); None otherwise."""
        if self.type != "usb" or self.source is None:
            return None
        address = child(self.source, "address")
        if address is not None:
            bus, device = parse_uint(address.get("bus")), parse_uint(address.get("device"))
            if bus is not None and device is not None:
                return f"{bus:03d}:{device:03d}"
        vendor, product = child(self.source, "vendor"), child(self.source, "product")
        if vendor is not None and product is not None and vendor.get("id") and product.get("id"):
            return f"{_hex4(vendor.get('id'))}:{_hex4(product.get('id'))}"
        return None

    @property
    def label(self) -> str:
        """How messages name the device: ``<hostdev type='pci'>`` or the interface."""
        if self.is_interface:
            return "<interface type='hostdev'>"
        if self.mode != "subsystem":
            return f"<hostdev mode='{self.mode}'>"
        return f"<hostdev type='{self.type}'>"


def _hex4(text: str | None) -> str:
    try:
        return f"{int(text or '', 16):04x}"
    except ValueError:
        return (text or "").lower()


def _iscsi_path(name: str | None) -> str | None:
    """``virDomainPostParseCheckISCSIPath``: a target without a LUN means LUN 0."""
    if name is None or "/" in name:
        return name
    return f"{name}/0"


def _uuid(text: str | None) -> str | None:
    if text is None:
        return None
    digits = text.strip().replace("-", "").lower()
    if len(digits) != 32 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return digits


def _subsystem_type(element: Element, is_interface: bool) -> str | None:
    if not is_interface:
        return element.get("type")
    address = grandchild(element, "source", "address")
    kind = None if address is None else address.get("type")
    if kind is None and grandchild(element, "source", "vendor") is not None:
        return "usb"
    return kind


def _host_device(element: Element, is_interface: bool) -> HostDevice:
    source = child(element, "source")
    kind = _subsystem_type(element, is_interface)
    source_address = None if source is None else child(source, "address")

    def number(parent: Element | None, attribute: str) -> int | None:
        return None if parent is None else address_number(parent.get(attribute))

    vendor = None if source is None else child(source, "vendor")
    product = None if source is None else child(source, "product")
    adapter = None if source is None else child(source, "adapter")
    auth = None if source is None else child(source, "auth")
    scsi_protocol = None if source is None else source.get("protocol")
    return HostDevice(
        element=element,
        is_interface=is_interface,
        mode="subsystem" if is_interface else element.get("mode", "subsystem"),
        type=kind,
        source=source,
        model=element.get("model"),
        sgio=element.get("sgio"),
        rawio=element.get("rawio"),
        display=element.get("display"),
        ramfb=element.get("ramfb"),
        startup_policy=None if source is None else source.get("startupPolicy"),
        driver=child(element, "driver"),
        write_filtering=None if source is None else source.get("writeFiltering"),
        teaming=None if is_interface else child(element, "teaming"),
        boot=child(element, "boot"),
        address=child(element, "address"),
        pci=pci_address(source_address) if kind == "pci" else None,
        usb_vendor=number(vendor, "id"),
        usb_product=number(product, "id"),
        usb_bus=number(source_address, "bus") if kind == "usb" else None,
        usb_device=number(source_address, "device") if kind == "usb" else None,
        scsi_protocol=scsi_protocol if scsi_protocol == "iscsi" else None,
        scsi_adapter=None if adapter is None else adapter.get("name"),
        scsi_bus=number(source_address, "bus") if kind == "scsi" else None,
        scsi_target=number(source_address, "target") if kind == "scsi" else None,
        scsi_unit=number(source_address, "unit") if kind == "scsi" else None,
        iscsi_hosts=() if source is None else tuple(source.iterchildren("host")),
        iscsi_path=_iscsi_path(None if source is None else source.get("name")),
        auth_secret=None if auth is None else child(auth, "secret"),
        scsi_host_protocol=scsi_protocol if kind == "scsi_host" else None,
        wwpn=None if source is None else source.get("wwpn"),
        mdev_uuid=_uuid(None if source_address is None else source_address.get("uuid")),
    )


def same_host_device(first: HostDevice, second: HostDevice) -> bool:
    """Whether libvirt's ``virDomainHostdevMatch(first, second)`` says they name one device.

    The USB comparison is asymmetric, as in libvirt: when ``first`` names a bus and
    device, those are compared; otherwise vendor and product.
    """
    if first.mode != second.mode or first.mode != "subsystem" or first.type != second.type:
        return False
    kind = first.type
    if kind == "pci":
        return first.pci is not None and first.pci == second.pci
    if kind == "usb":
        if first.usb_bus and first.usb_device:
            return (first.usb_bus, first.usb_device) == (second.usb_bus, second.usb_device)
        return (first.usb_vendor or 0, first.usb_product or 0) == (
            second.usb_vendor or 0,
            second.usb_product or 0,
        )
    if kind == "scsi":
        if first.scsi_protocol != second.scsi_protocol:
            return False
        if first.scsi_protocol == "iscsi":
            return (
                first.iscsi_path is not None
                and _first_host(first) is not None
                and (_first_host(first), first.iscsi_path)
                == (_first_host(second), second.iscsi_path)
            )
        return first.scsi_adapter is not None and (
            first.scsi_adapter,
            first.scsi_bus,
            first.scsi_target,
            first.scsi_unit,
        ) == (second.scsi_adapter, second.scsi_bus, second.scsi_target, second.scsi_unit)
    if kind == "scsi_host":
        return first.wwpn is not None and (first.scsi_host_protocol, first.wwpn) == (
            second.scsi_host_protocol,
            second.wwpn,
        )
    if kind == "mdev":
        return first.mdev_uuid is not None and first.mdev_uuid == second.mdev_uuid
    return False


def _first_host(device: HostDevice) -> tuple[str | None, int] | None:
    if not device.iscsi_hosts:
        return None
    host = device.iscsi_hosts[0]
    return host.get("name"), address_number(host.get("port")) or 0


class HostdevFacts(NetworkFacts):
    """``<hostdev>`` devices and the host devices of ``<interface type='hostdev'>``."""

    @lazy
    def host_devices(self) -> tuple[HostDevice, ...]:
        interfaces = [
            _host_device(iface.element, True)
            for iface in self.interfaces
            if iface.net_type == "hostdev"
        ]
        hostdevs = [_host_device(element, False) for element in self.device_elements("hostdev")]
        return (*interfaces, *hostdevs)

    @lazy
    def mdev_models_available(self) -> frozenset[str] | None:
        """The mdev models this guest's QEMU has: vfio-ccw and vfio-ap exist for s390 only.

        None when the document names no architecture (libvirt then takes the host's).
        """
        if self.arch is None:
            return None
        if self.arch in S390_ARCHES:
            return frozenset({"vfio-pci", "vfio-ccw", "vfio-ap"})
        return frozenset({"vfio-pci"})
