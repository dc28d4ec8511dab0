"""DX148: the CPU mode against what QEMU offers for the guest's machine (domain capabilities)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule


@rule(
    code="DX148",
    name="cpu-mode-unsupported",
    severity="error",
    summary="A <cpu mode> (or host-passthrough migratable='on') that QEMU does not offer for "
    "this virt type and machine",
    triggers=("cpu",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDefCpu", "qemuProcessUpdateGuestCPU"),
)
def cpu_mode_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Looks up the guest's `<cpu mode>` in the domain capabilities of its virt
    type, arch and machine (`virsh domcapabilities`, `<cpu><mode
    supported=...>`). A mode the document marks unsupported is reported, as
    is `migratable='on'` on a `host-passthrough` CPU when QEMU offers only
    `off` (`hostPassthroughMigratable`). A custom-mode `<cpu>` without a model only carries
    topology and is not checked.

    ## Why is this bad?
    libvirt refuses such a guest. `maximum` on a QEMU without the `max` CPU
    model, and `migratable='on'` on a QEMU that cannot make the host CPU
    migratable, fail validation: "maximum CPU is not supported by QEMU
    binary", "Migratable attribute for host-passthrough CPU is not supported
    by this QEMU binary". Any other unsupported mode fails when the guest
    starts: "CPU mode '%s' for %s %s domain on %s host is not supported by
    hypervisor" (the host arch comes from the snapshot's capabilities). The
    usual case is `host-passthrough` on a `type='qemu'` (TCG) guest: only KVM
    can pass the host CPU through.

    ## Example
    ```xml
    <domain type='qemu'>
      <cpu mode='host-passthrough'/>
    </domain>
    ```

    ## Use instead
    ```xml
    <domain type='qemu'>
      <cpu mode='maximum'/>
    </domain>
    ```

    ## Fix safety
    No fix: the replacement CPU is guest-visible hardware.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefCpu`),
    src/qemu/qemu_process.c (`qemuProcessUpdateGuestCPU`), whose test,
    `virQEMUCapsIsCPUModeSupported`, also fills the domain capabilities'
    `<cpu><mode supported>`; formatdomaincaps "CPU configuration". Needs a
    host snapshot with domain capabilities for the guest's machine.
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None or (cpu.mode == "custom" and not cpu.has_model):
        return
    caps = ctx.domain_caps
    if caps is None:
        return
    section = caps.raw.find("cpu")
    if section is None:
        ctx.note("the domain capabilities do not describe CPU modes")
        return
    mode = next((m for m in section.iterchildren("mode") if m.get("name") == cpu.mode), None)
    if mode is None:
        return
    attribute = "mode" if cpu.element.get("mode") is not None else None
    if mode.get("supported") == "no":
        if cpu.mode == "maximum":
            message = "maximum CPU is not supported by QEMU binary"
        else:
            host_arch = _host_arch(ctx) or facts.arch or "?"
            message = (
                f"CPU mode '{cpu.mode}' for {facts.arch or host_arch} {facts.virt_type} domain "
                f"on {host_arch} host is not supported by hypervisor"
            )
        yield ctx.finding(cpu.element, message, attribute=attribute)
        return
    if cpu.element.get("migratable") == "on" and cpu.mode == "host-passthrough":
        values = _enum(mode, "hostPassthroughMigratable")
        if values is not None and "on" not in values:
            yield ctx.finding(
                cpu.element,
                "Migratable attribute for host-passthrough CPU is not supported by this QEMU "
                "binary",
                attribute="migratable",
            )


def _host_arch(ctx: RuleContext) -> str | None:
    caps = ctx.host.capabilities
    return None if caps is None else caps.arch


def _enum(mode, name: str) -> frozenset[str] | None:
    for enum in mode.iterchildren("enum"):
        if enum.get("name") == name:
            return frozenset((v.text or "").strip() for v in enum.iterchildren("value"))
    return None
