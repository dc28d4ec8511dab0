"""DX645: a QEMU/KVM guest whose architecture or virt type the host does not offer."""

from __future__ import annotations

from ..facts import QEMU_VIRT_TYPES, child
from ..rule import rule


@rule(
    code="DX645",
    name="guest-type-unsupported-by-host",
    severity="error",
    summary="The host offers no guest of this architecture, or not with this virt type (kvm)",
    needs_host=True,
    triggers=("os",),
)
def guest_type_unsupported_by_host(ctx):
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
    if not facts.is_qemu or os_type is None or (os_type.text or "").strip() != "hvm":
        return
    caps = ctx.host.capabilities
    if caps is None or not caps.guests:
        ctx.note("the host snapshot has no capabilities listing the guests it can run")
        return
    if not any(g.domain_types & QEMU_VIRT_TYPES for g in caps.guests):
        # libvirt's test driver, say, which defines any guest: the QEMU driver's checks
        # say nothing about what such a host accepts.
        ctx.note(f"the host snapshot is not from libvirt's QEMU driver ({_offered(caps)})")
        return
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
    guests = caps.guests_for(arch, "hvm")
    if not guests:
        refusal = (
            f"Emulator ... does not support arch '{arch}'"
            if facts.devices is not None and child(facts.devices, "emulator") is not None
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
        yield ctx.finding(
            facts.root,
            f"this host offers virt type {_either(types)} for '{arch}' guests, not "
            f"'{virt_type}'{why}: libvirt refuses the definition (\"Emulator ... does not "
            f"support virt type '{virt_type}'\")",
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
