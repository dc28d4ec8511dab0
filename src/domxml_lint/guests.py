"""What plan rules see of each guest: a small, picklable digest of its facts.

Plan rules (:mod:`domxml_lint.planrules`) look at every guest of one host at
once, after the documents were checked. Documents may have been checked in
other processes (``--jobs``), so each one's check also derives a
:class:`GuestFacts` from its :class:`~domxml_lint.facts.DomainFacts` (and its
place on the host), which travels back with the file's result. Plan rules
read these, never the XML. Measured on the 2909 corpus files (docs/benchmarks.md),
deriving them costs 9-17 % of the check, mostly the source map behind their
places, and they load back in under 0.1 s; parsing every document again in
the first process instead would cost 40-50 % of a serial run, all of it in
that one process.

Every value carries where it is written (:class:`Place`), so a plan finding
points at the line in the guest's file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs
from lxml import etree

from ._records import NamedTuple
from .findings import as_tuple, pickled_as_tuple

if TYPE_CHECKING:
    from .document import Document
    from .facts import DomainFacts
    from .host import Host
    from .ruleset import RuleSet


class Place(NamedTuple):
    """Where something is written in a guest's document: 1-based lines and columns
    (columns count characters) and the element's XPath."""

    line: int
    column: int
    end_line: int
    end_column: int
    xpath: str


class Pinned(NamedTuple):
    """The host CPUs one vCPU may run on (its vcpupin, else ``<vcpu cpuset>``)."""

    vcpu: int
    cpus: frozenset[int]
    place: Place


class Demand(NamedTuple):
    """Memory the guest needs from some host nodes (``nodes`` None: any node).

    ``page_kib`` is the huge page size backing it, None for ordinary memory.
    """

    nodes: frozenset[int] | None
    kib: int
    page_kib: int | None
    what: str
    place: Place

    @property
    def pages(self) -> int:
        return -(-self.kib // self.page_kib) if self.page_kib else 0


class DiskUse(NamedTuple):
    """A disk's source: ``key`` is what it reads and writes (``Disk.source_key``)."""

    key: tuple[str, ...]
    label: str
    writable: bool
    shareable: bool
    place: Place


class NicUse(NamedTuple):
    """An interface: its type, model, MAC (None: generated) and segment."""

    type: str | None
    model: str | None
    mac: str | None
    segment: tuple[str, str] | None
    place: Place


class PortUse(NamedTuple):
    """A fixed VNC or SPICE port: ``listen`` None is libvirt's default address."""

    type: str
    attribute: str
    port: int
    listen: str | None
    place: Place


class HostdevUse(NamedTuple):
    """A host device assigned to the guest: ``kind`` ``pci`` (``device`` ``0000:21:00.0``)
    or ``usb`` (``001:002``, bus and device, or ``1234:beef``, vendor and product)."""

    kind: str
    device: str
    place: Place


class Suppressed(NamedTuple):
    """A suppression comment of the guest: the rule's code and the XPath of the element
    it covers (None: the whole file)."""

    code: str
    scope: str | None


@pickled_as_tuple
@attrs.frozen(eq=False)
class GuestFacts:
    """One guest of a host, as plan rules see it.

    ``path`` is the document as the output shows it; ``kind`` is ``file`` or
    ``domain`` (a live libvirt domain). Sizes are KiB; None where the document
    does not say or says something invalid (other rules report that). Guests compare
    by identity: two files with the same content are two guests.
    """

    path: str
    kind: str
    root: Place
    name: str | None
    name_place: Place | None
    uuid: str | None
    uuid_place: Place | None
    virt_type: str | None
    vcpus: int | None
    vcpus_place: Place | None
    memory_kib: int | None
    memory_place: Place | None
    #: Guest RAM backed by huge pages (``<memoryBacking><hugepages>``), and how much of
    #: its memory (KiB) is on them (the rest is ordinary memory).
    hugepage_backed: bool
    hugepage_kib: int
    hugepages: tuple[Demand, ...] = attrs.field(converter=as_tuple)
    bound_memory: tuple[Demand, ...] = attrs.field(converter=as_tuple)
    pins: tuple[Pinned, ...] = attrs.field(converter=as_tuple)
    #: Every vCPU pinned to a host CPU of its own: the guest means to own those CPUs.
    dedicated: bool
    realtime_vcpus: frozenset[int]
    emulator_cpus: frozenset[int] | None
    emulator_place: Place | None
    #: Every vCPU pinned and the memory bound to host nodes by hand (no numad).
    manually_placed: bool
    disks: tuple[DiskUse, ...] = attrs.field(converter=as_tuple)
    nics: tuple[NicUse, ...] = attrs.field(converter=as_tuple)
    ports: tuple[PortUse, ...] = attrs.field(converter=as_tuple)
    hostdevs: tuple[HostdevUse, ...] = attrs.field(converter=as_tuple)
    suppressed: tuple[Suppressed, ...] = attrs.field(converter=as_tuple)

    @property
    def label(self) -> str:
        """How messages name the guest: ``guest 'web-01'`` (or its file)."""
        return f"guest '{self.name}'" if self.name else f"the guest in {self.path}"

    def suppresses(self, code: str, xpath: str) -> bool:
        """Whether a suppression comment of the document covers ``code`` at ``xpath``."""
        for item in self.suppressed:
            if item.code != code:
                continue
            scope = item.scope
            if scope is None or xpath == scope or xpath.startswith(scope + "/"):
                return True
        return False


def place_of(doc: Document, element: etree._Element, attribute: str | None = None) -> Place:
    """The start tag of ``element`` (or one of its attributes), as a :class:`Place`."""
    span = doc.span(element)
    start, end = span.start, span.start_end
    if attribute is not None:
        attribute_span = doc.attribute_span(element, attribute)
        if attribute_span is not None:
            start, end = attribute_span.name_start, attribute_span.end
    line, column = doc.position(start)
    end_line, end_column = doc.position(end)
    return Place(line, column, end_line, end_column, doc.xpath_of(element))


def collect_guest(
    doc: Document,
    facts: DomainFacts,
    *,
    shown: str,
    kind: str,
    host: Host | None,
    ruleset: RuleSet,
) -> GuestFacts:
    """The :class:`GuestFacts` of one checked document."""
    from .facts import child
    from .placement import bound_memory_demands, host_binding, hugepage_demands

    root = doc.root

    def at(element: etree._Element | None, attribute: str | None = None) -> Place | None:
        return None if element is None else place_of(doc, element, attribute)

    root_place = place_of(doc, root)
    vcpu_element = facts.vcpus.element
    memory = facts.memory
    cells = facts.numa_cells
    memory_element = memory.element if memory is not None else None
    if memory_element is None and cells:
        memory_element = cells[0].element
    hugepages: list[Demand] = []
    if host is not None and host.has_numa and (facts.hugepage_backing or facts.hugepage_devices):
        binding = host_binding(facts, host)
        hugepages = [_demand(doc, d) for d in hugepage_demands(facts, host, binding)]
    bound = [_demand(doc, d) for d in bound_memory_demands(facts)]
    pins = _pins(doc, facts)
    vcpu_ids = facts.vcpu_ids
    dedicated = bool(pins) and vcpu_ids is not None and len(pins) == len(vcpu_ids)
    dedicated = dedicated and all(len(p.cpus) == 1 for p in pins)
    dedicated = dedicated and len({next(iter(p.cpus)) for p in pins}) == len(pins)
    realtime: set[int] = set()
    for sched in facts.thread_scheds:
        if sched.realtime and sched.element.tag == "vcpusched" and sched.ids is not None:
            realtime |= sched.ids.ids or frozenset()
    emulatorpin = facts.cputune.emulatorpin if facts.cputune is not None else None
    emulator_cpus = None
    if emulatorpin is not None and emulatorpin.cpuset is not None:
        emulator_cpus = emulatorpin.cpuset.ids
    all_pinned = bool(pins) and vcpu_ids is not None and len(pins) == len(vcpu_ids)
    numatune = facts.numatune
    memory_bound = False
    if numatune is not None and facts.numatune_placement == "static":
        nodeset = numatune.memory.nodeset if numatune.memory is not None else None
        cell_ids = {c.id for c in facts.numa_cells}
        with_memnode = {m.cellid for m in numatune.memnodes if m.nodeset}
        per_cell = bool(cell_ids) and cell_ids <= with_memnode
        memory_bound = (nodeset is not None and bool(nodeset.ids)) or per_cell
    disks = [
        DiskUse(
            disk.source_key,
            disk.label,
            disk.writable and not disk.transient,
            disk.shareable,
            place_of(doc, disk.source if disk.source is not None else disk.element),
        )
        for disk in facts.disks
        if disk.source_key is not None
    ]
    nics = []
    for iface in facts.interfaces:
        mac_element = child(iface.element, "mac")
        nics.append(
            NicUse(
                iface.type,
                iface.model,
                iface.mac.formatted if iface.mac is not None else None,
                iface.segment,
                place_of(doc, mac_element if mac_element is not None else iface.element),
            )
        )
    ports = [
        PortUse(p.type, p.attribute, p.port, p.listen, place_of(doc, p.element, p.attribute))
        for p in facts.graphics_ports
    ]
    hostdevs = []
    for hostdev in facts.host_devices:
        if hostdev.mode != "subsystem":
            continue
        usb_name = hostdev.usb_device_name
        if hostdev.type == "pci" and hostdev.pci is not None:
            hostdevs.append(HostdevUse("pci", str(hostdev.pci), place_of(doc, hostdev.element)))
        elif usb_name is not None:
            hostdevs.append(HostdevUse("usb", usb_name, place_of(doc, hostdev.element)))
    name_element, uuid_element = facts.top("name"), facts.top("uuid")
    return GuestFacts(
        path=shown,
        kind=kind,
        root=root_place,
        name=facts.name,
        name_place=at(name_element),
        uuid=facts.uuid,
        uuid_place=at(uuid_element),
        virt_type=facts.virt_type,
        vcpus=facts.vcpus.current or facts.vcpus.maximum,
        vcpus_place=at(vcpu_element),
        memory_kib=facts.memory_total_kib,
        memory_place=at(memory_element),
        hugepage_backed=facts.hugepage_backing is not None,
        hugepage_kib=_hugepage_kib(facts),
        hugepages=hugepages,
        bound_memory=bound,
        pins=pins,
        dedicated=dedicated,
        realtime_vcpus=frozenset(realtime),
        emulator_cpus=emulator_cpus,
        emulator_place=at(emulatorpin.element) if emulatorpin is not None else None,
        manually_placed=all_pinned and memory_bound and facts.vcpus.placement != "auto",
        disks=disks,
        nics=nics,
        ports=ports,
        hostdevs=hostdevs,
        suppressed=_suppressions(doc, ruleset),
    )


def _hugepage_kib(facts: DomainFacts) -> int:
    """Guest memory on huge pages: the regions backed by a page larger than the base page
    (``<hugepages/>`` without a size: the host's default huge page), and memory devices
    with a huge ``<source><pagesize>``."""
    from .facts.memory import BASE_PAGE_KIB

    total = 0
    devices = facts.memory_devices_kib or 0
    for region in facts.hugepage_regions:
        page = region.page
        size = None if page is None or page.size is None else page.size.kib
        if page is None or (size is not None and size > BASE_PAGE_KIB):
            total += max(region.kib - devices, 0) if region.cell is None else region.kib
    for device in facts.hugepage_devices:
        device_page = device.pagesize.kib if device.pagesize is not None else None
        if device_page and device_page > BASE_PAGE_KIB and device.size and device.size.kib:
            total += device.size.kib
    return total


def _demand(doc: Document, demand) -> Demand:
    return Demand(
        demand.nodes, demand.kib, demand.page_kib, demand.what, place_of(doc, demand.element)
    )


def _pins(doc: Document, facts: DomainFacts) -> list[Pinned]:
    pinned = facts.effective_vcpupins
    vcpu_element = facts.vcpus.element
    places: dict[int, Place] = {}
    result = []
    for vcpu, cpus in sorted(facts.vcpu_host_cpus.items()):
        pin = pinned.get(vcpu)
        element = pin.element if pin is not None else vcpu_element
        if element is None:
            continue
        key = id(element)
        place = places.get(key)
        if place is None:
            place = places[key] = place_of(doc, element, None if pin is not None else "cpuset")
        result.append(Pinned(vcpu, cpus, place))
    return result


def _suppressions(doc: Document, ruleset: RuleSet) -> Iterable[Suppressed]:
    from .suppression import find_suppressions

    result = []
    for item in find_suppressions(doc):
        if item.malformed:
            continue
        scope = None
        if not item.file_wide:
            if item.target is None:
                continue
            scope = doc.xpath_of(doc.elements[item.target])
        for selector in item.selectors:
            matched = ruleset.get(selector)
            if matched is not None:
                result.append(Suppressed(matched.code, scope))
    return result
