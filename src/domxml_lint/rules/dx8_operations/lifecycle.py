"""DX850: lifecycle actions (``on_poweroff``, ``on_reboot``, ``on_crash``) libvirt refuses."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import RuleContext, rule

#: libvirt's event name for each element (``virDomainLifecycleTypeToString``).
EVENT_NAMES = {"on_poweroff": "poweroff", "on_reboot": "reboot", "on_crash": "crash"}
COREDUMP_ACTIONS = frozenset({"coredump-destroy", "coredump-restart"})


@rule(
    code="DX850",
    name="lifecycle-action-unsupported",
    severity="error",
    summary="A lifecycle action the event or libvirt's QEMU driver does not support",
    triggers=("on_poweroff", "on_reboot", "on_crash"),
    libvirt=("virDomainDefLifecycleActionAllowed", "qemuValidateLifecycleAction"),
)
def lifecycle_action_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<on_poweroff>`, `<on_reboot>` and `<on_crash>`: the coredump
    actions only on a crash; and for QEMU/KVM guests no `rename-restart`,
    no `preserve` on power-off or reboot, and not `on_poweroff` `restart`
    together with `on_reboot` `destroy`.

    ## Why is this bad?
    libvirt refuses the definition: "Lifecycle event 'poweroff' doesn't
    support 'coredump-destroy' action", and its QEMU driver "qemu driver
    doesn't support the 'rename-restart' action for
    'on_reboot'/'on_poweroff'/'on_crash'", "qemu driver doesn't support the
    'preserve' action for 'on_reboot'/'on_poweroff'", "qemu driver doesn't
    support 'onReboot' set to 'destroy and 'onPoweroff' set to 'reboot'" (QEMU
    reports a reboot or a power-off, and cannot turn one into the other both
    ways).

    ## Example
    ```xml
    <on_poweroff>restart</on_poweroff>
    <on_reboot>destroy</on_reboot>
    ```

    ## Use instead
    ```xml
    <on_poweroff>destroy</on_poweroff>
    <on_reboot>destroy</on_reboot>
    ```

    ## Fix safety
    No fix: what the guest should do on these events is the author's choice.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefLifecycleActionAllowed`),
    src/qemu/qemu_validate.c (`qemuValidateLifecycleAction`); formatdomain
    "Events configuration".
    """
    facts = ctx.facts
    qemu = facts.driver == "qemu"
    for tag, element in facts.lifecycle_elements.items():
        action = facts.lifecycle_action(tag)
        event = EVENT_NAMES[tag]
        if action in COREDUMP_ACTIONS and tag != "on_crash":
            yield ctx.finding(
                element, f"Lifecycle event '{event}' doesn't support '{action}' action"
            )
        elif qemu and action == "rename-restart":
            yield ctx.finding(
                element,
                "qemu driver doesn't support the 'rename-restart' action for "
                "'on_reboot'/'on_poweroff'/'on_crash'",
            )
        elif qemu and action == "preserve" and tag != "on_crash":
            yield ctx.finding(
                element,
                "qemu driver doesn't support the 'preserve' action for 'on_reboot'/'on_poweroff'",
            )
    if (
        qemu
        and facts.lifecycle_action("on_poweroff") == "restart"
        and facts.lifecycle_action("on_reboot") == "destroy"
    ):
        yield ctx.finding(
            facts.lifecycle_elements["on_poweroff"],
            "qemu driver doesn't support 'onReboot' set to 'destroy and 'onPoweroff' set to "
            "'reboot'",
        )
