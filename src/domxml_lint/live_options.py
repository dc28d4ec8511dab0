"""The live-libvirt options of the main command (``--connect``, ``--domain`` ...).

Kept apart from :mod:`domxml_lint.live` so that building the parser does not
import the libvirt machinery; ``live`` is imported only when these are used.
"""

from __future__ import annotations

import argparse

VIA_CHOICES = ("auto", "libvirt-python", "virsh")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The live-libvirt options of the main command."""
    group = parser.add_argument_group(
        "live libvirt",
        "lint defined domains, or files against a live host (needs libvirt-python or virsh); "
        "to save a host for --host, see `domxml-lint host snapshot --help`",
    )
    group.add_argument(
        "--connect",
        metavar="URI",
        help="libvirt URI (default: libvirt's default); its host is the host model unless "
        "--host is given",
    )
    group.add_argument(
        "--domain",
        metavar="NAME",
        action="append",
        default=[],
        help="lint the persistent definition of this domain (repeatable); --fix redefines it",
    )
    group.add_argument(
        "--all-domains", action="store_true", help="lint every persistent domain of the connection"
    )
    group.add_argument(
        "--via",
        choices=VIA_CHOICES,
        default="auto",
        help="how to reach libvirt (default: libvirt-python if installed, else virsh)",
    )


def requested(args: argparse.Namespace) -> bool:
    return bool(
        getattr(args, "connect", None)
        or getattr(args, "domain", None)
        or getattr(args, "all_domains", False)
    )
