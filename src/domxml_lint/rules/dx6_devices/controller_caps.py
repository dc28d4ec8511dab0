"""DX697: SATA and PCI controllers whose QEMU device the guest's QEMU lacks.

libvirt's ``!virQEMUCapsGet(qemuCaps, FLAG)`` checks of controllers, answered by
``ctx.qemu_lacks`` (:mod:`domxml_lint.qemu_support`). SCSI controller models
are scsi-controller-invalid's (DX670), USB ones usb-controller-invalid's (DX672).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from .pci_controllers import model_name

#: A PCI controller's QEMU device (``<model name>``) -> the flag that says QEMU has it.
PCI_DEVICE_FLAGS = {
    "pci-bridge": "pci-bridge",
    "i82801b11-bridge": "dmi-to-pci-bridge",
    "pcie-pci-bridge": "pcie-pci-bridge",
    "pcie-root-port": "pcie-root-port",
    "ioh3420": "ioh3420",
    "x3130-upstream": "x3130-upstream",
    "xio3130-downstream": "xio3130-downstream",
    "pxb": "pxb",
    "pxb-pcie": "pxb-pcie",
    "spapr-pci-host-bridge": "spapr-pci-host-bridge",
}


@rule(
    code="DX697",
    name="controller-device-unsupported-by-qemu",
    severity="error",
    summary="A SATA or PCI controller whose QEMU device the guest's QEMU does not have",
    triggers=("controller",),
    domains=QEMU,
    libvirt=(
        "qemuValidateDomainDeviceDefControllerSATA",
        "qemuValidateDomainDeviceDefControllerPCI",
    ),
)
def controller_device_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks written controllers against the QEMU devices they become: a SATA
    controller needs `ich9-ahci` (except the first one of a q35 machine, which
    is built in); a PCI controller its `<model name>` device (`pci-bridge`,
    `i82801b11-bridge`, `pcie-root-port` or `ioh3420`, `x3130-upstream`,
    `xio3130-downstream`, `pxb`, `pxb-pcie`, `pcie-pci-bridge`,
    `spapr-pci-host-bridge`). A `pcie-root-port` without a model name gets
    whichever of its two devices QEMU has.

    What the guest's QEMU has comes from the host snapshot's QEMU
    capabilities (libvirt's cache, see the README's "Host snapshots"), else
    from the guest's architecture (`spapr-pci-host-bridge` is pSeries'); the
    other devices are ones a QEMU build may leave out, which only a snapshot
    can say. The rule stays silent when it cannot know (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition: "SATA is not supported with this QEMU
    binary", "The 'pxb-pcie' device is not supported by this QEMU binary".

    ## Example
    ```xml
    <controller type='pci' index='1' model='pcie-expander-bus'>
      <target busNr='254'/>
    </controller>
    ```
    on a host whose QEMU was built without `pxb-pcie`.

    ## Use instead
    Root ports on `pcie-root`:
    ```xml
    <controller type='pci' index='1' model='pcie-root-port'/>
    ```

    ## Fix safety
    No fix: the controller topology is guest-visible.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefControllerSATA`,
    `qemuValidateDomainDeviceDefControllerPCI`), src/qemu/qemu_domain.c
    (`qemuDomainPCIControllerSetDefaultModelName`).
    """
    facts = ctx.facts
    for controller in facts.written_controllers:
        element = controller.element
        if element is None:
            continue
        if controller.type == "sata":
            if controller.index == 0 and facts.is_q35:
                continue  # q35's built-in AHCI
            why = ctx.qemu_lacks("ich9-ahci")
            if why:
                yield ctx.finding(element, f"SATA is not supported with this QEMU binary: {why}")
            continue
        if controller.type != "pci" or controller.model in (None, "pcie-root"):
            continue
        if controller.model == "pci-root" and controller.index == 0:
            continue  # the machine's own root bus
        name = model_name(facts, controller)
        if name not in PCI_DEVICE_FLAGS:
            continue
        written = element.find("model")
        if controller.model == "pcie-root-port" and (written is None or not written.get("name")):
            why = ctx.qemu_lacks("pcie-root-port", "ioh3420")
            name = "ioh3420"  # what libvirt falls back to without pcie-root-port
        else:
            why = ctx.qemu_lacks(PCI_DEVICE_FLAGS[name])
        if why:
            message = f"The '{name}' device is not supported by this QEMU binary"
            yield ctx.finding(written if written is not None else element, f"{message}: {why}")
