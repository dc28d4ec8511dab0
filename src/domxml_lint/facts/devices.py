"""Controllers and host devices."""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import parse_uint
from .network import NetworkFacts
from .values import child

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
            Controller(  # element, type, model, index, driver (positional: no keyword parsing)
                element,
                element.get("type"),
                element.get("model"),
                parse_uint(element.get("index")),
                child(element, "driver"),
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
