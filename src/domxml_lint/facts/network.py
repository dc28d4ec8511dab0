"""Network interfaces."""

from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from .._lazy import lazy
from ..units import parse_uint
from .domain import DomainBase
from .values import child

Element = etree._Element


#: The ``<source>`` attribute that names the segment an interface of each type is on.
SEGMENT_ATTRIBUTE = {"network": "network", "bridge": "bridge", "direct": "dev"}


class Interface(NamedTuple):
    element: Element
    type: str | None
    model: str | None
    driver: Element | None
    queues: int | None
    #: ``<mac address>``, lowercase (None without one: libvirt then generates one).
    mac: str | None = None
    #: ``<source>`` (None without one).
    source: Element | None = None

    def driver_attr(self, name: str) -> str | None:
        return None if self.driver is None else self.driver.get(name)

    @property
    def segment(self) -> tuple[str, str] | None:
        """The network segment the interface joins: ``("network", "default")``,
        ``("bridge", "br0")`` or ``("direct", "eno1")``; None for other types."""
        attribute = SEGMENT_ATTRIBUTE.get(self.type or "")
        if attribute is None or self.source is None:
            return None
        value = self.source.get(attribute)
        return (self.type, value) if value and self.type else None


class NetworkFacts(DomainBase):
    """``<interface>`` devices."""

    @lazy
    def interfaces(self) -> tuple[Interface, ...]:
        result = []
        for element in self.device_elements("interface"):
            model = child(element, "model")
            driver = child(element, "driver")
            mac = child(element, "mac")
            address = None if mac is None else mac.get("address")
            result.append(
                Interface(
                    element=element,
                    type=element.get("type"),
                    model=None if model is None else model.get("type"),
                    driver=driver,
                    queues=None if driver is None else parse_uint(driver.get("queues")),
                    mac=address.strip().lower() if address else None,
                    source=child(element, "source"),
                )
            )
        return tuple(result)
