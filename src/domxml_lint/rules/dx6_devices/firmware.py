"""DX644, DX658: UEFI, secure boot and ACPI, and what each needs of the other."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Edit, Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX644",
    name="secure-boot-requirements",
    severity="error",
    summary="Secure boot or UEFI without what QEMU needs: q35, x86_64, SMM, ACPI",
    fix="safe",
    triggers=("loader", "os"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefBoot",),
)
def secure_boot_requirements(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For QEMU/KVM guests with `<loader secure='yes'>`: the machine must be q35,
    the architecture x86_64, and with a manually chosen loader (no
    `<os firmware=...>`) `<smm state='on'/>` must be set. For x86 guests booting
    UEFI (`<os firmware='efi'>` or a `pflash` loader): `<acpi/>` must be on.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "Secure boot is supported
    with q35 machine types only", "Secure boot is supported for x86_64
    architecture only", "Secure boot requires SMM feature enabled" (SMM keeps
    the UEFI variable store out of the guest OS's reach), "UEFI requires ACPI
    on this architecture".

    ## Example
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <loader readonly='yes' secure='yes' type='pflash'>/usr/share/OVMF/CODE.secboot.fd</loader>
    </os>
    ```

    ## Use instead
    ```xml
    <features>
      <acpi/>
      <smm state='on'/>
    </features>
    ```

    ## Fix safety
    Safe on q35/x86_64: the fix adds `<smm state='on'/>` and `<acpi/>`, which
    the firmware requires; the definition is refused as written. No fix for
    the machine type or architecture.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefBoot`,
    `qemuValidateDomainDef`); formatdomain "BIOS bootloader" (`loader`
    `secure`, `firmware`); libvirt kbase secureboot.
    """
    facts = ctx.facts
    os_el = facts.os_element
    if os_el is None:
        return
    loader = facts.loader
    if loader is not None and loader.element is not None and loader.secure == "yes":
        if facts.is_q35 is False:
            yield ctx.finding(
                loader.element,
                f"Secure boot is supported with q35 machine types only, not '{facts.machine}'",
                attribute="secure",
            )
        elif facts.arch is not None and facts.arch != "x86_64":
            yield ctx.finding(
                loader.element,
                f"Secure boot is supported for x86_64 architecture only, not '{facts.arch}'",
                attribute="secure",
            )
        elif facts.firmware is None and facts.feature_state("smm") != "on":
            fix = None
            if facts.is_q35:
                fix = ctx.safe_fix(
                    "Add <smm state='on'/>", *ctx.edit.ensure_feature("smm", {"state": "on"})
                )
            yield ctx.finding(
                loader.element,
                "Secure boot requires SMM feature enabled",
                attribute="secure",
                fix=fix,
            )
    if facts.uses_uefi and facts.is_x86 and facts.feature_state("acpi") != "on":
        anchor = loader.element if loader is not None and loader.element is not None else os_el
        yield ctx.finding(
            anchor,
            "UEFI requires ACPI on this architecture: add <acpi/> to <features>",
            fix=ctx.safe_fix("Add <acpi/>", *_acpi_edits(ctx)),
        )


def _acpi_edits(ctx: RuleContext) -> list[Edit]:
    features = ctx.facts.features
    acpi = child(features, "acpi") if features is not None else None
    if acpi is not None:  # <acpi state='off'/> is not a thing libvirt writes; drop the state
        return [ctx.edit.remove_attribute(acpi, "state")]
    return ctx.edit.ensure_feature("acpi")


@rule(
    code="DX658",
    name="acpi-requires-uefi",
    severity="error",
    summary="<acpi/> on an aarch64 guest that does not boot UEFI",
    triggers=("acpi",),
    domains=QEMU.on("aarch64"),
    libvirt=("qemuValidateDomainDef",),
)
def acpi_requires_uefi(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<features><acpi/>` on an aarch64 guest whose firmware is not UEFI:
    neither `<os firmware='efi'>` nor a `pflash` `<loader>`.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "ACPI requires UEFI on
    this architecture". On ARM only UEFI firmware hands ACPI tables to the
    guest; without it the guest boots with a device tree. (The mirror
    check, "UEFI requires ACPI" on x86, is secure-boot-requirements, DX644.)

    ## Example
    ```xml
    <os>
      <type arch='aarch64' machine='virt-8.2'>hvm</type>
    </os>
    <features>
      <acpi/>
    </features>
    ```

    ## Use instead
    ```xml
    <os firmware='efi'>
      <type arch='aarch64' machine='virt-8.2'>hvm</type>
    </os>
    <features>
      <acpi/>
    </features>
    ```

    ## Fix safety
    No fix: UEFI firmware or a guest without ACPI are both valid answers.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`);
    formatdomain "Hypervisor features" (`acpi`).
    """
    facts = ctx.facts
    acpi = facts.recorded("acpi")
    if acpi is None or facts.uses_uefi:
        return
    yield ctx.finding(acpi.element, "ACPI requires UEFI on this architecture")
