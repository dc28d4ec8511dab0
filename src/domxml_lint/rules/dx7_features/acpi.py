"""DX706: an x86 QEMU guest without ACPI."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, X86, RuleContext, rule


@rule(
    code="DX706",
    name="acpi-missing",
    severity="warning",
    summary="An x86 guest without <features><acpi/>: QEMU runs it with ACPI off",
    fix="unsafe",
    domains=QEMU.on(*X86),
)
def acpi_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds x86 QEMU/KVM guests whose `<features>` has no `<acpi/>` (or sets it
    off).

    ## Why is this bad?
    Without `<acpi/>` libvirt starts QEMU with ACPI switched off
    (`-machine acpi=off`). The guest then has no ACPI power button, so `virsh
    shutdown`, a host shutdown with `libvirt-guests` and every management tool
    that asks for a clean shutdown cannot stop it: it is killed instead, with
    whatever its file systems had not yet written. vCPU and memory hotplug need
    ACPI too, and UEFI firmware refuses to boot x86 without it. Tools that write
    domain XML (virt-install, virt-manager) always add it; a hand-written or
    generated definition that forgets it gets none of this.

    ## Example
    ```xml
    <features>
      <apic/>
    </features>
    ```

    ## Use instead
    ```xml
    <features>
      <acpi/>
      <apic/>
    </features>
    ```

    ## Fix safety
    Unsafe: ACPI tables are guest-visible hardware; an old guest installed
    without them may enumerate devices differently once they appear. The fix
    adds `<acpi/>` to `<features>` (creating `<features>` when the guest has
    none), or turns an `<acpi state='off'/>` on.

    ## Source
    libvirt src/qemu/qemu_command.c (`qemuBuildMachineCommandLine`: `acpi=off`
    when the ACPI feature is not on); formatdomain "Hypervisor features"
    (`acpi`: "useful for power management, for example, with KVM guests it is
    required for graceful shutdown to work"); libvirt src/qemu/qemu_validate.c
    ("UEFI requires ACPI on this architecture").
    """
    state = ctx.facts.feature_state("acpi")
    if state == "on":
        return
    features = ctx.facts.features
    where = features if features is not None else ctx.facts.root
    off = " (it is switched off)" if state == "off" else ""
    attributes = {"state": "on"} if state == "off" else None
    fix = ctx.unsafe_fix("Add <acpi/>", lambda: ctx.edit.ensure_feature("acpi", attributes))
    yield ctx.finding(
        where,
        f"x86 guest without <acpi/>{off}: QEMU runs it with ACPI off, so virsh shutdown and "
        "libvirt-guests cannot stop it cleanly (no ACPI power button)",
        fix=fix,
    )
