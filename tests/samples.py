"""Small domain definitions for CLI tests, each firing a known set of the core rules.

Tests pin ``--select`` to :data:`CORE` so that rules added later do not change
what these documents report.
"""

from __future__ import annotations

from pathlib import Path

CORE = "DX001,DX105,DX401,DX404"


#: Sizes and an ``<os>`` the tests' guests often use.
GIB_4 = "<memory unit='GiB'>4</memory>"
#: ``<os>`` of an x86_64 q35 guest, for ``domain(os=...)``.
OS_Q35 = "<os><type arch='x86_64' machine='q35'>hvm</type></os>"


def domain(
    body: str = "",
    *,
    devices: str = "",
    virt_type: str = "kvm",
    name: str = "vm",
    memory: str | None = "<memory unit='GiB'>2</memory>",
    vcpu: str | None = "<vcpu>2</vcpu>",
    os: str | None = None,
    machine: str | None = None,
    arch: str = "x86_64",
    head: str = "",
    root_attributes: str = "",
) -> str:
    """The one domain builder of the tests: a small definition, one element per line.

    In order: ``head`` (a declaration or comment before the root), ``<domain>``,
    ``<name>``, then ``memory``, ``vcpu`` and ``os`` when given (two-space indent),
    ``body`` verbatim, and ``<devices>`` around ``devices`` (verbatim) when given.
    ``machine`` (with ``arch``) is short for an ``os`` with that type. Line numbers
    are stable, so tests may assert them.
    """
    if os is None and machine is not None:
        os = f"<os><type arch='{arch}' machine='{machine}'>hvm</type></os>"
    lines = [f"{head}<domain type='{virt_type}'{root_attributes}>", f"  <name>{name}</name>"]
    lines += [f"  {part}" for part in (memory, vcpu, os) if part]
    if body:
        lines.append(body.rstrip("\n"))
    if devices:
        lines += ["  <devices>", devices.rstrip("\n"), "  </devices>"]
    lines.append("</domain>")
    return "\n".join(lines) + "\n"


def disk(driver: str, dev: str = "vda") -> str:
    return (
        "    <disk type='file' device='disk'>\n"
        f"      <driver name='qemu' type='raw'{driver}/>\n"
        f"      <source file='/srv/{dev}.img'/>\n"
        f"      <target dev='{dev}' bus='virtio'/>\n"
        "    </disk>\n"
    )


#: DX404 (error, safe fix) on line 7.
NATIVE = domain(devices=disk(" io='native'"))
NATIVE_FIXED = domain(devices=disk(" io='native' cache='none'"))
#: DX401 (error, unsafe fix) on line 7.
UNSAFE = domain(devices=disk(" cache='unsafe'"))
UNSAFE_FIXED = domain(devices=disk(" cache='none'"))
#: DX001 (warning, safe fix): a suppression that suppresses nothing.
UNUSED = domain(devices="    <!-- domxml-lint: disable=DX401 -->\n" + disk(" cache='none'"))
UNUSED_FIXED = domain(devices=disk(" cache='none'"))
CLEAN = domain(devices=disk(" cache='none' io='native'"))
#: Both DX404 and DX401.
BOTH = domain(devices=disk(" io='native'") + disk(" cache='unsafe'", "vdb"))
NOT_DOMAIN = "<network>\n  <name>default</name>\n</network>\n"
BROKEN = "<domain type='kvm'>\n  <name>x</domain>\n"


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
