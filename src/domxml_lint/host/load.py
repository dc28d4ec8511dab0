"""Loading host files (or live documents) into one :class:`Host`.

The kind of each document is read from its root element. Several documents
merge into one host; the same part given twice (a capabilities file and a
bundle holding it) is fine, two different versions of one part are an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from lxml import etree

from ..document import Document
from ..errors import InputError
from ..fileio import read_file
from ..pci import PciAddress
from .bundle import ROOT as BUNDLE_ROOT
from .bundle import bundle_libvirt, bundle_parts
from .model import Capabilities, DomainCapabilities, Host, LibvirtInfo, NodeDevice
from .parse import (
    CAPABILITIES,
    DOMAIN_CAPABILITIES,
    NODE_DEVICE,
    parse_capabilities,
    parse_domain_capabilities,
    parse_node_device,
)
from .qemu_caps import QEMU_CAPS, QemuCapabilities, parse_qemu_caps
from .system import HostSystem
from .system_xml import SYSTEM, parse_system

ACCEPTED_KINDS = (
    "virsh capabilities (<capabilities>), virsh domcapabilities (<domainCapabilities>), "
    "virsh nodedev-dumpxml (<device>), a file of libvirt's QEMU capabilities cache "
    f"(<{QEMU_CAPS}>) or a `domxml-lint host snapshot` bundle (<{BUNDLE_ROOT}>)"
)
_ONE_HOST = "a host snapshot describes one host at one time; pass the files of a single capture"

HostDocument = bytes | str | tuple[str, bytes | str]


def load_host(*paths: str | os.PathLike[str]) -> Host:
    """Read host files (capabilities, domain capabilities, node devices, bundles) into one host."""
    builder = HostBuilder()
    for path in paths:
        name = os.fspath(path)
        builder.add(read_file(name), name)
    return builder.build()


def host_from_documents(*documents: HostDocument) -> Host:
    """A host from XML documents in memory: bytes or text, or ``(source name, xml)`` pairs."""
    builder = HostBuilder()
    for number, item in enumerate(documents, 1):
        name, data = item if isinstance(item, tuple) else (f"<host document {number}>", item)
        builder.add(data.encode("utf-8") if isinstance(data, str) else data, name)
    return builder.build()


class HostBuilder:
    """Collects the parts of a host from documents, refusing contradictions."""

    def __init__(self) -> None:
        self.capabilities: Capabilities | None = None
        self.domain_capabilities: dict[tuple, DomainCapabilities] = {}
        self.node_devices: dict[PciAddress, NodeDevice] = {}
        self.other_devices: dict[str, None] = {}
        self.sources: dict[str, None] = {}
        self.system: HostSystem | None = None
        self.system_element: etree._Element | None = None
        self.system_source: str | None = None
        self.libvirt: LibvirtInfo | None = None
        self.libvirt_source: str | None = None
        self.qemu_capabilities: dict[tuple, QemuCapabilities] = {}

    def add(self, data: bytes, source: str) -> None:
        doc = Document.parse(data, source)
        tag = doc.root.tag
        if tag == BUNDLE_ROOT:
            parts: Iterable[etree._Element] = bundle_parts(doc)
        elif tag in (CAPABILITIES, DOMAIN_CAPABILITIES, NODE_DEVICE, QEMU_CAPS):
            parts = (doc.root,)
        else:
            shown = tag if isinstance(tag, str) else "a non-element"
            raise InputError(
                source,
                f"root element is <{shown}>, which is not a host description",
                hint=f"--host accepts {ACCEPTED_KINDS}",
                line=doc.root.sourceline,
            )
        for part in parts:
            self._add_part(part, source)
        if tag == BUNDLE_ROOT:
            self._add_libvirt(bundle_libvirt(doc), source, doc.root)
        self.sources[source] = None

    def _add_part(self, part: etree._Element, source: str) -> None:
        if part.tag == SYSTEM:
            self._add_system(parse_system(part, source), part, source)
        elif part.tag == CAPABILITIES:
            self._add_capabilities(parse_capabilities(part, source))
        elif part.tag == DOMAIN_CAPABILITIES:
            self._add_domain_capabilities(parse_domain_capabilities(part, source))
        elif part.tag == QEMU_CAPS:
            self._add_qemu_capabilities(parse_qemu_caps(part, source))
        else:
            device = parse_node_device(part, source)
            if device is None:
                name = part.findtext("name")
                self.other_devices[(name or "?").strip()] = None
            else:
                self._add_node_device(device)

    def _add_capabilities(self, caps: Capabilities) -> None:
        old = self.capabilities
        if old is not None and old != caps:
            raise _conflict(caps.source, caps.raw, "capabilities", old.source, old.raw)
        if old is None:
            self.capabilities = caps

    def _add_system(self, system: HostSystem, element: etree._Element, source: str) -> None:
        if self.system is not None and self.system != system:
            raise _conflict(
                source, element, "system facts", self.system_source, self.system_element
            )
        if self.system is None:
            self.system, self.system_element, self.system_source = system, element, source

    def _add_libvirt(self, info: LibvirtInfo | None, source: str, element: etree._Element) -> None:
        if info is None:
            return
        if self.libvirt is None:
            self.libvirt, self.libvirt_source = info, source
            return
        merged = self.libvirt.merged(info)
        if merged is None:
            raise InputError(
                source,
                f"the libvirt connection ({info.describe() or info.uri}) differs from the one "
                f"in {self.libvirt_source} ({self.libvirt.describe() or self.libvirt.uri})",
                hint=_ONE_HOST,
                line=element.sourceline,
            )
        self.libvirt = merged

    def _add_domain_capabilities(self, caps: DomainCapabilities) -> None:
        old = self.domain_capabilities.get(caps.key)
        if old is not None and old != caps:
            what = "domain capabilities for " + "/".join(str(k) for k in caps.key[:3])
            raise _conflict(caps.source, caps.raw, what, old.source, old.raw)
        self.domain_capabilities.setdefault(caps.key, caps)

    def _add_qemu_capabilities(self, caps: QemuCapabilities) -> None:
        old = self.qemu_capabilities.get(caps.key)
        if old is not None and old != caps:
            what = f"QEMU capabilities of {caps.emulator or caps.arch or 'a QEMU binary'}"
            raise _conflict(caps.source, caps.raw, what, old.source, old.raw)
        self.qemu_capabilities.setdefault(caps.key, caps)

    def _add_node_device(self, device: NodeDevice) -> None:
        old = self.node_devices.get(device.address)
        if old is not None and old != device:
            what = f"PCI device {device.address} ({device.name})"
            raise _conflict(device.source, device.raw, what, old.source, old.raw)
        self.node_devices.setdefault(device.address, device)

    def build(self) -> Host:
        return Host(
            capabilities=self.capabilities,
            domain_capabilities=tuple(self.domain_capabilities.values()),
            node_devices=dict(
                sorted(self.node_devices.items(), key=lambda kv: _address_key(kv[0]))
            ),
            sources=tuple(self.sources),
            other_devices=tuple(self.other_devices),
            system=self.system,
            libvirt=self.libvirt,
            qemu_capabilities=tuple(self.qemu_capabilities.values()),
        )


def _address_key(address: PciAddress) -> tuple[int, int, int, int]:
    return (address.domain, address.bus, address.slot, address.function)


def _conflict(
    source: str | None,
    element: etree._Element | None,
    what: str,
    old_source: str | None,
    old_element: etree._Element | None,
) -> InputError:
    where = old_source or "?"
    if old_element is not None and old_element.sourceline:
        where += f":{old_element.sourceline}"
    return InputError(
        source or "?",
        f"{what} differs from the one in {where}",
        hint=_ONE_HOST,
        line=element.sourceline if element is not None else None,
    )
