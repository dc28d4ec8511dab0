"""DX901-DX912: host devices (PCI, USB, SCSI, scsi_host, mdev) that libvirt refuses.

The checks of ``virDomainHostdevDefParseXMLSubsys`` and its helpers,
``virDomainHostdevDefPostParse``, ``virDomainHostdevDefValidate``,
``virDomainDefHostdevValidate``, ``qemuValidateDomainDeviceDefHostdev`` and the
mdev validators, and ``qemuDomainPrepareHostdevPCI``. An ``<interface
type='hostdev'>`` is a host device to libvirt too: the checks that read only its
source and guest address apply to it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import HostDevice, same_host_device
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: ``virSecretUsageType``: the secret usage types libvirt knows.
SECRET_USAGE_TYPES = frozenset({"none", "volume", "ceph", "iscsi", "tls", "vtpm"})

#: The guest address types ``virDomainHostdevDefValidate`` allows per subsystem
#: (no address is always allowed), and its words for the others.
ADDRESS_TYPES = {
    "pci": (
        frozenset({"pci", "unassigned"}),
        "PCI host devices must use 'pci' or 'unassigned' address type",
    ),
    "scsi": (frozenset({"drive"}), "SCSI host device must use 'drive' address type"),
    "scsi_host": (
        frozenset({"pci", "ccw"}),
        "SCSI_host host device must use 'pci' or 'ccw' address type",
    ),
    "usb": (frozenset({"usb"}), "USB host device must use 'usb' address type"),
}

#: ``virDomainHostdevDefPostParse``: the guest address type each mdev model needs.
MDEV_ADDRESS_TYPES = {"vfio-pci": "pci", "vfio-ccw": "ccw"}

#: qemuValidateDomainMdevDef*: libvirt's words when QEMU lacks an mdev model's device.
MDEV_UNSUPPORTED = {
    "vfio-pci": "VFIO PCI device assignment is not supported by this version of QEMU",
    "vfio-ccw": "VFIO CCW device assignment is not supported by this version of QEMU",
    "vfio-ap": "VFIO AP device assignment is not supported by this version of QEMU",
}


def _hex_digits(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def _valid_wwpn(wwpn: str) -> bool:
    """``naa.`` then what ``virValidateWWN`` accepts: 16 hex digits after an optional 0x."""
    if not wwpn.startswith("naa."):
        return False
    rest = wwpn[4:]
    if rest.startswith("0x"):
        rest = rest[2:]
    return len(rest) == 16 and _hex_digits(rest)


@rule(
    code="DX901",
    name="hostdev-option-wrong-subsystem",
    severity="error",
    summary="startupPolicy, sgio, rawio or model on a host device type that does not take it",
    fix="safe",
    triggers=("hostdev", "interface"),
    libvirt=("virDomainHostdevDefParseXMLSubsys",),
)
def hostdev_option_wrong_subsystem(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds host devices with an attribute their subsystem type does not take:
    `startupPolicy` on the `<source>` of a non-USB device, `sgio` or `rawio`
    on a device that is not `type='scsi'`, and `model` on a device that is
    neither `mdev` nor `scsi_host`. `<interface type='hostdev'>` counts too.

    ## Why is this bad?
    libvirt's parser refuses the definition: "Setting startupPolicy is only
    allowed for USB devices", "sgio is only supported for scsi host device",
    "rawio is only supported for scsi host device", "'model' attribute in
    <hostdev> is only supported when type='%s'" (with the device's own type).

    ## Example
    ```xml
    <hostdev mode='subsystem' type='scsi_host' rawio='yes'>
      <source protocol='vhost' wwpn='naa.5123456789abcde0'/>
    </hostdev>
    ```

    ## Use instead
    ```xml
    <hostdev mode='subsystem' type='scsi_host'>
      <source protocol='vhost' wwpn='naa.5123456789abcde0'/>
    </hostdev>
    ```

    ## Fix safety
    Safe: the fix removes the attribute. libvirt refuses the definition as
    written, so no guest that starts today changes.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainHostdevDefParseXMLSubsys`);
    formatdomain "Host device assignment".
    """
    for device in ctx.facts.host_devices:
        if not device.subsystem:
            continue
        kind = device.type
        if device.startup_policy is not None and kind != "usb" and device.source is not None:
            yield _remove(
                ctx, device.source, "startupPolicy",
                f"{device.label}: Setting startupPolicy is only allowed for USB devices",
            )  # fmt: skip
        for attribute, value in (("sgio", device.sgio), ("rawio", device.rawio)):
            if value is not None and kind != "scsi":
                yield _remove(
                    ctx, device.element, attribute,
                    f"{device.label}: {attribute} is only supported for scsi host device",
                )  # fmt: skip
        if device.model is not None and kind not in ("mdev", "scsi_host"):
            yield _remove(
                ctx, device.element, "model",
                f"'model' attribute in <hostdev> is only supported when type='{kind}'",
            )  # fmt: skip


def _remove(ctx: RuleContext, element, attribute: str, message: str) -> Finding:
    return ctx.finding(
        element,
        message,
        attribute=attribute,
        fix=ctx.safe_fix(f"Remove {attribute}", ctx.edit.remove_attribute(element, attribute)),
    )


@rule(
    code="DX902",
    name="hostdev-scsi-invalid",
    severity="error",
    summary="A SCSI or vhost-scsi host device source libvirt refuses",
    triggers=("hostdev",),
    libvirt=(
        "virDomainHostdevSubsysSCSIiSCSIDefParseXML",
        "virDomainHostdevSubsysSCSIVHostDefParseXML",
        "virDomainHostdevDefValidate",
        "qemuValidateDomainDeviceDefHostdev",
    ),
)
def hostdev_scsi_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks SCSI host devices: an iSCSI source names one `<host>` and an
    `<auth>` secret of type `iscsi`; a vhost-scsi (`scsi_host`) source has a
    `wwpn` of `naa.` and 16 hex digits and no `<boot order>` (QEMU guests),
    and needs a QEMU with the vhost-scsi device (Linux-only: only a host
    snapshot's QEMU capabilities say a build lacks it; without one that check
    stays silent); `sgio='unfiltered'` is gone.

    ## Why is this bad?
    libvirt refuses the definition: "only one source host address may be
    specified for the iSCSI hostdev", "hostdev invalid secret type '%s'" (and
    "invalid secret type %s" for a type it does not know), "malformed 'wwpn'
    value", "unfiltered sgio is no longer supported", and for QEMU "booting
    from assigned devices is not supported by vhost SCSI devices" and "This
    QEMU doesn't support vhost-scsi devices".

    ## Example
    ```xml
    <hostdev mode='subsystem' type='scsi' sgio='unfiltered'>
      <source>
        <adapter name='scsi_host0'/>
        <address bus='0' target='0' unit='0'/>
      </source>
    </hostdev>
    ```

    ## Use instead
    ```xml
    <hostdev mode='subsystem' type='scsi' sgio='filtered'>
    ```

    ## Fix safety
    No fix: the right source is the author's to pick.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainHostdevSubsysSCSIiSCSIDefParseXML`,
    `virDomainHostdevSubsysSCSIVHostDefParseXML`), src/conf/domain_validate.c
    (`virDomainHostdevDefValidate`), src/qemu/qemu_validate.c
    (`qemuValidateDomainDeviceDefHostdev`).
    """
    is_qemu = ctx.facts.driver == "qemu"
    for device in ctx.facts.host_devices:
        if not device.subsystem or device.is_interface:
            continue
        if device.type == "scsi":
            yield from _scsi_findings(ctx, device)
        elif device.type == "scsi_host":
            if device.scsi_host_protocol == "vhost" and device.wwpn is not None:
                if not _valid_wwpn(device.wwpn) and device.source is not None:
                    yield ctx.finding(
                        device.source,
                        f"wwpn='{device.wwpn}': malformed 'wwpn' value (libvirt expects "
                        "'naa.' and 16 hex digits)",
                        attribute="wwpn",
                    )
            if is_qemu and device.boot is not None:
                yield ctx.finding(
                    device.boot,
                    "booting from assigned devices is not supported by vhost SCSI devices",
                )
            elif (
                is_qemu
                and device.scsi_host_protocol == "vhost"
                and (why := ctx.qemu_lacks("vhost-scsi"))
            ):
                yield ctx.finding(
                    device.element, f"This QEMU doesn't support vhost-scsi devices: {why}"
                )


def _scsi_findings(ctx: RuleContext, device: HostDevice) -> Iterator[Finding]:
    if device.scsi_protocol == "iscsi":
        if len(device.iscsi_hosts) > 1:
            yield ctx.finding(
                device.iscsi_hosts[1],
                "only one source host address may be specified for the iSCSI hostdev",
            )
        secret = device.auth_secret
        kind = None if secret is None else secret.get("type")
        if secret is not None and kind is not None and kind != "iscsi":
            message = (
                f"hostdev invalid secret type '{kind}'"
                if kind in SECRET_USAGE_TYPES
                else f"invalid secret type {kind}"
            )
            yield ctx.finding(secret, message, attribute="type")
    if device.sgio == "unfiltered":
        yield ctx.finding(
            device.element, "unfiltered sgio is no longer supported", attribute="sgio"
        )


@rule(
    code="DX903",
    name="hostdev-address-type-invalid",
    severity="error",
    summary="A host device with a guest address of a type its subsystem cannot use",
    triggers=("hostdev", "interface"),
    libvirt=("virDomainHostdevDefPostParse", "virDomainHostdevDefValidate"),
)
def hostdev_address_type_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `type` of a host device's guest `<address>`: PCI devices take
    `pci` or `unassigned`, SCSI devices `drive`, vhost-scsi (`scsi_host`)
    devices `pci` or `ccw`, USB devices `usb`; an mdev of model `vfio-pci`
    takes `pci` and one of model `vfio-ccw` takes `ccw`. `<interface
    type='hostdev'>` counts, by the type of its source.

    ## Why is this bad?
    The guest address says on which bus the guest sees the device; a
    subsystem can only be plugged where QEMU has a device for it. libvirt
    refuses the definition: "PCI host devices must use 'pci' or 'unassigned'
    address type", "SCSI host device must use 'drive' address type",
    "SCSI_host host device must use 'pci' or 'ccw' address type", "USB host
    device must use 'usb' address type", "Unsupported address type '%s' with
    mediated device model '%s'".

    ## Example
    ```xml
    <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
      <source>
        <address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/>
      </source>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </hostdev>
    ```

    ## Use instead
    ```xml
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    ```

    ## Fix safety
    No fix: the right guest address is the author's to pick (or libvirt's,
    when the address is removed).

    ## Source
    libvirt src/conf/domain_postparse.c (`virDomainHostdevDefPostParse`),
    src/conf/domain_validate.c (`virDomainHostdevDefValidate`).
    """
    for device in ctx.facts.host_devices:
        address_type = device.address_type
        if not device.subsystem or device.address is None or address_type is None:
            continue
        if device.type == "mdev":
            wanted = MDEV_ADDRESS_TYPES.get(device.model or "")
            if wanted is not None and address_type != wanted:
                yield ctx.finding(
                    device.address,
                    f"Unsupported address type '{address_type}' with mediated device model "
                    f"'{device.model}'",
                    attribute="type",
                )
            continue
        allowed = ADDRESS_TYPES.get(device.type or "")
        if allowed is not None and address_type not in allowed[0]:
            yield ctx.finding(
                device.address,
                f"{device.label} with a type='{address_type}' guest address: {allowed[1]}",
                attribute="type",
            )


@rule(
    code="DX904",
    name="hostdev-duplicate",
    severity="error",
    summary="Two host devices (or hostdev interfaces) that name the same host device",
    triggers=("hostdev", "interface"),
    libvirt=("virDomainDefHostdevValidate", "virDomainHostdevMatch"),
)
def hostdev_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds host devices that name the same device on the host as an earlier
    one: the same PCI address, USB bus and device (or, when the earlier one
    names no bus and device, USB vendor and product), SCSI adapter and
    bus/target/unit, iSCSI host and target, vhost-scsi WWPN or mdev UUID.
    `<interface type='hostdev'>` counts as a PCI host device.

    ## Why is this bad?
    A host device can be given to a guest once. libvirt refuses the
    definition: "Hostdev already exists in the domain configuration".

    ## Example
    ```xml
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>
    </hostdev>
    ```

    ## Use instead
    One `<hostdev>` per host device.

    ## Fix safety
    No fix: which of the two to keep is the author's call.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefHostdevValidate`),
    src/conf/domain_conf.c (`virDomainHostdevMatch`).
    """
    devices = ctx.facts.host_devices
    reported: set[int] = set()
    for i, first in enumerate(devices):
        for j in range(i + 1, len(devices)):
            second = devices[j]
            if j in reported or not same_host_device(first, second):
                continue
            reported.add(j)
            yield ctx.finding(
                second.element,
                f"{second.label} names {_source_text(first)}, as an earlier "
                f"{first.label} does: Hostdev already exists in the domain configuration",
            )


def _source_text(device: HostDevice) -> str:
    """The host device a source names, for messages: ``PCI device 0000:06:12.5``."""
    if device.type == "pci":
        return f"PCI device {device.pci}"
    if device.type == "usb":
        if device.usb_bus and device.usb_device:
            return f"USB bus {device.usb_bus} device {device.usb_device}"
        return f"USB device {device.usb_vendor or 0:04x}:{device.usb_product or 0:04x}"
    if device.type == "scsi" and device.scsi_protocol == "iscsi":
        return f"iSCSI target {device.iscsi_path}"
    if device.type == "scsi":
        return (
            f"SCSI device {device.scsi_adapter}:{device.scsi_bus}:{device.scsi_target}:"
            f"{device.scsi_unit}"
        )
    if device.type == "scsi_host":
        return f"vhost-scsi target {device.wwpn}"
    uuid = device.mdev_uuid or ""
    dashed = "-".join((uuid[:8], uuid[8:12], uuid[12:16], uuid[16:20], uuid[20:]))
    return f"mediated device {dashed}"


@rule(
    code="DX905",
    name="hostdev-mdev-invalid",
    severity="error",
    summary="Mediated devices: boot order, more than one ramfb vGPU or vfio-ap device",
    triggers=("hostdev",),
    libvirt=(
        "virDomainDefHostdevValidate",
        "qemuValidateDomainMdevDefVFIOPCI",
        "qemuValidateDomainMdevDefVFIOAP",
    ),
)
def hostdev_mdev_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks mediated devices (`<hostdev type='mdev'>`): at most one with
    `ramfb='on'`; for QEMU guests, no `<boot order>` on a `vfio-pci` or
    `vfio-ap` mdev, and at most one `vfio-ap` mdev.

    ## Why is this bad?
    QEMU has one ramfb boot display, mdevs cannot boot the guest, and the
    s390 crypto adapter (vfio-ap) is one device. libvirt refuses the
    definition: "Only one vgpu device can have 'ramfb' enabled", "booting
    from assigned devices is not supported by mediated devices of model
    vfio-pci" (or vfio-ap), "Only one hostdev of model vfio-ap is supported".

    ## Example
    ```xml
    <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'>
      <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'>
      <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dd'/></source>
    </hostdev>
    ```

    ## Use instead
    `ramfb='on'` on one vGPU only.

    ## Fix safety
    No fix: which vGPU gets the boot display is the author's call.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefHostdevValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainMdevDefVFIOPCI`,
    `qemuValidateDomainMdevDefVFIOAP`).
    """
    is_qemu = ctx.facts.driver == "qemu"
    mdevs = [d for d in ctx.facts.host_devices if d.subsystem and d.type == "mdev"]
    ramfb = [d for d in mdevs if d.ramfb == "on"]
    for device in ramfb[1:]:
        yield ctx.finding(
            device.element, "Only one vgpu device can have 'ramfb' enabled", attribute="ramfb"
        )
    if not is_qemu:
        return
    for device in mdevs:
        if device.model in ("vfio-pci", "vfio-ap") and device.boot is not None:
            yield ctx.finding(
                device.boot,
                "booting from assigned devices is not supported by mediated devices of model "
                f"{device.model}",
            )
    for device in [d for d in mdevs if d.model == "vfio-ap"][1:]:
        yield ctx.finding(device.element, "Only one hostdev of model vfio-ap is supported")


@rule(
    code="DX906",
    name="hostdev-display-needs-graphics",
    severity="error",
    summary="A host device with display='on' in a guest without <graphics>",
    triggers=("hostdev",),
    domains=QEMU,
    libvirt=("qemuValidateDomainMdevDefVFIOPCI", "qemuValidateDomainDeviceDefHostdev"),
)
def hostdev_display_needs_graphics(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds PCI host devices and `vfio-pci` mdevs with `display='on'` in a
    QEMU guest that has no `<graphics>` device.

    ## Why is this bad?
    `display='on'` shows the device's framebuffer through the guest's
    graphics (VNC, SPICE, egl-headless); without one there is nowhere to show
    it. libvirt refuses the definition: "graphics device is needed for
    attribute value 'display=on' in <hostdev>".

    ## Example
    ```xml
    <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on'>
      <source><address uuid='53764d0e-85a0-42b4-af5c-2046b460b1dc'/></source>
    </hostdev>
    ```

    ## Use instead
    ```xml
    <graphics type='vnc'/>
    ```

    ## Fix safety
    No fix: add a graphics device or turn the display off, as you need.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainMdevDefVFIOPCI`,
    `qemuValidateDomainDeviceDefHostdev`).
    """
    if ctx.facts.device_elements("graphics"):
        return
    for device in ctx.facts.host_devices:
        if not device.subsystem or device.is_interface or device.display != "on":
            continue
        if device.type == "pci" or (device.type == "mdev" and device.model == "vfio-pci"):
            yield ctx.finding(
                device.element,
                "graphics device is needed for attribute value 'display=on' in <hostdev>",
                attribute="display",
            )


@rule(
    code="DX907",
    name="hostdev-teaming-invalid",
    severity="error",
    summary="A <hostdev> <teaming> that is not a transient PCI device with a persistent peer",
    triggers=("teaming",),
    libvirt=("virDomainHostdevDefValidate",),
)
def hostdev_teaming_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<teaming>` on a `<hostdev>`: it must be `type='transient'`, name
    its `persistent` virtio interface, and be on a PCI host device.

    ## Why is this bad?
    A teamed hostdev is the transient half of a virtio-net failover pair: the
    guest uses it until migration unplugs it, then falls back to the
    persistent virtio NIC it names. libvirt refuses the definition: "teaming
    hostdev devices must have type='transient'", "missing required
    persistent attribute in hostdev teaming element", "teaming is only
    supported for pci hostdev devices".

    ## Example
    ```xml
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x03' slot='0x07' function='0x1'/></source>
      <teaming type='transient'/>
    </hostdev>
    ```

    ## Use instead
    ```xml
      <teaming type='transient' persistent='ua-backup0'/>
    ```

    ## Fix safety
    No fix: the persistent peer's alias is the author's.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainHostdevDefValidate`);
    formatdomain "Teaming a virtio/hostdev NIC".
    """
    for device in ctx.facts.host_devices:
        teaming = device.teaming
        if teaming is None:
            continue
        if teaming.get("type") != "transient":
            yield ctx.finding(
                teaming, "teaming hostdev devices must have type='transient'", attribute="type"
            )
        elif teaming.get("persistent") is None:
            yield ctx.finding(
                teaming, "missing required persistent attribute in hostdev teaming element"
            )
        elif not device.subsystem or device.type != "pci":
            yield ctx.finding(teaming, "teaming is only supported for pci hostdev devices")


@rule(
    code="DX908",
    name="hostdev-capabilities-mode",
    severity="error",
    summary="<hostdev mode='capabilities'> (a container feature) in a QEMU guest, or a USB "
    "guestReset its QEMU lacks",
    triggers=("hostdev",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefHostdev",),
)
def hostdev_capabilities_mode(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<hostdev mode='capabilities'>` (a block device, character device
    or network interface handed to a container) in a QEMU/KVM guest, and a USB
    host device's `<source guestReset=...>` where the guest's QEMU lacks
    usb-host's `guest-resets-all` property. Every QEMU libvirt accepts has it
    where it has usb-host, but a build without libusb has no usb-host: only a
    host snapshot's QEMU capabilities (libvirt's cache) say so, and without
    one that check stays silent (`-v` says why).

    ## Why is this bad?
    Capabilities mode is for LXC containers. libvirt refuses the definition:
    "hostdev mode 'capabilities' is not supported in kvm", and "guestReset is
    not supported with this version of QEMU".

    ## Example
    ```xml
    <hostdev mode='capabilities' type='storage'>
      <source><block>/dev/sdf1</block></source>
    </hostdev>
    ```

    ## Use instead
    ```xml
    <disk type='block' device='disk'>
      <source dev='/dev/sdf1'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    ```

    ## Fix safety
    No fix: the device needs a different element, or a QEMU with usb-host.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefHostdev`);
    formatdomain "Host device assignment".
    """
    for device in ctx.facts.host_devices:
        if device.mode == "capabilities":
            yield ctx.finding(
                device.element,
                f"hostdev mode 'capabilities' is not supported in {ctx.facts.virt_type}",
                attribute="mode",
            )
        elif (
            device.subsystem
            and device.type == "usb"
            and device.source is not None
            and device.source.get("guestReset") is not None
            and (why := ctx.qemu_lacks("usb-host.guest-resets-all"))
        ):
            yield ctx.finding(
                device.source,
                f"guestReset is not supported with this version of QEMU: {why}",
                attribute="guestReset",
            )


@rule(
    code="DX909",
    name="hostdev-pci-backend-unsupported",
    severity="error",
    summary="A PCI host device with the kvm or xen driver, or writeFiltering, in a QEMU guest",
    triggers=("hostdev", "interface"),
    domains=QEMU,
    libvirt=(
        "qemuDomainPrepareHostdevPCI",
        "qemuValidateDomainDeviceDefHostdev",
        "virHostdevGetPCIHostDevice",
    ),
)
def hostdev_pci_backend_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds PCI host devices of QEMU/KVM guests whose `<driver name>` is `kvm`
    (legacy KVM device assignment) or `xen`, or whose `<source>` sets
    `writeFiltering` (a Xen option).

    ## Why is this bad?
    QEMU assigns PCI devices through VFIO only; legacy KVM assignment was
    removed from Linux and QEMU. libvirt refuses the guest: "host doesn't
    support legacy PCI passthrough" and "QEMU does not support device
    assignment mode 'xen'" when it starts, "Write filtering of PCI device
    configuration space is not supported by qemu" when it is defined.

    ## Example
    ```xml
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <driver name='kvm'/>
      <source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>
    </hostdev>
    ```

    ## Use instead
    ```xml
      <driver name='vfio'/>
    ```

    ## Fix safety
    No fix: VFIO needs the IOMMU enabled on the host.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainPrepareHostdevPCI`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefHostdev`),
    src/hypervisor/virhostdev.c (`virHostdevGetPCIHostDevice`).
    """
    for device in ctx.facts.host_devices:
        if not device.subsystem or device.type != "pci":
            continue
        driver = device.driver
        if device.driver_name == "kvm" and driver is not None:
            yield ctx.finding(
                driver,
                "<driver name='kvm'>: host doesn't support legacy PCI passthrough (QEMU assigns "
                "PCI devices with VFIO only)",
                attribute="name",
            )
        elif device.driver_name == "xen" and driver is not None:
            yield ctx.finding(
                driver, "QEMU does not support device assignment mode 'xen'", attribute="name"
            )
        if device.write_filtering is not None and device.source is not None:
            yield ctx.finding(
                device.source,
                "Write filtering of PCI device configuration space is not supported by qemu",
                attribute="writeFiltering",
            )


@rule(
    code="DX910",
    name="hostdev-mdev-model-unavailable",
    severity="error",
    summary="A vfio-ccw or vfio-ap mediated device on an architecture other than s390",
    triggers=("hostdev",),
    domains=QEMU,
    libvirt=("qemuValidateDomainMdevDef", "qemuValidateDomainMdevDefVFIOAP"),
)
def hostdev_mdev_model_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds mediated devices of model `vfio-ccw` or `vfio-ap` in QEMU guests
    whose architecture is not s390: only qemu-system-s390x has those devices.

    ## Why is this bad?
    vfio-ccw passes through s390 channel I/O subchannels and vfio-ap s390
    crypto adapters; other QEMU binaries are built without them. libvirt
    refuses the definition: "VFIO CCW device assignment is not supported by
    this version of QEMU" (or "VFIO AP ...").

    ## Example
    ```xml
    <os><type arch='x86_64' machine='q35'>hvm</type></os>
    ...
    <hostdev mode='subsystem' type='mdev' model='vfio-ccw'>
    ```

    ## Use instead
    `model='vfio-pci'` for a mediated PCI device (a vGPU, say).

    ## Fix safety
    No fix: the device and the guest's architecture do not fit.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainMdevDef`,
    `qemuValidateDomainMdevDefVFIOAP`); QEMU hw/vfio/meson.build (vfio-ccw
    and vfio-ap are built for s390x only).
    """
    available = ctx.facts.mdev_models_available
    if available is None:
        return
    for device in ctx.facts.host_devices:
        if device.subsystem and device.type == "mdev" and device.model in MDEV_UNSUPPORTED:
            if device.model not in available:
                yield ctx.finding(
                    device.element,
                    f"model '{device.model}' on {ctx.facts.arch}: {MDEV_UNSUPPORTED[device.model]}",
                    attribute="model",
                )


@rule(
    code="DX911",
    name="hostdev-pci-vfio-unavailable",
    severity="error",
    summary="A PCI host device where the host's domain capabilities offer no VFIO",
    triggers=("hostdev", "interface"),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDeviceDefHostdev", "qemuDomainPrepareHostdevPCI"),
)
def hostdev_pci_vfio_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    With a host snapshot, finds PCI host devices (and `<interface
    type='hostdev'>`) using VFIO (no driver name, or `vfio`) when the domain
    capabilities for the guest's machine list no `vfio` PCI backend.

    ## Why is this bad?
    libvirt lists the `vfio` backend only when QEMU has the vfio-pci device
    and the host supports VFIO (an IOMMU, `/dev/vfio`). Without it libvirt
    refuses the guest: "VFIO PCI device assignment is not supported by this
    version of QEMU" or "host doesn't support passthrough of host PCI
    devices" (which one depends on what is missing).

    ## Example
    ```xml
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x06' slot='0x12' function='0x5'/></source>
    </hostdev>
    ```

    ## Use instead
    Enable the IOMMU (`intel_iommu=on` or `amd_iommu=on`) and load vfio-pci
    on the host, or leave the device out.

    ## Fix safety
    No fix: a host setting.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefHostdev`),
    src/qemu/qemu_domain.c (`qemuDomainPrepareHostdevPCI`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceHostdevCaps`).
    """
    devices = [
        d
        for d in ctx.facts.host_devices
        if d.subsystem and d.type == "pci" and d.driver_name in (None, "vfio")
    ]
    if not devices:
        return
    caps = ctx.domain_caps
    if caps is None:
        return
    backends = caps.enum("devices/hostdev", "pciBackend")
    if backends is None or "vfio" in backends:
        return
    for device in devices:
        yield ctx.finding(
            device.element,
            f"{device.label}: the host's domain capabilities offer no VFIO PCI backend, so "
            'libvirt refuses it ("VFIO PCI device assignment is not supported by this version '
            'of QEMU" or "host doesn\'t support passthrough of host PCI devices")',
        )


@rule(
    code="DX912",
    name="hostdev-scsi-managed",
    severity="warning",
    summary="A SCSI host device with managed='yes', which libvirt refuses to start",
    fix="safe",
    triggers=("hostdev",),
    libvirt=("virHostdevPrepareSCSIHostDevices",),
)
def hostdev_scsi_managed(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<hostdev type='scsi' managed='yes'>` with a host adapter source
    (not iSCSI).

    ## Why is this bad?
    `managed` means libvirt detaches the device from its host driver and
    gives it back afterwards, which libvirt does for PCI devices only; a SCSI
    device stays with the host's SCSI driver and is opened through its sg
    node. libvirt refuses to start the guest: "SCSI host device doesn't
    support managed mode".

    A warning rather than an error: `virsh define` accepts the definition
    and only the start fails, when libvirt prepares the host's devices;
    libvirt's own tests define such guests.

    ## Example
    ```xml
    <hostdev mode='subsystem' type='scsi' managed='yes'>
      <source>
        <adapter name='scsi_host0'/>
        <address bus='0' target='0' unit='0'/>
      </source>
    </hostdev>
    ```

    ## Use instead
    ```xml
    <hostdev mode='subsystem' type='scsi' managed='no'>
    ```

    ## Fix safety
    Safe: the fix sets `managed='no'`, the only value libvirt starts a SCSI
    host device with, and changes nothing the guest sees.

    ## Source
    libvirt src/hypervisor/virhostdev.c (`virHostdevPrepareSCSIHostDevices`).
    """
    for device in ctx.facts.host_devices:
        if device.is_interface or not device.subsystem or device.type != "scsi":
            continue
        if device.scsi_protocol == "iscsi" or device.element.get("managed") != "yes":
            continue
        yield ctx.finding(
            device.element,
            "<hostdev type='scsi' managed='yes'>: SCSI host device doesn't support managed mode "
            "(libvirt refuses to start the guest)",
            attribute="managed",
            fix=ctx.safe_fix(
                "Set managed='no'", ctx.edit.set_attribute(device.element, "managed", "no")
            ),
        )
