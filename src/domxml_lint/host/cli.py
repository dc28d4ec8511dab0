"""``domxml-lint host ...``: capture a host snapshot, or show what host files hold.

    domxml-lint host snapshot [--connect URI] [-o FILE] [--machine M]... [--via ...]
    domxml-lint host show FILE...

Exit codes: 0 done; 2 usage error, unreachable or refused connection, bad file.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
from collections.abc import Sequence

from ..errors import DomxmlLintError
from ..live import VIA_CHOICES, capture_host, open_connection

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
        "(native arch and virt type, where the driver offers them) and every PCI node device. "
        "Commit it next to your domain XML and lint with --host.",
    )
    add_arguments(snapshot)
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


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(list(argv))
    try:
        if args.command == "snapshot":
            return run_snapshot(args)
        return run_show(args)
    except DomxmlLintError as exc:
        print(f"domxml-lint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("domxml-lint: interrupted; nothing was written", file=sys.stderr)
        return 130


def run_snapshot(args: argparse.Namespace) -> int:
    connection = open_connection(args.connect, readonly=True, via=args.via)
    try:
        capture = capture_host(connection, machines=args.machine)
    finally:
        connection.close()
    created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = capture.bundle(created=created)
    host = capture.host()
    if args.output in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        where = "standard output"
    else:
        _write_new(args.output, data)
        where = args.output
    for note in capture.notes:
        print(f"domxml-lint: note: {note}", file=sys.stderr)
    print(f"domxml-lint: wrote {where} from {capture.uri}: {host.describe()}", file=sys.stderr)
    return EXIT_OK


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
    for device in host.node_devices.values():
        node = device.numa_node if device.numa_node is not None else "unknown"
        print(
            f"  PCI {device.address}: NUMA node {node}, IOMMU group "
            f"{device.iommu_group if device.iommu_group is not None else 'unknown'}, "
            f"{device.product or device.name}"
        )
    return EXIT_OK


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
