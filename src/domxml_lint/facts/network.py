"""Network interfaces."""

from __future__ import annotations

from typing import NamedTuple

from lxml import etree

from .._lazy import lazy
from ..units import parse_uint
from .domain import DomainBase
from .values import child

Element = etree._Element


class Interface(NamedTuple):
    element: Element
    type: str | None
    model: str | None
    driver: Element | None
    queues: int | None

    def driver_attr(self, name: str) -> str | None:
        return None if self.driver is None else self.driver.get(name)


class NetworkFacts(DomainBase):
    """``<interface>`` devices."""

    @lazy
    def interfaces(self) -> tuple[Interface, ...]:
        result = []
        for element in self.device_elements("interface"):
            model = child(element, "model")
            driver = child(element, "driver")
            result.append(
                Interface(
                    element=element,
                    type=element.get("type"),
                    model=None if model is None else model.get("type"),
                    driver=driver,
                    queues=None if driver is None else parse_uint(driver.get("queues")),
                )
            )
        return tuple(result)
