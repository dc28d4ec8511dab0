"""DX645-DX646: a QEMU/KVM guest whose architecture, virt type or machine the host lacks."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule


@rule(
    code="DX645",
    name="guest-type-unsupported-by-host",
    severity="error",
    summary="The host offers no guest of this architecture, or not with this virt type (kvm)",
    needs=(HostPart.QEMU_GUESTS,),
    triggers=("os",),
    domains=QEMU,
    libvirt=("qemuDomainDefPostParseBasic", "qemuValidateDomainDef"),
)
def guest_type_unsupported_by_host(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Looks up the guest's architecture (`<os><type arch=...>`) and virt type
    (`<domain type=...>`) among the `<guest>` entries of the host's
    capabilities: the architectures the host can run, each with the virt types
    (`<domain type='kvm'/>`, `<domain type='qemu'/>`) it offers for them.

    ## Why is this bad?
    libvirt refuses to define such a guest. With no emulator for the
    architecture: "No emulator found for arch 'aarch64'"; with an emulator
    that lacks it: "Emulator '%s' does not support arch '%s'"; with the
    architecture but not the virt type: "Emulator '%s' does not support virt
    type 'kvm'". The usual causes are a definition copied from a host of
    another architecture, and `type='kvm'` on a host without usable KVM (no
    `/dev/kvm`: virtualisation off in the firmware, or a VM without nested
    virtualisation), where only `type='qemu'` (slow emulation) can run.

    When this fires, the other host-aware rules still compare the guest with
    this host, but their findings matter only once the guest can run here.

    The rule needs a host snapshot, taken from libvirt's QEMU driver, whose
    capabilities list guests; without one it stays silent (`--verbose` says
    why).

    ## Example
    ```xml
    <!-- on an x86_64 host -->
    <domain type='kvm'>
      <os>
        <type arch='aarch64' machine='virt'>hvm</type>
      </os>
    </domain>
    ```

    ## Use instead
    ```xml
    <domain type='kvm'>
      <os>
        <type arch='x86_64' machine='q35'>hvm</type>
      </os>
    </domain>
    ```

    ## Fix safety
    No fix: the right change is another host, another guest image, or slow
    emulation (`type='qemu'`), and only the author can choose.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`: "Emulator '%s'
    does not support arch '%s'", "... virt type '%s'"); src/qemu/qemu_domain.c
    (`qemuDomainDefPostParseBasic`: "No emulator found for arch '%s'");
    formatcaps "Guest capabilities" (the set of architectures the host can
    run). A guest without `arch` gets one chosen by libvirt, so the rule then
    only asks whether any architecture offers the virt type.
    """
    facts = ctx.facts
    os_type = facts.os_type
    if os_type is None or (os_type.text or "").strip() != "hvm":
        return
    # Needs QEMU guests: libvirt's test driver, say, defines any guest, so the QEMU
    # driver's checks say nothing about what such a host accepts.
    caps = ctx.host.capabilities
    assert caps is not None  # needs=QEMU_GUESTS
    virt_type = facts.virt_type
    arch = facts.arch
    if arch is None:  # libvirt picks one; flag only when no architecture could do
        if not any(g.os_type == "hvm" and virt_type in g.domain_types for g in caps.guests):
            yield ctx.finding(
                facts.root,
                f"this host offers virt type '{virt_type}' for no architecture "
                f"({_offered(caps)}): libvirt refuses the definition",
                attribute="type",
            )
        return
    guests = caps.guests_running(arch, "hvm")
    emulator = child(facts.devices, "emulator") if facts.devices is not None else None
    path = (emulator.text or "").strip() if emulator is not None else ""
    if not guests:
        refusal = (
            f"Emulator '{path}' does not support arch '{arch}'"
            if path
            else f"No emulator found for arch '{arch}'"
        )
        yield ctx.finding(
            os_type,
            f"this host runs no '{arch}' guests ({_offered(caps)}): libvirt refuses the "
            f'definition ("{refusal}")',
            attribute="arch",
        )
        return
    types = sorted(set().union(*(guest.domain_types for guest in guests)))
    if virt_type not in types:
        why = " (no usable KVM here)" if virt_type == "kvm" else ""
        path = path or next((g.emulator for g in guests if g.emulator), None) or "..."
        yield ctx.finding(
            facts.root,
            f"this host offers virt type {_either(types)} for '{arch}' guests, not "
            f"'{virt_type}'{why}: libvirt refuses the definition (\"Emulator '{path}' does "
            f"not support virt type '{virt_type}'\")",
            attribute="type",
        )


def _offered(caps) -> str:
    """``it offers kvm for i686, x86_64 and qemu for 17 architectures``."""
    arches: dict[str, set[str]] = {}
    for guest in caps.guests:
        if guest.os_type == "hvm" and guest.arch:
            for kind in guest.domain_types:
                arches.setdefault(kind, set()).add(guest.arch)
    if not arches:
        return "it offers no hvm guests"
    parts = [
        f"{kind} for {', '.join(sorted(names))}"
        if len(names) <= 4
        else f"{kind} for {len(names)} architectures"
        for kind, names in sorted(arches.items())
    ]
    return "it offers " + " and ".join(parts)


def _either(types: list[str]) -> str:
    quoted = [f"'{t}'" for t in types]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


@rule(
    code="DX646",
    name="machine-type-unsupported-by-host",
    severity="error",
    summary="A machine type the host's QEMU does not offer for this architecture",
    needs=(HostPart.CAPABILITIES,),
    triggers=("os",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDef",),
)
def machine_type_unsupported_by_host(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Looks up the guest's machine type (`<os><type machine=...>`) among the
    machine types the host's capabilities list for its architecture and virt
    type (`<guest><arch><machine>`, aliases such as `q35` included).

    ## Why is this bad?
    libvirt refuses to define the guest: "Emulator '%s' does not support
    machine type '%s'". Machine types are versioned per QEMU release and
    distributions add their own, so this is what a definition moved between
    hosts usually hits: `pc-q35-rhel9.2.0` (a RHEL build's type) on an
    upstream QEMU, a type newer than the host's QEMU (`pc-q35-9.0` on QEMU
    8.2), or an old one QEMU has removed (`pc-1.2`).

    The rule needs a host snapshot, taken from libvirt's QEMU driver, whose
    capabilities list machine types for the guest's architecture; without one
    it stays silent (`--verbose` says why). A guest of an architecture or virt
    type the host does not offer at all is `guest-type-unsupported-by-host`'s.

    ## Example
    ```xml
    <!-- on a host with upstream QEMU 8.2 -->
    <os>
      <type arch='x86_64' machine='pc-q35-rhel9.2.0'>hvm</type>
    </os>
    ```

    ## Use instead
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    </os>
    ```

    ## Fix safety
    No fix: another machine type changes the hardware the guest sees (and may
    break its migration back); the author picks the version.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`: "Emulator '%s'
    does not support machine type '%s'", via `virQEMUCapsIsMachineSupported`);
    src/qemu/qemu_domain.c (`qemuCanonicalizeMachine`: aliases such as `q35`
    become the machine they name); formatcaps "Guest capabilities" (the
    `<machine>` elements and their `canonical` attribute).
    """
    facts = ctx.facts
    os_type = facts.os_type
    machine, arch, virt_type = facts.machine, facts.arch, facts.virt_type
    if os_type is None or not machine or not arch:
        return
    caps = ctx.host.capabilities
    assert caps is not None  # needs=CAPABILITIES
    guests = caps.guests_running(arch, "hvm")
    offered = [g for g in guests if virt_type in g.domain_types]
    names = {m.name for guest in offered for m in guest.machines_for(virt_type)}
    if not names:
        ctx.note(f"the host snapshot lists no machine types for {virt_type}/{arch} guests")
        return
    if machine in names:
        return
    yield ctx.finding(
        os_type,
        f"machine type '{machine}' is not one this host's QEMU offers for {virt_type}/{arch} "
        f"guests ({_nearest(machine, offered, virt_type)}): libvirt refuses the definition "
        f"(\"Emulator ... does not support machine type '{machine}'\")",
        attribute="machine",
    )


def _nearest(machine: str, guests, virt_type: str | None) -> str:
    """What to offer instead: the newest of the same family (``pc-q35-*``), else the aliases."""
    machines = [m for guest in guests for m in guest.machines_for(virt_type)]
    family = _family(machine)
    same = sorted(
        {m.name for m in machines if not m.canonical and _family(m.name) == family},
        key=_version_key,
    )
    if same:
        return f"its newest {family} type is {same[-1]}"
    aliases = sorted({f"{m.name} = {m.canonical}" for m in machines if m.canonical})
    listed = f"; aliases: {', '.join(aliases)}" if aliases else ""
    return f"it offers {len({m.name for m in machines})} machine types{listed}"


_VERSION_SUFFIX = re.compile(r"-(?:rhel)?\d+(?:\.\d+)*$")


def _family(name: str) -> str:
    """``pc-q35-rhel9.2.0`` and ``pc-q35-8.2`` -> ``pc-q35``; ``pc-1.2`` -> ``pc``."""
    return _VERSION_SUFFIX.sub("", name)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", name))
