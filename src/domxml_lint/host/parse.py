"""From libvirt's XML to the host model.

One function per document kind. They read what libvirt writes
(src/conf/capabilities.c, domain_capabilities.c, node_device_conf.c) and
nothing else: a missing section gives None or an empty collection; a value
libvirt would never write (``<cell id='x'>``) is an error naming the file and
line, because a snapshot that was edited by hand must not be half-believed.
"""

from __future__ import annotations

from lxml import etree

from ..cpuset import CpusetError, parse_cpuset
from ..errors import InputError
from ..pci import PciAddress, address_number, pci_address
from ..units import parse_uint, to_kib
from .model import (
    CacheBank,
    CacheControl,
    Capabilities,
    CpuTopology,
    DomainCapabilities,
    GuestCaps,
    GuestDomain,
    GuestMachine,
    HostCell,
    HostCpu,
    NodeDevice,
    PciId,
    section_enum,
    section_supported,
)

Element = etree._Element

CAPABILITIES = "capabilities"
DOMAIN_CAPABILITIES = "domainCapabilities"
NODE_DEVICE = "device"

_RECAPTURE = "libvirt never writes this; capture the host again with `domxml-lint host snapshot`"


class _Reader:
    """Reads values from one document, raising errors that name its file and line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, element: Element, message: str) -> InputError:
        return InputError(self.source, message, hint=_RECAPTURE, line=element.sourceline)

    def uint_attr(self, element: Element, name: str, *, required: bool = False) -> int | None:
        text = element.get(name)
        if text is None:
            if required:
                raise self.error(element, f"<{element.tag}> has no {name!r} attribute")
            return None
        value = parse_uint(text)
        if value is None:
            raise self.error(
                element, f"<{element.tag} {name}='{text}'> is not a non-negative integer"
            )
        return value

    def uint_text(self, element: Element | None) -> int | None:
        if element is None:
            return None
        value = parse_uint(element.text)
        if value is None:
            raise self.error(
                element,
                f"<{element.tag}>{(element.text or '').strip()}</{element.tag}> "
                "is not a non-negative integer",
            )
        return value

    def size_kib(self, element: Element, value: str | None, unit: str | None, what: str) -> int:
        kib = to_kib(value, unit)
        if kib is None:
            raise self.error(element, f"{what} {value!r} with unit {unit!r} is not a size")
        return kib

    def cpuset(self, element: Element, name: str) -> frozenset[int]:
        text = element.get(name)
        if text is None or not text.strip():
            return frozenset()
        try:
            return parse_cpuset(text, allow_empty=True)
        except CpusetError as exc:
            raise self.error(element, f"<{element.tag} {name}='{text}'> {exc}") from None

    def address(self, element: Element) -> PciAddress:
        address = pci_address(element)
        if address is None:
            raise self.error(element, "<address> is not a PCI address")
        return address


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    text = element.text.strip()
    return text or None


# -- capabilities ---------------------------------------------------------------------------


def parse_capabilities(root: Element, source: str) -> Capabilities:
    """A ``<capabilities>`` document (``virsh capabilities``)."""
    read = _Reader(source)
    host = root.find("host")
    cpu = host.find("cpu") if host is not None else None
    cells_parent = host.find("topology/cells") if host is not None else None
    cells = tuple(
        _cell(read, cell)
        for cell in (cells_parent.iterchildren("cell") if cells_parent is not None else ())
    )
    page_sizes: set[int] = set()
    features: frozenset[str] = frozenset()
    topology = None
    if cpu is not None:
        for pages in cpu.iterchildren("pages"):
            page_sizes.add(read.size_kib(pages, pages.get("size"), pages.get("unit"), "page size"))
        features = frozenset(
            name for f in cpu.iterchildren("feature") if (name := f.get("name")) is not None
        )
        topology = _topology(read, cpu.find("topology"))
    if not page_sizes:
        page_sizes = {size for cell in cells for size in cell.pages}
    iommu = host.find("iommu") if host is not None else None
    banks = host.find("cache") if host is not None else None
    return Capabilities(
        arch=_text(cpu.find("arch")) if cpu is not None else None,
        vendor=_text(cpu.find("vendor")) if cpu is not None else None,
        model=_text(cpu.find("model")) if cpu is not None else None,
        topology=topology,
        features=features,
        page_sizes_kib=tuple(sorted(page_sizes)),
        cells=cells,
        cache_banks=tuple(
            _cache_bank(read, bank)
            for bank in (banks.iterchildren("bank") if banks is not None else ())
        ),
        iommu=None
        if iommu is None or iommu.get("support") is None
        else iommu.get("support") == "yes",
        guests=tuple(_guest(read, guest) for guest in root.iterchildren("guest")),
        raw=root,
        source=source,
    )


def _topology(read: _Reader, element: Element | None) -> CpuTopology | None:
    if element is None:
        return None
    values = {
        name: read.uint_attr(element, name)
        for name in ("sockets", "dies", "clusters", "cores", "threads")
    }
    if values["sockets"] is None or values["cores"] is None or values["threads"] is None:
        return None
    return CpuTopology(
        sockets=values["sockets"],
        dies=values["dies"] if values["dies"] is not None else 1,
        clusters=values["clusters"] if values["clusters"] is not None else 1,
        cores=values["cores"],
        threads=values["threads"],
    )


def _cell(read: _Reader, cell: Element) -> HostCell:
    node = read.uint_attr(cell, "id", required=True)
    assert node is not None
    memory = cell.find("memory")
    memory_kib = None
    if memory is not None:
        memory_kib = read.size_kib(memory, memory.text, memory.get("unit"), "cell memory")
    pages = {}
    for page in cell.iterchildren("pages"):
        size = read.size_kib(page, page.get("size"), page.get("unit"), "page size")
        pages[size] = read.uint_text(page)
    distances = {}
    for sibling in cell.iterfind("distances/sibling"):
        distances[read.uint_attr(sibling, "id", required=True)] = read.uint_attr(
            sibling, "value", required=True
        )
    cpus = tuple(
        HostCpu(
            id=read.uint_attr(cpu, "id", required=True),  # type: ignore[arg-type]
            socket_id=read.uint_attr(cpu, "socket_id"),
            die_id=read.uint_attr(cpu, "die_id"),
            cluster_id=read.uint_attr(cpu, "cluster_id"),
            core_id=read.uint_attr(cpu, "core_id"),
            siblings=read.cpuset(cpu, "siblings"),
            node=node,
        )
        for cpu in cell.iterfind("cpus/cpu")
    )
    return HostCell(id=node, memory_kib=memory_kib, pages=pages, distances=distances, cpus=cpus)


def _cache_bank(read: _Reader, bank: Element) -> CacheBank:
    controls = []
    unit_of_bank = bank.get("unit")
    for control in bank.iterchildren("control"):
        unit = control.get("unit")
        minimum = control.get("min")
        controls.append(
            CacheControl(
                granularity_kib=read.size_kib(
                    control, control.get("granularity"), unit, "granularity"
                ),
                min_kib=None
                if minimum is None
                else read.size_kib(control, minimum, unit, "minimum"),
                type=control.get("type", "both"),
                max_allocations=read.uint_attr(control, "maxAllocs"),
            )
        )
    return CacheBank(
        id=read.uint_attr(bank, "id", required=True),  # type: ignore[arg-type]
        level=read.uint_attr(bank, "level", required=True),  # type: ignore[arg-type]
        type=bank.get("type", "both"),
        size_kib=read.size_kib(bank, bank.get("size"), unit_of_bank, "cache size"),
        cpus=read.cpuset(bank, "cpus"),
        controls=controls,
    )


def _machines(read: _Reader, parent: Element) -> tuple[GuestMachine, ...]:
    return tuple(
        GuestMachine(
            name=_text(machine) or "",
            canonical=machine.get("canonical"),
            max_cpus=read.uint_attr(machine, "maxCpus"),
        )
        for machine in parent.iterchildren("machine")
    )


def _guest(read: _Reader, guest: Element) -> GuestCaps:
    arch = guest.find("arch")
    features = guest.find("features")
    domains: tuple[GuestDomain, ...] = ()
    if arch is not None:
        domains = tuple(
            GuestDomain(
                type=domain.get("type", ""),
                emulator=_text(domain.find("emulator")),
                machines=_machines(read, domain),
            )
            for domain in arch.iterchildren("domain")
        )
    return GuestCaps(
        os_type=_text(guest.find("os_type")),
        arch=arch.get("name") if arch is not None else None,
        wordsize=read.uint_text(arch.find("wordsize")) if arch is not None else None,
        emulator=_text(arch.find("emulator")) if arch is not None else None,
        machines=_machines(read, arch) if arch is not None else (),
        domains=domains,
        features=frozenset(
            child.tag
            for child in (features.iterchildren(etree.Element) if features is not None else ())
        ),
    )


# -- domain capabilities ----------------------------------------------------------------------


def parse_domain_capabilities(root: Element, source: str) -> DomainCapabilities:
    """A ``<domainCapabilities>`` document (``virsh domcapabilities``)."""
    read = _Reader(source)
    vcpu = root.find("vcpu")
    cpu = root.find("cpu")
    cpu_modes = None
    if cpu is not None:
        cpu_modes = frozenset(
            mode.get("name", "")
            for mode in cpu.iterchildren("mode")
            if mode.get("supported") == "yes"
        )
    features_element = root.find("features")
    features = {}
    if features_element is not None:
        for child in features_element.iterchildren(etree.Element):
            if child.get("supported") is not None:
                features[child.tag] = child.get("supported") == "yes"
    return DomainCapabilities(
        path=_text(root.find("path")),
        virt_type=_text(root.find("domain")),
        arch=_text(root.find("arch")),
        machine=_text(root.find("machine")),
        max_vcpus=read.uint_attr(vcpu, "max") if vcpu is not None else None,
        iothreads=section_supported(root, "iothreads"),
        cpu_modes=cpu_modes,
        disk_devices=section_enum(root, "devices/disk", "diskDevice"),
        disk_buses=section_enum(root, "devices/disk", "bus"),
        disk_models=section_enum(root, "devices/disk", "model"),
        interface_backends=section_enum(root, "devices/interface", "backendType"),
        memory_backing_sources=section_enum(root, "memoryBacking", "sourceType"),
        hyperv_features=section_enum(root, "features/hyperv", "features"),
        features=features,
        raw=root,
        source=source,
    )


# -- node devices ------------------------------------------------------------------------------


def parse_node_device(root: Element, source: str) -> NodeDevice | None:
    """A ``<device>`` document (``virsh nodedev-dumpxml``); None if it is not a PCI device."""
    read = _Reader(source)
    pci = next((c for c in root.iterchildren("capability") if c.get("type") == "pci"), None)
    if pci is None:
        return None
    fields = {}
    for name in ("domain", "bus", "slot", "function"):
        element = pci.find(name)
        # Decimal only: node_device_conf.c reads them with virXPathUInt (older: XPath number()).
        value = parse_uint(element.text) if element is not None else None
        if value is None:
            raise read.error(
                pci if element is None else element,
                f"PCI device has no valid <{name}>",
            )
        fields[name] = value
    group = pci.find("iommuGroup")
    numa = pci.find("numa")
    numa_node = None
    if numa is not None and numa.get("node") is not None:
        text = numa.get("node", "").strip()
        # libvirt leaves the element out for node -1 ("unknown"); accept it if written.
        numa_node = None if text == "-1" else read.uint_attr(numa, "node")
    sub = {c.get("type"): c for c in pci.iterchildren("capability")}
    physical = sub.get("phys_function")
    physical_address = None
    physical_element = None if physical is None else physical.find("address")
    if physical_element is not None:
        physical_address = read.address(physical_element)
    virtual = sub.get("virt_functions")
    return NodeDevice(
        name=_text(root.find("name")) or "",
        address=PciAddress(**fields),
        numa_node=numa_node,
        iommu_group=read.uint_attr(group, "number") if group is not None else None,
        pci_class=_text(pci.find("class")),
        vendor=_pci_id(read, pci.find("vendor")),
        product=_pci_id(read, pci.find("product")),
        driver=_text(root.find("driver/name")),
        parent=_text(root.find("parent")),
        iommu_group_addresses=tuple(
            read.address(a) for a in (group.iterchildren("address") if group is not None else ())
        ),
        physical_function=physical_address,
        virtual_functions=tuple(
            read.address(a)
            for a in (virtual.iterchildren("address") if virtual is not None else ())
        ),
        raw=root,
        source=source,
    )


def _pci_id(read: _Reader, element: Element | None) -> PciId | None:
    if element is None:
        return None
    number = address_number(element.get("id"))
    if number is None:
        raise read.error(element, f"<{element.tag} id='{element.get('id')}'> is not a PCI id")
    return PciId(number, _text(element))
