"""What one QEMU binary supports, as libvirt probed it: its capabilities cache.

libvirt probes every QEMU binary it uses once and keeps what it learned in
``/var/cache/libvirt/qemu/capabilities/<hash>.xml`` (``qemu:///system``;
``~/.cache/libvirt/qemu/capabilities`` for ``qemu:///session``,
``ROOT/cache/qemu/capabilities`` for ``qemu:///embed?root=ROOT``), one
``<qemuCaps>`` document per binary, in the format of libvirt's own test data
(``tests/qemucapabilitiesdata/caps_*.xml``)::

    <qemuCaps>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <selfvers>10007000</selfvers>              <!-- the libvirt that probed it -->
      <flag name='virtio-sound'/>                <!-- one per QEMU_CAPS_* libvirt found -->
      <version>9001000</version>                 <!-- QEMU 9.1.0 -->
      <arch>x86_64</arch>
      <cpu type='kvm' name='Skylake-Client' typename='...' usable='yes'/>
      <machine type='kvm' name='pc-q35-9.1' alias='q35' maxCpus='4096'
               defaultRAMid='pc.ram' acpi='yes'/>
      ...
    </qemuCaps>

The flags are what libvirt's ``virQEMUCapsGet()`` answers: a check such as
"virtio-sound controller is not supported in this QEMU binary" fires exactly
when the binary's document lacks ``virtio-sound``. :func:`parse_qemu_caps`
reads a document into :class:`QemuCapabilities`; :func:`read_cache` collects a
cache directory for ``domxml-lint host snapshot``.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping

import attrs
from lxml import etree

from ..errors import InputError
from ..findings import as_tuple
from ..units import parse_uint
from ..versions import Version

Element = etree._Element

QEMU_CAPS = "qemuCaps"
#: Where libvirt's system daemon keeps the cache.
SYSTEM_CACHE = "/var/cache/libvirt/qemu/capabilities"
#: The accelerator libvirt files a domain type's CPU models and machines under.
ACCEL_OF_VIRT_TYPE = {"kvm": "kvm", "hvf": "hvf", "qemu": "tcg"}

_RECAPTURE = "libvirt never writes this; copy the file from libvirt's cache again"


def _frozen_mapping(value: Mapping[str, frozenset[str]]) -> Mapping[str, frozenset[str]]:
    import types

    return types.MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class QemuMachine:
    """A ``<machine>`` of the binary for one accelerator (``type``: kvm, hvf or tcg).

    ``default_ram_id`` is the id of the machine's main RAM region (QEMU 5.0's
    ``default-ram-id``; None when QEMU reports none); ``acpi`` whether the
    machine has ACPI (None when the document does not say: libvirt before 8.0).
    """

    accel: str
    name: str
    alias: str | None
    max_cpus: int | None
    default: bool
    default_ram_id: str | None
    acpi: bool | None


@attrs.frozen(slots=True)
class QemuCapabilities:
    """One ``<qemuCaps>`` document: a QEMU binary as libvirt probed it.

    ``version`` is QEMU's (``9001000`` -> 9.1.0); ``libvirt_version`` the
    libvirt that probed it (``<selfvers>``; None when the document says 0, as
    libvirt's test data does). ``cpu_models`` maps an accelerator (kvm, hvf,
    tcg) to the names of the CPU models QEMU offers with it.
    """

    emulator: str | None
    arch: str | None
    version: Version | None
    libvirt_version: Version | None
    package: str | None
    flags: frozenset[str]
    cpu_models: Mapping[str, frozenset[str]] = attrs.field(converter=_frozen_mapping)
    machines: tuple[QemuMachine, ...] = attrs.field(converter=as_tuple)
    raw: Element = attrs.field(eq=False, repr=False)
    source: str | None = attrs.field(default=None, eq=False)

    def has(self, flag: str) -> bool:
        return flag in self.flags

    def models_for(self, virt_type: str | None) -> frozenset[str] | None:
        """The CPU models QEMU offers a ``<domain type=virt_type>`` (None: the document lists
        none for its accelerator)."""
        return self.cpu_models.get(ACCEL_OF_VIRT_TYPE.get(virt_type or "", "kvm"))

    def machine(self, name: str | None, virt_type: str | None) -> QemuMachine | None:
        """The machine called ``name`` (or whose alias it is; None: the default machine)."""
        accel = ACCEL_OF_VIRT_TYPE.get(virt_type or "", "kvm")
        for machine in self.machines:
            if machine.accel != accel:
                continue
            if name is None and machine.default:
                return machine
            if name is not None and name in (machine.name, machine.alias):
                return machine
        return None

    @property
    def key(self) -> tuple[str | None, str | None]:
        return (self.emulator, self.arch)

    def describe(self) -> str:
        """``/usr/bin/qemu-system-x86_64 (QEMU 9.1.0, x86_64, 205 flags)``."""
        version = f"QEMU {self.version}" if self.version else "QEMU version unknown"
        return (
            f"{self.emulator or 'an unnamed QEMU binary'} ({version}, "
            f"{self.arch or 'arch unknown'}, {len(self.flags)} flags)"
        )


def parse_qemu_caps(root: Element, source: str) -> QemuCapabilities:
    """A ``<qemuCaps>`` document (libvirt's capabilities cache, or its test data)."""
    flags = set()
    for flag in root.iterchildren("flag"):
        name = flag.get("name")
        if not name:
            raise _error(source, flag, "<flag> without a name")
        flags.add(name)
    models: dict[str, set[str]] = {}
    for cpu in root.iterchildren("cpu"):
        name = cpu.get("name")
        if name:
            models.setdefault(cpu.get("type") or "kvm", set()).add(name)
    return QemuCapabilities(
        emulator=_text(root.find("emulator")),
        arch=_text(root.find("arch")),
        version=_version(source, root.find("version")),
        libvirt_version=_version(source, root.find("selfvers")),
        package=_text(root.find("package")),
        flags=frozenset(flags),
        cpu_models={accel: frozenset(names) for accel, names in models.items()},
        machines=tuple(_machine(source, m) for m in root.iterchildren("machine")),
        raw=root,
        source=source,
    )


def _machine(source: str, element: Element) -> QemuMachine:
    name = element.get("name")
    if not name:
        raise _error(source, element, "<machine> without a name")
    max_cpus = element.get("maxCpus")
    count = parse_uint(max_cpus) if max_cpus is not None else None
    if max_cpus is not None and count is None:
        raise _error(source, element, f"<machine maxCpus='{max_cpus}'> is not a number")
    acpi = element.get("acpi")
    return QemuMachine(
        accel=element.get("type") or "kvm",
        name=name,
        alias=element.get("alias"),
        max_cpus=count,
        default=element.get("default") == "yes",
        default_ram_id=element.get("defaultRAMid"),
        acpi=None if acpi is None else acpi == "yes",
    )


def _version(source: str, element: Element | None) -> Version | None:
    """libvirt's version numbers: major * 1000000 + minor * 1000 + micro (0: unknown)."""
    if element is None:
        return None
    number = parse_uint(element.text)
    if number is None:
        raise _error(source, element, f"<{element.tag}>{element.text}</{element.tag}> is no number")
    if number == 0:
        return None
    return Version(number // 1000000, number // 1000 % 1000, number % 1000)


def _text(element: Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _error(source: str, element: Element, message: str) -> InputError:
    return InputError(source, message, hint=_RECAPTURE, line=element.sourceline)


# -- libvirt's cache on this machine -------------------------------------------------------------


def cache_directory(uri: str | None) -> str | None:
    """Where libvirt's QEMU driver behind ``uri`` keeps its capabilities cache on this machine.

    None for other drivers and for remote URIs: their cache is on another machine.
    """
    if not uri:
        return SYSTEM_CACHE
    parts = urllib.parse.urlsplit(uri)
    driver, _plus, transport = parts.scheme.partition("+")
    if driver != "qemu" or parts.hostname or transport not in ("", "unix"):
        return None
    path = parts.path.rstrip("/")
    if path == "/system":
        return SYSTEM_CACHE
    if path == "/session":
        base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        return os.path.join(base, "libvirt", "qemu", "capabilities")
    if path == "/embed":
        root = urllib.parse.parse_qs(parts.query).get("root", [None])[0]
        return os.path.join(root, "cache", "qemu", "capabilities") if root else None
    return None


@attrs.frozen
class CacheRead:
    """The ``<qemuCaps>`` documents of a cache directory (file name, text) and notes."""

    documents: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]


def read_cache(directory: str) -> CacheRead:
    """Every ``<qemuCaps>`` document in ``directory``, sorted by file name.

    A directory that is missing or unreadable (root's, 0700, for the system
    daemon) gives no documents and a note saying so; so does a file that is not
    such a document. Nothing here fails.
    """
    try:
        names = sorted(n for n in os.listdir(directory) if n.endswith(".xml"))
    except FileNotFoundError:
        return CacheRead((), (f"no QEMU capabilities cache at {directory}",))
    except OSError as exc:
        return CacheRead(
            (),
            (
                f"cannot read libvirt's QEMU capabilities cache {directory}: "
                f"{exc.strerror or exc} (run as root, or copy its files and pass them "
                "with --qemu-caps)",
            ),
        )
    documents, notes = [], []
    for name in names:
        path = os.path.join(directory, name)
        text, note = read_cache_file(path)
        if text is None:
            notes.append(note)
        else:
            documents.append((path, text))
    return CacheRead(tuple(documents), tuple(notes))


def read_cache_file(path: str) -> tuple[str | None, str]:
    """One cache file's text if it is a ``<qemuCaps>`` document; else None and why not."""
    from ..document import Document

    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return None, f"cannot read {path}: {exc.strerror or exc}"
    try:
        doc = Document.parse(data, path)
    except InputError as exc:
        return None, f"{path} skipped: {exc.message}"
    if doc.root.tag != QEMU_CAPS:
        return None, f"{path} skipped: its root is <{doc.root.tag}>, not <{QEMU_CAPS}>"
    try:
        parse_qemu_caps(doc.root, path)
    except InputError as exc:
        return None, f"{path} skipped: {exc.message}"
    return data.decode("utf-8"), ""
