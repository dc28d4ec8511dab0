"""DX660, DX669-DX670: duplicate controller indexes, IDE controllers, SCSI controller models."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import VIRTIO_SCSI_MODELS, child
from ...facts.addresses import USB_COMPANIONS
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX660",
    name="controller-index-duplicate",
    severity="error",
    summary="Two controllers of one type with the same index",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("virDomainDefRejectDuplicateControllers", "virDomainUSBAddressSetAddController"),
)
def controller_index_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a controller whose type and index (written, or the lowest free index
    libvirt assigns when `index` is left out) repeat an earlier controller's.
    USB controllers may share an index as USB2 companions (`ich9-uhci1`-`3`
    beside their `ich9-ehci1`), so for USB only two controllers that each
    provide ports count.

    ## Why is this bad?
    The index is how devices name their controller (`bus` of a PCI address,
    `controller` of a drive address). libvirt refuses the definition:
    "Multiple 'pci' controllers with index '1'" (post-parse), and for USB
    "Duplicate USB controllers with index 0" (address assignment).

    ## Example
    ```xml
    <controller type='pci' index='1' model='pci-bridge'/>
    <controller type='pci' index='1' model='pci-bridge'/>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='1' model='pci-bridge'/>
    <controller type='pci' index='2' model='pci-bridge'/>
    ```

    ## Fix safety
    No fix: which controller the devices meant is the author's call.

    ## Source
    libvirt src/conf/domain_postparse.c (`virDomainDefRejectDuplicateControllers`),
    src/conf/domain_addr.c (`virDomainUSBAddressSetAddController`); formatdomain
    "Controllers".
    """
    seen: set[tuple[str, int]] = set()
    for controller in ctx.facts.written_controllers:
        element = controller.element
        assert element is not None
        if controller.type == "usb" and (
            controller.model in USB_COMPANIONS or controller.model == "none"
        ):
            continue
        key = (controller.type, controller.index)
        if key not in seen:
            seen.add(key)
            continue
        if controller.type == "usb":
            message = f"Duplicate USB controllers with index {controller.index}"
        else:
            message = f"Multiple '{controller.type}' controllers with index '{controller.index}'"
        yield ctx.finding(
            element,
            f"{message}: an earlier {controller.type} controller has index {controller.index}",
            attribute="index" if element.get("index") is not None else None,
        )


@rule(
    code="DX669",
    name="ide-controller-unsupported",
    severity="error",
    summary="An IDE controller the machine does not have (q35, virt, pseries, or a second one)",
    triggers=("controller", "disk"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefControllerIDE",),
)
def ide_controller_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds IDE controllers the machine cannot provide. QEMU only has the IDE
    controller built into a few chipsets (i440fx's PIIX3, MIPS malta, SPARC
    sun4u, PowerPC g3beige), and only one. An IDE disk makes libvirt add IDE
    controller 0 by itself, so an IDE disk on q35 is reported too (at the
    disk). A second IDE controller that only a disk's drive address implies is
    left to `drive-address-invalid`.

    ## Why is this bad?
    libvirt refuses the definition: "IDE controllers are unsupported for this
    QEMU binary or machine type" (q35 has AHCI/SATA instead), or "Only a
    single IDE controller is supported for this machine type".

    ## Example
    ```xml
    <os><type arch='x86_64' machine='q35'>hvm</type></os>
    <disk type='file' device='cdrom'>
      <target dev='hdc' bus='ide'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <disk type='file' device='cdrom'>
      <target dev='sdc' bus='sata'/>
    </disk>
    ```

    ## Fix safety
    No fix: changing the bus changes what the guest sees.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefControllerIDE`,
    `qemuDomainHasBuiltinIDE`), src/conf/domain_conf.c
    (`virDomainDefAddDiskControllersForType`).
    """
    facts = ctx.facts
    if not facts.machine_known:
        return  # libvirt picks the machine type, which this rule cannot know
    for controller in facts.controllers_of("ide"):
        if controller.index == 0 and facts.has_builtin_ide:
            continue
        if controller.implicit and controller.index != 0:
            continue  # a disk's drive address names it: drive-address-invalid says why
        if facts.has_builtin_ide:
            message = "Only a single IDE controller is supported for this machine type"
        else:
            message = "IDE controllers are unsupported for this QEMU binary or machine type"
        where = controller.element if controller.element is not None else controller.implied_by
        if where is None:
            continue
        if controller.implicit:
            message += f": the IDE disk makes libvirt add IDE controller 0 to '{facts.machine}'"
        else:
            message += f" ('{facts.machine}')"
        yield ctx.finding(where, message)


#: Machines with the ncr53c90 (ESP) SCSI controller built in (``qemuDomainHasBuiltinESP``).
def _has_builtin_esp(facts) -> bool:
    machine = facts.machine or ""
    if facts.arch == "sparc":
        return True
    if facts.arch in ("mips64", "mips64el") and machine in ("magnum", "pica61"):
        return True
    return facts.arch == "m68k" and machine == "q800"


#: ``qemuValidateCheckSCSIControllerModel``: model -> (the flag of its device, libvirt's name).
SCSI_MODEL_DEVICES = {
    "lsilogic": ("lsi", "the LSI 53C895A SCSI controller"),
    "virtio-scsi": ("virtio-scsi-pci", "virtio scsi controller"),
    "virtio-transitional": ("virtio-scsi-pci", "virtio scsi controller"),
    "virtio-non-transitional": ("virtio-scsi-pci", "virtio scsi controller"),
    "lsisas1068": ("mptsas1068", "the LSI SAS1068 (MPT Fusion) controller"),
    "lsisas1078": ("megasas", "the LSI SAS1078 (MegaRAID) controller"),
    "vmpvscsi": ("pvscsi", "the pvscsi (VMware paravirtual SCSI) controller"),
    "ncr53c90": ("ncr53c90", "the NCR53C90 (ESP) controller"),
    "dc390": ("dc390", "the DC390 (ESP) controller"),
    "am53c974": ("am53c974", "the AM53C974 (ESP) controller"),
}


@rule(
    code="DX670",
    name="scsi-controller-invalid",
    severity="error",
    summary="A SCSI controller model or setting QEMU refuses (buslogic, ncr53c90, iothread, "
    "a model the guest's QEMU lacks)",
    triggers=("controller",),
    domains=QEMU,
    libvirt=(
        "qemuValidateCheckSCSIControllerModel",
        "qemuValidateDomainDeviceDefControllerSCSI",
        "qemuValidateCheckSCSIControllerIOThreads",
    ),
)
def scsi_controller_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks SCSI controllers as libvirt's QEMU driver does:
    - `model='buslogic'`: QEMU has no BusLogic emulation;
    - `model='ncr53c90'`: only as controller 0, and only on machines with the
      ESP controller built in (SPARC, MIPS magnum/pica61, m68k q800);
    - a written model whose device the guest's QEMU lacks (`lsilogic`,
      `lsisas1068`, `lsisas1078`, `vmpvscsi` and the ESP controllers are often
      left out of distributions' QEMU builds): this comes from the host
      snapshot's QEMU capabilities (libvirt's cache, see the README's "Host
      snapshots"); without one it stays silent (`-v` says why);
    - a virtio-scsi controller with `<driver iothread>` whose address is
      neither PCI nor CCW (IOThreads need the virtio-pci or virtio-ccw
      transport).

    ## Why is this bad?
    libvirt refuses the definition: "Unsupported controller model: buslogic",
    "ncr53c90 can only be used as first SCSI controller", "ncr53c90 SCSI
    controller is not a built-in for this machine", "This QEMU doesn't support
    the LSI 53C895A SCSI controller" (and the like for the other models),
    "virtio-scsi IOThreads only available for virtio pci and virtio ccw
    controllers".

    ## Example
    ```xml
    <controller type='scsi' index='0' model='buslogic'/>
    ```

    ## Use instead
    ```xml
    <controller type='scsi' index='0' model='virtio-scsi'/>
    ```

    ## Fix safety
    No fix: another controller model changes what the guest sees.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateCheckSCSIControllerModel`,
    `qemuValidateDomainDeviceDefControllerSCSI`,
    `qemuValidateCheckSCSIControllerIOThreads`, `qemuDomainHasBuiltinESP`).
    """
    facts = ctx.facts
    for controller in facts.written_controllers:
        element = controller.element
        if controller.type != "scsi" or element is None:
            continue
        model = controller.model
        # A model libvirt fills in is one the guest's QEMU has: only a written one can lack.
        lacking = SCSI_MODEL_DEVICES.get(controller.model_written or "")
        if model == "buslogic":
            yield ctx.finding(element, "Unsupported controller model: buslogic", attribute="model")
        elif model == "ncr53c90" and controller.index != 0:
            yield ctx.finding(
                element, "ncr53c90 can only be used as first SCSI controller", attribute="model"
            )
        elif model == "ncr53c90" and not _has_builtin_esp(facts):
            yield ctx.finding(
                element,
                f"ncr53c90 SCSI controller is not a built-in for this machine ('{facts.machine}')",
                attribute="model",
            )
        elif lacking is not None and (why := ctx.qemu_lacks(lacking[0])):
            message = f"This QEMU doesn't support {lacking[1]}"
            yield ctx.finding(element, f"{message}: {why}", attribute="model")
        elif model in VIRTIO_SCSI_MODELS:
            driver = child(element, "driver")
            address = controller.address
            if (
                driver is not None
                and driver.get("iothread") is not None
                and address is not None
                and address.type not in ("pci", "ccw")
            ):
                yield ctx.finding(
                    address.element,
                    "virtio-scsi IOThreads only available for virtio pci and virtio ccw "
                    f"controllers, not on a '{address.type}' address",
                    attribute="type",
                )
