"""DX971: ``<panic>`` devices libvirt's QEMU driver refuses."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: Where each panic model works (libvirt's test and message for it).
_MODEL_PLACE = {
    "s390": "only S390 guests support panic device of model 's390'",
    "hyperv": "only i686 and x86_64 guests support panic device of model 'hyperv'",
    "pseries": "only pSeries guests support panic device of model 'pseries'",
}


@rule(
    code="DX971",
    name="panic-invalid",
    severity="error",
    summary="A <panic> device whose model does not fit the guest, or that QEMU cannot place",
    triggers=("panic",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefPanic", "virDomainDefRejectDuplicatePanics"),
)
def panic_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every `<panic>` of a QEMU/KVM guest as libvirt's QEMU driver does,
    after giving a panic without `model` the driver's default (`pseries` on
    pSeries machines, `s390` on s390, else `isa`):

    - `s390` only on s390 guests, `hyperv` only on x86, `pseries` only on
      pSeries machines, and none of the three with an `<address>`;
    - `isa` (the ISA pvpanic device) only where QEMU has it, which is the x86
      QEMU binaries (it needs a PC's ISA bus), and only with an `isa` address;
    - `pvpanic` (the PCI pvpanic device) only where QEMU has `pvpanic-pci`
      (QEMU 6.0, and a build may leave it out: that only a host snapshot's
      QEMU capabilities say), and only with a `pci` address;
    - no two panic devices of the same model.

    ## Why is this bad?
    libvirt refuses the definition: "only S390 guests support panic device of
    model 's390'", "setting the panic device address is not supported for
    model 'pseries'", "the QEMU binary does not support the ISA panic
    device", "the QEMU binary does not support the PCI pvpanic device",
    "panic is supported only with ISA address type", "pvpanic is
    supported only with PCI address type", "Multiple panic devices with model
    'isa'". A bare `<panic/>` copied from an x86 guest to an ARM one is the
    usual way to meet the ISA message: ARM guests want `model='pvpanic'`.

    ## Example
    ```xml
    <!-- an aarch64 virt guest -->
    <panic/>
    ```

    ## Use instead
    ```xml
    <panic model='pvpanic'/>
    ```

    ## Fix safety
    No fix: the right model depends on the guest OS's drivers.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefPanic`),
    src/qemu/qemu_domain.c (`qemuDomainDefaultPanicModel`, the default model),
    src/conf/domain_postparse.c (`virDomainDefRejectDuplicatePanics`); QEMU
    hw/misc/Kconfig (`PVPANIC_ISA` is built only for PC machines);
    formatdomain "panic device".
    """
    facts = ctx.facts
    seen: set[str] = set()
    for panic in facts.panics:
        model = panic.model
        if model in seen:
            yield ctx.finding(
                panic.element, f"Multiple panic devices with model '{model}'", attribute="model"
            )
            continue
        seen.add(model or "")
        if model in _MODEL_PLACE:
            fits = {
                "s390": facts.is_s390,
                "hyperv": facts.is_x86,
                "pseries": facts.is_pseries_or_default,
            }[model]
            if facts.arch is not None and not fits:
                yield ctx.finding(panic.element, _MODEL_PLACE[model], attribute="model")
            elif panic.address_type is not None:
                yield ctx.finding(
                    panic.element,
                    f"setting the panic device address is not supported for model '{model}'",
                )
        elif model == "isa":
            if facts.arch is not None and not facts.is_x86:
                default = "" if panic.written_model else " (the default model here)"
                yield ctx.finding(
                    panic.element,
                    f"the QEMU binary does not support the ISA panic device{default}: "
                    f"only x86 QEMU has it; use model='pvpanic' on {facts.arch}",
                )
            elif panic.address_type not in (None, "isa"):
                yield ctx.finding(panic.element, "panic is supported only with ISA address type")
        elif model == "pvpanic":
            if why := ctx.qemu_lacks("pvpanic-pci"):
                yield ctx.finding(
                    panic.element,
                    f"the QEMU binary does not support the PCI pvpanic device: {why}",
                    attribute="model",
                )
            elif panic.address_type not in (None, "pci"):
                yield ctx.finding(panic.element, "pvpanic is supported only with PCI address type")
