"""DomainFacts: what a domain definition says, derived once per document.

Rules read facts; they never re-parse strings that facts already parsed.
Every part is computed on first use and cached, so a rule that does not run
costs nothing. Facts never raise on bad input: a value libvirt would refuse
becomes None (or a :class:`CpusetRef` carrying an error) for rules to report.
"""

from collections.abc import Iterator
from typing import NamedTuple

from lxml import etree

from ._lazy import lazy
from .cpuset import CPUMASK_LEN, CpusetError, parse_cpuset
from .document import Document
from .units import parse_uint, to_kib

Element = etree._Element

#: IOThreads tracked per domain. libvirt would start one thread per id, so a
#: larger <iothreads> is refused (iothreads-oversized says so) rather than listed.
MAX_IOTHREADS = 65536

#: libvirt's bus for a disk without ``target@bus``, from its name (virDomainDiskDefPostParse).
_BUS_BY_DEV_PREFIX = (
    ("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen"), ("ubd", "uml"), ("fd", "fdc"),
)  # fmt: skip

#: Domain types that libvirt's QEMU driver handles.
QEMU_VIRT_TYPES = frozenset({"kvm", "qemu", "hvf"})
#: QEMU domain types that run on a hardware accelerator rather than TCG.
ACCELERATED_VIRT_TYPES = frozenset({"kvm", "hvf"})


# -- small values ----------------------------------------------------------------------


class CpusetRef(NamedTuple):
    """One cpuset/nodeset attribute and what it parsed to.

    ``ids`` is None when the text is invalid; ``error`` then says why.
    """

    element: Element
    attribute: str
    text: str
    ids: frozenset[int] | None
    error: str | None = None


class MemorySize(NamedTuple):
    """A scaled size element or attribute, converted to KiB (None if invalid)."""

    element: Element
    kib: int | None
    text: str
    unit: str | None


class PciAddress(NamedTuple):
    domain: int
    bus: int
    slot: int
    function: int

    def __str__(self) -> str:
        return f"{self.domain:04x}:{self.bus:02x}:{self.slot:02x}.{self.function:x}"


# -- CPU -------------------------------------------------------------------------------


class Vcpus(NamedTuple):
    """``<vcpu>``: ``maximum`` is None when the count does not parse."""

    element: Element | None
    maximum: int | None
    current: int | None
    placement: str
    cpuset: CpusetRef | None


class Topology(NamedTuple):
    element: Element
    sockets: int | None
    dies: int | None
    clusters: int | None
    cores: int | None
    threads: int | None

    @property
    def total(self) -> int | None:
        parts = (self.sockets, self.dies, self.clusters, self.cores, self.threads)
        if any(p is None for p in parts):
            return None
        total = 1
        for part in parts:
            total *= part  # type: ignore[operator]
        return total

    @property
    def vcpus_per_socket(self) -> int | None:
        """dies x clusters x cores x threads; None unless every part is a positive number."""
        parts = (self.sockets, self.dies, self.clusters, self.cores, self.threads)
        if any(p is None or p < 1 for p in parts):
            return None
        return self.dies * self.clusters * self.cores * self.threads  # type: ignore[operator]

    def socket_of(self, vcpu: int) -> int | None:
        """The socket QEMU puts vCPU ``vcpu`` in.

        QEMU numbers vCPUs threads first, then cores, clusters (x86 modules),
        dies and sockets (x86_topo_ids_from_idx, virt_possible_cpu_arch_ids).
        """
        per_socket = self.vcpus_per_socket
        return None if per_socket is None else vcpu // per_socket


class NumaCell(NamedTuple):
    element: Element
    id: int | None
    cpus: CpusetRef | None
    memory: MemorySize | None
    mem_access: str | None


class Cpu(NamedTuple):
    element: Element
    mode: str
    model: str | None
    topology: Topology | None
    cells: tuple[NumaCell, ...]

    def feature_policy(self, name: str) -> str | None:
        for feature in self.element.iterchildren("feature"):
            if feature.get("name") == name:
                return feature.get("policy", "require")
        return None


class GuestNuma(NamedTuple):
    """The guest NUMA cells as libvirt reads them (``virDomainNumaDefParseXML``).

    A cell without ``id`` takes its position. ``cell_of_vcpu`` maps each vCPU a
    cell names to that cell's id (the first claim wins on overlap);
    ``uncovered`` are the vCPUs below the maximum that no cell names, which
    libvirt's QEMU driver adds to cell 0. ``valid`` is False whenever libvirt
    would refuse the cells; rules that reason about placement then stay silent.
    """

    cells: tuple[NumaCell, ...]
    ids: tuple[int | None, ...]
    cells_by_id: dict[int, NumaCell]
    duplicate_ids: tuple[int, ...]  # positions of cells repeating an earlier id
    overlaps: tuple[tuple[int, int, frozenset[int]], ...]  # positions and the shared vCPUs
    cell_of_vcpu: dict[int, int]
    cpu_total: int
    uncovered: frozenset[int]
    cpus_valid: bool
    vcpu_max: int | None

    @property
    def ids_valid(self) -> bool:
        count = len(self.cells)
        return all(i is not None and i < count for i in self.ids) and not self.duplicate_ids

    @property
    def highest_vcpu(self) -> int | None:
        return max(self.cell_of_vcpu) if self.cell_of_vcpu else None

    @property
    def valid(self) -> bool:
        if not (self.ids_valid and self.cpus_valid and not self.overlaps):
            return False
        if self.vcpu_max is None:
            return False
        highest = self.highest_vcpu
        return self.cpu_total <= self.vcpu_max and (highest is None or highest < self.vcpu_max)


class Pin(NamedTuple):
    """A ``vcpupin``, ``emulatorpin`` or ``iothreadpin``; ``target`` is the vCPU or IOThread id."""

    element: Element
    target: int | None
    cpuset: CpusetRef | None


class Cputune(NamedTuple):
    element: Element
    vcpupins: tuple[Pin, ...]
    emulatorpins: tuple[Pin, ...]
    iothreadpins: tuple[Pin, ...]

    @property
    def emulatorpin(self) -> Pin | None:
        return self.emulatorpins[0] if self.emulatorpins else None

    def children(self, tag: str) -> list[Element]:
        return list(self.element.iterchildren(tag))

    def value(self, tag: str) -> tuple[Element, str] | None:
        """A scalar tunable such as ``shares`` or ``period``: its element and raw text."""
        element = child(self.element, tag)
        if element is None:
            return None
        return element, (element.text or "").strip()


# -- NUMA tuning -----------------------------------------------------------------------


class NumatuneMemory(NamedTuple):
    element: Element
    mode: str
    placement: str | None
    nodeset: CpusetRef | None


class Memnode(NamedTuple):
    element: Element
    cellid: int | None
    mode: str
    nodeset: CpusetRef | None


class Numatune(NamedTuple):
    element: Element
    memory: NumatuneMemory | None
    memnodes: tuple[Memnode, ...]


# -- memory ----------------------------------------------------------------------------


class HugePage(NamedTuple):
    """One ``<hugepages><page>``; ``size`` is None for ``<hugepages/>`` (the host default)."""

    element: Element
    size: MemorySize | None
    nodeset: CpusetRef | None


class MemoryBacking(NamedTuple):
    element: Element
    hugepages: Element | None
    pages: tuple[HugePage, ...]
    locked: bool
    nosharepages: bool
    source_type: str | None
    access_mode: str | None
    allocation_mode: str | None


class Memtune(NamedTuple):
    element: Element
    hard_limit: MemorySize | None
    soft_limit: MemorySize | None
    swap_hard_limit: MemorySize | None
    min_guarantee: MemorySize | None


# -- devices ---------------------------------------------------------------------------


class Disk(NamedTuple):
    element: Element
    type: str | None
    device: str
    driver: Element | None
    target: Element | None
    source: Element | None
    bus: str | None
    dev: str | None
    readonly: bool
    shareable: bool
    transient: bool

    def driver_attr(self, name: str) -> str | None:
        return None if self.driver is None else self.driver.get(name)

    @property
    def cache(self) -> str | None:
        return self.driver_attr("cache")

    @property
    def io(self) -> str | None:
        return self.driver_attr("io")

    @property
    def format(self) -> str | None:
        return self.driver_attr("type")

    @property
    def effective_bus(self) -> str | None:
        """The bus libvirt uses: ``target@bus``, else the one its name implies (``vd`` virtio)."""
        if self.bus:
            return self.bus
        dev = self.dev or ""
        for prefix, bus in _BUS_BY_DEV_PREFIX:
            if dev.startswith(prefix):
                return bus
        return None

    @property
    def label(self) -> str:
        """How messages name the disk: ``disk 'vda'``."""
        return f"disk '{self.dev}'" if self.dev else "disk"

    @property
    def writable(self) -> bool:
        return not self.readonly and self.device not in ("cdrom", "floppy")


class Interface(NamedTuple):
    element: Element
    type: str | None
    model: str | None
    driver: Element | None
    queues: int | None

    def driver_attr(self, name: str) -> str | None:
        return None if self.driver is None else self.driver.get(name)


class Controller(NamedTuple):
    element: Element
    type: str | None
    model: str | None
    index: int | None
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


class MemoryDevice(NamedTuple):
    """A ``<devices><memory>`` (dimm, nvdimm, virtio-mem, virtio-pmem, ...)."""

    element: Element
    model: str | None
    access: str | None
    size: MemorySize | None
    node: int | None
    block: MemorySize | None
    requested: MemorySize | None
    path: str | None
    #: ``<source><pagesize>``: the page size backing the device (hugetlbfs), if given.
    pagesize: MemorySize | None = None
    #: ``<source><nodemask>``: the host nodes its memory comes from (None: not given or invalid).
    nodemask: frozenset[int] | None = None


# -- IOThreads, schedulers, clock, Hyper-V ---------------------------------------------


class ThreadSched(NamedTuple):
    """A ``vcpusched``, ``iothreadsched`` or ``emulatorsched`` in ``<cputune>``.

    ``ids`` is the parsed ``vcpus``/``iothreads`` set (None for emulatorsched).
    """

    element: Element
    ids: CpusetRef | None
    scheduler: str | None
    priority: int | None

    @property
    def realtime(self) -> bool:
        return self.scheduler in ("fifo", "rr")


class Timer(NamedTuple):
    element: Element
    name: str | None
    present: str | None

    def attr(self, name: str) -> str | None:
        return self.element.get(name)


class HypervFeature(NamedTuple):
    element: Element
    name: str
    state: str | None

    @property
    def enabled(self) -> bool:
        return self.state == "on"


class Hyperv(NamedTuple):
    """``<features><hyperv>``: its mode and every child feature by name (first wins)."""

    element: Element
    mode: str
    features: tuple[HypervFeature, ...]

    def feature(self, name: str) -> HypervFeature | None:
        for item in self.features:
            if item.name == name:
                return item
        return None

    def enabled(self, name: str) -> bool:
        """Whether the enlightenment ``name`` is on (passthrough mode turns all on)."""
        if self.mode == "passthrough":
            return True
        item = self.feature(name)
        return item is not None and item.enabled

    @property
    def any_enabled(self) -> bool:
        return self.mode == "passthrough" or any(f.enabled for f in self.features)


#: libosinfo ids of Windows releases older than Vista / 2008, which predate
#: Hyper-V enlightenments (virt-manager adds none for them either).
PRE_VISTA_WINDOWS = frozenset(
    {"1.0", "2.0", "3.1", "95", "98", "me", "nt3.51", "nt4.0", "2k", "xp", "2k3", "2k3r2"}
)
LIBOSINFO_NS = "http://libosinfo.org/xmlns/libvirt/domain/1.0"
WINDOWS_OS_PREFIX = "http://microsoft.com/win/"


# -- the facts -------------------------------------------------------------------------


class DomainFacts:
    """Everything rules need to know about one domain, derived lazily and once."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.root = doc.root

    @lazy
    def tags(self) -> frozenset[str]:
        """Names of every element present, to skip rules whose elements are absent.

        Namespaced elements appear as ``{uri}name`` and never match a trigger.
        """
        return frozenset([el.tag for el in self.doc.elements])

    # -- domain-level --------------------------------------------------------------

    @lazy
    def virt_type(self) -> str | None:
        return self.root.get("type")

    @lazy
    def is_qemu(self) -> bool:
        """Whether libvirt's QEMU driver runs this domain (type kvm, qemu or hvf).

        Rules that encode QEMU-driver checks or KVM tuning advice apply only here.
        """
        return self.root.get("type") in QEMU_VIRT_TYPES

    @lazy
    def is_accelerated(self) -> bool:
        """A QEMU domain on a hardware accelerator (kvm, hvf): where host-CPU tuning advice applies.

        TCG (type 'qemu') cannot pass the host CPU through, so CPU-model advice skips it.
        """
        return self.root.get("type") in ACCELERATED_VIRT_TYPES

    @lazy
    def os_type(self) -> Element | None:
        return grandchild(self.root, "os", "type")

    @lazy
    def arch(self) -> str | None:
        return None if self.os_type is None else self.os_type.get("arch")

    @lazy
    def machine(self) -> str | None:
        return None if self.os_type is None else self.os_type.get("machine")

    @lazy
    def devices(self) -> Element | None:
        return child(self.root, "devices")

    @lazy
    def _devices_by_tag(self) -> dict[str, tuple[Element, ...]]:
        grouped: dict[str, list[Element]] = {}
        if self.devices is not None:
            for device in self.devices:
                if isinstance(device.tag, str):
                    grouped.setdefault(device.tag, []).append(device)
        return {tag: tuple(children) for tag, children in grouped.items()}

    def device_elements(self, tag: str) -> tuple[Element, ...]:
        """Direct children of ``<devices>`` named ``tag`` (grouped once per document)."""
        return self._devices_by_tag.get(tag, ())

    @lazy
    def features(self) -> Element | None:
        return child(self.root, "features")

    @lazy
    def iothreads(self) -> int | None:
        """The ``<iothreads>`` count (None when absent or invalid)."""
        return parse_uint(child_text(self.root, "iothreads"))

    # -- CPU -----------------------------------------------------------------------

    @lazy
    def vcpus(self) -> Vcpus:
        element = child(self.root, "vcpu")
        if element is None:
            return Vcpus(None, 1, None, "static", None)
        maximum = parse_uint(element.text)
        return Vcpus(
            element=element,
            maximum=maximum,
            current=parse_uint(element.get("current")),
            placement=element.get("placement", "static"),
            cpuset=_cpuset(element, "cpuset"),
        )

    @property
    def vcpu_count(self) -> int | None:
        """The maximum vCPU count, the number libvirt sizes queues and topology against."""
        return self.vcpus.maximum

    @property
    def vcpu_ids(self) -> range | None:
        """vCPU ids 0..maximum-1; None when the count is invalid or beyond any cpuset id.

        Rules that walk every vCPU use this, so an absurd ``<vcpu>`` costs nothing.
        """
        maximum = self.vcpus.maximum
        if maximum is None or maximum > CPUMASK_LEN:
            return None
        return range(maximum)

    @lazy
    def cpu(self) -> Cpu | None:
        element = child(self.root, "cpu")
        if element is None:
            return None
        topology_el = child(element, "topology")
        topology = None
        if topology_el is not None:
            topology = Topology(
                element=topology_el,
                sockets=parse_uint(topology_el.get("sockets")),
                dies=parse_uint(topology_el.get("dies", "1")),
                clusters=parse_uint(topology_el.get("clusters", "1")),
                cores=parse_uint(topology_el.get("cores")),
                threads=parse_uint(topology_el.get("threads")),
            )
        cells = tuple(
            NumaCell(
                element=cell,
                id=parse_uint(cell.get("id")),
                cpus=_cpuset(cell, "cpus"),
                memory=_size_attr(cell, "memory", "unit"),
                mem_access=cell.get("memAccess"),
            )
            for cell in element.iterfind("numa/cell")
        )
        return Cpu(
            element=element,
            mode=element.get("mode", "custom"),
            model=child_text(element, "model"),
            topology=topology,
            cells=cells,
        )

    @property
    def numa_cells(self) -> tuple[NumaCell, ...]:
        return self.cpu.cells if self.cpu is not None else ()

    @lazy
    def guest_numa(self) -> GuestNuma | None:
        """The guest NUMA cells analysed once (None without cells)."""
        cells = self.numa_cells
        if not cells:
            return None
        ids = tuple(
            position if cell.element.get("id") is None else cell.id
            for position, cell in enumerate(cells)
        )
        cells_by_id: dict[int, NumaCell] = {}
        duplicates = []
        for position, (cell_id, cell) in enumerate(zip(ids, cells, strict=True)):
            if cell_id is None:
                continue
            if cell_id in cells_by_id:
                duplicates.append(position)
            else:
                cells_by_id[cell_id] = cell
        cell_of_vcpu: dict[int, int] = {}
        owner: dict[int, int] = {}  # vCPU -> position of the first cell naming it
        overlapping: dict[tuple[int, int], set[int]] = {}
        cpu_total = 0
        cpus_valid = True
        for position, (cell_id, cell) in enumerate(zip(ids, cells, strict=True)):
            if cell.cpus is None:
                continue
            if cell.cpus.ids is None:
                cpus_valid = False
                continue
            cpu_total += len(cell.cpus.ids)
            for vcpu in cell.cpus.ids:
                first = owner.setdefault(vcpu, position)
                if first == position:
                    cell_of_vcpu[vcpu] = cell_id if cell_id is not None else position
                else:
                    overlapping.setdefault((first, position), set()).add(vcpu)
        overlaps = tuple((a, b, frozenset(vcpus)) for (a, b), vcpus in sorted(overlapping.items()))
        vcpu_ids = self.vcpu_ids
        maximum = None if vcpu_ids is None else len(vcpu_ids)
        uncovered = frozenset(
            () if vcpu_ids is None else (v for v in vcpu_ids if v not in cell_of_vcpu)
        )
        return GuestNuma(
            cells=cells,
            ids=ids,
            cells_by_id=cells_by_id,
            duplicate_ids=tuple(duplicates),
            overlaps=overlaps,
            cell_of_vcpu=cell_of_vcpu,
            cpu_total=cpu_total,
            uncovered=uncovered,
            cpus_valid=cpus_valid,
            vcpu_max=maximum,
        )

    @lazy
    def cputune(self) -> Cputune | None:
        element = child(self.root, "cputune")
        if element is None:
            return None
        return Cputune(
            element=element,
            vcpupins=tuple(_pin(el, "vcpu") for el in element.iterchildren("vcpupin")),
            emulatorpins=tuple(_pin(el, None) for el in element.iterchildren("emulatorpin")),
            iothreadpins=tuple(_pin(el, "iothread") for el in element.iterchildren("iothreadpin")),
        )

    @property
    def vcpupins(self) -> tuple[Pin, ...]:
        return self.cputune.vcpupins if self.cputune is not None else ()

    @lazy
    def effective_vcpupins(self) -> dict[int, Pin]:
        """The vcpupin libvirt keeps for each existing vCPU.

        libvirt ignores a pin on a vCPU at or above the maximum ("Ignoring
        vcpupin for missing vcpus") and refuses a second pin for one vCPU, so
        the first pin of each vCPU below the maximum is the one that counts.
        """
        maximum = self.vcpu_count
        pins: dict[int, Pin] = {}
        if maximum is None:
            return pins
        for pin in self.vcpupins:
            if pin.target is not None and pin.target < maximum and pin.target not in pins:
                pins[pin.target] = pin
        return pins

    @lazy
    def vcpu_host_cpus(self) -> dict[int, frozenset[int]]:
        """The host CPUs each vCPU is pinned to: its vcpupin, else ``<vcpu cpuset>``.

        A vCPU with neither (or whose cpuset is invalid) floats over every host
        CPU and is absent. With ``<vcpu placement='auto'>`` libvirt ignores the
        cpuset (numad picks), so only vcpupins count.
        """
        vcpu_ids = self.vcpu_ids
        if vcpu_ids is None:
            return {}
        pinned = self.effective_vcpupins
        cpuset = self.vcpus.cpuset
        fallback = None
        if self.vcpus.placement != "auto" and cpuset is not None:
            fallback = cpuset.ids
        result: dict[int, frozenset[int]] = {}
        for vcpu in vcpu_ids:
            pin = pinned.get(vcpu)
            cpus = pin.cpuset.ids if pin is not None and pin.cpuset is not None else None
            if pin is None:
                cpus = fallback
            if cpus:
                result[vcpu] = cpus
        return result

    @lazy
    def pinned_host_cpus(self) -> frozenset[int]:
        """Host CPUs named by ``vcpu@cpuset``, vcpupin, emulatorpin and iothreadpin."""
        refs = [self.vcpus.cpuset]
        if self.cputune is not None:
            tune = self.cputune
            refs += [p.cpuset for p in (*tune.vcpupins, *tune.emulatorpins, *tune.iothreadpins)]
        cpus: set[int] = set()
        for ref in refs:
            if ref is not None and ref.ids is not None:
                cpus |= ref.ids
        return frozenset(cpus)

    # -- NUMA tuning ---------------------------------------------------------------

    @lazy
    def numatune(self) -> Numatune | None:
        element = child(self.root, "numatune")
        if element is None:
            return None
        memory_el = child(element, "memory")
        memory = None
        if memory_el is not None:
            memory = NumatuneMemory(
                element=memory_el,
                mode=memory_el.get("mode", "strict"),
                placement=memory_el.get("placement"),
                nodeset=_cpuset(memory_el, "nodeset"),
            )
        memnodes = tuple(
            Memnode(
                element=el,
                cellid=parse_uint(el.get("cellid")),
                mode=el.get("mode", "strict"),
                nodeset=_cpuset(el, "nodeset"),
            )
            for el in element.iterchildren("memnode")
        )
        return Numatune(element=element, memory=memory, memnodes=memnodes)

    @lazy
    def numatune_placement(self) -> str | None:
        """Where libvirt takes the memory nodeset from: 'static', 'auto' (numad) or None.

        Mirrors virDomainNumatuneSet: an explicit placement wins; a nodeset means
        static; otherwise numatune follows ``<vcpu placement>``. Without
        ``<numatune><memory>`` the memory is only bound when vCPU placement is auto.
        """
        memory = self.numatune.memory if self.numatune is not None else None
        vcpu_auto = self.vcpus.placement == "auto"
        if memory is None:
            return "auto" if vcpu_auto else None
        if memory.placement is not None:
            return memory.placement
        if memory.nodeset is not None:
            return "static"
        return "auto" if vcpu_auto else "static"

    # -- memory --------------------------------------------------------------------

    @lazy
    def memory(self) -> MemorySize | None:
        return _size_element(child(self.root, "memory"))

    @lazy
    def current_memory(self) -> MemorySize | None:
        return _size_element(child(self.root, "currentMemory"))

    @lazy
    def max_memory(self) -> MemorySize | None:
        return _size_element(child(self.root, "maxMemory"))

    @lazy
    def memory_backing(self) -> MemoryBacking | None:
        element = child(self.root, "memoryBacking")
        if element is None:
            return None
        hugepages = child(element, "hugepages")
        pages: tuple[HugePage, ...] = ()
        if hugepages is not None:
            pages = tuple(
                HugePage(
                    element=page,
                    size=_size_attr(page, "size", "unit"),
                    nodeset=_cpuset(page, "nodeset"),
                )
                for page in hugepages.iterchildren("page")
            )
        source, access, allocation = (child(element, t) for t in ("source", "access", "allocation"))
        return MemoryBacking(
            element=element,
            hugepages=hugepages,
            pages=pages,
            locked=child(element, "locked") is not None,
            nosharepages=child(element, "nosharepages") is not None,
            source_type=None if source is None else source.get("type"),
            access_mode=None if access is None else access.get("mode"),
            allocation_mode=None if allocation is None else allocation.get("mode"),
        )

    @lazy
    def memtune(self) -> Memtune | None:
        element = child(self.root, "memtune")
        if element is None:
            return None
        return Memtune(
            element=element,
            hard_limit=_size_element(child(element, "hard_limit")),
            soft_limit=_size_element(child(element, "soft_limit")),
            swap_hard_limit=_size_element(child(element, "swap_hard_limit")),
            min_guarantee=_size_element(child(element, "min_guarantee")),
        )

    @lazy
    def guest_memory_kib(self) -> int | None:
        """The guest's memory: the NUMA cells' sum when they all have sizes, else ``<memory>``.

        On define libvirt replaces ``<memory>`` with the cells' sum, so the cells win.
        """
        cells = self.numa_cells
        if cells and all(c.memory is not None and c.memory.kib is not None for c in cells):
            return sum(c.memory.kib for c in cells)  # type: ignore[union-attr,misc]
        return self.memory.kib if self.memory is not None else None

    @lazy
    def memory_devices_kib(self) -> int | None:
        """The summed sizes of ``<devices><memory>`` (DIMM, virtio-mem, ...); None if one is bad."""
        total = 0
        for device in self.device_elements("memory"):
            size = _size_element(grandchild(device, "target", "size"))
            if size is None or size.kib is None:
                return None
            total += size.kib
        return total

    @lazy
    def memory_total_kib(self) -> int | None:
        """The guest's total memory as libvirt computes it after define.

        ``virDomainDefPostParseMemory``: with guest NUMA cells that carry memory,
        the cells' sum plus the memory devices; otherwise ``<memory>``, which
        already includes the memory devices.
        """
        cells = self.numa_cells
        if cells and all(c.memory is not None and c.memory.kib is not None for c in cells):
            devices = self.memory_devices_kib
            if devices is None:
                return None
            return sum(c.memory.kib for c in cells) + devices  # type: ignore[union-attr,misc]
        return self.memory.kib if self.memory is not None else None

    # -- devices -------------------------------------------------------------------

    @lazy
    def disks(self) -> tuple[Disk, ...]:
        disks = []
        for element in self.device_elements("disk"):
            target = child(element, "target")
            disks.append(
                Disk(
                    element=element,
                    type=element.get("type"),
                    device=element.get("device", "disk"),
                    driver=child(element, "driver"),
                    target=target,
                    source=child(element, "source"),
                    bus=None if target is None else target.get("bus"),
                    dev=None if target is None else target.get("dev"),
                    readonly=child(element, "readonly") is not None,
                    shareable=child(element, "shareable") is not None,
                    transient=child(element, "transient") is not None,
                )
            )
        return tuple(disks)

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
                    address=_pci_address(grandchild(element, "source", "address")),
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
                        address=_pci_address(grandchild(iface.element, "source", "address")),
                        is_interface=True,
                    )
                )
        return tuple(result)

    @lazy
    def memory_devices(self) -> tuple[MemoryDevice, ...]:
        result = []
        for element in self.device_elements("memory"):
            target = child(element, "target")
            source = child(element, "source")
            sizes = {}
            for tag in ("size", "block", "requested"):
                sizes[tag] = _size_element(None if target is None else child(target, tag))
            result.append(
                MemoryDevice(
                    element=element,
                    model=element.get("model"),
                    access=element.get("access"),
                    node=None if target is None else parse_uint(child_text(target, "node")),
                    path=None if source is None else child_text(source, "path"),
                    pagesize=None if source is None else _size_element(child(source, "pagesize")),
                    nodemask=None if source is None else _ids(child_text(source, "nodemask")),
                    **sizes,
                )
            )
        return tuple(result)

    # -- platform ------------------------------------------------------------------

    @lazy
    def is_x86(self) -> bool:
        return self.arch in ("i686", "x86_64")

    @lazy
    def is_q35(self) -> bool | None:
        """Whether the machine is q35 (as ``qemuDomainIsQ35``); None when no machine is given."""
        machine = self.machine
        if not machine:
            return None
        return machine == "q35" or machine.startswith("pc-q35")

    @lazy
    def is_arm_virt(self) -> bool:
        """An ARM ``virt`` machine, as ``qemuDomainIsARMVirt`` tests it."""
        machine = self.machine or ""
        return self.arch in ("armv6l", "armv7l", "aarch64") and (
            machine == "virt" or machine.startswith("virt-")
        )

    def feature_state(self, name: str) -> str | None:
        """``<features><name>`` as libvirt reads it: 'on', 'off', or None when absent.

        A feature element without ``state`` (``<acpi/>``, ``<smm/>``) means on.
        """
        if self.features is None:
            return None
        element = child(self.features, name)
        if element is None:
            return None
        return element.get("state", "on")

    @lazy
    def timers(self) -> tuple[Timer, ...]:
        return tuple(
            Timer(element=el, name=el.get("name"), present=el.get("present"))
            for el in self.root.iterfind("clock/timer")
        )

    def timer(self, name: str) -> Timer | None:
        for item in self.timers:
            if item.name == name:
                return item
        return None

    @lazy
    def hyperv(self) -> Hyperv | None:
        if self.features is None:
            return None
        element = child(self.features, "hyperv")
        if element is None:
            return None
        features = tuple(
            HypervFeature(element=feature, name=feature.tag, state=feature.get("state"))
            for feature in element
            if isinstance(feature.tag, str)
        )
        return Hyperv(element=element, mode=element.get("mode", "custom"), features=features)

    @lazy
    def windows_os_id(self) -> str | None:
        """The libosinfo os id when it names a Windows release, else None."""
        path = f"metadata/{{{LIBOSINFO_NS}}}libosinfo/{{{LIBOSINFO_NS}}}os"
        for os_el in self.root.iterfind(path):
            os_id = os_el.get("id") or ""
            if os_id.startswith(WINDOWS_OS_PREFIX):
                return os_id
        return None

    @lazy
    def is_windows(self) -> bool:
        """Whether the guest runs Windows, judged only from strong signals.

        1. libosinfo metadata (written by virt-install, virt-manager, GNOME Boxes):
           ``<libosinfo:os id='http://microsoft.com/win/...'/>``.
        2. Without metadata: Hyper-V enlightenments switched on together with
           ``<clock offset='localtime'>``. Enlightenments only serve Windows (and
           Hyper-V) guests, and Windows is the OS that keeps its RTC in local time.

        The domain's name, title or disk paths are never used: "win-build" may
        well be a Linux build box.
        """
        if self.windows_os_id is not None:
            return True
        clock = child(self.root, "clock")
        localtime = clock is not None and clock.get("offset") == "localtime"
        return localtime and self.hyperv is not None and self.hyperv.any_enabled

    @property
    def windows_has_enlightenments(self) -> bool:
        """False for Windows releases that predate Hyper-V enlightenments (XP, 2003 ...)."""
        os_id = self.windows_os_id
        if os_id is None:
            return True
        return os_id[len(WINDOWS_OS_PREFIX) :] not in PRE_VISTA_WINDOWS

    # -- IOThreads and schedulers --------------------------------------------------

    @lazy
    def iothread_ids(self) -> frozenset[int]:
        """The IOThread ids libvirt ends up with (``virDomainDefParseIOThreads``).

        The ids listed in ``<iothreadids>``, topped up with the lowest unused ids
        from 1 until ``<iothreads>`` are covered (at most :data:`MAX_IOTHREADS`).
        """
        ids = {i for i in (parse_uint(el.get("id")) for el in self.iothreadid_elements) if i}
        wanted = min(self.iothreads or 0, MAX_IOTHREADS)
        candidate = 1
        while len(ids) < wanted:
            if candidate not in ids:
                ids.add(candidate)
            candidate += 1
        return frozenset(ids)

    @lazy
    def iothreadid_elements(self) -> tuple[Element, ...]:
        return tuple(self.root.iterfind("iothreadids/iothread"))

    @lazy
    def thread_scheds(self) -> tuple[ThreadSched, ...]:
        """Every ``vcpusched``, ``iothreadsched`` and ``emulatorsched``, in document order."""
        if self.cputune is None:
            return ()
        attribute_of = {"vcpusched": "vcpus", "iothreadsched": "iothreads", "emulatorsched": None}
        result = []
        for element in self.cputune.element:
            if element.tag not in attribute_of:
                continue
            attribute = attribute_of[element.tag]
            result.append(
                ThreadSched(
                    element=element,
                    ids=None if attribute is None else _cpuset(element, attribute),
                    scheduler=element.get("scheduler"),
                    priority=_int(element.get("priority")),
                )
            )
        return tuple(result)

    # -- every cpuset, for cpuset-invalid and host checks -------------------------

    @lazy
    def cpusets(self) -> tuple[CpusetRef, ...]:
        """Every cpuset/nodeset/vcpus attribute in the document, parsed once."""
        refs: list[CpusetRef | None] = [self.vcpus.cpuset]
        tags = self.tags
        if "cputune" in tags and self.cputune is not None:
            tune = self.cputune
            refs += [p.cpuset for p in (*tune.vcpupins, *tune.emulatorpins, *tune.iothreadpins)]
            for tag, attribute in _CPUTUNE_SETS:
                refs += [_cpuset(el, attribute) for el in tune.element.iterchildren(tag)]
        if "numatune" in tags and self.numatune is not None:
            if self.numatune.memory is not None:
                refs.append(self.numatune.memory.nodeset)
            refs += [m.nodeset for m in self.numatune.memnodes]
        if "page" in tags and self.memory_backing is not None:
            refs += [p.nodeset for p in self.memory_backing.pages]
        if "cell" in tags:
            refs += [c.cpus for c in self.numa_cells]
        return tuple(r for r in refs if r is not None)

    def iter_elements(self, *tags: str) -> Iterator[Element]:
        """Every element named one of ``tags``, anywhere, in document order."""
        wanted = set(tags)
        return (el for el in self.doc.elements if el.tag in wanted)


_CPUTUNE_SETS = (
    ("vcpusched", "vcpus"),
    ("iothreadsched", "iothreads"),
    ("cachetune", "vcpus"),
    ("memorytune", "vcpus"),
)


def child(element: Element, tag: str) -> Element | None:
    """The first child named ``tag``: ``find(tag)`` without ElementPath, at a third of the cost.

    Rules use it too: ``child(facts.root, "clock")``.
    """
    return next(element.iterchildren(tag), None)


def child_text(element: Element, tag: str) -> str | None:
    """``findtext(tag)``: the first such child's text ('' when empty), None without one."""
    found = next(element.iterchildren(tag), None)
    return None if found is None else (found.text or "")


def grandchild(element: Element, tag: str, inner: str) -> Element | None:
    """``find("tag/inner")``: the first ``inner`` under any ``tag`` child."""
    for outer in element.iterchildren(tag):
        found = next(outer.iterchildren(inner), None)
        if found is not None:
            return found
    return None


def _cpuset(element: Element, attribute: str) -> CpusetRef | None:
    text = element.get(attribute)
    if text is None:
        return None
    try:
        return CpusetRef(element, attribute, text, parse_cpuset(text))
    except CpusetError as exc:
        return CpusetRef(element, attribute, text, None, str(exc))


def _ids(text: str | None) -> frozenset[int] | None:
    """A cpuset/nodeset written as element text; None when absent or invalid."""
    if text is None:
        return None
    try:
        return parse_cpuset(text)
    except CpusetError:
        return None


def _int(text: str | None) -> int | None:
    """A signed decimal integer (libvirt's virStrToLong_i), or None."""
    if text is None:
        return None
    try:
        return int(text.strip(), 10)
    except ValueError:
        return None


def _pin(element: Element, target_attribute: str | None) -> Pin:
    target = parse_uint(element.get(target_attribute)) if target_attribute else None
    return Pin(element=element, target=target, cpuset=_cpuset(element, "cpuset"))


def _size_element(element: Element | None) -> MemorySize | None:
    if element is None:
        return None
    text = element.text or ""
    unit = element.get("unit")
    return MemorySize(element, to_kib(text, unit), text.strip(), unit)


def _size_attr(element: Element, attribute: str, unit_attribute: str) -> MemorySize | None:
    text = element.get(attribute)
    if text is None:
        return None
    unit = element.get(unit_attribute)
    return MemorySize(element, to_kib(text, unit), text, unit)


def _address_int(text: str | None) -> int | None:
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


def _pci_address(element: Element | None) -> PciAddress | None:
    if element is None or element.get("type", "pci") != "pci":
        return None
    fields = [_address_int(element.get(k)) for k in ("domain", "bus", "slot", "function")]
    if fields[0] is None:
        fields[0] = 0
    if fields[3] is None:
        fields[3] = 0
    if any(f is None for f in fields):
        return None
    return PciAddress(*fields)  # type: ignore[arg-type]
