"""What a host's kernel and services say about it: the system facts of a snapshot.

libvirt's documents do not carry these (transparent huge pages, KSM, huge page
pools and hugetlbfs mounts, the tuned profile, numad, vhost-net, the I/O
schedulers ...), yet the RHEL tuning guide's host chapters are about them.
:mod:`domxml_lint.host.collect` reads them from /proc, /sys, /etc and a few
commands on the machine it runs on; :mod:`domxml_lint.host.system_xml` writes
and reads them as the ``<system>`` part of a snapshot bundle.

Every fact is optional: None means "not known" (an old snapshot, a file that
could not be read, a container without systemd), never a guess. A collection
that was read and found empty is an empty tuple or mapping, not None.
"""

from __future__ import annotations

import re
import shlex
import types
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..findings import as_tuple

#: The services whose state a snapshot records (``systemctl is-enabled/is-active NAME``).
SERVICES = ("ksm", "ksmtuned", "numad", "tuned", "irqbalance")
#: The program each service runs, looked for to tell "installed" (ksm has none of its own).
SERVICE_PROGRAMS: Mapping[str, str | None] = types.MappingProxyType(
    {
        "ksm": None,
        "ksmtuned": "ksmtuned",
        "numad": "numad",
        "tuned": "tuned",
        "irqbalance": "irqbalance",
    }
)
#: The kernel modules whose presence and parameters a snapshot records.
MODULES = ("kvm", "kvm_intel", "kvm_amd", "vhost_net")
#: The device nodes a snapshot records.
DEVICE_NODES = ("/dev/kvm", "/dev/vhost-net")


def _frozen_mapping(value: Mapping[Any, Any] | Iterable[tuple[Any, Any]]) -> Mapping[Any, Any]:
    return types.MappingProxyType(dict(value))


def _optional_mapping(
    value: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None,
) -> Mapping[Any, Any] | None:
    return None if value is None else _frozen_mapping(value)


def _optional_tuple(value: Iterable[Any] | None) -> tuple[Any, ...] | None:
    return None if value is None else tuple(value)


_CHOICE_WORD = re.compile(r"\[([^\]\s]*)\]|(\S+)")


@attrs.frozen(slots=True)
class Choice:
    """A kernel setting shown as its options with the selected one in brackets.

    ``always [madvise] never`` (transparent huge pages) or ``[mq-deadline] kyber
    none`` (an I/O scheduler). ``selected`` is None when no option is bracketed;
    a file holding a single word (``none``, as some devices show) selects it.
    ``str()`` gives back the kernel's text.
    """

    selected: str | None
    options: tuple[str, ...] = attrs.field(converter=as_tuple)

    @classmethod
    def parse(cls, text: str) -> Choice:
        selected = None
        options = []
        for match in _CHOICE_WORD.finditer(text):
            bracketed, plain = match.groups()
            if bracketed is not None:
                selected = bracketed
                options.append(bracketed)
            else:
                options.append(plain)
        if selected is None and len(options) == 1:
            selected = options[0]
        return cls(selected, options)

    def __str__(self) -> str:
        if len(self.options) == 1 and self.selected == self.options[0]:
            return self.selected
        return " ".join(f"[{o}]" if o == self.selected else o for o in self.options)


@attrs.frozen(slots=True)
class TransparentHugePages:
    """/sys/kernel/mm/transparent_hugepage/{enabled,defrag}."""

    enabled: Choice | None
    defrag: Choice | None

    @property
    def mode(self) -> str | None:
        """``always``, ``madvise`` or ``never`` (None if unknown)."""
        return self.enabled.selected if self.enabled is not None else None


@attrs.frozen(slots=True)
class Ksm:
    """/sys/kernel/mm/ksm: Kernel Samepage Merging's state and tuning.

    ``run``: 0 stopped, 1 merging, 2 stopped and every merged page unmerged.
    ``merge_across_nodes``: 1 merges pages of different NUMA nodes (the
    kernel's default), 0 only within a node. ``pages_shared`` and
    ``pages_sharing`` count merged pages (how much KSM saves).
    """

    run: int | None
    merge_across_nodes: int | None
    pages_to_scan: int | None
    sleep_millisecs: int | None
    pages_shared: int | None = None
    pages_sharing: int | None = None

    @property
    def running(self) -> bool | None:
        return None if self.run is None else self.run == 1


@attrs.frozen(slots=True)
class HugePagePool:
    """Huge pages of one size on one NUMA node (sysfs ``node*/hugepages/hugepages-*kB``).

    ``node`` is None for the host-wide pool of a kernel without NUMA
    (/sys/kernel/mm/hugepages). ``total`` is ``nr_hugepages`` (the pool),
    ``free`` those not in use, ``surplus`` those allocated above the pool.
    """

    node: int | None
    size_kib: int
    total: int | None
    free: int | None
    surplus: int | None = None


@attrs.frozen(slots=True)
class HugePages:
    """The huge page pools, and the kernel's default size (``Hugepagesize`` in /proc/meminfo).

    The default size is what a hugetlbfs mount without ``pagesize=``, and so a
    ``<hugepages/>`` without a ``<page size>``, gets.
    """

    default_size_kib: int | None
    pools: tuple[HugePagePool, ...] = attrs.field(converter=as_tuple)

    @property
    def sizes_kib(self) -> tuple[int, ...]:
        return tuple(sorted({pool.size_kib for pool in self.pools}))

    def pool(self, node: int | None, size_kib: int) -> HugePagePool | None:
        for pool in self.pools:
            if pool.node == node and pool.size_kib == size_kib:
                return pool
        return None

    def total_pages(self, size_kib: int) -> int | None:
        """Pages of ``size_kib`` in every pool (None if a pool of that size is unknown)."""
        counts = [pool.total for pool in self.pools if pool.size_kib == size_kib]
        if not counts or any(count is None for count in counts):
            return None
        return sum(counts)  # type: ignore[arg-type]

    def free_pages(self, size_kib: int) -> int | None:
        counts = [pool.free for pool in self.pools if pool.size_kib == size_kib]
        if not counts or any(count is None for count in counts):
            return None
        return sum(counts)  # type: ignore[arg-type]


@attrs.frozen(slots=True)
class HugetlbfsMount:
    """A hugetlbfs mount from /proc/mounts (libvirt looks for one per page size it backs).

    ``page_size_kib`` is the ``pagesize=`` option, or the kernel's default huge
    page size when the option is absent (``explicit`` False); None if neither
    is known.
    """

    path: str
    page_size_kib: int | None
    explicit: bool
    options: str


@attrs.frozen(slots=True)
class Memory:
    """/proc/meminfo: ``MemTotal``, ``MemAvailable`` and ``SwapTotal``, in KiB."""

    total_kib: int | None
    available_kib: int | None
    swap_total_kib: int | None


@attrs.frozen(slots=True)
class Tuned:
    """The tuned profile in use: /etc/tuned/active_profile, else ``tuned-adm active``.

    ``profile`` is the active profile's name (several are separated by spaces);
    empty when tuned has none (``tuned-adm off``). ``mode`` is ``manual`` or
    ``auto`` (/etc/tuned/profile_mode) when known. ``source`` says where it was read.
    """

    profile: str
    mode: str | None
    source: str

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(self.profile.split())


@attrs.frozen(slots=True)
class Service:
    """A systemd service's state: ``systemctl is-enabled`` and ``is-active``, verbatim.

    ``enabled`` is ``enabled``, ``disabled``, ``static``, ``masked``,
    ``not-found`` ...; ``active`` is ``active``, ``inactive``, ``failed`` ...;
    both None when unknown (systemd not running, as in a container, or
    systemctl did not answer). ``installed`` says whether the service's program
    is on the machine (None for a service without a program of its own, such as ksm).
    """

    name: str
    enabled: str | None
    active: str | None
    installed: bool | None = None

    @property
    def running(self) -> bool | None:
        return None if self.active is None else self.active == "active"


@attrs.frozen(slots=True)
class KernelModule:
    """A kernel module from /sys/module: whether the kernel has it, and its parameters.

    ``loaded`` is True for a loaded module and for one built into the kernel
    (it has a /sys/module entry too). ``parameters`` holds the readable ones,
    as the kernel shows them (``Y``/``N`` for booleans).
    """

    name: str
    loaded: bool
    parameters: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_mapping)

    def flag(self, parameter: str) -> bool | None:
        """A boolean parameter (``Y``/``N``/``1``/``0``); None if absent or not boolean."""
        value = self.parameters.get(parameter)
        if value in ("Y", "y", "1"):
            return True
        if value in ("N", "n", "0"):
            return False
        return None

    def integer(self, parameter: str) -> int | None:
        value = self.parameters.get(parameter)
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None


@attrs.frozen(slots=True)
class DeviceNode:
    """A device node such as /dev/kvm or /dev/vhost-net.

    ``accessible`` says whether the user who took the snapshot could open it
    for reading and writing (QEMU runs as another user: see ``owner``,
    ``group`` and ``mode``). Every field but ``path`` and ``exists`` is None
    when the node does not exist.
    """

    path: str
    exists: bool
    char_device: bool | None = None
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    accessible: bool | None = None


@attrs.frozen(slots=True)
class BlockDevice:
    """A block device and its I/O scheduler (/sys/block/NAME/queue/scheduler)."""

    name: str
    scheduler: Choice


@attrs.frozen(slots=True)
class HostSystem:
    """The system facts of one machine, as ``domxml-lint host facts`` read them.

    ``hostname`` and ``kernel_release`` (``uname -n``/``-r``) name the machine
    the facts were read on; ``collected`` is when (UTC, ISO 8601).
    ``numa_balancing`` is ``kernel.numa_balancing`` (0 off, 1 on, 2 memory
    tiering). ``arp_filter`` maps ``all``, ``default`` and each interface to
    its ``net.ipv4.conf.*.arp_filter``. ``systemd`` says whether systemd runs
    (service states are unknown otherwise). ``modules``, ``devices`` and
    ``services`` hold an entry for every name that was checked.
    """

    hostname: str | None = None
    kernel_release: str | None = None
    collected: str | None = None
    cmdline: str | None = None
    memory: Memory | None = None
    numa_nodes: frozenset[int] | None = None
    numa_balancing: int | None = None
    transparent_hugepages: TransparentHugePages | None = None
    ksm: Ksm | None = None
    hugepages: HugePages | None = None
    hugetlbfs_mounts: tuple[HugetlbfsMount, ...] | None = attrs.field(
        default=None, converter=_optional_tuple
    )
    tuned: Tuned | None = None
    systemd: bool | None = None
    services: Mapping[str, Service] | None = attrs.field(default=None, converter=_optional_mapping)
    modules: Mapping[str, KernelModule] | None = attrs.field(
        default=None, converter=_optional_mapping
    )
    devices: Mapping[str, DeviceNode] | None = attrs.field(
        default=None, converter=_optional_mapping
    )
    block_devices: Mapping[str, BlockDevice] | None = attrs.field(
        default=None, converter=_optional_mapping
    )
    arp_filter: Mapping[str, int] | None = attrs.field(default=None, converter=_optional_mapping)
    #: The snapshot file the facts were read from (None: taken live); findings about the
    #: host point into it. Not part of the facts: equal facts from two files are equal.
    source: str | None = attrs.field(default=None, eq=False, repr=False)

    # -- lookups (None = unknown) ------------------------------------------------------

    def service(self, name: str) -> Service | None:
        return self.services.get(name) if self.services is not None else None

    def module(self, name: str) -> KernelModule | None:
        """The module's entry, if the snapshot checked it (``loaded`` says whether it is there)."""
        return self.modules.get(name) if self.modules is not None else None

    def device(self, path: str) -> DeviceNode | None:
        return self.devices.get(path) if self.devices is not None else None

    @property
    def kvm_vendor_module(self) -> KernelModule | None:
        """The loaded ``kvm_intel`` or ``kvm_amd`` (their parameters: nested, enable_apicv ...)."""
        for name in ("kvm_intel", "kvm_amd"):
            module = self.module(name)
            if module is not None and module.loaded:
                return module
        return None

    @property
    def cmdline_parameters(self) -> tuple[tuple[str, str | None], ...] | None:
        """The kernel's own parameters from ``cmdline``, in order: ``(name, value or None)``.

        Quoted values are unquoted; what follows ``--`` goes to init and is left out.
        """
        if self.cmdline is None:
            return None
        try:
            words = shlex.split(self.cmdline)
        except ValueError:  # an unbalanced quote: the kernel splits on blanks then
            words = self.cmdline.split()
        parameters: list[tuple[str, str | None]] = []
        for word in words:
            if word == "--":
                break
            name, equals, value = word.partition("=")
            parameters.append((name, value if equals else None))
        return tuple(parameters)

    def kernel_parameter(self, name: str) -> str | None:
        """The last value of ``name=`` on the kernel command line ("" for a bare flag)."""
        found = None
        for key, value in self.cmdline_parameters or ():
            if key == name:
                found = "" if value is None else value
        return found

    @property
    def boot_hugepages(self) -> Mapping[int, int] | None:
        """Huge pages the kernel command line allocates at boot: page size (KiB) -> count.

        ``hugepagesz=1G hugepages=4`` gives 4 pages of 1 GiB; a ``hugepages=`` with no
        ``hugepagesz=`` before it counts pages of the default size
        (``default_hugepagesz=``, else ``hugepages.default_size_kib``; None if unknown).
        """
        parameters = self.cmdline_parameters
        if parameters is None:
            return None
        default = None
        for name, value in parameters:
            if name == "default_hugepagesz" and value:
                default = kernel_size_kib(value)
        if default is None and self.hugepages is not None:
            default = self.hugepages.default_size_kib
        counts: dict[int, int] = {}
        size = None
        for name, value in parameters:
            if name == "hugepagesz" and value:
                size = kernel_size_kib(value)
            elif name == "hugepages" and value and value.isdigit():
                target = size if size is not None else default
                if target is not None:
                    counts[target] = int(value)
        return types.MappingProxyType(counts)

    def arp_filter_on(self, interface: str) -> bool | None:
        """Whether arp_filter applies to ``interface``: the kernel ORs ``all`` with its own."""
        if self.arp_filter is None:
            return None
        values = [self.arp_filter.get("all"), self.arp_filter.get(interface)]
        if any(value for value in values):
            return True
        if any(value is None for value in values):
            return None
        return False

    def describe(self) -> str:
        """One line: whose facts these are and the most telling of them."""
        parts = [f"system facts of {self.hostname or 'an unnamed machine'}"]
        details = []
        if self.kernel_release:
            details.append(f"Linux {self.kernel_release}")
        if self.transparent_hugepages is not None and self.transparent_hugepages.mode:
            details.append(f"THP {self.transparent_hugepages.mode}")
        if self.ksm is not None and self.ksm.running is not None:
            details.append("KSM " + ("running" if self.ksm.running else "off"))
        if self.hugepages is not None:
            pools = [
                f"{self.hugepages.total_pages(size)} x {_size(size)}"
                for size in self.hugepages.sizes_kib
                if self.hugepages.total_pages(size)
            ]
            details.append("huge pages " + (", ".join(pools) if pools else "none"))
        if self.tuned is not None:
            details.append(f"tuned {self.tuned.profile or 'off'}")
        if details:
            parts.append("(" + ", ".join(details) + ")")
        return " ".join(parts)


_KERNEL_SIZE = re.compile(r"^(\d+)([KMGkmg]?)$")


def kernel_size_kib(text: str) -> int | None:
    """A size as the kernel's memparse reads it (``1G``, ``2M``, ``2048K``, bytes), in KiB."""
    match = _KERNEL_SIZE.match(text.strip())
    if match is None:
        return None
    size = (
        int(match.group(1)) * {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[match.group(2).upper()]
    )
    return size // 1024 if size and size % 1024 == 0 else None


def _size(kib: int) -> str:
    for unit, size in (("G", 1024**2), ("M", 1024)):
        if kib % size == 0:
            return f"{kib // size}{unit}"
    return f"{kib}K"
