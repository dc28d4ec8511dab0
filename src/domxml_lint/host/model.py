"""The host model: what libvirt says about a host, as frozen attrs values.

Built from libvirt's own XML (``virsh capabilities``, ``virsh domcapabilities``,
``virsh nodedev-dumpxml``) by :mod:`domxml_lint.host.parse`. A value the
documents do not give is None (or an empty collection where the spec below says
so), never a guess: rules that need it say "unknown". Every document's root stays
reachable as ``raw`` for rules that need something rare.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
from lxml import etree

from .._records import NamedTuple
from ..findings import as_tuple
from ..pci import PciAddress
from .qemu_caps import QemuCapabilities
from .system import HostSystem

Element = etree._Element

#: x86_64's and 4 KiB-page arm64's default huge page size (Hugepagesize in /proc/meminfo).
USUAL_DEFAULT_HUGEPAGE_KIB = 2048


def _frozen_mapping(value: Mapping[Any, Any] | Iterable[tuple[Any, Any]]) -> Mapping[Any, Any]:
    return types.MappingProxyType(dict(value))


# -- capabilities ------------------------------------------------------------------------

PPC64_ARCHES = frozenset({"ppc64", "ppc64le"})


def runs_natively(host_arch: str, guest_arch: str) -> bool:
    """libvirt's ``virQEMUCapsGuestIsNative``: a guest arch the host arch's QEMU runs as is."""
    if host_arch == guest_arch:
        return True
    if (host_arch, guest_arch) in (("x86_64", "i686"), ("aarch64", "armv7l")):
        return True
    return host_arch in PPC64_ARCHES and guest_arch in PPC64_ARCHES


@attrs.frozen(slots=True)
class HostCpu:
    """One logical CPU of a NUMA cell (``cell/cpus/cpu``).

    ``siblings`` are the SMT threads of the same core, this CPU included; empty
    when libvirt did not report them. ``node`` is the cell the CPU belongs to.
    """

    id: int
    socket_id: int | None
    die_id: int | None
    cluster_id: int | None
    core_id: int | None
    siblings: frozenset[int]
    node: int


@attrs.frozen(slots=True)
class HostCell:
    """One host NUMA node (``host/topology/cells/cell``).

    ``pages`` maps a page size in KiB to the number of pages of that size
    configured on the node, the base page included (4 KiB -> free RAM pages).
    ``distances`` maps a node id to its distance from this node.
    """

    id: int
    memory_kib: int | None
    pages: Mapping[int, int] = attrs.field(converter=_frozen_mapping)
    distances: Mapping[int, int] = attrs.field(converter=_frozen_mapping)
    cpus: tuple[HostCpu, ...] = attrs.field(converter=as_tuple)
    _cpu_ids: frozenset[int] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_cpu_ids", frozenset(cpu.id for cpu in self.cpus))

    @property
    def cpu_ids(self) -> frozenset[int]:
        return self._cpu_ids

    def huge_pages_kib(self, size_kib: int) -> int | None:
        """KiB of memory in configured pages of ``size_kib`` on this node (None if unlisted)."""
        count = self.pages.get(size_kib)
        return None if count is None else count * size_kib


class CpuTopology(NamedTuple):
    """``host/cpu/topology`` as ``(sockets, dies, clusters, cores, threads)``.

    dies and clusters are 1 when libvirt does not write them. As in
    ``virNodeInfo``, ``sockets`` counts sockets per NUMA node on a multi-node
    host, so ``total`` is the CPUs of one node there; the cells give the real
    layout.
    """

    sockets: int
    dies: int
    clusters: int
    cores: int
    threads: int

    @property
    def total(self) -> int:
        return self.sockets * self.dies * self.clusters * self.cores * self.threads


@attrs.frozen(slots=True)
class CacheControl:
    """A resctrl allocation control of a cache bank (what ``<cachetune>`` can use)."""

    granularity_kib: int
    min_kib: int | None
    type: str
    max_allocations: int | None


@attrs.frozen(slots=True)
class CacheBank:
    """``host/cache/bank``: one cache instance, the CPUs sharing it, its resctrl controls."""

    id: int
    level: int
    type: str
    size_kib: int
    cpus: frozenset[int]
    controls: tuple[CacheControl, ...] = attrs.field(converter=as_tuple)


@attrs.frozen(slots=True)
class GuestMachine:
    """A machine type (``pc-q35-8.2``); ``canonical`` is set on aliases such as ``q35``."""

    name: str
    canonical: str | None
    max_cpus: int | None


@attrs.frozen(slots=True)
class GuestDomain:
    """A ``<domain type=...>`` of a guest arch; ``machines`` empty means the arch's list."""

    type: str
    emulator: str | None
    machines: tuple[GuestMachine, ...] = attrs.field(converter=as_tuple)


@attrs.frozen(slots=True)
class GuestCaps:
    """One ``<guest>``: an OS type and architecture the host can run, with machines."""

    os_type: str | None
    arch: str | None
    wordsize: int | None
    emulator: str | None
    machines: tuple[GuestMachine, ...] = attrs.field(converter=as_tuple)
    domains: tuple[GuestDomain, ...] = attrs.field(converter=as_tuple)
    features: frozenset[str] = frozenset()

    @property
    def domain_types(self) -> frozenset[str]:
        return frozenset(d.type for d in self.domains)

    def machines_for(self, virt_type: str | None = None) -> tuple[GuestMachine, ...]:
        """Machines offered for ``virt_type`` (its own list when it has one)."""
        for domain in self.domains:
            if domain.type == virt_type and domain.machines:
                return domain.machines
        return self.machines

    def machine(self, name: str, virt_type: str | None = None) -> GuestMachine | None:
        """The machine called ``name`` (an alias finds its own entry, which names the canonical)."""
        for machine in self.machines_for(virt_type):
            if machine.name == name:
                return machine
        return None

    def canonical_machine(self, name: str, virt_type: str | None = None) -> str:
        """``q35`` -> ``pc-q35-8.2`` when this guest says so; otherwise ``name`` itself."""
        machine = self.machine(name, virt_type)
        if machine is not None and machine.canonical:
            return machine.canonical
        return name


@attrs.frozen(slots=True)
class Capabilities:
    """``virsh capabilities``: the host's NUMA cells, CPU, caches, IOMMU and guests.

    ``page_sizes_kib`` are the page sizes the host supports (``host/cpu/pages``;
    if that list is missing, the sizes the cells list), smallest first.
    ``cells`` is empty when the document has no NUMA topology; ``iommu`` is None
    when it does not say.
    """

    arch: str | None
    vendor: str | None
    model: str | None
    topology: CpuTopology | None
    features: frozenset[str]
    page_sizes_kib: tuple[int, ...]
    cells: tuple[HostCell, ...] = attrs.field(converter=as_tuple)
    cache_banks: tuple[CacheBank, ...] = attrs.field(converter=as_tuple)
    iommu: bool | None
    guests: tuple[GuestCaps, ...] = attrs.field(converter=as_tuple)
    raw: Element = attrs.field(eq=False, repr=False)
    source: str | None = attrs.field(default=None, eq=False)
    _cells_by_id: Mapping[int, HostCell] = attrs.field(init=False, eq=False, repr=False)
    _cpus_by_id: Mapping[int, HostCpu] = attrs.field(init=False, eq=False, repr=False)
    _cpu_ids: frozenset[int] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        cpus = {cpu.id: cpu for cell in self.cells for cpu in cell.cpus}
        object.__setattr__(self, "_cells_by_id", {cell.id: cell for cell in self.cells})
        object.__setattr__(self, "_cpus_by_id", cpus)
        object.__setattr__(self, "_cpu_ids", frozenset(cpus))

    @property
    def cpu_ids(self) -> frozenset[int]:
        """Every host CPU id the cells list (empty without a NUMA topology)."""
        return self._cpu_ids

    @property
    def node_ids(self) -> frozenset[int]:
        return frozenset(self._cells_by_id)

    def cell(self, node_id: int) -> HostCell | None:
        return self._cells_by_id.get(node_id)

    def cpu(self, cpu_id: int) -> HostCpu | None:
        return self._cpus_by_id.get(cpu_id)

    def node_of_cpu(self, cpu_id: int) -> int | None:
        cpu = self._cpus_by_id.get(cpu_id)
        return None if cpu is None else cpu.node

    @property
    def base_page_kib(self) -> int | None:
        """The smallest page size (the normal page, 4 KiB on x86_64)."""
        return self.page_sizes_kib[0] if self.page_sizes_kib else None

    @property
    def huge_page_sizes_kib(self) -> tuple[int, ...]:
        """The supported page sizes above the base page."""
        return self.page_sizes_kib[1:]

    @property
    def default_hugepage_kib(self) -> int | None:
        """The huge page size a ``<hugepages/>`` without a size most likely gets.

        libvirt uses the kernel's default huge page size (``Hugepagesize`` in
        /proc/meminfo), which capabilities do not report. Our documented choice:
        2 MiB when the host supports it (the default on x86_64 and on arm64 with
        4 KiB pages), else the smallest supported size above the base page; None
        when the host lists no huge page size.
        """
        huge = self.huge_page_sizes_kib
        if not huge:
            return None
        if USUAL_DEFAULT_HUGEPAGE_KIB in huge:
            return USUAL_DEFAULT_HUGEPAGE_KIB
        return huge[0]

    def guests_for(self, arch: str | None, os_type: str | None = "hvm") -> tuple[GuestCaps, ...]:
        """The ``<guest>`` entries for ``arch`` (and ``os_type`` unless None)."""
        return tuple(
            g for g in self.guests if g.arch == arch and (os_type is None or g.os_type == os_type)
        )

    def guests_running(self, arch: str, os_type: str | None = "hvm") -> tuple[GuestCaps, ...]:
        """The entries that run ``arch`` guests: its own, else the host arch's when that arch
        runs it natively (``virQEMUCapsGuestIsNative``: i686 on x86_64, armv7l on aarch64,
        ppc64 and ppc64le on each other). libvirt then uses the host arch's emulator
        (``virQEMUCapsFindBinaryForArch``), so a snapshot listing only x86_64 guests still
        runs i686 ones."""
        own = self.guests_for(arch, os_type)
        if own or self.arch is None or not runs_natively(self.arch, arch):
            return own
        return self.guests_for(self.arch, os_type)

    def max_guest_cpus(self, virt_type: str | None, arch: str | None, machine: str) -> int | None:
        """``maxCpus`` of ``machine`` (alias or canonical name) for a guest, if listed."""
        for guest in self.guests_for(arch, None):
            if virt_type is not None and virt_type not in guest.domain_types:
                continue
            found = guest.machine(machine, virt_type)
            if found is not None and found.max_cpus is None and found.canonical:
                found = guest.machine(found.canonical, virt_type)
            if found is not None and found.max_cpus is not None:
                return found.max_cpus
        return None


# -- domain capabilities ------------------------------------------------------------------

#: Machine aliases QEMU resolves to the newest machine whose name starts so.
ALIAS_FAMILIES = {
    "pc": "pc-i440fx-",
    "q35": "pc-q35-",
    "virt": "virt-",
    "pseries": "pseries-",
    "s390-ccw-virtio": "s390-ccw-virtio-",
}


def _machine_version(machine: str) -> tuple[int, ...]:
    """The version a machine name ends with (``pc-q35-9.1`` -> (9, 1)); () if none."""
    tail = machine.rsplit("-", 1)[-1]
    parts = tail.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else ()


@attrs.frozen(slots=True)
class DomainCapabilities:
    """``virsh domcapabilities`` for one emulator, virt type, arch and machine.

    ``path`` is the emulator binary (the document's ``<path>``; ``emulator`` is
    the same). The sets are what the document lists; None when the document
    does not say (section absent), empty when the section is ``supported='no'``.
    ``enum()`` reads any other ``<enum>`` the same way.
    """

    path: str | None
    virt_type: str | None
    arch: str | None
    machine: str | None
    max_vcpus: int | None
    iothreads: bool | None
    cpu_modes: frozenset[str] | None
    disk_devices: frozenset[str] | None
    disk_buses: frozenset[str] | None
    disk_models: frozenset[str] | None
    interface_backends: frozenset[str] | None
    memory_backing_sources: frozenset[str] | None
    hyperv_features: frozenset[str] | None
    features: Mapping[str, bool] = attrs.field(converter=_frozen_mapping)
    raw: Element = attrs.field(eq=False, repr=False)
    source: str | None = attrs.field(default=None, eq=False)

    @property
    def emulator(self) -> str | None:
        return self.path

    def supported(self, section_xpath: str) -> bool | None:
        """Whether ``section_xpath`` (``devices/disk``) says supported='yes' (None if absent)."""
        return section_supported(self.raw, section_xpath)

    def enum(self, section_xpath: str, name: str) -> frozenset[str] | None:
        """The values of ``<enum name=...>`` under ``section_xpath`` (``devices/disk``, ``bus``)."""
        return section_enum(self.raw, section_xpath, name)

    @property
    def key(self) -> tuple[str | None, str | None, str | None, str | None]:
        return (self.virt_type, self.arch, self.machine, self.path)


def section_supported(root: Element, section_xpath: str) -> bool | None:
    section = root.find(section_xpath)
    if section is None:
        return None
    value = section.get("supported")
    return None if value is None else value == "yes"


def section_enum(root: Element, section_xpath: str, name: str) -> frozenset[str] | None:
    section = root.find(section_xpath)
    if section is None:
        return None
    if section.get("supported") == "no":
        return frozenset()
    for enum in section.iterchildren("enum"):
        if enum.get("name") == name:
            return frozenset((v.text or "").strip() for v in enum.iterchildren("value"))
    return None


# -- node devices ---------------------------------------------------------------------------


@attrs.frozen(slots=True)
class PciId:
    """A PCI vendor or product: numeric id and libvirt's name for it (if any)."""

    id: int
    name: str | None

    def __str__(self) -> str:
        return f"{self.id:04x}" + (f" ({self.name})" if self.name else "")


@attrs.frozen(slots=True)
class NodeDevice:
    """A PCI device from ``virsh nodedev-dumpxml``.

    ``numa_node`` is None when libvirt reports no node (single-node hosts,
    or firmware without the information). ``pci_class`` is as written (``0x020000``).
    """

    name: str
    address: PciAddress
    numa_node: int | None
    iommu_group: int | None
    pci_class: str | None
    vendor: PciId | None
    product: PciId | None
    driver: str | None = None
    parent: str | None = None
    iommu_group_addresses: tuple[PciAddress, ...] = attrs.field(default=(), converter=as_tuple)
    physical_function: PciAddress | None = None
    virtual_functions: tuple[PciAddress, ...] = attrs.field(default=(), converter=as_tuple)
    raw: Element | None = attrs.field(default=None, eq=False, repr=False)
    source: str | None = attrs.field(default=None, eq=False)


# -- the libvirt connection -------------------------------------------------------------------


def parse_version(text: str | None) -> tuple[int, ...] | None:
    """``"9.0.0"`` -> ``(9, 0, 0)``; None for None or anything else (``"8.2.0-rc1"`` too)."""
    if not text:
        return None
    parts = text.strip().split(".")
    if not all(part.isascii() and part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


@attrs.frozen(slots=True)
class LibvirtInfo:
    """What the libvirt connection said about itself when the snapshot was taken.

    ``version`` is the libvirt of the host (``virConnectGetLibVersion``: the
    daemon's, over a remote URI); ``hypervisor`` and ``hypervisor_version`` are
    the driver's hypervisor (``virConnectGetType``/``GetVersion``, as ``virsh
    version``'s "Running hypervisor" line: ``QEMU 7.2.0`` for the QEMU driver).
    ``hostname`` is the host's name as libvirt gives it (``virsh hostname``).
    Domain capabilities do not carry QEMU's version; this is where it comes from.
    """

    uri: str | None = None
    hostname: str | None = None
    version: str | None = None
    hypervisor: str | None = None
    hypervisor_version: str | None = None

    @property
    def qemu_version(self) -> str | None:
        """The QEMU version, when the hypervisor is QEMU (None for test, Xen, ... drivers)."""
        if self.hypervisor is not None and self.hypervisor.upper() == "QEMU":
            return self.hypervisor_version
        return None

    def merged(self, other: LibvirtInfo) -> LibvirtInfo | None:
        """Both pieces of information together; None when a field differs."""
        fields = {}
        for field in attrs.fields(LibvirtInfo):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            if mine is not None and theirs is not None and mine != theirs:
                return None
            fields[field.name] = mine if mine is not None else theirs
        return LibvirtInfo(**fields)

    def describe(self) -> str:
        parts = []
        if self.version:
            parts.append(f"libvirt {self.version}")
        if self.hypervisor:
            parts.append(f"{self.hypervisor} {self.hypervisor_version or '(version unknown)'}")
        return ", ".join(parts)


# -- the host -------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Host:
    """Everything known about one host: capabilities, domain capabilities, PCI devices,
    the libvirt connection's versions and the machine's system facts.

    Any part may be missing; the convenience properties then return None
    ("unknown"), never a guess. ``sources`` names the files (or the live
    connection) the parts came from. ``other_devices`` names node devices that
    were loaded but are not PCI devices (USB, SCSI, mdev ...), so not indexed.
    ``system`` holds the kernel and service facts (:class:`HostSystem`) of a
    snapshot that recorded them; ``libvirt`` what the connection said about
    its versions; ``qemu_capabilities`` libvirt's probed capabilities of each
    QEMU binary (its cache), when the snapshot carries them.
    """

    capabilities: Capabilities | None = None
    domain_capabilities: tuple[DomainCapabilities, ...] = attrs.field(
        default=(), converter=as_tuple
    )
    node_devices: Mapping[PciAddress, NodeDevice] = attrs.field(
        factory=dict, converter=_frozen_mapping
    )
    sources: tuple[str, ...] = attrs.field(default=(), converter=as_tuple)
    other_devices: tuple[str, ...] = attrs.field(default=(), converter=as_tuple)
    system: HostSystem | None = None
    libvirt: LibvirtInfo | None = None
    qemu_capabilities: tuple[QemuCapabilities, ...] = attrs.field(default=(), converter=as_tuple)

    # -- what is known ----------------------------------------------------------------

    @property
    def has_capabilities(self) -> bool:
        return self.capabilities is not None

    @property
    def has_numa(self) -> bool:
        """Whether the host's NUMA cells (and so its CPUs) are known."""
        return self.capabilities is not None and bool(self.capabilities.cells)

    @property
    def has_domain_capabilities(self) -> bool:
        return bool(self.domain_capabilities)

    @property
    def has_node_devices(self) -> bool:
        return bool(self.node_devices)

    @property
    def has_system(self) -> bool:
        return self.system is not None

    @property
    def libvirt_version(self) -> str | None:
        return self.libvirt.version if self.libvirt is not None else None

    @property
    def qemu_version(self) -> str | None:
        return self.libvirt.qemu_version if self.libvirt is not None else None

    @property
    def has_cache_banks(self) -> bool:
        return self.capabilities is not None and bool(self.capabilities.cache_banks)

    # -- CPUs, cells and pages (None = unknown) --------------------------------------

    @property
    def cells(self) -> tuple[HostCell, ...]:
        return self.capabilities.cells if self.capabilities is not None else ()

    @property
    def cpu_ids(self) -> frozenset[int] | None:
        return self.capabilities.cpu_ids if self.has_numa else None  # type: ignore[union-attr]

    @property
    def node_ids(self) -> frozenset[int] | None:
        return self.capabilities.node_ids if self.has_numa else None  # type: ignore[union-attr]

    def cell(self, node_id: int) -> HostCell | None:
        return self.capabilities.cell(node_id) if self.capabilities is not None else None

    def node_of_cpu(self, cpu_id: int) -> int | None:
        return self.capabilities.node_of_cpu(cpu_id) if self.capabilities is not None else None

    @property
    def page_sizes_kib(self) -> tuple[int, ...] | None:
        if self.capabilities is None or not self.capabilities.page_sizes_kib:
            return None
        return self.capabilities.page_sizes_kib

    @property
    def default_hugepage_kib(self) -> int | None:
        return self.capabilities.default_hugepage_kib if self.capabilities is not None else None

    # -- devices and domain capabilities ---------------------------------------------

    def pci_device(self, address: PciAddress | None) -> NodeDevice | None:
        """The host PCI device at ``address`` (a ``<hostdev>`` source address), if known."""
        if address is None:
            return None
        return self.node_devices.get(address)

    def domain_caps_for(
        self, virt_type: str | None, arch: str | None, machine: str | None
    ) -> DomainCapabilities | None:
        """The domain capabilities that describe a guest of this type, arch and machine.

        ``arch`` None means the host's own arch (as libvirt defaults it). A
        machine alias (``q35``) is resolved through the capabilities' guest
        machine list. Without a ``machine``, a single candidate for the type and
        arch is returned; with several, None (which one libvirt picks depends on
        the emulator's default).
        """
        if arch is None and self.capabilities is not None:
            arch = self.capabilities.arch
        candidates = [
            dc
            for dc in self.domain_capabilities
            if dc.virt_type == virt_type and (arch is None or dc.arch == arch)
        ]
        if not candidates:
            return None
        if machine is None:
            return candidates[0] if len(candidates) == 1 else None
        names = {machine}
        if self.capabilities is not None:
            for guest in self.capabilities.guests_for(arch, None):
                names.add(guest.canonical_machine(machine, virt_type))
        for dc in candidates:
            if dc.machine in names:
                return dc
        family = ALIAS_FAMILIES.get(machine) if len(names) == 1 else None
        if family is not None:
            # An alias the capabilities do not resolve (they list no machines): QEMU
            # resolves it to the newest machine of its family, as domcapabilities does.
            members = [dc for dc in candidates if (dc.machine or "").startswith(family)]
            if members:
                return max(members, key=lambda dc: _machine_version(dc.machine or ""))
        machineless = [dc for dc in candidates if dc.machine is None]
        return machineless[0] if len(machineless) == 1 else None

    def qemu_caps_for(self, arch: str | None, emulator: str | None) -> QemuCapabilities | None:
        """libvirt's probed capabilities of the QEMU binary that runs a guest, if known.

        ``emulator`` (the guest's ``<emulator>``) names the binary; without it,
        the binary the capabilities name for the guest's arch (``arch`` None: the
        host's), else the one document for that arch. None when the snapshot has
        none for it, or several and nothing says which.
        """
        documents = self.qemu_capabilities
        if not documents:
            return None
        if emulator:
            return next((d for d in documents if d.emulator == emulator), None)
        caps = self.capabilities
        if arch is None and caps is not None:
            arch = caps.arch
        if caps is not None and arch is not None:
            named = {g.emulator for g in caps.guests_running(arch) if g.emulator}
            chosen = [d for d in documents if d.emulator in named]
            if len(chosen) == 1:
                return chosen[0]
        same = [d for d in documents if d.arch == arch]
        if not same and arch is not None:
            same = [d for d in documents if d.arch and runs_natively(d.arch, arch)]
        return same[0] if len(same) == 1 else None

    def max_vcpus(self, virt_type: str | None, arch: str | None, machine: str | None) -> int | None:
        """The most vCPUs the machine allows: domain capabilities first, then ``maxCpus``."""
        caps = self.domain_caps_for(virt_type, arch, machine)
        if caps is not None and caps.max_vcpus is not None:
            return caps.max_vcpus
        if self.capabilities is not None and machine is not None:
            return self.capabilities.max_guest_cpus(
                virt_type, arch or self.capabilities.arch, machine
            )
        return None

    # -- a human summary ----------------------------------------------------------------

    def describe(self) -> str:
        """One line: what this host snapshot knows."""
        parts = []
        caps = self.capabilities
        if caps is None:
            parts.append("no capabilities")
        else:
            what = f"capabilities ({caps.arch or 'unknown arch'}"
            if caps.cells:
                what += f", {len(caps.cells)} NUMA cells, {len(caps.cpu_ids)} CPUs"
            else:
                what += ", no NUMA topology"
            if caps.page_sizes_kib:
                what += ", pages " + "/".join(_size(s) for s in caps.page_sizes_kib)
            if caps.cache_banks:
                what += f", {len(caps.cache_banks)} cache banks"
            parts.append(what + ")")
        parts.append(_count(len(self.domain_capabilities), "domain capabilities document"))
        parts.append(_count(len(self.node_devices), "PCI device"))
        if self.qemu_capabilities:
            parts.append(_count(len(self.qemu_capabilities), "QEMU capabilities document"))
        if self.libvirt is not None and self.libvirt.describe():
            parts.append(self.libvirt.describe())
        parts.append(self.system.describe() if self.system is not None else "no system facts")
        return ", ".join(parts)


def _size(kib: int) -> str:
    for unit, size in (("G", 1024**2), ("M", 1024)):
        if kib % size == 0:
            return f"{kib // size}{unit}"
    return f"{kib}K"


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
