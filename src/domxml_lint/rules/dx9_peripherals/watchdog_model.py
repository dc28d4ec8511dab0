"""DX972: a ``<watchdog>`` model on a bus or machine that cannot hold it."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX972",
    name="watchdog-model-invalid",
    severity="error",
    summary="A watchdog model on a machine, architecture or address it cannot use",
    triggers=("watchdog",),
    domains=QEMU,
    libvirt=("qemuValidateDomainWatchdogDef",),
)
def watchdog_model_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each `<watchdog>` of a QEMU/KVM guest against its model:
    `i6300esb` is a PCI card (a `pci` address or none); `ib700` is an ISA
    card of i440FX PC machines and takes no address; `diag288` is s390's
    built-in watchdog (s390 guests only, no address); `itco` is part of the
    q35 chipset (q35 only, no address).

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "i6300esb model of watchdog
    can go only on PCI bus", "ib700 model of watchdog cannot be used with this
    machine type", "ib700 model of watchdog does not support configuring the
    address", "diag288 model of watchdog is virtual and cannot go on any
    bus.", "diag288 model of watchdog is allowed for s390 and s390x only",
    "itco model of watchdog is part of the machine and cannot have any address
    set.", "itco model of watchdog is only part of q35 machine".

    libvirt 9.0 knows no `itco` model and lets `ib700` onto any machine
    (checked on 9.0); the rule follows libvirt 10.7 on every release.

    ## Example
    ```xml
    <os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>
    ...
    <watchdog model='ib700' action='reset'/>
    ```

    ## Use instead
    ```xml
    <watchdog model='itco' action='reset'/>
    ```

    ## Fix safety
    No fix: another model changes the device the guest's driver talks to.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainWatchdogDef`);
    formatdomain "Watchdog device".
    """
    facts = ctx.facts
    for dog in facts.watchdogs:
        model = dog.model
        element = dog.element
        if model == "i6300esb":
            if dog.address_type not in (None, "pci"):
                yield ctx.finding(element, "i6300esb model of watchdog can go only on PCI bus")
        elif model == "ib700":
            if facts.machine and not facts.is_i440fx:
                yield ctx.finding(
                    element,
                    "ib700 model of watchdog cannot be used with this machine type "
                    f"('{facts.machine}'): it needs an i440FX PC machine",
                    attribute="model",
                )
            elif dog.address_type is not None:
                yield ctx.finding(
                    element, "ib700 model of watchdog does not support configuring the address"
                )
        elif model == "diag288":
            if dog.address_type is not None:
                yield ctx.finding(
                    element, "diag288 model of watchdog is virtual and cannot go on any bus."
                )
            elif facts.arch is not None and not facts.is_s390:
                yield ctx.finding(
                    element,
                    "diag288 model of watchdog is allowed for s390 and s390x only",
                    attribute="model",
                )
        elif model == "itco":
            if dog.address_type is not None:
                yield ctx.finding(
                    element,
                    "itco model of watchdog is part of the machine and cannot have any "
                    "address set.",
                )
            elif facts.is_q35 is False:
                yield ctx.finding(
                    element, "itco model of watchdog is only part of q35 machine", attribute="model"
                )
