"""DX642-DX643: ``<clock><timer>`` settings libvirt refuses, and the usual timer settings."""

from __future__ import annotations

from collections.abc import Iterator

from ...edits import new_element
from ...facts import child
from ...facts.domain import ARM_ARCHES
from ...findings import Edit, Finding
from ...rule import KVM, X86, RuleContext, rule

TIMER_NAMES = frozenset(
    {"platform", "pit", "rtc", "hpet", "tsc", "kvmclock", "hypervclock", "armvtimer"}
)


@rule(
    code="DX642",
    name="timer-invalid",
    severity="error",
    summary="A <clock><timer> with attributes or a name libvirt or QEMU refuses",
    triggers=("timer",),
    libvirt=("virDomainTimerDefParseXML", "qemuValidateDomainDefClockTimers"),
)
def timer_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every `<clock><timer>`: no `tickpolicy` on `kvmclock` and
    `hypervclock`; `frequency` and `mode` only for `tsc`; `track` only for
    `rtc` and `platform`; a `<catchup>` child needs `tickpolicy='catchup'`.
    For QEMU/KVM also: no `platform` timer, no
    rtc `track='boot'`, no rtc `tickpolicy` `merge`/`discard`, no pit
    `tickpolicy='merge'`, pit `tickpolicy='catchup'` only where QEMU's
    `kvm-pit` has a lost tick policy (x86 QEMU built with KVM: from the
    guest's architecture, or a host snapshot's QEMU capabilities for the
    build), `hpet`, `tsc`, `kvmclock`, `hypervclock` only on
    x86, and `armvtimer` only on KVM ARM `virt` guests, never disabled, and
    without the `catchup` or `merge` tick policy.

    ## Why is this bad?
    libvirt refuses the definition (proven on libvirt 9.0): "timer kvmclock
    doesn't support setting of timer tickpolicy", "timer rtc doesn't support
    setting of timer frequency", "timer pit doesn't support setting of timer
    track", "setting of timer catchup policies is only supported with
    tickpolicy='catchup'". The QEMU driver refuses: "unsupported timer type
    (name) 'platform'", "unsupported rtc timer track 'boot'", "unsupported rtc
    timer tickpolicy '%s'", "unsupported pit tickpolicy 'merge'" (and
    'catchup' without kvm-pit), "hpet timer
    is not supported by this architecture", "Configuring the '%s' timer is not
    supported for virtType=%s arch=%s machine=%s guests", "The 'armvtimer' timer
    can't be disabled", "The 'armvtimer' timer does not support tickpolicy
    'catchup'".

    ## Example
    ```xml
    <clock offset='utc'>
      <timer name='kvmclock' tickpolicy='catchup'/>
    </clock>
    ```

    ## Use instead
    ```xml
    <clock offset='utc'>
      <timer name='kvmclock' present='yes'/>
      <timer name='rtc' tickpolicy='catchup'/>
    </clock>
    ```

    ## Fix safety
    No fix: which timer the setting was meant for is unclear.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainTimerDefParseXML`),
    src/conf/domain_postparse.c (`virDomainDefPostParseTimer`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDefClockTimers`);
    formatdomain "Time keeping".
    """
    facts = ctx.facts
    for timer in facts.timers:
        element = timer.element
        name = timer.name
        tickpolicy = timer.attr("tickpolicy")
        if name in ("kvmclock", "hypervclock") and tickpolicy is not None:
            yield ctx.finding(
                element,
                f"timer {name} doesn't support setting of timer tickpolicy",
                attribute="tickpolicy",
            )
        for attribute, allowed in (
            ("frequency", ("tsc",)),
            ("mode", ("tsc",)),
            ("track", ("rtc", "platform")),
        ):
            if timer.attr(attribute) is not None and name in TIMER_NAMES and name not in allowed:
                yield ctx.finding(
                    element,
                    f"timer {name} doesn't support setting of timer {attribute}",
                    attribute=attribute,
                )
        catchup = child(element, "catchup")
        if catchup is not None and tickpolicy != "catchup":
            yield ctx.finding(
                catchup,
                "setting of timer catchup policies is only supported with tickpolicy='catchup'",
            )
        if facts.driver == "qemu":
            yield from _qemu_timer_checks(ctx, timer, tickpolicy)


def _qemu_timer_checks(ctx, timer, tickpolicy):
    facts = ctx.facts
    element = timer.element
    name = timer.name
    if name == "platform":
        yield ctx.finding(element, "unsupported timer type (name) 'platform'", attribute="name")
    elif name == "rtc":
        if timer.attr("track") == "boot":
            yield ctx.finding(element, "unsupported rtc timer track 'boot'", attribute="track")
        if tickpolicy in ("merge", "discard"):
            yield ctx.finding(
                element, f"unsupported rtc timer tickpolicy '{tickpolicy}'", attribute="tickpolicy"
            )
    elif name == "pit" and tickpolicy == "merge":
        yield ctx.finding(element, "unsupported pit tickpolicy 'merge'", attribute="tickpolicy")
    elif (
        name == "pit"
        and tickpolicy == "catchup"
        and (why := ctx.qemu_lacks("kvm-pit-lost-tick-policy"))
    ):
        # catching up needs the in-kernel PIT's lost tick policy (x86 QEMU built with KVM)
        yield ctx.finding(
            element, f"unsupported pit tickpolicy 'catchup': {why}", attribute="tickpolicy"
        )
    elif name == "armvtimer":
        yield from _armvtimer_checks(ctx, timer, tickpolicy)
    elif name in ("hpet", "tsc", "kvmclock", "hypervclock") and timer.present == "yes":
        if facts.arch is not None and not facts.is_x86:
            message = (
                "hpet timer is not supported by this architecture" if name == "hpet"
                else f"Configuring the '{name}' timer is not supported for "
                f"virtType={facts.virt_type} arch={facts.arch} machine={facts.machine} guests"
            )  # fmt: skip
            yield ctx.finding(element, message, attribute="present")


def _armvtimer_checks(ctx, timer, tickpolicy):
    facts = ctx.facts
    element = timer.element
    # No machine on ARM: libvirt picks virt, so only a written machine can be wrong.
    arm_virt = facts.is_arm_virt or (not facts.machine and facts.arch in ARM_ARCHES)
    if facts.virt_type != "kvm" or not arm_virt:
        yield ctx.finding(
            element,
            "Configuring the 'armvtimer' timer is not supported for "
            f"virtType={facts.virt_type} arch={facts.arch} machine={facts.machine} guests",
            attribute="name",
        )
    elif timer.present == "no":
        yield ctx.finding(element, "The 'armvtimer' timer can't be disabled", attribute="present")
    elif tickpolicy in ("catchup", "merge"):
        yield ctx.finding(
            element,
            f"The 'armvtimer' timer does not support tickpolicy '{tickpolicy}'",
            attribute="tickpolicy",
        )


#: virt-manager's timer defaults for x86 KVM guests (virtinst/domain/clock.py).
DEFAULT_TIMERS = (
    ("rtc", {"name": "rtc", "tickpolicy": "catchup"}),
    ("pit", {"name": "pit", "tickpolicy": "delay"}),
    ("hpet", {"name": "hpet", "present": "no"}),
)


@rule(
    code="DX643",
    name="timer-defaults-suggested",
    severity="info",
    summary="An x86 KVM guest without the usual timer settings (rtc catchup, pit delay, no hpet)",
    fix="unsafe",
    default=False,
    triggers=("domain",),
    domains=KVM.on(*X86),
)
def timer_defaults_suggested(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds x86 KVM guests without any `<clock><timer>`, and suggests the timer
    settings virt-manager writes for every new guest: `<timer name='rtc'
    tickpolicy='catchup'/>`, `<timer name='pit' tickpolicy='delay'/>`, `<timer
    name='hpet' present='no'/>`, and for Windows guests `<timer name='hypervclock' present='yes'/>`.

    ## Why is this bad?
    Catch-up delivery of missed RTC ticks keeps guest time correct after the
    vCPU was descheduled; the emulated HPET "is unneeded and has a performance
    penalty" (virt-manager). Windows without the Hyper-V reference clock falls
    back to the HPET or RTC, which costs CPU even when idle (QEMU's Hyper-V
    documentation). It is advice, hence opt-in.

    ## Example
    ```xml
    <clock offset='utc'/>
    ```

    ## Use instead
    ```xml
    <clock offset='utc'>
      <timer name='rtc' tickpolicy='catchup'/>
      <timer name='pit' tickpolicy='delay'/>
      <timer name='hpet' present='no'/>
    </clock>
    ```

    ## Fix safety
    Unsafe: removing the HPET and changing tick policies change the guest's
    hardware and timekeeping; old guests may depend on the HPET.

    ## Source
    virt-manager virtinst/domain/clock.py (timer defaults); formatdomain "Time
    keeping"; QEMU docs/system/i386/hyperv.rst (hv-stimer, hv-time); the RHEL 7
    Virtualization Deployment and Administration Guide, "KVM Guest Timing
    Management" (the tuning guide has no chapter on timers).
    """
    facts = ctx.facts
    if facts.timers:
        return  # the author chose timers on purpose
    wanted = [new_element("timer", attrs) for _name, attrs in DEFAULT_TIMERS]
    if facts.is_windows and facts.windows_has_enlightenments:
        wanted.append(new_element("timer", {"name": "hypervclock", "present": "yes"}))
    clock = facts.top("clock")
    names = ", ".join(timer.attributes[0][1] for timer in wanted)

    def edits() -> list[Edit]:  # built only when the output needs it
        if clock is None:
            return [ctx.edit.insert_top_level(new_element("clock", {"offset": "utc"}, *wanted))]
        return [ctx.edit.insert_children(clock, wanted)]

    anchor = clock if clock is not None else facts.top("os")
    yield ctx.finding(
        anchor if anchor is not None else facts.root,
        f"no timer settings: consider {names} (virt-manager's defaults)",
        fix=ctx.unsafe_fix(f"Add timers: {names}", edits),
    )
