"""The ``<system>`` section of a snapshot bundle: :class:`HostSystem` as XML, both ways.

Sizes are KiB and named so (``total-kib``); booleans are ``yes``/``no``; a
kernel setting shown with its options (``always [madvise] never``) is kept as
the kernel wrote it. An absent element or attribute is an unknown fact.
Elements and attributes this version does not know are ignored, so a snapshot
from a newer domxml-lint that only adds facts still loads; a value that is
malformed is an error naming the file and line. The README's "Snapshot
format" section lists every element.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from xml.sax.saxutils import escape

from lxml import etree

from ..cpuset import CpusetError, format_cpuset, parse_cpuset
from ..errors import InputError
from .system import (
    BlockDevice,
    Choice,
    DeviceNode,
    HostSystem,
    HugePagePool,
    HugePages,
    HugetlbfsMount,
    KernelModule,
    Ksm,
    Memory,
    Service,
    TransparentHugePages,
    Tuned,
)

Element = etree._Element

SYSTEM = "system"
UNKNOWN = "unknown"
_RETAKE = "domxml-lint writes this section; take the facts again with `domxml-lint host facts`"
# Characters XML 1.0 cannot hold at all; a kernel command line could in theory have them.
_ATTRIBUTE_ESCAPES = (("'", "&apos;"), ("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#9;"))
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# -- writing --------------------------------------------------------------------------------


def _text(value: str) -> str:
    value = _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return escape(value)


def _attrs(pairs: Iterable[tuple[str, object]]) -> str:
    out = []
    for name, value in pairs:
        if value is None:
            continue
        if isinstance(value, bool):
            value = "yes" if value else "no"
        text = _text(str(value))
        for char, reference in _ATTRIBUTE_ESCAPES:
            text = text.replace(char, reference)
        out.append(f" {name}='{text}'")
    return "".join(out)


def _empty(tag: str, pairs: Iterable[tuple[str, object]], indent: str) -> str:
    return f"{indent}<{tag}{_attrs(pairs)}/>"


def system_xml(system: HostSystem) -> str:
    """``<system>...</system>`` for a bundle (no XML declaration, no trailing newline)."""
    lines = [
        "<system"
        + _attrs(
            (
                ("hostname", system.hostname),
                ("kernel-release", system.kernel_release),
                ("collected", system.collected),
            )
        )
        + ">"
    ]
    add = lines.append
    ind, ind2, ind3 = "  ", "    ", "      "
    if system.cmdline is not None:
        add(f"{ind}<cmdline>{_text(system.cmdline)}</cmdline>")
    if system.memory is not None:
        m = system.memory
        add(
            _empty(
                "memory",
                (
                    ("total-kib", m.total_kib),
                    ("available-kib", m.available_kib),
                    ("swap-total-kib", m.swap_total_kib),
                ),
                ind,
            )
        )
    if system.numa_nodes is not None or system.numa_balancing is not None:
        nodes = None if system.numa_nodes is None else format_cpuset(system.numa_nodes)
        add(_empty("numa", (("nodes", nodes), ("balancing", system.numa_balancing)), ind))
    thp = system.transparent_hugepages
    if thp is not None:
        add(
            _empty(
                "transparent-hugepages",
                (
                    ("enabled", None if thp.enabled is None else str(thp.enabled)),
                    ("defrag", None if thp.defrag is None else str(thp.defrag)),
                ),
                ind,
            )
        )
    if system.ksm is not None:
        k = system.ksm
        add(
            _empty(
                "ksm",
                (
                    ("run", k.run),
                    ("merge-across-nodes", k.merge_across_nodes),
                    ("pages-to-scan", k.pages_to_scan),
                    ("sleep-millisecs", k.sleep_millisecs),
                    ("pages-shared", k.pages_shared),
                    ("pages-sharing", k.pages_sharing),
                ),
                ind,
            )
        )
    if system.hugepages is not None:
        h = system.hugepages
        head = f"{ind}<hugepages{_attrs((('default-size-kib', h.default_size_kib),))}"
        if not h.pools:
            add(head + "/>")
        else:
            add(head + ">")
            for pool in h.pools:
                add(
                    _empty(
                        "pool",
                        (
                            ("node", pool.node),
                            ("size-kib", pool.size_kib),
                            ("total", pool.total),
                            ("free", pool.free),
                            ("surplus", pool.surplus),
                        ),
                        ind2,
                    )
                )
            add(f"{ind}</hugepages>")
    if system.hugetlbfs_mounts is not None:
        _list(
            lines,
            "hugetlbfs-mounts",
            [
                _empty(
                    "mount",
                    (
                        ("path", mount.path),
                        ("page-size-kib", mount.page_size_kib),
                        ("explicit", mount.explicit),
                        ("options", mount.options),
                    ),
                    ind2,
                )
                for mount in system.hugetlbfs_mounts
            ],
        )
    if system.tuned is not None:
        t = system.tuned
        add(_empty("tuned", (("profile", t.profile), ("mode", t.mode), ("source", t.source)), ind))
    if system.services is not None:
        head = f"{ind}<services{_attrs((('systemd', system.systemd),))}"
        items = [
            _empty(
                "service",
                (
                    ("name", s.name),
                    ("enabled", s.enabled or UNKNOWN),
                    ("active", s.active or UNKNOWN),
                    ("installed", s.installed),
                ),
                ind2,
            )
            for s in system.services.values()
        ]
        _list(lines, "services", items, head=head)
    if system.modules is not None:
        items = []
        for module in system.modules.values():
            pairs = (("name", module.name), ("loaded", module.loaded))
            if not module.parameters:
                items.append(_empty("module", pairs, ind2))
                continue
            items.append(f"{ind2}<module{_attrs(pairs)}>")
            for name, value in module.parameters.items():
                items.append(
                    f"{ind3}<parameter{_attrs((('name', name),))}>{_text(value)}</parameter>"
                )
            items.append(f"{ind2}</module>")
        _list(lines, "modules", items)
    if system.devices is not None:
        _list(
            lines,
            "device-nodes",
            [
                _empty(
                    "node",
                    (
                        ("path", d.path),
                        ("exists", d.exists),
                        ("char-device", d.char_device),
                        ("mode", None if d.mode is None else f"{d.mode:04o}"),
                        ("owner", d.owner),
                        ("group", d.group),
                        ("accessible", d.accessible),
                    ),
                    ind2,
                )
                for d in system.devices.values()
            ],
        )
    if system.block_devices is not None:
        _list(
            lines,
            "block-devices",
            [
                _empty("device", (("name", b.name), ("scheduler", str(b.scheduler))), ind2)
                for b in system.block_devices.values()
            ],
        )
    if system.arp_filter is not None:
        _list(
            lines,
            "arp-filter",
            [
                _empty("conf", (("name", name), ("value", value)), ind2)
                for name, value in system.arp_filter.items()
            ],
        )
    add("</system>")
    return "\n".join(lines)


def _list(lines: list[str], tag: str, items: list[str], *, head: str | None = None) -> None:
    head = head if head is not None else f"  <{tag}"
    if not items:
        lines.append(head + "/>")
    else:
        lines.append(head + ">")
        lines.extend(items)
        lines.append(f"  </{tag}>")


# -- reading --------------------------------------------------------------------------------


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, element: Element, message: str) -> InputError:
        return InputError(self.source, message, hint=_RETAKE, line=element.sourceline)

    def uint(self, element: Element | None, name: str) -> int | None:
        if element is None:
            return None
        text = element.get(name)
        if text is None or text == UNKNOWN:
            return None
        if not text.isascii() or not text.isdigit():
            raise self.error(
                element, f"<{element.tag} {name}='{text}'> is not a non-negative integer"
            )
        return int(text)

    def required(self, element: Element, name: str) -> str:
        text = element.get(name)
        if text is None:
            raise self.error(element, f"<{element.tag}> has no {name!r} attribute")
        return text

    def boolean(self, element: Element, name: str) -> bool | None:
        text = element.get(name)
        if text is None or text == UNKNOWN:
            return None
        if text not in ("yes", "no"):
            raise self.error(element, f"<{element.tag} {name}='{text}'> is neither yes nor no")
        return text == "yes"

    def word(self, element: Element, name: str) -> str | None:
        text = element.get(name)
        return None if text is None or text == UNKNOWN else text

    def choice(self, element: Element, name: str) -> Choice | None:
        text = element.get(name)
        return None if text is None else Choice.parse(text)

    def mode(self, element: Element) -> int | None:
        text = element.get("mode")
        if text is None:
            return None
        if re.fullmatch(r"[0-7]{1,4}", text) is None:
            raise self.error(element, f"<{element.tag} mode='{text}'> is not an octal mode")
        return int(text, 8)


def _child(parent: Element, tag: str) -> Element | None:
    for child in parent.iterchildren(tag):
        return child
    return None


def parse_system(root: Element, source: str) -> HostSystem:
    """A ``<system>`` element of a bundle."""
    read = _Reader(source)
    cmdline = _child(root, "cmdline")
    memory = _child(root, "memory")
    numa = _child(root, "numa")
    thp = _child(root, "transparent-hugepages")
    ksm = _child(root, "ksm")
    hugepages = _child(root, "hugepages")
    mounts = _child(root, "hugetlbfs-mounts")
    tuned = _child(root, "tuned")
    services = _child(root, "services")
    modules = _child(root, "modules")
    devices = _child(root, "device-nodes")
    blocks = _child(root, "block-devices")
    arp = _child(root, "arp-filter")
    return HostSystem(
        hostname=root.get("hostname"),
        kernel_release=root.get("kernel-release"),
        collected=root.get("collected"),
        cmdline=None if cmdline is None else (cmdline.text or ""),
        memory=None
        if memory is None
        else Memory(
            total_kib=read.uint(memory, "total-kib"),
            available_kib=read.uint(memory, "available-kib"),
            swap_total_kib=read.uint(memory, "swap-total-kib"),
        ),
        numa_nodes=_nodes(read, numa),
        numa_balancing=read.uint(numa, "balancing"),
        transparent_hugepages=None
        if thp is None
        else TransparentHugePages(
            enabled=read.choice(thp, "enabled"), defrag=read.choice(thp, "defrag")
        ),
        ksm=None
        if ksm is None
        else Ksm(
            run=read.uint(ksm, "run"),
            merge_across_nodes=read.uint(ksm, "merge-across-nodes"),
            pages_to_scan=read.uint(ksm, "pages-to-scan"),
            sleep_millisecs=read.uint(ksm, "sleep-millisecs"),
            pages_shared=read.uint(ksm, "pages-shared"),
            pages_sharing=read.uint(ksm, "pages-sharing"),
        ),
        hugepages=None
        if hugepages is None
        else HugePages(
            default_size_kib=read.uint(hugepages, "default-size-kib"),
            pools=[_pool(read, pool) for pool in hugepages.iterchildren("pool")],
        ),
        hugetlbfs_mounts=None
        if mounts is None
        else [
            HugetlbfsMount(
                path=read.required(mount, "path"),
                page_size_kib=read.uint(mount, "page-size-kib"),
                explicit=bool(read.boolean(mount, "explicit")),
                options=mount.get("options", ""),
            )
            for mount in mounts.iterchildren("mount")
        ],
        tuned=None
        if tuned is None
        else Tuned(
            profile=tuned.get("profile", ""),
            mode=tuned.get("mode"),
            source=tuned.get("source", ""),
        ),
        systemd=None if services is None else read.boolean(services, "systemd"),
        services=None
        if services is None
        else {
            service.name: service
            for service in (
                Service(
                    name=read.required(element, "name"),
                    enabled=read.word(element, "enabled"),
                    active=read.word(element, "active"),
                    installed=read.boolean(element, "installed"),
                )
                for element in services.iterchildren("service")
            )
        },
        modules=None
        if modules is None
        else {
            module.name: module
            for module in (_module(read, element) for element in modules.iterchildren("module"))
        },
        devices=None
        if devices is None
        else {
            node.path: node
            for node in (
                DeviceNode(
                    path=read.required(element, "path"),
                    exists=bool(read.boolean(element, "exists")),
                    char_device=read.boolean(element, "char-device"),
                    mode=read.mode(element),
                    owner=element.get("owner"),
                    group=element.get("group"),
                    accessible=read.boolean(element, "accessible"),
                )
                for element in devices.iterchildren("node")
            )
        },
        block_devices=None
        if blocks is None
        else {
            device.name: device
            for device in (
                BlockDevice(
                    name=read.required(element, "name"),
                    scheduler=Choice.parse(read.required(element, "scheduler")),
                )
                for element in blocks.iterchildren("device")
            )
        },
        arp_filter=None
        if arp is None
        else {
            read.required(element, "name"): _required_uint(read, element, "value")
            for element in arp.iterchildren("conf")
        },
        source=source,
    )


def _required_uint(read: _Reader, element: Element, name: str) -> int:
    value = read.uint(element, name)
    if value is None:
        raise read.error(element, f"<{element.tag}> has no {name!r} attribute")
    return value


def _nodes(read: _Reader, numa: Element | None) -> frozenset[int] | None:
    if numa is None or numa.get("nodes") is None:
        return None
    text = numa.get("nodes", "")
    if not text.strip():
        return frozenset()
    try:
        return parse_cpuset(text, allow_empty=True)
    except CpusetError as exc:
        raise read.error(numa, f"<numa nodes='{text}'> {exc}") from None


def _pool(read: _Reader, element: Element) -> HugePagePool:
    return HugePagePool(
        node=read.uint(element, "node"),
        size_kib=_required_uint(read, element, "size-kib"),
        total=read.uint(element, "total"),
        free=read.uint(element, "free"),
        surplus=read.uint(element, "surplus"),
    )


def _module(read: _Reader, element: Element) -> KernelModule:
    parameters = {}
    for parameter in element.iterchildren("parameter"):
        parameters[read.required(parameter, "name")] = parameter.text or ""
    loaded = read.boolean(element, "loaded")
    if loaded is None:
        raise read.error(element, "<module> has no 'loaded' attribute")
    return KernelModule(read.required(element, "name"), loaded=loaded, parameters=parameters)
