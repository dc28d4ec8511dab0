"""DX149-DX150: guest CPU features the per-architecture CPU drivers refuse, and SVE lengths."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ...facts.cpu_map import ARM_ARCHES, ARM_FEATURES, S390_ARCHES
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: aarch64 SVE vector-length features: sve128, sve256 ... sve2048.
SVE_LENGTH = re.compile(r"^sve\d+$")


@rule(
    code="DX149",
    name="cpu-feature-unsupported-by-arch",
    severity="error",
    summary="A <cpu><feature> the ARM or s390 CPU driver refuses: an unknown ARM feature, "
    "policy='optional' or match='minimum' on s390",
    triggers=("feature", "cpu"),
    domains=QEMU,
    libvirt=("virCPUarmValidateFeatures", "virCPUs390ValidateFeatures", "virCPUs390Update"),
)
def cpu_feature_unsupported_by_arch(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the guest CPU against libvirt's CPU driver for its architecture:

    - ARM (`aarch64`, `armv7l`, `armv6l`): every `<feature name>` must be one
      of libvirt's ARM CPU map, the SVE vector lengths (`sve`, `sve128` ...
      `sve2048`) and `pauth`. x86 names such as `vmx` are not ARM features.
    - s390: features take `policy='require'` or `'disable'` only (also
      `force` and `forbid`, but not `optional`), and a custom CPU cannot use
      `match='minimum'`.

    ## Why is this bad?
    libvirt refuses to start the guest: "unknown CPU feature: %s", "only cpu
    feature policies 'require' and 'disable' are supported for %s", "match
    mode minimum not supported".

    ## Example
    ```xml
    <os><type arch='aarch64' machine='virt'>hvm</type></os>
    <cpu mode='host-passthrough'>
      <feature policy='disable' name='vmx'/>
    </cpu>
    ```

    ## Use instead
    ```xml
    <cpu mode='host-passthrough'>
      <feature policy='disable' name='sve'/>
    </cpu>
    ```

    ## Fix safety
    No fix: the intended feature is the author's.

    ## Source
    libvirt src/cpu/cpu_arm.c (`virCPUarmValidateFeatures`), src/cpu/cpu_s390.c
    (`virCPUs390ValidateFeatures`, `virCPUs390Update`), src/cpu_map/arm_features.xml;
    called from src/qemu/qemu_process.c when the guest starts.
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None:
        return
    if facts.arch in ARM_ARCHES:
        for feature in cpu.features:
            if feature.name and feature.name not in ARM_FEATURES:
                yield ctx.finding(
                    feature.element,
                    f"unknown CPU feature: {feature.name} (libvirt's ARM CPU map knows sve, "
                    "sve128 ... sve2048 and pauth)",
                    attribute="name",
                )
                return
    elif facts.arch in S390_ARCHES:
        for feature in cpu.features:
            if feature.policy == "optional" and feature.name:
                yield ctx.finding(
                    feature.element,
                    "only cpu feature policies 'require' and 'disable' are supported for "
                    f"{feature.name}",
                    attribute="policy",
                )
                return
        if cpu.mode == "custom" and cpu.has_model and cpu.match == "minimum":
            yield ctx.finding(cpu.element, "match mode minimum not supported", attribute="match")


@rule(
    code="DX150",
    name="cpu-sve-disabled-with-lengths",
    severity="error",
    summary="SVE disabled while SVE vector lengths are enabled",
    triggers=("feature",),
    domains=QEMU,
    libvirt=("qemuDomainDefCPUPostParse",),
)
def cpu_sve_disabled_with_lengths(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a guest CPU that disables the `sve` feature (`policy='disable'` or
    `'forbid'`) while asking for SVE vector lengths (`sve128`, `sve256` ...)
    with another policy.

    ## Why is this bad?
    Vector lengths only exist with SVE. libvirt refuses the definition: "SVE
    disabled, but SVE vector lengths provided". (With `sve` absent, libvirt
    adds it as required for you.)

    ## Example
    ```xml
    <cpu mode='host-passthrough'>
      <feature policy='disable' name='sve'/>
      <feature policy='require' name='sve256'/>
    </cpu>
    ```

    ## Use instead
    ```xml
    <cpu mode='host-passthrough'>
      <feature policy='require' name='sve'/>
      <feature policy='require' name='sve256'/>
    </cpu>
    ```

    ## Fix safety
    No fix: whether the guest should have SVE is the author's choice.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainDefCPUPostParse`); formatdomain
    "CPU model and topology".
    """
    cpu = ctx.facts.cpu
    if cpu is None:
        return
    sve = cpu.feature("sve")
    if sve is None or sve.policy not in ("disable", "forbid"):
        return
    lengths = [
        f
        for f in cpu.features
        if f.name and SVE_LENGTH.match(f.name) and f.policy not in ("disable", "forbid")
    ]
    if lengths:
        yield ctx.finding(
            sve.element,
            f"sve has policy='{sve.policy}' but {lengths[0].name} is requested: SVE disabled, "
            "but SVE vector lengths provided",
            attribute="policy",
        )
