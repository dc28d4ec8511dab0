"""DX640: ``<iommu>`` settings libvirt refuses."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import RuleContext, rule

#: ``<iommu><driver>`` attributes only the Intel IOMMU has (``virDomainIOMMUDefValidate``).
INTEL_DRIVER_ATTRIBUTES = ("intremap", "caching_mode", "eim", "iotlb", "aw_bits")
_NOT_IN_QEMU = "IOMMU device: '%s' is not supported with this QEMU binary"


@rule(
    code="DX640",
    name="iommu-invalid",
    severity="error",
    summary="An <iommu> whose model, machine, interrupt remapping, ACPI or QEMU libvirt refuses",
    fix="safe",
    triggers=("iommu",),
    libvirt=(
        "virDomainDefIOMMUValidate",
        "virDomainIOMMUDefValidate",
        "qemuValidateDomainDeviceDefIOMMU",
    ),
)
def iommu_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<iommu>`: `intremap='on'` needs the split I/O APIC
    (`<features><ioapic driver='qemu'/></features>`), `eim='on'` needs
    `intremap='on'`; for QEMU/KVM the `intel` model needs a q35 machine,
    `smmuv3` an ARM `virt` machine, and `virtio` a q35 or ARM `virt` machine
    with `<acpi/>`. The `<driver>` attributes (`intremap`, `caching_mode`,
    `eim`, `iotlb`, `aw_bits`) are Intel's: `smmuv3` and `virtio` take none;
    `intel` and `smmuv3` are part of the machine and take no `<address>`, and
    a `virtio` IOMMU only a `pci` one.

    It also checks the IOMMU against the guest's QEMU, known from a host
    snapshot's QEMU capabilities (libvirt's cache, exact for that build) or
    from `qemu-version`: the `intel` model needs QEMU's `intel-iommu` device,
    `virtio` the `virtio-iommu-pci` device with its `boot-bypass` property
    (QEMU 7.0), and `dma_translation` intel-iommu's `dma-translation` property
    (QEMU 7.1; libvirt asks for it whatever the model). Whether a build has the
    devices at all only the cache can say; without one the rule stays silent
    on them (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition: "IOMMU interrupt remapping requires split
    I/O APIC (ioapic driver='qemu')", "IOMMU eim requires interrupt remapping
    to be enabled" (both proven on libvirt 9.0), and the QEMU driver "IOMMU
    device: '%s' is only supported with Q35 machines", "... only supported with
    ARM Virt machines", "... only supported with Q35 and ARM Virt machines",
    "IOMMU device: 'virtio' requires ACPI", "iommu model 'virtio' doesn't
    support additional attributes", "iommu model 'intel' can't have address",
    "IOMMU device: 'virtio' needs a PCI address", "IOMMU device: 'virtio' is
    not supported with this QEMU binary", "iommu: updating dma translation is
    not supported with this QEMU binary".

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
    machine, model and QEMU conflicts have no fix.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefIOMMUValidate`),
    (`virDomainIOMMUDefValidate`), src/qemu/qemu_validate.c
    (`qemuValidateDomainDeviceDefIOMMU`);
    formatdomain "IOMMU devices".
    """
    facts = ctx.facts
    ioapic = child(facts.features, "ioapic") if facts.features is not None else None
    split_ioapic = ioapic is not None and ioapic.get("driver") == "qemu"
    for iommu in facts.device_elements("iommu"):
        driver = child(iommu, "driver")
        intremap = driver.get("intremap") if driver is not None else None
        eim = driver.get("eim") if driver is not None else None
        model = iommu.get("model")
        address = child(iommu, "address")
        if model in ("smmuv3", "virtio") and driver is not None:
            extra = [name for name in INTEL_DRIVER_ATTRIBUTES if driver.get(name) is not None]
            if extra:
                yield ctx.finding(
                    driver,
                    f"iommu model '{model}' doesn't support additional attributes "
                    f"({', '.join(extra)} are Intel's)",
                    attribute=extra[0],
                )
                continue
        if model in ("smmuv3", "intel") and address is not None:
            yield ctx.finding(address, f"iommu model '{model}' can't have address")
            continue
        if driver is not None and intremap == "on" and not split_ioapic:
            yield ctx.finding(
                driver,
                "IOMMU interrupt remapping requires split I/O APIC (ioapic driver='qemu')",
                attribute="intremap",
                fix=ctx.safe_fix(
                    "Add <ioapic driver='qemu'/>",
                    *ctx.edit.ensure_feature("ioapic", {"driver": "qemu"}),
                ),
            )
        if driver is not None and eim == "on" and intremap != "on":
            yield ctx.finding(
                driver, "IOMMU eim requires interrupt remapping to be enabled", attribute="eim"
            )
        if facts.driver != "qemu":
            continue
        if model == "intel" and facts.is_q35 is False:
            yield ctx.finding(
                iommu,
                f"IOMMU device: 'intel' is only supported with Q35 machines, not '{facts.machine}'",
                attribute="model",
            )
        elif model == "intel" and (why := ctx.qemu_lacks("intel-iommu")):
            yield ctx.finding(iommu, f"{_NOT_IN_QEMU % model}: {why}", attribute="model")
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
            elif why := (
                ctx.qemu_lacks("virtio-iommu-pci") or ctx.qemu_lacks("virtio-iommu.boot-bypass")
            ):
                yield ctx.finding(iommu, f"{_NOT_IN_QEMU % model}: {why}", attribute="model")
            elif facts.feature_state("acpi") != "on":
                yield ctx.finding(iommu, "IOMMU device: 'virtio' requires ACPI", attribute="model")
            elif address is not None and address.get("type") != "pci":
                yield ctx.finding(address, "IOMMU device: 'virtio' needs a PCI address")
        dma_translation = driver.get("dma_translation") if driver is not None else None
        if dma_translation is not None and (why := ctx.qemu_lacks("intel-iommu.dma-translation")):
            assert driver is not None
            yield ctx.finding(
                driver,
                f"iommu: updating dma translation is not supported with this QEMU binary: {why}",
                attribute="dma_translation",
            )
