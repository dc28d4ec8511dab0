"""Rule families: the hundreds of a rule code name its area, and its package.

``DX4xx`` rules are about disks and block I/O and live in
``domxml_lint/rules/dx4_storage/``. Within a family, codes x01-x39 are the
guide's tuning advice and fit with the host, x40-x99 what libvirt or QEMU
refuse. DX9 (peripherals), where the guide gives no advice, uses DX901-DX999
for what libvirt refuses. CONTRIBUTING.md explains how to choose a code for a new rule.
"""

from __future__ import annotations

from ._records import NamedTuple


class Family(NamedTuple):
    prefix: str
    package: str
    title: str


FAMILIES = (
    Family("DX0", "dx0_document", "The document, the host as a whole, and domxml-lint itself"),
    Family("DX1", "dx1_cpu", "CPU: vCPUs, topology, model, pinning and tuning"),
    Family("DX2", "dx2_numa", "NUMA: guest cells, numatune, host placement"),
    Family("DX3", "dx3_memory", "Memory: sizes, backing, huge pages, memtune, memory devices"),
    Family("DX4", "dx4_storage", "Disks and block I/O: disks, controllers, iotune, IOThreads"),
    Family("DX5", "dx5_network", "Network interfaces"),
    Family("DX6", "dx6_devices", "Devices and platform: machine, firmware, timers, IOMMU, USB"),
    Family("DX7", "dx7_features", "Features: Hyper-V enlightenments and <features>"),
    Family(
        "DX8",
        "dx8_operations",
        "Operations and platform: migration, real time, lifecycle, security, sysinfo",
    ),
    Family(
        "DX9",
        "dx9_peripherals",
        "Peripherals: host devices, serial and consoles, graphics, video, input, sound, "
        "TPM, shared memory, RNG, watchdog, filesystems",
    ),
)


def family_label(code: str) -> str:
    """The short family name for listings: ``DX404`` -> ``storage``; ``-`` for a plugin's code."""
    family = family_of(code)
    return family.package.split("_", 1)[1] if family else "-"


def family_of(code: str) -> Family | None:
    """The family whose prefix starts ``code`` (``DX404`` -> DX4), or None (a plugin's code)."""
    for family in FAMILIES:
        if code.startswith(family.prefix) and len(code) == len(family.prefix) + 2:
            return family
    return None
