"""vCPUs, CPU model and topology, guest NUMA cells as written, and CPU tuning (pins, schedulers)."""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..cpuset import CPUMASK_LEN
from ..units import parse_uint
from .domain import DomainBase
from .values import (
    CpusetRef,
    MemorySize,
    child,
    child_text,
    cpuset_ref,
    grandchildren,
    signed_int,
    size_of_attribute,
)

Element = etree._Element

PPC64_ARCHES = frozenset({"ppc64", "ppc64le"})


class Vcpus(NamedTuple):
    """``<vcpu>``: ``maximum`` is None when the count does not parse."""

    element: Element | None
    maximum: int | None
    current: int | None
    placement: str
    cpuset: CpusetRef | None


class VcpuEntry(NamedTuple):
    """One ``<vcpus><vcpu>``: the attributes as written (None when absent or invalid)."""

    element: Element
    id: int | None
    enabled: bool | None
    hotpluggable: bool | None
    order: int | None


class VcpuState(NamedTuple):
    """A vCPU as libvirt holds it after parsing, before any post-parse default.

    ``hotpluggable`` stays None unless written: the QEMU driver's post-parse
    checks (qemuDomainDefVcpusPostParse) run before libvirt fills the default
    in. ``order`` is 0 when not given. ``entry`` is the ``<vcpus><vcpu>`` that
    set it, if any.
    """

    id: int
    online: bool
    hotpluggable: bool | None
    order: int
    entry: VcpuEntry | None


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


class CpuFeature(NamedTuple):
    """A ``<cpu><feature>``: ``policy`` defaults to require, as libvirt reads a guest CPU."""

    element: Element
    name: str | None
    policy: str


class MaxPhysAddr(NamedTuple):
    """``<cpu><maxphysaddr mode= bits= limit=>`` (numbers None when absent or invalid)."""

    element: Element
    mode: str | None
    bits: int | None
    limit: int | None


class Cpu(NamedTuple):
    element: Element
    mode: str
    model: str | None
    topology: Topology | None
    cells: tuple[NumaCell, ...]
    #: ``<model>``, the first one (libvirt reads ``./model[1]``).
    model_element: Element | None = None
    #: ``<vendor>`` text, the first one.
    vendor: str | None = None
    features: tuple[CpuFeature, ...] = ()
    caches: tuple[Element, ...] = ()
    maxphysaddr: MaxPhysAddr | None = None

    @property
    def match(self) -> str | None:
        return self.element.get("match")

    @property
    def check(self) -> str | None:
        return self.element.get("check")

    @property
    def fallback(self) -> str:
        """``<model fallback>``: 'allow' unless written (libvirt's default)."""
        if self.model_element is None:
            return "allow"
        return self.model_element.get("fallback", "allow")

    @property
    def has_model(self) -> bool:
        """Whether libvirt sees a model: ``string(./model[1])`` is non-empty."""
        return bool(self.model)

    def feature(self, name: str) -> CpuFeature | None:
        return next((f for f in self.features if f.name == name), None)


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

    def value(self, tag: str) -> tuple[Element, str] | None:
        """A scalar tunable such as ``shares`` or ``period``: its element and raw text."""
        element = child(self.element, tag)
        if element is None:
            return None
        return element, (element.text or "").strip()


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


class CpuFacts(DomainBase):
    """``<vcpu>``, ``<cpu>`` and ``<cputune>``."""

    @lazy
    def vcpus(self) -> Vcpus:
        element = self.top("vcpu")
        if element is None:
            return Vcpus(None, 1, None, "static", None)
        maximum = parse_uint(element.text)
        return Vcpus(
            element=element,
            maximum=maximum,
            current=parse_uint(element.get("current")),
            placement=element.get("placement", "static"),
            cpuset=cpuset_ref(element, "cpuset"),
        )

    @lazy
    def vcpu_entries(self) -> tuple[VcpuEntry, ...]:
        """Every ``<vcpus><vcpu>``, in document order."""
        vcpus = self.top("vcpus")
        if vcpus is None:
            return ()
        return tuple(
            VcpuEntry(
                element=el,
                id=parse_uint(el.get("id")),
                enabled=_yes_no(el.get("enabled")),
                hotpluggable=_yes_no(el.get("hotpluggable")),
                order=parse_uint(el.get("order")),
            )
            for el in vcpus.iterchildren("vcpu")
        )

    @lazy
    def vcpu_states(self) -> tuple[VcpuState, ...] | None:
        """Every vCPU below the maximum as virDomainVcpuParse leaves it; None if unknowable.

        With ``<vcpus>`` the listed states are the master and an unlisted vCPU is
        offline; without it vCPUs 0..current-1 are online.
        """
        vcpu_ids = self.vcpu_ids
        if vcpu_ids is None:
            return None
        entries = self.vcpu_entries
        if not entries:
            online = self.vcpus.current if self.vcpus.current is not None else len(vcpu_ids)
            return tuple(VcpuState(i, i < online, None, 0, None) for i in vcpu_ids)
        by_id: dict[int, VcpuEntry] = {}
        for entry in entries:
            if entry.id is not None and entry.id in vcpu_ids:
                by_id[entry.id] = entry  # a later entry overwrites, as in libvirt
        states = []
        for i in vcpu_ids:
            listed = by_id.get(i)
            if listed is None:
                states.append(VcpuState(i, False, None, 0, None))
            else:
                states.append(
                    VcpuState(
                        i, bool(listed.enabled), listed.hotpluggable, listed.order or 0, listed
                    )
                )
        return tuple(states)

    @property
    def online_vcpu_count(self) -> int | None:
        """The vCPUs online at start (virDomainDefGetVcpus): enabled ones, else ``current``."""
        states = self.vcpu_states
        if states is not None:
            return sum(1 for state in states if state.online)
        vcpus = self.vcpus
        return vcpus.current if vcpus.current is not None else vcpus.maximum

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
        element = self.top("cpu")
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
                cpus=cpuset_ref(cell, "cpus"),
                memory=size_of_attribute(cell, "memory", "unit"),
                mem_access=cell.get("memAccess"),
            )
            for cell in grandchildren(element, "numa", "cell")
        )
        maxphysaddr_el = child(element, "maxphysaddr")
        maxphysaddr = None
        if maxphysaddr_el is not None:
            maxphysaddr = MaxPhysAddr(
                element=maxphysaddr_el,
                mode=maxphysaddr_el.get("mode"),
                bits=parse_uint(maxphysaddr_el.get("bits")),
                limit=parse_uint(maxphysaddr_el.get("limit")),
            )
        return Cpu(
            element=element,
            mode=element.get("mode", "custom"),
            model=child_text(element, "model"),
            topology=topology,
            cells=cells,
            model_element=child(element, "model"),
            vendor=child_text(element, "vendor"),
            features=tuple(
                CpuFeature(el, el.get("name"), el.get("policy", "require"))
                for el in element.iterchildren("feature")
            ),
            caches=tuple(element.iterchildren("cache")),
            maxphysaddr=maxphysaddr,
        )

    @lazy
    def numa_cells(self) -> tuple[NumaCell, ...]:
        return self.cpu.cells if self.cpu is not None else ()

    @lazy
    def cputune(self) -> Cputune | None:
        element = self.top("cputune")
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
                    ids=None if attribute is None else cpuset_ref(element, attribute),
                    scheduler=element.get("scheduler"),
                    priority=signed_int(element.get("priority")),
                )
            )
        return tuple(result)


def _yes_no(text: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(text or "")


def _pin(element: Element, target_attribute: str | None) -> Pin:
    target = parse_uint(element.get(target_attribute)) if target_attribute else None
    return Pin(element=element, target=target, cpuset=cpuset_ref(element, "cpuset"))
