"""Small domain definitions for CLI tests, each firing a known set of the core rules.

Tests pin ``--select`` to :data:`CORE` so that rules added later do not change
what these documents report.
"""

from __future__ import annotations

from pathlib import Path

CORE = "DX001,DX105,DX401,DX404"


def domain(disks: str, *, name: str = "vm", extra: str = "") -> str:
    return (
        "<domain type='kvm'>\n"
        f"  <name>{name}</name>\n"
        "  <memory unit='GiB'>2</memory>\n"
        "  <vcpu>2</vcpu>\n"
        f"{extra}"
        "  <devices>\n"
        f"{disks}"
        "  </devices>\n"
        "</domain>\n"
    )


def disk(driver: str, dev: str = "vda") -> str:
    return (
        "    <disk type='file' device='disk'>\n"
        f"      <driver name='qemu' type='raw'{driver}/>\n"
        f"      <source file='/srv/{dev}.img'/>\n"
        f"      <target dev='{dev}' bus='virtio'/>\n"
        "    </disk>\n"
    )


#: DX404 (error, safe fix) on line 7.
NATIVE = domain(disk(" io='native'"))
NATIVE_FIXED = domain(disk(" io='native' cache='none'"))
#: DX401 (error, unsafe fix) on line 7.
UNSAFE = domain(disk(" cache='unsafe'"))
UNSAFE_FIXED = domain(disk(" cache='none'"))
#: DX001 (warning, safe fix): a suppression that suppresses nothing.
UNUSED = domain("    <!-- domxml-lint: disable=DX401 -->\n" + disk(" cache='none'"))
UNUSED_FIXED = domain(disk(" cache='none'"))
CLEAN = domain(disk(" cache='none' io='native'"))
#: Both DX404 and DX401.
BOTH = domain(disk(" io='native'") + disk(" cache='unsafe'", "vdb"))
NOT_DOMAIN = "<network>\n  <name>default</name>\n</network>\n"
BROKEN = "<domain type='kvm'>\n  <name>x</domain>\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
