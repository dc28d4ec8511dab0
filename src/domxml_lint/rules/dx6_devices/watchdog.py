"""DX650: watchdogs with conflicting actions or models."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX650",
    name="watchdog-actions-conflict",
    severity="error",
    summary="Watchdogs with different actions, or two watchdogs of the same model",
    triggers=("watchdog",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefWatchdogs", "virDomainDefParseXML"),
)
def watchdog_actions_conflict(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For QEMU/KVM guests with several `<watchdog>` devices, checks that they all
    use the same `action` and that no model (other than `i6300esb`) appears
    twice. Up to libvirt 9.0 a guest has at most one watchdog; several came
    with libvirt 9.1 (for q35's built-in `itco`), so for an older target
    libvirt (`libvirt-version` in the configuration, or the snapshot's) the
    rule flags every watchdog after the first.

    ## Why is this bad?
    QEMU has one watchdog action for the whole machine. libvirt's QEMU driver
    refuses the definition: "watchdogs with different actions are not
    supported with this QEMU binary", "domain can only have one watchdog with
    model '%s'"; libvirt 9.0 and older: "only a single watchdog device is
    supported".

    ## Example
    ```xml
    <watchdog model='i6300esb' action='reset'/>
    <watchdog model='itco' action='poweroff'/>
    ```

    ## Use instead
    ```xml
    <watchdog model='i6300esb' action='reset'/>
    <watchdog model='itco' action='reset'/>
    ```

    ## Fix safety
    No fix: the intended action is the author's.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainWatchdogDef`,
    `qemuValidateDomainDefWatchdogs`), src/conf/domain_conf.c
    (`virDomainDefParseXML`, before 9.1); formatdomain "Watchdog device".
    """
    facts = ctx.facts
    watchdogs = facts.device_elements("watchdog")
    if len(watchdogs) < 2:
        return
    if not ctx.libvirt_at_least(9, 1):
        for element in watchdogs[1:]:
            yield ctx.finding(
                element,
                "only a single watchdog device is supported (by libvirt before 9.1)",
            )
        return
    first_action = watchdogs[0].get("action", "reset")
    models: set[str] = set()
    for element in watchdogs:
        if element.get("action", "reset") != first_action:
            yield ctx.finding(
                element,
                "watchdogs with different actions are not supported with this QEMU binary",
                attribute="action",
            )
        model = element.get("model")
        if model and model != "i6300esb":
            if model in models:
                yield ctx.finding(
                    element,
                    f"domain can only have one watchdog with model '{model}'",
                    attribute="model",
                )
            models.add(model)
