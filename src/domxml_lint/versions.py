"""Versions of libvirt and QEMU, for checks whose behaviour changed between releases.

A rule asks ``ctx.libvirt_at_least(9, 6)``: the answer follows the version the
configuration names (``libvirt-version = "9.0.0"``) or the host snapshot
recorded; with neither it is True, so unknown means the newest behaviour the
rule documents.
"""

from __future__ import annotations

import re

from ._records import NamedTuple

_VERSION = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?\s*$")


class Version(NamedTuple):
    major: int
    minor: int
    micro: int = 0

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.micro}"


def parse_version(text: str | None) -> Version | None:
    """``"10.7.0"`` or ``"9.6"`` as a :class:`Version`; None for anything else."""
    if text is None:
        return None
    match = _VERSION.match(text)
    if match is None:
        return None
    return Version(int(match[1]), int(match[2]), int(match[3] or 0))


class Versions(NamedTuple):
    """The libvirt and QEMU a run's checks follow (None: unknown, the newest behaviour)."""

    libvirt: Version | None = None
    qemu: Version | None = None

    def libvirt_at_least(self, major: int, minor: int = 0, micro: int = 0) -> bool:
        return self.libvirt is None or self.libvirt >= (major, minor, micro)

    def qemu_at_least(self, major: int, minor: int = 0, micro: int = 0) -> bool:
        return self.qemu is None or self.qemu >= (major, minor, micro)
