"""DX701-DX705: Windows guests and Hyper-V enlightenments."""

from __future__ import annotations

from collections.abc import Iterator

from ...edits import NewElement, new_element
from ...findings import Edit, Finding
from ...rule import KVM, QEMU, X86, HostPart, RuleContext, rule

#: Every <hyperv> child some libvirt release knows (9.0 up to 11.x).
KNOWN_FEATURES = frozenset({
    "relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "reset",
    "vendor_id", "frequencies", "reenlightenment", "tlbflush", "ipi", "evmcs", "avic",
    "emsr_bitmap", "xmm_input",
})  # fmt: skip


KNOWN_CHILDREN = {"stimer": frozenset({"direct"}), "tlbflush": frozenset({"direct", "extended"})}


MIN_SPINLOCK_RETRIES = 4095


VENDOR_ID_MAX = 12


RECOMMENDED_RETRIES = "8191"


#: QEMU's "Requires:" lists (docs/system/i386/hyperv.rst); "time" is libvirt's
#: <timer name='hypervclock' present='yes'/>, which libvirt passes as hv-time.
DEPENDENCIES = {
    "synic": ("vpindex",),
    "stimer": ("vpindex", "synic", "time"),
    "stimer/direct": ("stimer",),
    "tlbflush": ("vpindex",),
    "ipi": ("vpindex",),
    "evmcs": ("vapic",),
    "tlbflush/direct": ("vapic",),
    "tlbflush/extended": ("tlbflush",),
}


#: The conservative set windows-hyperv-missing adds: what RHEL, virt-manager and
#: Proxmox agree on and any KVM host since Linux 5.0 offers (no vendor-specific,
#: nested-only or debug features).
CONSERVATIVE_SET = (
    "relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "frequencies",
    "tlbflush", "ipi",
)  # fmt: skip


def _child_enabled(hyperv, path: str) -> bool:
    parent, _, sub = path.partition("/")
    if not sub:
        return hyperv.enabled(parent)
    feature = hyperv.feature(parent)
    if feature is None:
        return False
    element = feature.element.find(sub)
    return element is not None and element.get("state") == "on"


def _time_enabled(facts) -> bool:
    timer = facts.timer("hypervclock")
    return timer is not None and timer.present == "yes"


def _feature_element(name: str) -> NewElement:
    attributes = {"state": "on"}
    if name == "spinlocks":
        attributes["retries"] = RECOMMENDED_RETRIES
    return new_element(name, attributes)


def _enable_edits(ctx: RuleContext, names: list[str]) -> list[Edit]:
    """Edits switching on the top-level enlightenments ``names`` and, for "time", hypervclock."""
    facts = ctx.facts
    hyperv = facts.hyperv
    edits: list[Edit] = []
    absent: list[NewElement] = []
    for name in names:
        if name == "time":
            continue
        feature = hyperv.feature(name) if hyperv is not None else None
        if feature is None:
            absent.append(_feature_element(name))
        else:
            edits.extend(ctx.edit.set_attributes(feature.element, {"state": "on"}))
    if absent:
        if hyperv is not None:
            edits.append(ctx.edit.insert_children(hyperv.element, absent))
        elif facts.features is not None:
            edits.append(
                ctx.edit.insert_child(
                    facts.features, new_element("hyperv", {"mode": "custom"}, *absent)
                )
            )
        else:
            edits.append(
                ctx.edit.insert_top_level(
                    new_element(
                        "features", None, new_element("hyperv", {"mode": "custom"}, *absent)
                    ),
                )
            )
    if "time" in names:
        edits.extend(_hypervclock_edits(ctx))
    return ctx.edit.merge_insertions(edits)


def _hypervclock_edits(ctx) -> list:
    facts = ctx.facts
    timer = facts.timer("hypervclock")
    if timer is not None:
        return ctx.edit.set_attributes(timer.element, {"present": "yes"})
    wanted = new_element("timer", {"name": "hypervclock", "present": "yes"})
    clock = facts.top("clock")
    if clock is None:
        return [ctx.edit.insert_top_level(new_element("clock", {"offset": "utc"}, wanted))]
    return [ctx.edit.insert_children(clock, [wanted])]


@rule(
    code="DX701",
    name="windows-hyperv-missing",
    severity="warning",
    summary="A Windows guest without Hyper-V enlightenments or without synthetic timers",
    fix="unsafe",
    triggers=("domain",),
    domains=KVM.on(*X86),
)
def windows_hyperv_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds Windows guests on x86 KVM that have no Hyper-V enlightenment switched
    on, or have some but not the synthetic timers (`stimer`). A guest counts as
    Windows when its libosinfo metadata names a Windows release from Vista/2008
    on (`<libosinfo:os id='http://microsoft.com/win/...'/>`, as virt-install
    and virt-manager write it), or when it has Hyper-V enlightenments together
    with `<clock offset='localtime'>`. The name of the domain is never used.

    ## Why is this bad?
    Without enlightenments Windows treats KVM as bare metal: spinlocks spin,
    every APIC access and timer exits to the hypervisor, and watchdog timeouts
    fire after the vCPU was descheduled. Without `stimer`, "certain Windows
    versions revert to using HPET (or even RTC when HPET is unavailable)
    extensively ... this can lead to significant CPU consumption, even when
    virtual CPU is idle" (QEMU). Red Hat calls enlightenments the way to make
    Windows perform well on KVM. An explicit `<stimer state='off'/>` or
    `<timer name='hypervclock' present='no'/>` is respected.

    ## Example
    ```xml
    <features>
      <acpi/>
    </features>
    ```

    ## Use instead
    ```xml
    <features>
      <acpi/>
      <hyperv mode='custom'>
        <relaxed state='on'/>
        <vapic state='on'/>
        <spinlocks state='on' retries='8191'/>
        <vpindex state='on'/>
        <runtime state='on'/>
        <synic state='on'/>
        <stimer state='on'/>
        <frequencies state='on'/>
        <tlbflush state='on'/>
        <ipi state='on'/>
      </hyperv>
    </features>
    <clock offset='localtime'>
      <timer name='hypervclock' present='yes'/>
    </clock>
    ```

    ## Fix safety
    Unsafe: the fix adds the conservative set above (what RHEL, virt-manager
    and Proxmox agree on; no vendor-specific, nested-only or debug features)
    and the hypervclock timer. The host kernel must support them ("Hyper-V %s
    is not supported by kernel" otherwise; Linux 5.0 or later has them all),
    and Windows sees new hardware features.

    ## Source
    QEMU docs/system/i386/hyperv.rst (Recommendations); Red Hat RHEL 10
    "Enabling Hyper-V enlightenments"; virt-manager virtinst/domain/features.py;
    Proxmox qemu-server CPUConfig.pm; formatdomain "Hypervisor features"
    (`hyperv`) and "Time keeping".
    """
    facts = ctx.facts
    if not facts.is_windows:
        return
    if not facts.windows_has_enlightenments:
        return
    hyperv = facts.hyperv
    timer = facts.timer("hypervclock")
    time_refused = timer is not None and timer.present == "no"
    anchor = hyperv.element if hyperv is not None else facts.features
    if anchor is None:
        anchor = facts.root
    wanted = [
        name for name in CONSERVATIVE_SET
        if hyperv is None or hyperv.feature(name) is None
    ]  # fmt: skip
    switched_off = hyperv is not None and any(
        f.state == "off" for f in hyperv.features if f.name in ("vpindex", "synic")
    )
    if time_refused or switched_off:  # stimer would then lack what it requires
        wanted = [n for n in wanted if n not in ("synic", "stimer")]
    elif not _time_enabled(facts):
        wanted.append("time")
    if hyperv is None or not hyperv.any_enabled:
        what = "no Hyper-V enlightenments"
        effect = "Windows runs as on bare metal and burns CPU on timers"
    elif not hyperv.enabled("stimer"):
        stimer = hyperv.feature("stimer")
        if (stimer is not None and stimer.state == "off") or time_refused or switched_off:
            return
        what = "Hyper-V enlightenments but no synthetic timers (stimer)"
        # The other enlightenments work; without stimer Windows falls back to HPET/RTC.
        effect = "Windows falls back to the HPET or RTC timer and burns CPU even when idle"
    else:
        return
    fix = (
        ctx.unsafe_fix(
            "Add a conservative set of Hyper-V enlightenments", *_enable_edits(ctx, wanted)
        )
        if wanted
        else None
    )
    source = facts.windows_os_id or "Hyper-V settings with a localtime clock"
    yield ctx.finding(
        anchor,
        f"Windows guest ({source}) with {what}: {effect}",
        fix=fix,
    )


@rule(
    code="DX702",
    name="hyperv-dependency-missing",
    severity="error",
    summary="A Hyper-V enlightenment is on but one it requires is off, so QEMU refuses to start",
    fix="safe",
    triggers=("hyperv",),
    domains=KVM,
)
def hyperv_dependency_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For KVM guests with `<hyperv mode='custom'>`, checks QEMU's dependencies
    between enlightenments: `synic` needs `vpindex`; `stimer` needs `vpindex`,
    `synic` and the Hyper-V clock (`<timer name='hypervclock'
    present='yes'/>`, QEMU's hv-time); `stimer`'s `direct` needs `stimer`;
    `tlbflush` and `ipi` need `vpindex`; `evmcs` and `tlbflush`'s `direct`
    need `vapic`; `tlbflush`'s `extended` needs `tlbflush`.

    ## Why is this bad?
    QEMU checks these when it sets up the vCPUs and refuses to start: "Hyper-V
    %s requires Hyper-V %s" (e.g. "Hyper-V synthetic timers (hv-stimer)
    requires Hyper-V clocksources (hv-time)"). libvirt passes the features
    through without checking, so the definition is accepted and fails only at
    start.

    ## Example
    ```xml
    <hyperv mode='custom'>
      <synic state='on'/>
      <stimer state='on'/>
    </hyperv>
    ```

    ## Use instead
    ```xml
    <hyperv mode='custom'>
      <vpindex state='on'/>
      <synic state='on'/>
      <stimer state='on'/>
    </hyperv>
    <clock offset='localtime'>
      <timer name='hypervclock' present='yes'/>
    </clock>
    ```

    ## Fix safety
    Safe: the fix switches on the missing dependencies (and the hypervclock
    timer). The guest cannot start as written, so enabling what QEMU requires
    cannot break a guest that starts today.

    ## Source
    QEMU target/i386/kvm/kvm.c (`hv_feature_check_deps`,
    kvm_hyperv_properties dependencies; commit c686193072a4 "i386/kvm:
    hv-stimer requires hv-time and hv-synic"), docs/system/i386/hyperv.rst
    ("Requires:"); formatdomain "Hypervisor features".
    """
    facts = ctx.facts
    hyperv = facts.hyperv
    if hyperv is None or hyperv.mode != "custom":
        return
    for path, requirements in DEPENDENCIES.items():
        if not _child_enabled(hyperv, path):
            continue
        missing = [
            name for name in requirements
            if not (_time_enabled(facts) if name == "time" else _child_enabled(hyperv, name))
        ]  # fmt: skip
        if not missing:
            continue
        parent, _, sub = path.partition("/")
        feature = hyperv.feature(parent)
        assert feature is not None  # _child_enabled found it
        element = feature.element
        if sub:
            found = element.find(sub)
            assert found is not None  # _child_enabled found it
            element = found
        shown = ["hypervclock timer (hv-time)" if m == "time" else m for m in missing]
        yield ctx.finding(
            element,
            f"Hyper-V {path.replace('/', ' ')} requires Hyper-V {', '.join(shown)}: QEMU refuses "
            "to start",
            fix=ctx.safe_fix(f"Enable {', '.join(shown)}", *_enable_edits(ctx, missing)),
        )


@rule(
    code="DX703",
    name="hyperv-value-invalid",
    severity="error",
    summary="A <hyperv> feature with a missing or invalid value, or an unknown feature",
    fix="safe",
    triggers=("hyperv",),
    libvirt=("virDomainFeaturesHyperVDefParse", "qemuValidateDomainDefFeatures"),
)
def hyperv_value_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<features><hyperv>`: `mode` is `custom` or `passthrough`; every
    child is a known enlightenment with `state='on'` or `'off'`; `spinlocks`
    that is on has `retries` of at least 4095; `vendor_id` that is on has a
    `value` of at most 12 characters without a comma; `stimer` and `tlbflush`
    have only their known sub-features. For QEMU, Hyper-V features need an x86
    or ARM `virt` guest.

    ## Why is this bad?
    libvirt refuses the definition (proven on libvirt 9.0): "HyperV spinlock
    retry count must be at least 4095", "Missing required attribute 'retries'
    in element 'spinlocks'", "missing 'value' attribute for HyperV feature
    'vendor_id'", "HyperV vendor_id value must not be more than 12
    characters.", "HyperV vendor_id value is invalid", "unsupported HyperV
    Enlightenment feature: %s", "unsupported Hyper-V stimer feature: %s",
    "Missing required attribute 'state' in element '%s'". The QEMU driver:
    "Hyperv features are not supported for architecture '%s' or machine type
    '%s'".

    ## Example
    ```xml
    <spinlocks state='on' retries='1024'/>
    ```

    ## Use instead
    ```xml
    <spinlocks state='on' retries='8191'/>
    ```

    ## Fix safety
    Safe for the spinlock count: the fix sets `retries='8191'` (0x1fff, what
    virt-manager, RHEL and Proxmox use); the definition is refused as written.
    The other problems have no fix.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainFeaturesHyperVDefParse`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDefFeatures`); formatdomain
    "Hypervisor features"; QEMU docs/system/i386/hyperv.rst (hv-spinlocks,
    hv-vendor-id).
    """
    facts = ctx.facts
    hyperv = facts.hyperv
    if hyperv is None:
        return
    if hyperv.mode not in ("custom", "passthrough"):
        yield ctx.finding(
            hyperv.element,
            f"unknown hyperv mode '{hyperv.mode}' (custom or passthrough)",
            attribute="mode",
        )
    for feature in hyperv.features:
        element = feature.element
        if feature.name not in KNOWN_FEATURES:
            yield ctx.finding(element, f"unsupported HyperV Enlightenment feature: {feature.name}")
            continue
        if feature.state is None:
            yield ctx.finding(
                element, f"Missing required attribute 'state' in element '{feature.name}'"
            )
            continue
        if feature.state not in ("on", "off"):
            yield ctx.finding(
                element,
                f"Invalid value for attribute 'state' in element '{feature.name}': "
                f"'{feature.state}' (on or off)",
                attribute="state",
            )
            continue
        if feature.name in KNOWN_CHILDREN:
            for sub in element:
                if isinstance(sub.tag, str) and sub.tag not in KNOWN_CHILDREN[feature.name]:
                    label = "Hyper-V stimer" if feature.name == "stimer" else "Hyper-V tlbflush"
                    yield ctx.finding(sub, f"unsupported {label} feature: {sub.tag}")
        if not feature.enabled:
            continue
        if feature.name == "spinlocks":
            yield from _spinlocks(ctx, element)
        elif feature.name == "vendor_id":
            value = element.get("value")
            if value is None:
                yield ctx.finding(
                    element, "missing 'value' attribute for HyperV feature 'vendor_id'"
                )
            elif len(value) > VENDOR_ID_MAX:
                yield ctx.finding(
                    element,
                    f"vendor_id '{value}' has {len(value)} characters: HyperV vendor_id value "
                    f"must not be more than {VENDOR_ID_MAX} characters.",
                    attribute="value",
                )
            elif "," in value:
                yield ctx.finding(
                    element,
                    "HyperV vendor_id value is invalid (it contains a comma)",
                    attribute="value",
                )
    if (
        facts.driver == "qemu"
        and facts.arch is not None
        and not facts.is_x86
        and not facts.is_arm_virt
    ):
        if hyperv.any_enabled:
            yield ctx.finding(
                hyperv.element,
                f"Hyperv features are not supported for architecture '{facts.arch}' or machine "
                f"type '{facts.machine}'",
            )


def _spinlocks(ctx, element):
    retries = element.get("retries")
    fix = ctx.safe_fix(
        f"Set retries='{RECOMMENDED_RETRIES}'",
        ctx.edit.set_attribute(element, "retries", RECOMMENDED_RETRIES),
    )
    if retries is None:
        yield ctx.finding(
            element, "Missing required attribute 'retries' in element 'spinlocks'", fix=fix
        )
        return
    try:
        count = int(retries, 0)
    except ValueError:
        yield ctx.finding(
            element, f"spinlocks retries='{retries}' is not a number", attribute="retries", fix=fix
        )
        return
    if count < MIN_SPINLOCK_RETRIES:
        yield ctx.finding(
            element,
            f"retries='{retries}': HyperV spinlock retry count must be at least "
            f"{MIN_SPINLOCK_RETRIES}",
            attribute="retries",
            fix=fix,
        )


@rule(
    code="DX705",
    name="hyperv-passthrough-mode",
    severity="warning",
    summary="<hyperv mode='passthrough'> copies the host's enlightenments and blocks migration",
    triggers=("hyperv",),
    domains=QEMU,
)
def hyperv_passthrough_mode(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds QEMU/KVM guests with `<hyperv mode='passthrough'>`.

    ## Why is this bad?
    Passthrough mode gives the guest whatever enlightenments the current host
    kernel supports. QEMU calls it a debugging and development feature that
    "should not be enabled in production configurations" and notes that it
    "effectively prevents migration as the list of enabled enlightenments may
    differ between target and destination hosts"; the guest's view also
    changes after a host kernel update.

    ## Example
    ```xml
    <hyperv mode='passthrough'/>
    ```

    ## Use instead
    ```xml
    <hyperv mode='custom'>
      <relaxed state='on'/>
      <vapic state='on'/>
      <spinlocks state='on' retries='8191'/>
      <vpindex state='on'/>
      <synic state='on'/>
      <stimer state='on'/>
    </hyperv>
    ```

    ## Fix safety
    No fix: the explicit list should match what the hosts support.

    ## Source
    QEMU docs/system/i386/hyperv.rst (hv-passthrough, Recommendations);
    formatdomain "Hypervisor features" (`hyperv` `mode`).
    """
    facts = ctx.facts
    if facts.hyperv is not None and facts.hyperv.mode == "passthrough":
        yield ctx.finding(
            facts.hyperv.element,
            "hyperv mode='passthrough' is a debugging feature: the enlightenments follow the "
            "host kernel and migration is effectively impossible",
            attribute="mode",
        )


#: Enlightenments whose absence on the host only logs a warning at start;
#: every other one fails it (qemuProcessVerifyHypervFeatures).
WARN_ONLY_WHEN_UNSUPPORTED = frozenset({"relaxed", "vapic"})


#: String-valued features libvirt always supports (no host check).
ALWAYS_SUPPORTED = frozenset({"spinlocks", "vendor_id"})


@rule(
    code="DX704",
    name="hyperv-unsupported-by-host",
    severity="warning",
    summary="A Hyper-V enlightenment that the host's QEMU/KVM does not offer",
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    triggers=("hyperv",),
    domains=QEMU,
    libvirt=("qemuProcessVerifyHypervFeatures",),
)
def hyperv_unsupported_by_host(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares the enlightenments a QEMU/KVM guest turns on in `<hyperv>` with the
    ones the host offers, as its domain capabilities list them
    (`<features><hyperv><enum name='features'>`) for the guest's virt type,
    architecture and machine type.

    ## Why is this bad?
    When the guest starts, libvirt checks each enlightenment against what KVM
    provides. A missing `relaxed` or `vapic` is only logged; any other one
    (vpindex, runtime, synic, stimer, reset, frequencies, reenlightenment,
    tlbflush, ipi, evmcs, ...) makes the start fail: "host doesn't support
    hyperv '%s' feature". The usual case is `evmcs` (Intel-only) on an AMD
    host, or a definition copied from a newer host.

    The rule needs a host snapshot with domain capabilities for the guest's
    machine type; without one it stays silent (`--verbose` says why).

    ## Example
    ```xml
    <!-- on an AMD EPYC host -->
    <hyperv mode='custom'>
      <vapic state='on'/>
      <evmcs state='on'/>
    </hyperv>
    ```

    ## Use instead
    ```xml
    <hyperv mode='custom'>
      <vapic state='on'/>
    </hyperv>
    ```

    ## Fix safety
    No fix: dropping an enlightenment changes what the Windows guest sees; the
    author should choose, possibly per host.

    ## Source
    libvirt src/qemu/qemu_process.c (`qemuProcessVerifyHypervFeatures`);
    formatdomaincaps "Hyper-V Enlightenments" (the `features` enum); QEMU
    docs/system/i386/hyperv.rst (hv-evmcs is Intel-only).
    """
    facts = ctx.facts
    hyperv = facts.hyperv
    if hyperv is None or hyperv.mode == "passthrough":
        return
    caps = ctx.host.domain_caps_for(facts.virt_type, facts.arch, facts.machine)
    if caps is None or caps.hyperv_features is None:
        ctx.note(
            "the host snapshot has no domain capabilities listing Hyper-V features for "
            f"{facts.virt_type}/{facts.arch}/{facts.machine}"
        )
        return
    for feature in hyperv.features:
        if not feature.enabled or feature.name in ALWAYS_SUPPORTED:
            continue
        if feature.name in caps.hyperv_features:
            continue
        outcome = (
            "libvirt starts the guest without it"
            if feature.name in WARN_ONLY_WHEN_UNSUPPORTED
            else "libvirt refuses to start the guest (\"host doesn't support hyperv "
            f"'{feature.name}' feature\")"
        )
        yield ctx.finding(
            feature.element,
            f"Hyper-V '{feature.name}' is not offered by this host's QEMU/KVM "
            f"(domain capabilities for {caps.machine or facts.machine}): {outcome}",
        )
