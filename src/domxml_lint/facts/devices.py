"""Controllers and host devices."""

from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from .._lazy import lazy
from ..pci import PciAddress, pci_address
from ..units import parse_uint
from .network import NetworkFacts
from .values import child, grandchild

Element = etree._Element

#: SCSI controller models that are virtio-scsi.
VIRTIO_SCSI_MODELS = frozenset({"virtio-scsi", "virtio-transitional", "virtio-non-transitional"})


class Controller(NamedTuple):
    element: Element
    type: str | None
    model: str | None
    index: int | None  # type: ignore[assignment]  # the field shadows tuple.index on purpose
    driver: Element | None

    def driver_attr(self, name: str) -> str | None:
        return None if self.driver is None else self.driver.get(name)


class Hostdev(NamedTuple):
    """A ``<hostdev>``, or an ``<interface type='hostdev'>`` (``is_interface``)."""

    element: Element
    mode: str
    type: str | None
    address: PciAddress | None
    is_interface: bool

    @property
    def usb_device(self) -> str | None:
        """A USB hostdev's device as libvirt names it: ``001:002`` (bus:device) when the
        source has an ``<address>``, else ``1234:beef`` (vendor:product); None otherwise."""
        if self.type != "usb":
            return None
        source = child(self.element, "source")
        if source is None:
            return None
        address = child(source, "address")
        if address is not None:
            bus, device = parse_uint(address.get("bus")), parse_uint(address.get("device"))
            if bus is not None and device is not None:
                return f"{bus:03d}:{device:03d}"
        vendor, product = child(source, "vendor"), child(source, "product")
        if vendor is not None and product is not None and vendor.get("id") and product.get("id"):
            return f"{_hex4(vendor.get('id'))}:{_hex4(product.get('id'))}"
        return None


def _hex4(text: str | None) -> str:
    try:
        return f"{int(text or '', 16):04x}"
    except ValueError:
        return (text or "").lower()


#: The attributes of ``<graphics>`` that name a TCP port, per graphics type.
GRAPHICS_PORT_ATTRIBUTES = {"vnc": ("port", "websocket"), "spice": ("port", "tlsPort")}


class GraphicsPort(NamedTuple):
    """A fixed TCP port a ``<graphics>`` device listens on.

    ``listen`` is the address (None: libvirt's default from qemu.conf, usually
    127.0.0.1); ``attribute`` the one that names the port.
    """

    element: Element
    type: str
    attribute: str
    port: int
    listen: str | None


class DeviceFacts(NetworkFacts):
    """``<controller>`` and ``<hostdev>`` devices (and ``<interface type='hostdev'>``)."""

    @lazy
    def controllers(self) -> tuple[Controller, ...]:
        return tuple(
            Controller(
                element=element,
                type=element.get("type"),
                model=element.get("model"),
                index=parse_uint(element.get("index")),
                driver=child(element, "driver"),
            )
            for element in self.device_elements("controller")
        )

    @lazy
    def graphics_ports(self) -> tuple[GraphicsPort, ...]:
        """Fixed ports of VNC and SPICE graphics (``autoport='yes'`` and ``port='-1'`` let
        libvirt choose one, so they are left out, as are UNIX-socket listeners)."""
        result = []
        for element in self.device_elements("graphics"):
            kind = element.get("type") or ""
            attributes = GRAPHICS_PORT_ATTRIBUTES.get(kind)
            if attributes is None or element.get("autoport") == "yes":
                continue
            listen_el = child(element, "listen")
            if listen_el is not None and listen_el.get("type") in ("socket", "none"):
                continue
            listen = element.get("listen")
            if listen is None and listen_el is not None:
                listen = listen_el.get("address")
            for attribute in attributes:
                port = parse_uint(element.get(attribute))
                if port:
                    result.append(GraphicsPort(element, kind, attribute, port, listen))
        return tuple(result)

    @lazy
    def hostdevs(self) -> tuple[Hostdev, ...]:
        result = []
        for element in self.device_elements("hostdev"):
            result.append(
                Hostdev(
                    element=element,
                    mode=element.get("mode", "subsystem"),
                    type=element.get("type"),
                    address=pci_address(grandchild(element, "source", "address")),
                    is_interface=False,
                )
            )
        for iface in self.interfaces:
            if iface.type == "hostdev":
                result.append(
                    Hostdev(
                        element=iface.element,
                        mode="subsystem",
                        type="pci",
                        address=pci_address(grandchild(iface.element, "source", "address")),
                        is_interface=True,
                    )
                )
        return tuple(result)
