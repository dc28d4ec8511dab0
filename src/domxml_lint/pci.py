"""PCI addresses as libvirt writes them, shared by domain facts and the host model."""

from __future__ import annotations

from lxml import etree

from ._records import NamedTuple


class PciAddress(NamedTuple):
    domain: int
    bus: int
    slot: int
    function: int

    def __str__(self) -> str:
        return f"{self.domain:04x}:{self.bus:02x}:{self.slot:02x}.{self.function:x}"


def address_number(text: str | None) -> int | None:
    """An address field as libvirt's strtoul base 0 reads it: 0x.. hex, 0.. octal, else decimal."""
    if text is None:
        return None
    text = text.strip()
    try:
        if text.lower().startswith("0x"):
            return int(text, 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text, 8)
        return int(text, 10)
    except ValueError:
        return None


def pci_address(element: etree._Element | None) -> PciAddress | None:
    """An ``<address type='pci' .../>`` (type may be omitted); None when absent or incomplete."""
    if element is None or element.get("type", "pci") != "pci":
        return None
    fields = [address_number(element.get(k)) for k in ("domain", "bus", "slot", "function")]
    if fields[0] is None:
        fields[0] = 0
    if fields[3] is None:
        fields[3] = 0
    domain, bus, slot, function = fields
    if bus is None or slot is None or domain is None or function is None:
        return None
    return PciAddress(domain, bus, slot, function)
