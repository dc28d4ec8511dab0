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
