"""DX640-DX644, DX650: IOMMU, disabled USB, timers, firmware and watchdogs."""

from __future__ import annotations

from ..edits import new_element
from ..facts import child
from ..rule import QEMU, rule

TIMER_NAMES = frozenset(
    {"platform", "pit", "rtc", "hpet", "tsc", "kvmclock", "hypervclock", "armvtimer"}
)


@rule(
    code="DX640",
    name="iommu-invalid",
    severity="error",
    summary="An <iommu> whose model, machine, interrupt remapping or ACPI libvirt refuses",
    fix="safe",
    triggers=("iommu",),
    libvirt=("virDomainDefIOMMUValidate", "qemuValidateDomainDeviceDefIOMMU"),
)
def iommu_invalid(ctx):
    """
    ## What it does
    Checks `<iommu>`: `intremap='on'` needs the split I/O APIC
    (`<features><ioapic driver='qemu'/></features>`), `eim='on'` needs
    `intremap='on'`; for QEMU/KVM the `intel` model needs a q35 machine,
    `smmuv3` an ARM `virt` machine, and `virtio` a q35 or ARM `virt` machine
    with `<acpi/>`.

    ## Why is this bad?
    libvirt refuses the definition: "IOMMU interrupt remapping requires split
    I/O APIC (ioapic driver='qemu')", "IOMMU eim requires interrupt remapping
    to be enabled" (both proven on libvirt 9.0), and the QEMU driver "IOMMU
    device: '%s' is only supported with Q35 machines", "... only supported with
    ARM Virt machines", "... only supported with Q35 and ARM Virt machines",
    "IOMMU device: 'virtio' requires ACPI".

    ## Example
    ```xml
    <iommu model='intel'>
      <driver intremap='on'/>
    </iommu>
    ```

    ## Use instead
    ```xml
    <features><ioapic driver='qemu'/></features>
    <iommu model='intel'>
      <driver intremap='on'/>
    </iommu>
    ```

    ## Fix safety
    Safe for interrupt remapping: the fix adds `<ioapic driver='qemu'/>`, which
    `intremap` cannot work without; the definition is refused as written. The
    machine and model conflicts have no fix.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefIOMMUValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefIOMMU`);
    formatdomain "IOMMU devices".
    """
    facts = ctx.facts
    ioapic = child(facts.features, "ioapic") if facts.features is not None else None
    split_ioapic = ioapic is not None and ioapic.get("driver") == "qemu"
    for iommu in facts.device_elements("iommu"):
        driver = child(iommu, "driver")
        intremap = driver.get("intremap") if driver is not None else None
        eim = driver.get("eim") if driver is not None else None
        if intremap == "on" and not split_ioapic:
            yield ctx.finding(
                driver,
                "IOMMU interrupt remapping requires split I/O APIC (ioapic driver='qemu')",
                attribute="intremap",
                fix=ctx.safe_fix(
                    "Add <ioapic driver='qemu'/>",
                    *ctx.edit.ensure_feature("ioapic", {"driver": "qemu"}),
                ),
            )
        if eim == "on" and intremap != "on":
            yield ctx.finding(
                driver, "IOMMU eim requires interrupt remapping to be enabled", attribute="eim"
            )
        if facts.driver != "qemu":
            continue
        model = iommu.get("model")
        if model == "intel" and facts.is_q35 is False:
            yield ctx.finding(
                iommu,
                f"IOMMU device: 'intel' is only supported with Q35 machines, not '{facts.machine}'",
                attribute="model",
            )
        elif model == "smmuv3" and facts.machine and not facts.is_arm_virt:
            yield ctx.finding(
                iommu,
                "IOMMU device: 'smmuv3' is only supported with ARM Virt machines",
                attribute="model",
            )
        elif model == "virtio":
            if facts.machine and not facts.is_q35 and not facts.is_arm_virt:
                yield ctx.finding(
                    iommu,
                    "IOMMU device: 'virtio' is only supported with Q35 and ARM Virt machines",
                    attribute="model",
                )
            elif facts.feature_state("acpi") != "on":
                yield ctx.finding(iommu, "IOMMU device: 'virtio' requires ACPI", attribute="model")


def _usb_disabled(facts):
    """The ``<controller type='usb' model='none'>`` element, if USB is disabled."""
    for controller in facts.controllers:
        if controller.type == "usb" and controller.model == "none":
            return controller.element
    return None


@rule(
    code="DX641",
    name="usb-disabled-conflict",
    severity="error",
    summary="USB is disabled (model='none') but a USB controller or USB device is defined",
    triggers=("controller",),
    libvirt=("virDomainDefMaybeAddController", "virDomainRedirdevDefValidate"),
)
def usb_disabled_conflict(ctx):
    """
    ## What it does
    When a `<controller type='usb' model='none'/>` disables USB, finds other
    USB controllers, USB input devices, USB redirection, USB host devices and
    USB hubs.

    ## Why is this bad?
    libvirt refuses the definition (all proven on libvirt 9.0): "Can't add
    another USB controller: USB is disabled for this domain", "Can't add USB
    input device. USB bus is disabled", "cannot add redirected USB device: USB
    is disabled for this domain", "Can't add host USB device: USB is disabled
    in this host", "Can't add USB hub: USB is disabled for this domain". The
    real-time kbase recommends `model='none'`; the tablet that virt-install
    adds by default then has to go (or use `bus='virtio'`).

    ## Example
    ```xml
    <controller type='usb' model='none'/>
    <input type='tablet' bus='usb'/>
    ```

    ## Use instead
    ```xml
    <controller type='usb' model='none'/>
    <input type='tablet' bus='virtio'/>
    ```

    ## Fix safety
    No fix: whether to keep USB or drop the device is the author's call.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefParseXML` USB checks,
    `virDomainDefMaybeAddController`), src/conf/domain_validate.c
    (`virDomainRedirdevDefValidate`); formatdomain "Controllers" (USB
    `model='none'`); kbase kvm-realtime.
    """
    facts = ctx.facts
    disabled = _usb_disabled(facts)
    if disabled is None:
        return
    for controller in facts.controllers:
        if controller.type == "usb" and controller.element is not disabled:
            yield ctx.finding(
                controller.element,
                "Can't add another USB controller: USB is disabled for this domain",
            )
    checks = (
        ("input", "bus", "Can't add USB input device. USB bus is disabled"),
        ("redirdev", "bus", "cannot add redirected USB device: USB is disabled for this domain"),
        ("hostdev", "type", "Can't add host USB device: USB is disabled in this host"),
        ("hub", "type", "Can't add USB hub: USB is disabled for this domain"),
    )
    for tag, attribute, message in checks:
        for element in facts.device_elements(tag):
            if element.get(attribute) == "usb":
                yield ctx.finding(element, message, attribute=attribute)


@rule(
    code="DX642",
    name="timer-invalid",
    severity="error",
    summary="A <clock><timer> with attributes or a name libvirt or QEMU refuses",
    triggers=("timer",),
    libvirt=("virDomainTimerDefParseXML", "qemuValidateDomainDefClockTimers"),
)
def timer_invalid(ctx):
    """
    ## What it does
    Checks every `<clock><timer>`: no `tickpolicy` on `kvmclock` and
    `hypervclock`; `frequency` and `mode` only for `tsc`; `track` only for
    `rtc` and `platform`; a `<catchup>` child needs `tickpolicy='catchup'`.
    For QEMU/KVM also: no `platform` timer, no
    rtc `track='boot'`, no rtc `tickpolicy` `merge`/`discard`, no pit
    `tickpolicy='merge'`, and `hpet`, `tsc`, `kvmclock`, `hypervclock` only on
    x86.

    ## Why is this bad?
    libvirt refuses the definition (proven on libvirt 9.0): "timer kvmclock
    doesn't support setting of timer tickpolicy", "timer rtc doesn't support
    setting of timer frequency", "timer pit doesn't support setting of timer
    track", "setting of timer catchup policies is only supported with
    tickpolicy='catchup'". The QEMU driver refuses: "unsupported timer type
    (name) 'platform'", "unsupported rtc timer track 'boot'", "unsupported rtc
    timer tickpolicy '%s'", "unsupported pit tickpolicy 'merge'", "hpet timer
    is not supported by this architecture", "Configuring the '%s' timer is not
    supported for virtType=%s arch=%s machine=%s guests".

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
        if child(element, "catchup") is not None and tickpolicy != "catchup":
            yield ctx.finding(
                child(element, "catchup"),
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
    elif name in ("hpet", "tsc", "kvmclock", "hypervclock") and timer.present == "yes":
        if facts.arch is not None and not facts.is_x86:
            message = (
                "hpet timer is not supported by this architecture" if name == "hpet"
                else f"Configuring the '{name}' timer is not supported for "
                f"virtType={facts.virt_type} arch={facts.arch} machine={facts.machine} guests"
            )  # fmt: skip
            yield ctx.finding(element, message, attribute="present")


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
)
def timer_defaults_suggested(ctx):
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
    keeping"; QEMU docs/system/i386/hyperv.rst (hv-stimer, hv-time); guide 8
    (KVM guest timing management in the RHEL guides).
    """
    facts = ctx.facts
    if facts.virt_type != "kvm" or not facts.is_x86:
        return
    if facts.timers:
        return  # the author chose timers on purpose
    wanted = [new_element("timer", attrs) for _name, attrs in DEFAULT_TIMERS]
    if facts.is_windows and facts.windows_has_enlightenments:
        wanted.append(new_element("timer", {"name": "hypervclock", "present": "yes"}))
    clock = child(facts.root, "clock")
    names = ", ".join(timer.attributes[0][1] for timer in wanted)
    if clock is None:
        edit = ctx.edit.insert_top_level(new_element("clock", {"offset": "utc"}, *wanted))
    else:
        edit = ctx.edit.insert_children(clock, wanted)
    anchor = clock if clock is not None else child(facts.root, "os")
    yield ctx.finding(
        anchor if anchor is not None else facts.root,
        f"no timer settings: consider {names} (virt-manager's defaults)",
        fix=ctx.unsafe_fix(f"Add timers: {names}", edit),
    )


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
def secure_boot_requirements(ctx):
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
    os_el = child(facts.root, "os")
    if os_el is None:
        return
    loader = child(os_el, "loader")
    uefi = os_el.get("firmware") == "efi" or (loader is not None and loader.get("type") == "pflash")
    if loader is not None and loader.get("secure") == "yes":
        if facts.is_q35 is False:
            yield ctx.finding(
                loader,
                f"Secure boot is supported with q35 machine types only, not '{facts.machine}'",
                attribute="secure",
            )
        elif facts.arch is not None and facts.arch != "x86_64":
            yield ctx.finding(
                loader,
                f"Secure boot is supported for x86_64 architecture only, not '{facts.arch}'",
                attribute="secure",
            )
        elif os_el.get("firmware") is None and facts.feature_state("smm") != "on":
            fix = None
            if facts.is_q35:
                fix = ctx.safe_fix(
                    "Add <smm state='on'/>", *ctx.edit.ensure_feature("smm", {"state": "on"})
                )
            yield ctx.finding(
                loader, "Secure boot requires SMM feature enabled", attribute="secure", fix=fix
            )
    if uefi and facts.is_x86 and facts.feature_state("acpi") != "on":
        anchor = loader if loader is not None else os_el
        yield ctx.finding(
            anchor,
            "UEFI requires ACPI on this architecture: add <acpi/> to <features>",
            fix=ctx.safe_fix("Add <acpi/>", *_acpi_edits(ctx)),
        )


def _acpi_edits(ctx):
    features = ctx.facts.features
    acpi = child(features, "acpi") if features is not None else None
    if acpi is not None:  # <acpi state='off'/> is not a thing libvirt writes; drop the state
        return [ctx.edit.remove_attribute(acpi, "state")]
    return ctx.edit.ensure_feature("acpi")


@rule(
    code="DX650",
    name="watchdog-actions-conflict",
    severity="error",
    summary="Watchdogs with different actions, or two watchdogs of the same model",
    triggers=("watchdog",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefWatchdogs",),
)
def watchdog_actions_conflict(ctx):
    """
    ## What it does
    For QEMU/KVM guests with several `<watchdog>` devices, checks that they all
    use the same `action` and that no model (other than `i6300esb`) appears
    twice.

    ## Why is this bad?
    QEMU has one watchdog action for the whole machine. libvirt's QEMU driver
    refuses the definition: "watchdogs with different actions are not
    supported with this QEMU binary", "domain can only have one watchdog with
    model '%s'".

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
    `qemuValidateDomainDefWatchdogs`); formatdomain "Watchdog devices".
    """
    facts = ctx.facts
    watchdogs = facts.device_elements("watchdog")
    if len(watchdogs) < 2:
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
