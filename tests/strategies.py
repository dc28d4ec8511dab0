"""Hypothesis strategies that write XML the way people and tools do.

Documents mix quote styles, comments, processing instructions, CDATA, namespaced elements and
attributes, non-ASCII text, self-closing and open tags, and attributes spread
over several lines, in a chosen indentation and newline style.
"""

from __future__ import annotations

import attrs as _attrs
from hypothesis import strategies as st

NAMES = ["disk", "driver", "source", "target", "cpu", "numa", "cell", "memory", "x", "y-z", "a.b"]
NS_NAMES = ["qemu:arg", "qemu:env", "libosinfo:os"]
ATTR_NAMES = ["type", "name", "cache", "io", "dev", "bus", "id", "value"]
NS_ATTR_NAMES = ["qemu:id", "libosinfo:id"]
NAMESPACES = (
    " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"
    ' xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"'
)

# Characters valid in XML 1.0 text, including non-ASCII and astral ones.
TEXT_CHARS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff", min_codepoint=0x20
)
safe_text = st.text(TEXT_CHARS, max_size=12)


def escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_attr(text: str, quote: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return text.replace(quote, "&apos;" if quote == "'" else "&quot;")


@st.composite
def element_trees(draw, depth: int = 0):
    """(name, [(attr, value, quote, newline_before)], text, cdata, comment_or_pi, children)."""
    name = draw(st.sampled_from(NAMES + NS_NAMES)) if depth else "domain"
    attr_names = draw(
        st.lists(st.sampled_from(ATTR_NAMES + NS_ATTR_NAMES), unique=True, max_size=4)
    )
    attrs = [
        (a, draw(safe_text), draw(st.sampled_from(["'", '"'])), draw(st.booleans()))
        for a in attr_names
    ]
    children = []
    if depth < 3:
        children = draw(st.lists(element_trees(depth + 1), max_size=4 if depth else 6))
    text = draw(st.none() | safe_text) if not children else None
    cdata = draw(st.booleans()) if text else False
    # Markup-like text inside comments and processing instructions must not be read as tags.
    misc_text = st.sampled_from(["</disk>", "<x/>", "a<b>c", ""]) | st.text(TEXT_CHARS, max_size=10)
    comment = draw(
        st.none()
        | misc_text.filter(lambda t: "--" not in t and not t.endswith("-")).map(
            lambda t: f"<!--{t}-->"
        )
        | misc_text.filter(lambda t: "?>" not in t).map(lambda t: f"<?pi {t}?>")
    )
    return (name, attrs, text, cdata, comment, children)


def serialize(tree, indent: str, newline: str, level: int = 0) -> str:
    name, attrs, text, cdata, comment, children = tree
    pad = indent * level
    out = ""
    if comment is not None and level:
        out += f"{pad}{comment}{newline}"
    attr_text = ""
    for attr, value, quote, wrap in attrs:
        sep = newline + pad + indent * 2 if wrap else " "
        attr_text += f"{sep}{attr}={quote}{escape_attr(value, quote)}{quote}"
    if level == 0:
        attr_text = NAMESPACES + attr_text
    if children:
        inner = "".join(serialize(c, indent, newline, level + 1) for c in children)
        out += f"{pad}<{name}{attr_text}>{newline}{inner}{pad}</{name}>{newline}"
    elif text is not None:
        body = f"<![CDATA[{text.replace(']]>', '')}]]>" if cdata else escape_text(text)
        out += f"{pad}<{name}{attr_text}>{body}</{name}>{newline}"
    else:
        out += f"{pad}<{name}{attr_text}/>{newline}"
    return out


@st.composite
def xml_documents(draw) -> bytes:
    tree = draw(element_trees())
    indent = draw(st.sampled_from(["  ", "    ", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    declaration = draw(st.sampled_from(["", "<?xml version='1.0' encoding='UTF-8'?>" + newline]))
    return (declaration + serialize(tree, indent, newline)).encode("utf-8")


# -- realistic libvirt domains -----------------------------------------------------------------
#
# A domain is drawn as a tree of Node(tag, attributes, children, text) with values
# a KVM user writes: vCPU counts and topologies, pins and cpusets with ranges and
# exclusions, numatune, guest NUMA cells, memory backing, memtune, disks with
# driver attributes, NICs with queues, controllers and host devices. Values are
# mostly sane and sometimes wrong in the ways the rules look for (a pin beyond
# the vCPU count, io='native' without a direct cache mode, an empty cpuset).
# With ``valid_only`` every value fits libvirt's RelaxNG schema; otherwise a few
# schema-invalid values are mixed in too. Then the tree is written in a drawn
# style: quote character (sometimes mixed), indentation, newline, comments
# between elements, attributes wrapped over lines, empty elements as <x/> or <x></x>.


@_attrs.frozen
class Node:
    tag: str
    attributes: tuple[tuple[str, str], ...] = ()
    children: tuple[Node, ...] = ()
    text: str | None = None


def node(
    tag: str, attributes: dict[str, object] | None = None, *children: Node, text: object = None
) -> Node:
    pairs = tuple((k, str(v)) for k, v in (attributes or {}).items() if v is not None)
    return Node(
        tag, pairs, tuple(c for c in children if c is not None), None if text is None else str(text)
    )


HOST_CPUS = 64  # host CPU ids drawn below this
MEMORY_UNITS = {"KiB": 1, "MiB": 1024, "GiB": 1024**2}


@st.composite
def cpusets(draw, limit: int = HOST_CPUS, valid: bool = True) -> str:
    """libvirt cpuset text: ids, ranges N-M and exclusions ^N, e.g. ``0-7,^5,10``."""
    fields = []
    for _ in range(draw(st.integers(1, 4))):
        low = draw(st.integers(0, limit - 1))
        kind = draw(st.sampled_from(["id", "range", "range", "exclude"]))
        if kind == "id":
            fields.append(str(low))
        elif kind == "range":
            fields.append(f"{low}-{draw(st.integers(low, min(limit - 1, low + 15)))}")
        elif fields:
            fields.append(f"^{low}")
    if not _cpuset_ids(fields):  # exclusions took every id: libvirt refuses an empty set
        fields.append(str(draw(st.integers(0, limit - 1))))
    if not valid and draw(st.integers(0, 9)) == 0:
        fields.append(draw(st.sampled_from(["5-2", "^0", "99999", "0-16384"])))  # libvirt refuses
    return ",".join(fields)


def _cpuset_ids(fields: list[str]) -> set[int]:
    ids: set[int] = set()
    for field in fields:
        if field.startswith("^"):
            ids.discard(int(field[1:]))
        else:
            low, _, high = field.partition("-")
            ids.update(range(int(low), int(high or low) + 1))
    return ids


@st.composite
def memory_sizes(
    draw, low_kib: int = 256 * 1024, high_kib: int = 64 * 1024**2
) -> tuple[int, str, str]:
    """(KiB, value text, unit) with the value exact in the drawn unit."""
    unit = draw(st.sampled_from(sorted(MEMORY_UNITS)))
    scale = MEMORY_UNITS[unit]
    value = draw(st.integers(max(1, low_kib // scale), max(1, high_kib // scale)))
    return value * scale, str(value), unit


@st.composite
def domain_trees(draw, valid_only: bool = False) -> Node:
    valid = valid_only or draw(st.integers(0, 4)) > 0
    virt_type = draw(st.sampled_from(["kvm"] * 6 + ["qemu", "xen", "lxc"]))
    vcpus = draw(st.sampled_from([1, 2, 4, 8, 16, 24, 32, 64]))
    memory_kib, memory_text, memory_unit = draw(memory_sizes())
    top: list[Node | None] = [
        node("name", text=f"guest-{draw(st.integers(0, 999))}"),
        node("uuid", text="c7a5fdbd-edaf-9455-926a-d65c16db1809") if draw(st.booleans()) else None,
        node("memory", {"unit": memory_unit}, text=memory_text),
    ]
    if draw(st.booleans()):
        current_kib = draw(st.sampled_from([memory_kib, memory_kib // 2, memory_kib * 2]))
        top.append(node("currentMemory", {"unit": "KiB"}, text=current_kib))
    vcpu_attrs: dict[str, object] = {
        "placement": draw(st.sampled_from(["static", "static", "auto", None]))
    }
    if draw(st.booleans()):
        vcpu_attrs["cpuset"] = draw(cpusets(valid=valid))
    if draw(st.integers(0, 3)) == 0:
        vcpu_attrs["current"] = draw(st.integers(1, vcpus))
    top.append(node("vcpu", vcpu_attrs, text=vcpus))
    iothreads = draw(st.integers(0, 4))
    if iothreads:
        top.append(node("iothreads", text=iothreads))
    top.append(draw(cputunes(vcpus, iothreads, valid)))
    cells = draw(st.integers(0, min(4, vcpus)))  # each guest NUMA cell needs a vCPU of its own
    top.append(draw(numatunes(cells, valid)))
    top.append(draw(memory_backings(cells, valid)))
    top.append(draw(memtunes(memory_kib)))
    top.append(
        node(
            "os",
            {},
            node(
                "type",
                {
                    "arch": "x86_64",
                    "machine": draw(st.sampled_from(["pc-q35-8.2", "q35", "pc-i440fx-7.2", "pc"])),
                },
                text="hvm",
            ),
            node("boot", {"dev": "hd"}),
        )
    )
    top.append(node("features", {}, node("acpi"), node("apic")) if draw(st.booleans()) else None)
    top.append(draw(cpu_elements(vcpus, cells, memory_kib, valid)))
    top.append(node("on_crash", text="restart") if draw(st.booleans()) else None)
    top.append(draw(device_lists(vcpus, iothreads, valid, virt_type)))
    children = [c for c in top if c is not None]
    fixed = 2 if children[1].tag == "uuid" else 1  # the schema wants <name> then <uuid> first
    order = draw(st.permutations(range(fixed, len(children))))  # the rest it interleaves
    children = (
        [*children[:fixed], *(children[i] for i in order)] if draw(st.booleans()) else children
    )
    return node("domain", {"type": virt_type}, *children)


@st.composite
def cputunes(draw, vcpus: int, iothreads: int, valid: bool) -> Node | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    children: list[Node] = []
    pinned = draw(st.sampled_from(["all", "some", "none"]))
    count = vcpus if pinned == "all" else draw(st.integers(0, vcpus)) if pinned == "some" else 0
    for vcpu in range(count):
        children.append(node("vcpupin", {"vcpu": vcpu, "cpuset": draw(cpusets(valid=valid))}))
    if not valid and draw(st.booleans()):
        children.append(node("vcpupin", {"vcpu": vcpus + draw(st.integers(0, 3)), "cpuset": "0"}))
    if draw(st.booleans()):
        children.append(node("emulatorpin", {"cpuset": draw(cpusets(valid=valid))}))
    for thread in range(1, iothreads + 1):
        if draw(st.booleans()):
            children.append(
                node("iothreadpin", {"iothread": thread, "cpuset": draw(cpusets(valid=valid))})
            )
    if draw(st.integers(0, 3)) == 0:
        children.append(node("shares", text=draw(st.sampled_from([1024, 2048]))))
    if draw(st.integers(0, 3)) == 0:
        children.append(
            node("vcpusched", {"vcpus": f"0-{vcpus - 1}", "scheduler": "fifo", "priority": 1})
        )
    return node("cputune", {}, *draw(st.permutations(children))) if children else None


@st.composite
def numatunes(draw, cells: int, valid: bool) -> Node | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    mode = draw(st.sampled_from(["strict", "interleave", "preferred", "restrictive", None]))
    automatic = draw(st.integers(0, 4)) == 0
    if automatic:
        memory = node("memory", {"mode": mode, "placement": "auto"})
    else:
        memory = node("memory", {"mode": mode, "nodeset": draw(cpusets(limit=4, valid=valid))})
    # libvirt: memnodes need explicit placement, and restrictive memory wants them restrictive
    node_modes = ["restrictive"] if mode == "restrictive" and valid else ["strict", "preferred"]
    memnodes = [
        node(
            "memnode",
            {
                "cellid": cell,
                "mode": draw(st.sampled_from(node_modes)),
                "nodeset": draw(cpusets(limit=4, valid=valid)),
            },
        )
        for cell in range(cells)
        if draw(st.booleans()) and not (automatic and valid)
    ]
    return node("numatune", {}, memory, *memnodes)


@st.composite
def memory_backings(draw, cells: int, valid: bool) -> Node | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    children: list[Node] = []
    if draw(st.booleans()):
        pages = []
        free_cells = list(range(cells))
        for number in range(draw(st.integers(0, 2 if cells or not valid else 1))):
            size, unit = draw(
                st.sampled_from([("2048", "KiB"), ("2", "MiB"), ("1", "GiB"), ("1048576", "KiB")])
            )
            if not valid:
                nodeset = draw(cpusets(limit=max(cells, 1), valid=False)) if cells else None
            elif number and not free_cells:
                break
            elif number or (free_cells and draw(st.booleans())):
                # libvirt: one default page size at most (no nodeset), and page nodesets
                # that do not intersect; each names guest cells
                nodeset = str(free_cells.pop(draw(st.integers(0, len(free_cells) - 1))))
            else:
                nodeset = None
            pages.append(node("page", {"size": size, "unit": unit, "nodeset": nodeset}))
        children.append(node("hugepages", {}, *pages))
    for flag in ("nosharepages", "locked"):
        if draw(st.booleans()):
            children.append(node(flag))
    if draw(st.booleans()):
        children.append(
            node("source", {"type": draw(st.sampled_from(["file", "anonymous", "memfd"]))})
        )
    if draw(st.booleans()):
        children.append(node("access", {"mode": draw(st.sampled_from(["shared", "private"]))}))
    if draw(st.booleans()):
        children.append(
            node("allocation", {"mode": draw(st.sampled_from(["immediate", "ondemand"]))})
        )
    return node("memoryBacking", {}, *children) if children else None


@st.composite
def memtunes(draw, memory_kib: int) -> Node | None:
    if draw(st.integers(0, 2)) == 0:
        return None
    children = []
    for tag, factor in (
        ("hard_limit", [1, 2, 0.5]),
        ("soft_limit", [0.5, 1, 3]),
        ("swap_hard_limit", [1, 3, 0.25]),
        ("min_guarantee", [0.25, 1]),
    ):
        if draw(st.booleans()):
            kib = int(memory_kib * draw(st.sampled_from(factor)))
            unit = draw(st.sampled_from(["KiB", "MiB", None]))
            value = kib if unit in ("KiB", None) else max(1, kib // 1024)
            children.append(node(tag, {"unit": unit}, text=value))
    return node("memtune", {}, *children) if children else None


@st.composite
def cpu_elements(draw, vcpus: int, cells: int, memory_kib: int, valid: bool) -> Node | None:
    if draw(st.integers(0, 3)) == 0 and not cells:
        return None
    mode = draw(st.sampled_from(["host-passthrough", "host-model", "custom"]))
    children: list[Node] = []
    attributes: dict[str, object] = {"mode": mode}
    if mode == "custom":
        attributes["match"] = "exact"
        children.append(
            node(
                "model",
                {"fallback": "allow"},
                text=draw(st.sampled_from(["Skylake-Server", "EPYC", "qemu64"])),
            )
        )
    if draw(st.booleans()):
        threads = draw(st.sampled_from([1, 2]))
        cores = draw(st.sampled_from([1, 2, 4, 8]))
        sockets = (
            max(1, vcpus // (threads * cores)) if draw(st.booleans()) else draw(st.integers(1, 4))
        )
        topology = {
            "sockets": sockets,
            "dies": draw(st.sampled_from([None, 1])),
            "cores": cores,
            "threads": threads,
        }
        children.append(node("topology", topology))
    if draw(st.integers(0, 4)) == 0:
        children.append(node("feature", {"policy": "require", "name": "pmu"}))
    if cells:
        per_cell = max(1, vcpus // cells)
        numa = []
        for cell in range(cells):
            first = min(cell * per_cell, vcpus - 1)
            last = min(first + per_cell - 1, vcpus - 1)
            cpus = f"{first}-{last}" if last > first else str(first)
            if not valid and draw(st.integers(0, 5)) == 0:
                cpus = f"{first}-{last + 2}"  # overlaps the next cell or runs past the vCPUs
            size = max(1, memory_kib // cells)
            numa.append(
                node(
                    "cell",
                    {
                        "id": cell,
                        "cpus": cpus,
                        "memory": size,
                        "unit": "KiB",
                        "memAccess": draw(st.sampled_from([None, "shared", "private"])),
                    },
                )
            )
        children.append(node("numa", {}, *numa))
    return node("cpu", attributes, *children)


DISK_CACHES = ["none", "writeback", "writethrough", "directsync", "unsafe", "default", None]


@st.composite
def disks(draw, index: int, iothreads: int, valid: bool) -> Node:
    kind = draw(st.sampled_from(["file", "file", "block"]))
    bus = draw(st.sampled_from(["virtio", "virtio", "scsi", "sata", "ide", "usb"]))
    prefix = {"virtio": "vd", "scsi": "sd", "sata": "sd", "ide": "hd", "usb": "sd"}[bus]
    driver: dict[str, object] = {
        "name": "qemu",
        "type": draw(st.sampled_from(["raw", "qcow2"])),
        "cache": draw(st.sampled_from(DISK_CACHES)),
        "io": draw(st.sampled_from(["native", "threads", "io_uring", None])),
        "discard": draw(st.sampled_from(["unmap", "ignore", None])),
    }
    if bus == "virtio" and draw(st.booleans()):
        driver["queues"] = draw(st.integers(1, 8))
    if iothreads and bus == "virtio" and draw(st.booleans()):
        driver["iothread"] = draw(st.integers(1, iothreads + (0 if valid else 1)))
    if not valid and draw(st.integers(0, 9)) == 0:
        driver["cache"] = "fast"  # not a cache mode: schema-invalid
    attributes = list(driver.items())
    order = draw(st.permutations(range(len(attributes))))
    source = (
        {"file": f"/var/lib/libvirt/images/disk{index}.img"}
        if kind == "file"
        else {"dev": f"/dev/vg0/lv{index}"}
    )
    device = draw(st.sampled_from(["disk", "disk", "cdrom"]))
    children = [
        node("driver", dict(attributes[i] for i in order)),
        node("source", source),
        node("target", {"dev": f"{prefix}{chr(97 + index)}", "bus": bus}),
    ]
    if device == "cdrom" or draw(st.integers(0, 5)) == 0:
        children.append(node("readonly"))
    elif draw(st.integers(0, 6)) == 0:
        children.append(node("shareable"))
    return node("disk", {"type": kind, "device": device}, *children)


@st.composite
def interfaces(draw, index: int, vcpus: int, valid: bool) -> Node:
    kind = draw(st.sampled_from(["network", "bridge", "direct", "user"]))
    source = {
        "network": {"network": "default"},
        "bridge": {"bridge": "br0"},
        "direct": {"dev": "eth0", "mode": "bridge"},
        "user": None,
    }[kind]
    model = draw(st.sampled_from(["virtio", "virtio", "e1000", "rtl8139", "e1000e"]))
    children = [
        node("mac", {"address": f"52:54:00:00:00:{index:02x}"}),
        node("source", source) if source else None,
        node("model", {"type": model}),
    ]
    if draw(st.booleans()):
        queues = draw(st.sampled_from([1, 2, 4, 8, vcpus, vcpus * 2]))
        children.append(
            node(
                "driver", {"name": draw(st.sampled_from(["vhost", "qemu", None])), "queues": queues}
            )
        )
    return node("interface", {"type": kind}, *children)


@st.composite
def controllers(draw, vcpus: int) -> list[Node]:
    found = []
    if draw(st.booleans()):
        model = draw(st.sampled_from(["virtio-scsi", "virtio-scsi", "lsilogic"]))
        driver = (
            node("driver", {"queues": draw(st.sampled_from([1, 4, vcpus, vcpus * 2]))})
            if model == "virtio-scsi" and draw(st.booleans())
            else None
        )
        found.append(node("controller", {"type": "scsi", "index": 0, "model": model}, driver))
    if draw(st.booleans()):
        found.append(
            node(
                "controller",
                {
                    "type": "usb",
                    "index": 0,
                    "model": draw(st.sampled_from(["qemu-xhci", "none", "piix3-uhci"])),
                },
            )
        )
    if draw(st.booleans()):
        found.append(node("controller", {"type": "pci", "index": 0, "model": "pcie-root"}))
    return found


@st.composite
def hostdevs(draw, index: int) -> Node:
    address = {
        "domain": "0x0000",
        "bus": f"0x{draw(st.integers(0, 0x40)):02x}",
        "slot": f"0x{index:02x}",  # one device per slot: libvirt refuses the same one twice
        "function": f"0x{draw(st.integers(0, 7))}",
    }
    return node(
        "hostdev",
        {"mode": "subsystem", "type": "pci", "managed": "yes"},
        node("source", {}, node("address", address)),
    )


@st.composite
def device_lists(draw, vcpus: int, iothreads: int, valid: bool, virt_type: str) -> Node:
    children: list[Node] = (
        [node("emulator", text="/usr/libexec/qemu-kvm")] if draw(st.booleans()) else []
    )
    children += [
        draw(disks(i, iothreads, valid)) for i in range(draw(st.sampled_from([0, 1, 2, 2, 3, 4])))
    ]
    found = draw(controllers(vcpus))
    children += found
    children += [draw(interfaces(i, vcpus, valid)) for i in range(draw(st.integers(0, 3)))]
    children += [draw(hostdevs(i)) for i in range(draw(st.integers(0, 2)))]
    usb_off = any(c.tag == "controller" and ("model", "none") in c.attributes for c in found)
    if draw(st.booleans()) and not (valid and usb_off):  # a USB tablet needs a USB bus
        children.append(node("input", {"type": "tablet", "bus": "usb"}))
    if draw(st.booleans()):
        children.append(node("sound", {"model": "ich9"}))
    if draw(st.booleans()):
        children.append(node("memballoon", {"model": "virtio"}))
    return node("devices", {}, *children)


@_attrs.frozen
class XmlStyle:
    quote: str
    mixed_quotes: bool
    indent: str
    newline: str
    comments: bool
    wrap_attributes: bool
    open_empty: bool  # write empty elements as <x></x> rather than <x/>
    declaration: bool
    suppressions: bool  # some comments are domxml-lint suppressions, used or not


xml_styles = st.builds(
    XmlStyle,
    quote=st.sampled_from(["'", '"']),
    mixed_quotes=st.booleans(),
    indent=st.sampled_from(["  ", "    ", "\t"]),
    newline=st.sampled_from(["\n", "\n", "\r\n"]),
    comments=st.booleans(),
    wrap_attributes=st.booleans(),
    open_empty=st.booleans(),
    declaration=st.booleans(),
    suppressions=st.booleans(),
)

SUPPRESSED = ["DX401", "DX404", "DX105", "disk-cache-unsafe", "DX4", "ZZ999"]


def write_xml(tree: Node, style: XmlStyle) -> bytes:
    """Serialise ``tree`` in ``style``; per-element choices come from a stable hash of the path."""
    out: list[str] = []
    nl = style.newline
    if style.declaration:
        out.append(
            f"<?xml version={style.quote}1.0{style.quote} "
            f"encoding={style.quote}UTF-8{style.quote}?>{nl}"
        )

    def write(item: Node, level: int, path: str) -> None:
        pad = style.indent * level
        if style.comments and level and _stable(path, 4) == 0:
            out.append(f"{pad}<!-- {item.tag} \u00e9t\u00e9 -->{nl}")
        if style.suppressions and level and _stable(path + "#", 5) == 0:
            kind = "disable-file" if _stable(path + "!", 7) == 0 else "disable"
            out.append(
                f"{pad}<!-- domxml-lint: {kind}="
                f"{SUPPRESSED[_stable(path, len(SUPPRESSED))]} -->{nl}"
            )
        parts = []
        for position, (name, value) in enumerate(item.attributes):
            quote = style.quote
            if style.mixed_quotes and _stable(f"{path}@{name}", 3) == 0:
                quote = "'" if quote == '"' else '"'
            separator = " "
            if style.wrap_attributes and position and _stable(f"{path}@{name}~", 5) == 0:
                separator = nl + pad + style.indent * 2
            parts.append(f"{separator}{name}={quote}{escape_attr(value, quote)}{quote}")
        start = f"<{item.tag}{''.join(parts)}"
        if item.children:
            out.append(f"{pad}{start}>{nl}")
            for number, child in enumerate(item.children):
                write(child, level + 1, f"{path}/{child.tag}[{number}]")
            out.append(f"{pad}</{item.tag}>{nl}")
        elif item.text is not None:
            out.append(f"{pad}{start}>{escape_text(item.text)}</{item.tag}>{nl}")
        elif style.open_empty and _stable(path, 2) == 0:
            out.append(f"{pad}{start}></{item.tag}>{nl}")
        else:
            out.append(f"{pad}{start}/>{nl}")

    write(tree, 0, "/" + tree.tag)
    return "".join(out).encode("utf-8")


def _stable(key: str, modulo: int) -> int:
    """A deterministic small number from ``key`` (not ``hash``: that varies per process)."""
    total = 0
    for char in key:
        total = (total * 31 + ord(char)) & 0xFFFFFFFF
    return total % modulo


@st.composite
def domain_documents(draw, valid_only: bool = False) -> bytes:
    """A realistic domain definition, written in a drawn style."""
    return write_xml(draw(domain_trees(valid_only=valid_only)), draw(xml_styles))


# -- host snapshots ----------------------------------------------------------------------------


@st.composite
def capabilities_documents(draw) -> bytes:
    """``virsh capabilities`` of a drawn host: NUMA cells with CPUs (socket/die/core/siblings),
    memory, huge page pools and distances, and the host CPU's supported page sizes."""
    cells = draw(st.integers(1, 4))
    cores_per_cell = draw(st.sampled_from([2, 4, 8]))
    threads = draw(st.sampled_from([1, 2]))
    page_sizes = [4, 2048, 1048576]
    cell_nodes = []
    cpu_id = 0
    for cell in range(cells):
        memory_kib = draw(st.sampled_from([4, 8, 16, 64])) * 1024**2
        cpus = []
        for core in range(cores_per_cell):
            ids = [cpu_id + t for t in range(threads)]
            siblings = ",".join(map(str, ids))
            for cpu in ids:
                cpus.append(
                    node(
                        "cpu",
                        {
                            "id": cpu,
                            "socket_id": cell,
                            "die_id": 0,
                            "cluster_id": 0,
                            "core_id": core,
                            "siblings": siblings,
                        },
                    )
                )
            cpu_id += threads
        pages = [
            node(
                "pages",
                {"unit": "KiB", "size": size},
                text=draw(st.sampled_from([0, 0, 512, 4096])) if size != 4 else memory_kib // 4,
            )
            for size in page_sizes
        ]
        distances = node(
            "distances",
            {},
            *(
                node("sibling", {"id": other, "value": 10 if other == cell else 21})
                for other in range(cells)
            ),
        )
        cell_nodes.append(
            node(
                "cell",
                {"id": cell},
                node("memory", {"unit": "KiB"}, text=memory_kib),
                *pages,
                distances,
                node("cpus", {"num": len(cpus)}, *cpus),
            )
        )
    host_cpu = node(
        "cpu",
        {},
        node("arch", text="x86_64"),
        node("model", text="Skylake-Client-IBRS"),
        node("vendor", text="Intel"),
        node(
            "topology", {"sockets": cells, "dies": 1, "cores": cores_per_cell, "threads": threads}
        ),
        *(node("pages", {"unit": "KiB", "size": size}) for size in page_sizes),
    )
    host = node(
        "host",
        {},
        node("uuid", text="2b6d3b9a-7f2c-4c52-b2d4-8e3f2d6a1c11"),
        host_cpu,
        node("power_management"),
        node("iommu", {"support": "yes"}),
        node("topology", {}, node("cells", {"num": cells}, *cell_nodes)),
    )
    guest = node(
        "guest",
        {},
        node("os_type", text="hvm"),
        node(
            "arch",
            {"name": "x86_64"},
            node("wordsize", text=64),
            node("emulator", text="/usr/bin/qemu-system-x86_64"),
            node("machine", {"maxCpus": 288}, text="pc-q35-8.2"),
            node("domain", {"type": "qemu"}),
            node("domain", {"type": "kvm"}),
        ),
    )
    tree = node("capabilities", {}, host, guest)
    return write_xml(tree, draw(xml_styles))
