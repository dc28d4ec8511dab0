"""DX741-DX743, DX745-DX747: ``<features>`` the guest's architecture, machine or QEMU lacks."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.features import MIB
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: pSeries-only features (``qemuValidateDomainDefPSeriesFeature``), in libvirt's order.
PSERIES_FEATURES = ("hpt", "htm", "nested-hv", "ccf-assist", "cfpc", "sbbc", "ibs")
#: Features libvirt's QEMU driver accepts on x86 guests only.
X86_ONLY_FEATURES = ("pvspinlock", "ioapic")

ARM_ARCHES = frozenset({"armv6l", "armv7l", "aarch64"})
PPC64_ARCHES = frozenset({"ppc64", "ppc64le"})
#: Architectures whose QEMU machines (8.0+) say which have ACPI: only these "virt" ones do.
ACPI_ONLY_ON_VIRT = ARM_ARCHES | {"riscv32", "riscv64", "loongarch64"}
#: Architectures where no QEMU machine has ACPI.
NO_ACPI_ARCHES = frozenset({"ppc", "ppc64", "ppc64le", "ppcle", "ppcemb"})


def _unsupported(feature: str, arch: str | None, machine: str | None) -> str:
    return (
        f"The '{feature}' feature is not supported for architecture '{arch}' or machine type "
        f"'{machine}'"
    )


@rule(
    code="DX741",
    name="smm-tseg-invalid",
    severity="error",
    summary="<smm><tseg> on a machine that is not q35, or a TSEG size that is not whole MiB",
    triggers=("tseg",),
    domains=QEMU,
    libvirt=("qemuDomainDefTsegPostParse",),
)
def smm_tseg_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<features><smm state='on'><tseg>`, the size of the memory region
    System Management Mode firmware (secure boot's variable store guard)
    keeps from the OS: only q35 machines have it, and it is set in whole
    MiB.

    ## Why is this bad?
    libvirt refuses the definition: "SMM TSEG is only supported with q35
    machine type", "SMM TSEG size must be divisible by 1 MiB". (libvirt also
    refuses it when QEMU lacks the q35 `mch.extended-tseg-mbytes` property;
    every QEMU since 2.10 has it, and libvirt 10.7 needs 5.2 or newer.)

    ## Example
    ```xml
    <features>
      <smm state='on'>
        <tseg unit='KiB'>12345</tseg>
      </smm>
    </features>
    ```

    ## Use instead
    ```xml
    <smm state='on'>
      <tseg unit='MiB'>48</tseg>
    </smm>
    ```

    ## Fix safety
    No fix: the TSEG size the firmware needs is the author's to pick.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainDefTsegPostParse`);
    formatdomain "Hypervisor features" (`smm` `tseg`).
    """
    facts = ctx.facts
    tseg = facts.tseg
    if tseg is None:
        return
    if facts.is_q35 is False:
        yield ctx.finding(
            tseg.element,
            f"SMM TSEG is only supported with q35 machine type, not '{facts.machine}'",
        )
    elif tseg.bytes is not None and tseg.bytes % MIB:
        yield ctx.finding(tseg.element, "SMM TSEG size must be divisible by 1 MiB")


@rule(
    code="DX742",
    name="feature-unsupported-by-machine",
    severity="error",
    summary="A <features> entry the guest's architecture or machine type does not have",
    triggers=(
        *PSERIES_FEATURES,
        *X86_ONLY_FEATURES,
        "gic",
        "apic",
        "pmu",
        "ras",
    ),  # fmt: skip
    domains=QEMU,
    libvirt=("qemuValidateDomainDefFeatures", "qemuValidateDomainDefPSeriesFeature"),
)
def feature_unsupported_by_machine(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<features>` entries that exist on one platform only: `hpt`,
    `htm`, `nested-hv`, `ccf-assist`, `cfpc`, `sbbc` and `ibs` (pSeries
    machines), `ioapic`, `pvspinlock` and `apic eoi=` (x86), `gic` and `ras`
    (ARM `virt` machines); and `<pmu state='off'/>`, which ppc64 cannot do.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "The '%s' feature is not
    supported for architecture '%s' or machine type '%s'", "The 'eoi'
    attribute of the '%s' feature is not supported for architecture '%s' or
    machine type '%s'", "ras feature is only supported with ARM Virt
    machines", "PMU is always enabled for architecture '%s'". Definitions
    copied between architectures carry such leftovers.

    ## Example
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    </os>
    <features>
      <hpt resizing='enabled'/>
    </features>
    ```

    ## Use instead
    ```xml
    <features>
      <acpi/>
    </features>
    ```

    ## Fix safety
    No fix: removing a feature is easy, but the definition may have been
    meant for the other platform.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefFeatures`,
    `qemuValidateDomainDefPSeriesFeature`); formatdomain "Hypervisor
    features".
    """
    facts = ctx.facts
    arch, machine = facts.arch, facts.machine
    if arch is None:
        return
    x86 = facts.is_x86
    for name in X86_ONLY_FEATURES:
        feature = facts.recorded(name)
        if feature is not None and not x86:
            yield ctx.finding(feature.element, _unsupported(name, arch, machine))
    apic = facts.feature_element("apic")
    if apic is not None and apic.get("eoi") is not None and not x86:
        yield ctx.finding(
            apic,
            f"The 'eoi' attribute of the 'apic' feature is not supported for architecture "
            f"'{arch}' or machine type '{machine}'",
            attribute="eoi",
        )
    pmu = facts.recorded("pmu")
    if pmu is not None and pmu.value == "off" and arch in PPC64_ARCHES:
        yield ctx.finding(pmu.element, f"PMU is always enabled for architecture '{arch}'")
    if machine is None:
        return  # the rest depends on the machine type, which libvirt would fill in
    gic = facts.recorded("gic")
    if gic is not None and not facts.is_arm_virt:
        yield ctx.finding(gic.element, _unsupported("gic", arch, machine))
    ras = facts.recorded("ras")
    if ras is not None and not facts.is_arm_virt:
        yield ctx.finding(ras.element, "ras feature is only supported with ARM Virt machines")
    if not facts.is_pseries:
        for name in PSERIES_FEATURES:
            feature = facts.recorded(name)
            if feature is not None:
                yield ctx.finding(feature.element, _unsupported(name, arch, machine))


@rule(
    code="DX743",
    name="vmport-needs-ps2",
    severity="error",
    summary="<vmport state='on'/> with <ps2 state='off'/>",
    triggers=("vmport",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefFeatures",),
)
def vmport_needs_ps2(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds the VMware I/O port switched on while the PS/2 controller is
    switched off.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "vmport feature requires
    the ps2 feature not to be disabled". QEMU's vmport device (VMware
    tools' absolute mouse) sits on the i8042 PS/2 controller.

    ## Example
    ```xml
    <features>
      <vmport state='on'/>
      <ps2 state='off'/>
    </features>
    ```

    ## Use instead
    ```xml
    <features>
      <vmport state='off'/>
      <ps2 state='off'/>
    </features>
    ```

    ## Fix safety
    No fix: which of the two the guest needs is the author's choice.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefFeatures`);
    formatdomain "Hypervisor features" (`vmport`, `ps2`).
    """
    facts = ctx.facts
    vmport = facts.recorded("vmport")
    if vmport is not None and vmport.value == "on" and facts.recorded_value("ps2") == "off":
        yield ctx.finding(
            vmport.element, "vmport feature requires the ps2 feature not to be disabled"
        )


@rule(
    code="DX745",
    name="pc-feature-on-other-machine",
    severity="error",
    summary="<vmport> or <ps2> on a machine without a PC's i8042 controller",
    triggers=("vmport", "ps2"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefFeatures", "virQEMUCapsSupportsVmport"),
)
def pc_feature_on_other_machine(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<vmport>` or `<ps2>` (switched on or off) on a machine other than
    the x86 PC ones: i440FX (`pc`), q35 and `isapc`, and for `<ps2>` also
    Xen's `xenfv`.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "vmport is not available
    with this QEMU binary", "ps2 feature is not available with this QEMU
    binary". libvirt offers both switches only where QEMU's machine has the
    i8042 PS/2 controller (and its `vmport` option), which is the x86 PC
    machines; other architectures' QEMU binaries have neither.

    ## Example
    ```xml
    <os>
      <type arch='aarch64' machine='virt-8.2'>hvm</type>
    </os>
    <features>
      <ps2 state='off'/>
    </features>
    ```

    ## Use instead
    Leave both out: the machine has no PS/2 controller to switch.

    ## Fix safety
    No fix: the definition may have been meant for a PC machine.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefFeatures`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsSupportsVmport`,
    `virQEMUCapsSupportsI8042`); formatdomain "Hypervisor features".
    """
    facts = ctx.facts
    if facts.arch is None or facts.machine is None:
        return
    pc = facts.is_i440fx or bool(facts.is_q35 and facts.is_x86) or facts.machine == "isapc"
    xenfv = facts.is_x86 and (facts.machine == "xenfv" or facts.machine.startswith("xenfv-"))
    vmport = facts.recorded("vmport")
    if vmport is not None and not pc:
        yield ctx.finding(
            vmport.element,
            f"vmport is not available with this QEMU binary (machine '{facts.machine}', "
            f"arch '{facts.arch}')",
        )
    ps2 = facts.recorded("ps2")
    if ps2 is not None and not (pc or xenfv):
        yield ctx.finding(
            ps2.element,
            f"ps2 feature is not available with this QEMU binary (machine '{facts.machine}', "
            f"arch '{facts.arch}')",
        )


@rule(
    code="DX746",
    name="acpi-unsupported-by-machine",
    severity="error",
    summary="<acpi/> on a machine type that has no ACPI (QEMU 8.0 and newer say which)",
    triggers=("acpi",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDef",),
)
def acpi_unsupported_by_machine(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<features><acpi/>` on a machine type without ACPI: on ARM, RISC-V
    and LoongArch every machine but `virt`, and every PowerPC machine
    (pSeries, PowerNV, Mac). x86 machines have ACPI; libvirt drops the
    setting on s390x itself.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "machine type '%s' does
    not support ACPI". QEMU reports per machine whether it has ACPI since
    QEMU 8.0; with an older QEMU (a known `qemu-version`, or a host snapshot
    of one) libvirt cannot tell and lets the setting pass, and so does this
    rule.

    ## Example
    ```xml
    <os>
      <type arch='ppc64' machine='pseries'>hvm</type>
    </os>
    <features>
      <acpi/>
    </features>
    ```

    ## Use instead
    ```xml
    <features/>
    ```

    ## Fix safety
    No fix: the definition may have been meant for another machine.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsMachineSupportsACPI`); QEMU
    qapi/machine.json (`MachineInfo.acpi`, since 8.0).
    """
    facts = ctx.facts
    acpi = facts.recorded("acpi")
    if acpi is None or facts.arch is None or not facts.machine:
        return
    if not ctx.qemu_at_least(8, 0):
        ctx.note(f"QEMU {ctx.versions.qemu} does not say which machine types have ACPI")
        return
    has_acpi = facts.is_arm_virt or facts.machine == "virt" or facts.machine.startswith("virt-")
    if facts.arch in NO_ACPI_ARCHES or (facts.arch in ACPI_ONLY_ON_VIRT and not has_acpi):
        yield ctx.finding(
            acpi.element,
            f"machine type '{facts.machine}' does not support ACPI",
        )


#: Domain capabilities features and the refusal when the guest's machine lacks them.
DOMCAPS_FEATURES = (
    ("vmcoreinfo", "vmcoreinfo", "vmcoreinfo is not available with this QEMU binary"),
    (
        "async-teardown",
        "async-teardown",
        "asynchronous teardown is not available with this QEMU binary",
    ),
)


@rule(
    code="DX747",
    name="feature-unsupported-by-qemu",
    severity="error",
    summary="vmcoreinfo, async-teardown or a ps2 switch the host's QEMU does not offer",
    triggers=("vmcoreinfo", "async-teardown", "ps2"),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDefFeatures",),
)
def feature_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares `<vmcoreinfo state='on'/>`, `<async-teardown enabled='yes'/>`
    and `<ps2 state=...>` (on a PC machine) with the host's domain
    capabilities for the guest's machine (`<features><vmcoreinfo
    supported=...>`, `<async-teardown>`, `<ps2>`).

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "vmcoreinfo is not
    available with this QEMU binary", "asynchronous teardown is not available
    with this QEMU binary" (QEMU 8.1 and newer), "ps2 feature state cannot be
    controlled with this QEMU binary" (QEMU 7.0 and newer have the machines'
    `i8042` switch).

    The rule needs a host snapshot with domain capabilities for the guest's
    machine; without one it stays silent (`--verbose` says why).

    ## Example
    ```xml
    <!-- a host with QEMU 6.2 -->
    <features>
      <ps2 state='off'/>
    </features>
    ```

    ## Use instead
    Leave the feature out, or run the guest on a host whose QEMU has it.

    ## Fix safety
    No fix: whether to drop the feature or upgrade QEMU is the author's
    choice.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefFeatures`);
    formatdomaincaps "Features".
    """
    facts = ctx.facts
    caps = ctx.host.domain_caps_for(facts.virt_type, facts.arch, facts.machine)
    if caps is None:
        ctx.note(
            "the host snapshot has no domain capabilities for "
            f"{facts.virt_type}/{facts.arch}/{facts.machine}"
        )
        return
    for name, capability, message in DOMCAPS_FEATURES:
        feature = facts.recorded(name)
        if feature is not None and feature.value == "on" and caps.features.get(capability) is False:
            yield ctx.finding(feature.element, message)
    pc = facts.is_i440fx or bool(facts.is_q35 and facts.is_x86)
    ps2 = facts.recorded("ps2")
    if ps2 is not None and pc and caps.features.get("ps2") is False:
        yield ctx.finding(
            ps2.element, "ps2 feature state cannot be controlled with this QEMU binary"
        )
