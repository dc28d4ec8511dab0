"""DX671-DX673: USB controllers: companions without a master, models and ports, no USB at all."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...facts.addresses import X86, XHCI_MODELS
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from .pci_controllers import signed_number

#: Most ports QEMU's xHCI controllers offer (``QEMU_USB_XHCI_MAXPORTS``).
XHCI_MAX_PORTS = 15


@rule(
    code="DX671",
    name="usb-controller-no-master",
    severity="error",
    summary="USB companion controllers without the master controller they attach to",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("virDomainDefControllersParse",),
)
def usb_controller_no_master(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds definitions whose USB controllers all carry `<master startport=...>`:
    companions (`ich9-uhci1`-`3`) with no master controller (the `ich9-ehci1`
    they attach to, which has no `<master>`).

    ## Why is this bad?
    A companion controller provides USB 1.1 ports on its master's bus; without
    the master there is no bus. libvirt refuses the definition: "No master USB
    controller specified".

    ## Example
    ```xml
    <controller type='usb' index='0' model='ich9-uhci1'>
      <master startport='0'/>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='usb' index='0' model='ich9-ehci1'/>
    <controller type='usb' index='0' model='ich9-uhci1'>
      <master startport='0'/>
    </controller>
    ```

    ## Fix safety
    No fix: adding a controller changes what the guest sees.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefControllersParse`); formatdomain
    "USB companion controllers".
    """
    usb = [c for c in ctx.facts.controllers if c.type == "usb"]
    if not any(c.model != "none" for c in usb):
        return
    if all(child(c.element, "master") is not None for c in usb):
        yield ctx.finding(
            usb[0].element,
            "No master USB controller specified: every USB controller here is a companion "
            "(<master>); add the controller they attach to",
        )


#: ``qemuControllerModelUSBToCaps``: USB controller model -> the flag of its device.
USB_MODEL_FLAGS = {
    "piix3-uhci": "piix3-usb-uhci",
    "piix4-uhci": "piix4-usb-uhci",
    "ehci": "usb-ehci",
    "ich9-ehci1": "ich9-usb-ehci1",
    "ich9-uhci1": "ich9-usb-ehci1",
    "ich9-uhci2": "ich9-usb-ehci1",
    "ich9-uhci3": "ich9-usb-ehci1",
    "vt82c686b-uhci": "vt82c686b-usb-uhci",
    "pci-ohci": "pci-ohci",
    "nec-xhci": "nec-usb-xhci",
    "qemu-xhci": "qemu-xhci",
}
#: Every model ``qemuDomainDefaultUSBControllerModel`` may pick for a controller written
#: without one: with none of them, libvirt has no model to give it.
USB_DEFAULT_CANDIDATES = (
    "qemu-xhci", "nec-usb-xhci", "ich9-usb-ehci1", "piix3-usb-uhci", "piix4-usb-uhci",
    "pci-ohci", "usb-ehci",
)  # fmt: skip


@rule(
    code="DX672",
    name="usb-controller-invalid",
    severity="error",
    summary="A USB controller model or port count QEMU refuses (qusb, more than 15 xHCI ports, "
    "a model the guest's QEMU lacks)",
    fix="safe",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("qemuDomainControllerDefPostParse", "qemuValidateDomainDeviceDefControllerUSB"),
)
def usb_controller_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks USB controllers as libvirt's QEMU driver does: `qusb1` and `qusb2`
    are Xen's; `nec-xhci` and `qemu-xhci` offer at most 15 ports; and only
    those two take a `ports` count at all. The model's device must be in the
    guest's QEMU: `vt82c686b-uhci` left qemu-system-x86_64 in QEMU 6.0, and
    distributions leave out others (`nec-xhci`, `pci-ohci`, the UHCI
    controllers); a controller written without a model needs one of the
    models libvirt picks from. This comes from the host snapshot's QEMU
    capabilities (libvirt's cache, see the README's "Host snapshots"), else
    from `qemu-version` and the guest's arch where they decide it; the rule
    stays silent otherwise (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition: "USB controller model type 'qusb1' or
    'qusb2' is not supported in kvm", "'qemu-xhci' controller only supports up
    to '15' ports", "usb controller type 'piix3-uhci' doesn't support 'ports'
    with this QEMU binary", "USB controller model 'vt82c686b-uhci' not
    supported in this QEMU binary", "no model provided for USB controller".

    ## Example
    ```xml
    <controller type='usb' index='0' model='nec-xhci' ports='16'/>
    ```

    ## Use instead
    ```xml
    <controller type='usb' index='0' model='nec-xhci' ports='15'/>
    ```
    (or a USB hub for more devices).

    ## Fix safety
    Safe for `ports` on a model without ports: the fix removes the attribute,
    which libvirt refuses as written. No fix otherwise.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainControllerDefPostParse`,
    `QEMU_USB_XHCI_MAXPORTS`), src/qemu/qemu_command.c
    (`qemuValidateDomainDeviceDefControllerUSB`).
    """
    facts = ctx.facts
    for controller in facts.written_controllers:
        element = controller.element
        if controller.type != "usb" or element is None:
            continue
        model = controller.model
        ports = signed_number(element.get("ports"))
        written = controller.model_written  # libvirt picks a default among what QEMU has
        if written is None and (why := ctx.qemu_lacks(*USB_DEFAULT_CANDIDATES)):
            yield ctx.finding(element, f"no model provided for USB controller: {why}")
            continue
        flag = USB_MODEL_FLAGS.get(written or "")
        if flag is not None and (why := ctx.qemu_lacks(flag)):
            yield ctx.finding(
                element,
                f"USB controller model '{model}' not supported in this QEMU binary: {why}",
                attribute="model",
            )
            continue
        if model in ("qusb1", "qusb2"):
            yield ctx.finding(
                element,
                "USB controller model type 'qusb1' or 'qusb2' is not supported in "
                f"{facts.virt_type}",
                attribute="model",
            )
        elif model in XHCI_MODELS:
            if ports is not None and ports > XHCI_MAX_PORTS:
                yield ctx.finding(
                    element,
                    f"'{model}' controller only supports up to '{XHCI_MAX_PORTS}' ports",
                    attribute="ports",
                )
        elif ports is not None and ports != -1 and model not in (None, "none"):
            yield ctx.finding(
                element,
                f"usb controller type '{model}' doesn't support 'ports' with this QEMU binary",
                attribute="ports",
                fix=ctx.safe_fix("Remove ports", ctx.edit.remove_attribute(element, "ports")),
            )


#: USB devices that usb-disabled-conflict (DX641) reports when model='none' disables USB.
_REPORTED_BY_DX641 = (("input", "bus"), ("redirdev", "bus"), ("hostdev", "type"), ("hub", "type"))


@rule(
    code="DX673",
    name="usb-devices-without-usb",
    severity="error",
    summary="USB devices on a guest without a USB controller",
    triggers=("disk", "input", "hostdev", "redirdev", "hub", "smartcard", "serial", "sound"),
    domains=QEMU,
    libvirt=("qemuDomainUSBAddressAddHubs",),
)
def usb_devices_without_usb(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds USB devices (USB disks, input devices, host devices, redirected
    devices, hubs, smartcards, `usb-serial` serial ports, USB sound) on a
    guest that has no usable USB controller: none is written and the machine
    gets none by default (ARM and RISC-V `virt`, s390, LoongArch, `isapc`,
    `microvm`), or `model='none'` disables USB. (With `model='none'`, the
    input, redirected, host and hub devices are reported by
    `usb-disabled-conflict`, DX641, with libvirt's earlier messages.) An input
    device without `bus` counts where libvirt makes it a USB one (a tablet, or
    any input off x86).

    ## Why is this bad?
    The device has no bus to sit on. libvirt refuses the definition: "USB is
    disabled for this domain, but USB devices are present in the domain XML".

    ## Example
    ```xml
    <os><type arch='aarch64' machine='virt'>hvm</type></os>
    <input type='tablet' bus='usb'/>
    ```

    ## Use instead
    ```xml
    <controller type='usb' index='0' model='qemu-xhci'/>
    <input type='tablet' bus='usb'/>
    ```

    ## Fix safety
    No fix: adding a controller or dropping the device is the author's call.

    ## Source
    libvirt src/qemu/qemu_domain_address.c (`qemuDomainUSBAddressAddHubs`),
    src/conf/domain_conf.c (`virDomainUSBDeviceDefForeach`, `virDomainDefHasUSB`).
    """
    facts = ctx.facts
    if not facts.arch or (not facts.machine and facts.arch not in X86):
        return  # libvirt picks the platform, whose default USB this rule cannot know
    usb = facts.controllers_of("usb")
    if any(c.model != "none" for c in usb):
        return
    written_none = any(c.element is not None and c.model == "none" for c in usb)
    if not written_none and facts.adds_default_usb:
        return  # libvirt adds a USB controller of its own
    for device in facts.usb_devices():
        if written_none and any(
            device.tag == tag and device.get(attribute) == "usb"
            for tag, attribute in _REPORTED_BY_DX641
        ):
            continue
        yield ctx.finding(
            device,
            "USB is disabled for this domain, but USB devices are present in the domain XML",
        )
