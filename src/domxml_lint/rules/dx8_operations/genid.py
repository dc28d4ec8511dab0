"""DX860: a VM generation ID on a host whose QEMU has no vmgenid device."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule


@rule(
    code="DX860",
    name="genid-unsupported",
    severity="error",
    summary="A <genid> on a host whose QEMU has no VM generation ID device",
    triggers=("genid",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDef",),
)
def genid_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For a QEMU/KVM guest with `<genid>`, looks up `<genid supported='yes'/>`
    in the `<features>` of the host's domain capabilities for the guest's
    machine.

    ## Why is this bad?
    The VM generation ID is QEMU's `vmgenid` device, an ACPI device of the x86
    machines; libvirt's QEMU driver refuses the definition elsewhere: "this
    QEMU does not support the 'genid' capability".

    The rule needs a host snapshot with domain capabilities for the guest's
    machine; without one it stays silent (`--verbose` says why).

    ## Example
    ```xml
    <!-- an aarch64 guest -->
    <genid/>
    ```

    ## Use instead
    Remove `<genid>` where the host's QEMU cannot provide it.

    ## Fix safety
    No fix: software in the guest (Active Directory, for one) relies on the ID.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`),
    src/qemu/qemu_capabilities.c (the domain capabilities' `genid` feature);
    formatdomaincaps "Features"; formatdomain "General metadata".
    """
    caps = ctx.domain_caps
    if caps is None or caps.supported("features/genid") is not False:
        return
    genid = ctx.facts.top("genid")
    if genid is not None:
        yield ctx.finding(
            genid,
            "this QEMU does not support the 'genid' capability (the host's domain "
            "capabilities offer no genid)",
        )
