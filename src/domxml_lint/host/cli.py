"""``domxml-lint host ...``: capture a host snapshot, or show what host files hold.

    domxml-lint host snapshot [--connect URI] [-o FILE] [--machine M]... [--via ...]
                              [--facts FILE | --no-facts] [--qemu-caps PATH... | --no-qemu-caps]
    domxml-lint host facts [-o FILE] [--root DIR]
    domxml-lint host show FILE...

System facts (THP, KSM, huge pages, tuned, services ...) are read on the machine
the command runs on: ``snapshot`` takes them there when the libvirt URI is
local (or reaches this same machine), and otherwise leaves them out with a
warning; ``facts`` on the host itself and ``snapshot --facts FILE`` put them in.

Exit codes: 0 done; 2 usage error, unreachable or refused connection, bad file.
"""

from __future__ import annotations

import argparse
import datetime
import os
import socket
import sys
import tempfile
import urllib.parse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import DomxmlLintError
from ..live import VIA_CHOICES, capture_host, open_connection
from .qemu_caps import SYSTEM_CACHE

if TYPE_CHECKING:
    from ..live import Capture
    from .system import HostSystem

EXIT_OK, EXIT_ERROR = 0, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="domxml-lint host",
        description="Host snapshots for host-aware rules (`domxml-lint --host FILE`).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    snapshot = commands.add_parser(
        "snapshot",
        help="write a snapshot bundle from a live libvirt connection",
        description="Write one XML file holding the host's capabilities, domain capabilities "
        "(native arch and virt type, where the driver offers them), every PCI node device, "
        "the libvirt and QEMU versions, libvirt's cache of what each QEMU binary supports "
        "(when readable here; see --qemu-caps), and the system facts (THP, KSM, huge pages, "
        "tuned, services ...) of this machine when the URI is local (see --facts for a remote "
        "one). "
        "Commit it next to your domain XML and lint with --host.",
    )
    add_arguments(snapshot)
    facts = commands.add_parser(
        "facts",
        help="write this machine's system facts (THP, KSM, huge pages, tuned, services ...)",
        description="Write a snapshot bundle holding only this machine's system facts, read "
        "from /proc, /sys and /etc without changing anything. Run it on a libvirt host that "
        "`host snapshot` reaches remotely, then add the file with `host snapshot --facts FILE` "
        "or pass it to --host beside the snapshot.",
    )
    facts.add_argument(
        "-o", "--output", metavar="FILE", help="write the bundle here (default: standard output)"
    )
    facts.add_argument(
        "--root",
        metavar="DIR",
        default="/",
        help="read /proc, /sys, /etc, /dev and /run below DIR instead of / (a copied tree or a "
        "mounted image); systemctl and tuned-adm are then not run",
    )
    show = commands.add_parser(
        "show",
        help="summarise host files (capabilities, domain capabilities, node devices, bundles)",
    )
    show.add_argument("files", nargs="+", metavar="FILE")
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``host snapshot``."""
    parser.add_argument("--connect", metavar="URI", help="libvirt URI (default: libvirt's default)")
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the bundle here (default: standard output)"
    )
    parser.add_argument(
        "--machine",
        metavar="TYPE",
        action="append",
        default=[],
        help="also capture domain capabilities for this machine type (repeatable), e.g. q35",
    )
    parser.add_argument(
        "--via",
        choices=VIA_CHOICES,
        default="auto",
        help="how to reach libvirt (default: libvirt-python if installed, else virsh)",
    )
    qemu_caps = parser.add_mutually_exclusive_group()
    qemu_caps.add_argument(
        "--qemu-caps",
        metavar="PATH",
        action="append",
        default=[],
        help="add libvirt's QEMU capabilities cache from PATH (a directory such as "
        f"{SYSTEM_CACHE}, or one of its files; repeatable) instead of reading the "
        "connection's cache on this machine",
    )
    qemu_caps.add_argument(
        "--no-qemu-caps",
        action="store_true",
        help="record no QEMU capabilities (libvirt's cache of what each QEMU binary supports)",
    )
    facts = parser.add_mutually_exclusive_group()
    facts.add_argument(
        "--facts",
        metavar="FILE",
        help="take the system facts from FILE (written by `domxml-lint host facts` on the host) "
        "instead of reading this machine's",
    )
    facts.add_argument(
        "--no-facts", action="store_true", help="record no system facts, only libvirt's documents"
    )


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        if args.command == "snapshot":
            return run_snapshot(args)
        if args.command == "facts":
            return run_facts(args)
        return run_show(args)
    except DomxmlLintError as exc:
        print(f"domxml-lint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("domxml-lint: interrupted; nothing was written", file=sys.stderr)
        return 130


def run_snapshot(args: argparse.Namespace) -> int:
    given_facts = read_facts_file(args.facts) if args.facts else None
    connection = open_connection(args.connect, readonly=True, via=args.via)
    try:
        capture = capture_host(connection, machines=args.machine)
    finally:
        connection.close()
    notes = list(capture.notes)
    warnings: list[str] = []
    system_text = None
    if given_facts is not None:
        system_text, system = given_facts
        if not same_machine(system.hostname, capture.hostname):
            warnings.append(
                f"{args.facts} holds the facts of {system.hostname!r}, but {capture.uri} "
                f"names its host {capture.hostname!r}; check that they are one machine"
            )
    elif not args.no_facts:
        system_text = _facts_for(capture, notes, warnings)
    qemu_caps = _qemu_caps_for(args, capture.uri, notes)
    created = _now()
    data = capture.bundle(created=created, system=system_text, qemu_caps=qemu_caps)
    # Load what is about to be written: a bundle this command cannot read is never written.
    from .load import host_from_documents

    host = host_from_documents(("the new snapshot", data))
    where = _emit(args.output, data)
    for note in notes:
        print(f"domxml-lint: note: {note}", file=sys.stderr)
    for warning in warnings:
        print(f"domxml-lint: warning: {warning}", file=sys.stderr)
    print(f"domxml-lint: wrote {where} from {capture.uri}: {host.describe()}", file=sys.stderr)
    return EXIT_OK


def _qemu_caps_for(args: argparse.Namespace, uri: str, notes: list[str]) -> list[str]:
    """The ``<qemuCaps>`` documents to record: from ``--qemu-caps``, else the cache of the
    connection's QEMU driver when it is on this machine (libvirt refreshed the native
    binary's entry while answering ``domcapabilities``)."""
    from .qemu_caps import cache_directory, read_cache, read_cache_file

    if args.no_qemu_caps:
        return []
    paths = list(args.qemu_caps)
    if not paths:
        directory = cache_directory(uri)
        if directory is None:
            if uri.startswith("qemu"):
                notes.append(
                    f"QEMU capabilities skipped: libvirt's cache for {uri} is on that host; copy "
                    f"{SYSTEM_CACHE}/*.xml from it and add them with --qemu-caps"
                )
            return []
        paths = [directory]
    documents: list[str] = []
    for path in paths:
        if os.path.isdir(path) or not args.qemu_caps:
            found = read_cache(path)
            documents += [text for _name, text in found.documents]
            notes.extend(found.notes)
            if args.qemu_caps and not found.documents:
                notes.append(f"no QEMU capabilities in {path}")
            continue
        text, why = read_cache_file(path)
        if text is None:
            from ..errors import UsageError

            raise UsageError(f"--qemu-caps: {why}")
        documents.append(text)
    return documents


def _facts_for(capture: Capture, notes: list[str], warnings: list[str]) -> str | None:
    """This machine's ``<system>`` section for ``capture``, unless it is another machine's."""
    from .collect import collect_system
    from .system_xml import system_xml

    here = socket.gethostname()
    if is_remote_uri(capture.uri) and not same_machine(here, capture.hostname):
        target = capture.hostname or urllib.parse.urlsplit(capture.uri).hostname or capture.uri
        warnings.append(
            f"{capture.uri} is a remote URI: system facts (THP, KSM, huge pages, tuned, "
            f"services ...) can only be read on the machine itself, so none were recorded; "
            f"run `domxml-lint host facts -o facts.xml` on {target} and add them with "
            "`--facts facts.xml`"
        )
        return None
    collected = collect_system()
    notes.extend(collected.notes)
    if capture.hostname and not same_machine(here, capture.hostname):
        warnings.append(
            f"{capture.uri} names its host {capture.hostname!r}, but this machine is "
            f"{here!r}: the system facts recorded are this machine's"
        )
    return system_xml(collected.system)


def run_facts(args: argparse.Namespace) -> int:
    from .bundle import build_bundle
    from .collect import collect_system
    from .load import host_from_documents
    from .system_xml import system_xml

    if not os.path.isdir(args.root):
        from ..errors import UsageError

        raise UsageError(f"--root {args.root}: not a directory")
    collected = collect_system(os.path.abspath(args.root))
    data = build_bundle(
        [system_xml(collected.system)], created=_now(), generator=f"domxml-lint {__version__}"
    )
    host = host_from_documents(("the new facts", data))
    where = _emit(args.output, data)
    for note in collected.notes:
        print(f"domxml-lint: note: {note}", file=sys.stderr)
    assert host.system is not None
    print(f"domxml-lint: wrote {where}: {host.system.describe()}", file=sys.stderr)
    return EXIT_OK


def read_facts_file(path: str) -> tuple[str, HostSystem]:
    """The ``<system>`` section of a bundle, verbatim, and what it says."""
    from ..document import Document
    from ..errors import InputError
    from ..fileio import read_file
    from .bundle import ROOT, bundle_parts
    from .system_xml import SYSTEM, parse_system

    doc = Document.parse(read_file(path), path)
    if doc.root.tag != ROOT:
        raise InputError(
            path,
            f"root element is <{doc.root.tag}>, not a snapshot bundle (<{ROOT}>)",
            hint="give the file `domxml-lint host facts -o FILE` wrote",
            line=doc.root.sourceline,
        )
    for part in bundle_parts(doc):
        if part.tag == SYSTEM:
            span = doc.span(part)
            try:
                text = doc.data[span.start : span.end].decode("utf-8")
            except UnicodeDecodeError:  # a file re-encoded by hand: lxml writes it in UTF-8
                from lxml import etree

                text = etree.tostring(part, encoding="unicode", with_tail=False)
            return text, parse_system(part, path)
    raise InputError(
        path,
        "holds no system facts (<system>)",
        hint="write them on the host with `domxml-lint host facts -o FILE`",
        line=doc.root.sourceline,
    )


def is_remote_uri(uri: str) -> bool:
    """Whether libvirt reaches ``uri``'s host over a network: a host name, or a transport
    other than unix (``qemu+ssh://kvm-01/system``, ``qemu+tcp:///system``)."""
    parts = urllib.parse.urlsplit(uri)
    _driver, _plus, transport = parts.scheme.partition("+")
    if parts.hostname:
        return True
    return bool(transport) and transport != "unix"


def same_machine(name: str | None, other: str | None) -> bool:
    """Whether two host names name one machine (a short name matches its FQDN); True if unknown."""
    if not name or not other:
        return True
    a, b = name.lower().rstrip("."), other.lower().rstrip(".")
    return a == b or a.split(".")[0] == b.split(".")[0] and ("." not in a or "." not in b)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _emit(output: str | None, data: bytes) -> str:
    if output in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return "standard output"
    _write_new(output, data)
    return output


def run_show(args: argparse.Namespace) -> int:
    from . import load_host

    host = load_host(*args.files)
    print(host.describe())
    caps = host.capabilities
    if caps is not None:
        for cell in caps.cells:
            pages = ", ".join(f"{size} KiB x {count}" for size, count in sorted(cell.pages.items()))
            memory = f"{cell.memory_kib} KiB" if cell.memory_kib is not None else "memory unknown"
            cpus = _ranges(cell.cpu_ids) or "no CPUs"
            print(f"  node {cell.id}: CPUs {cpus}; {memory}; pages {pages or 'unknown'}")
        for bank in caps.cache_banks:
            control = "resctrl" if bank.controls else "no resctrl"
            print(
                f"  L{bank.level} cache bank {bank.id}: {bank.size_kib} KiB, CPUs "
                f"{_ranges(bank.cpus)}, {control}"
            )
    for dc in host.domain_capabilities:
        print(
            f"  domain capabilities: {dc.virt_type} {dc.arch} {dc.machine or '-'}: "
            f"max vCPUs {dc.max_vcpus if dc.max_vcpus is not None else 'unknown'}"
        )
    for qemu in host.qemu_capabilities:
        models = sum(len(names) for names in qemu.cpu_models.values())
        print(
            f"  QEMU capabilities: {qemu.describe()}, {models} CPU models, "
            f"{len(qemu.machines)} machines"
        )
    for device in host.node_devices.values():
        node = device.numa_node if device.numa_node is not None else "unknown"
        print(
            f"  PCI {device.address}: NUMA node {node}, IOMMU group "
            f"{device.iommu_group if device.iommu_group is not None else 'unknown'}, "
            f"{device.product or device.name}"
        )
    if host.libvirt is not None:
        info = host.libvirt
        print(
            f"  libvirt: {info.uri or 'URI unknown'} on {info.hostname or 'an unnamed host'}: "
            f"{info.describe() or 'versions unknown'}"
        )
    if host.system is not None:
        for line in describe_system(host.system):
            print("  " + line)
    return EXIT_OK


def describe_system(system: HostSystem) -> list[str]:
    """``host show``'s lines on the system facts; "unknown" for what the snapshot lacks."""
    from ..units import format_kib

    def kib(value: int | None) -> str:
        return "unknown" if value is None else format_kib(value)

    def known(value: object) -> str:
        return "unknown" if value is None else str(value)

    lines = [
        f"system facts of {system.hostname or 'an unnamed machine'}, taken "
        f"{system.collected or 'at an unknown time'}: Linux {system.kernel_release or 'unknown'}"
    ]
    add = lines.append
    if system.memory is not None:
        m = system.memory
        add(
            f"  memory {kib(m.total_kib)}, available {kib(m.available_kib)}, "
            f"swap {kib(m.swap_total_kib)}"
        )
    nodes = "unknown" if system.numa_nodes is None else _ranges(system.numa_nodes)
    add(f"  NUMA nodes {nodes}; kernel.numa_balancing {known(system.numa_balancing)}")
    thp = system.transparent_hugepages
    if thp is not None:
        add(f"  transparent huge pages: enabled {known(thp.enabled)}; defrag {known(thp.defrag)}")
    if system.ksm is not None:
        k = system.ksm
        add(
            f"  KSM: run {known(k.run)}, merge_across_nodes {known(k.merge_across_nodes)}, "
            f"pages_to_scan {known(k.pages_to_scan)}, sleep_millisecs "
            f"{known(k.sleep_millisecs)}, pages_shared {known(k.pages_shared)}, "
            f"pages_sharing {known(k.pages_sharing)}"
        )
    if system.hugepages is not None:
        h = system.hugepages
        pools = "; ".join(
            f"{'host' if p.node is None else f'node {p.node}'} {kib(p.size_kib)}: "
            f"{known(p.total)} total, {known(p.free)} free"
            for p in h.pools
        )
        add(f"  huge pages (default size {kib(h.default_size_kib)}): {pools or 'no pools'}")
    if system.hugetlbfs_mounts is not None:
        mounts = ", ".join(
            f"{m.path} ({kib(m.page_size_kib)}{'' if m.explicit else ', the default'})"
            for m in system.hugetlbfs_mounts
        )
        add(f"  hugetlbfs mounts: {mounts or 'none'}")
    if system.tuned is not None:
        mode = f", {system.tuned.mode} mode" if system.tuned.mode else ""
        add(f"  tuned profile: {system.tuned.profile or '(none)'}{mode} ({system.tuned.source})")
    if system.services is not None:
        why = {
            True: "",
            False: " (systemd not running: states unknown)",
            None: " (whether systemd runs is unknown)",
        }[system.systemd]
        states = "; ".join(
            f"{svc.name} {known(svc.enabled)}/{known(svc.active)}"
            + ("" if svc.installed is None else ("" if svc.installed else ", not installed"))
            for svc in system.services.values()
        )
        add(f"  services{why}: {states}")
    if system.modules is not None:
        modules = "; ".join(
            f"{mod.name} "
            + ("loaded" if mod.loaded else "not loaded")
            + "".join(
                f", {name}={mod.parameters[name]}"
                for name in ("nested", "enable_apicv", "avic", "experimental_zcopytx")
                if name in mod.parameters
            )
            for mod in system.modules.values()
        )
        add(f"  modules: {modules}")
    if system.devices is not None:
        nodes_text = "; ".join(
            f"{d.path} "
            + (
                f"{d.mode:04o} {d.owner}:{d.group}"
                + ("" if d.accessible is None else (", accessible" if d.accessible else ""))
                if d.exists and d.mode is not None
                else ("present" if d.exists else "absent")
            )
            for d in system.devices.values()
        )
        add(f"  device nodes: {nodes_text}")
    if system.block_devices is not None:
        schedulers = ", ".join(
            f"{b.name} {b.scheduler.selected or 'unknown'}" for b in system.block_devices.values()
        )
        add(f"  I/O schedulers: {schedulers or 'no block devices'}")
    if system.arp_filter is not None:
        arp = ", ".join(f"{name} {value}" for name, value in system.arp_filter.items())
        add(f"  arp_filter: {arp or 'none'}")
    if system.cmdline is not None:
        add(f"  kernel command line: {system.cmdline}")
    return lines


def _ranges(ids: frozenset[int]) -> str:
    from ..cpuset import format_cpuset

    return format_cpuset(ids)


def _write_new(path: str, data: bytes) -> None:
    """Write ``path`` atomically (temporary file beside it, then rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temp = tempfile.mkstemp(prefix=".snapshot.", suffix=".tmp", dir=directory)
    except OSError as exc:
        from ..errors import InputError

        raise InputError(
            path, f"cannot write: {exc.strerror or exc}", hint="check the directory"
        ) from None
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
