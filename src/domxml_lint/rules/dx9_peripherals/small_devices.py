"""DX974-DX977, DX950, DX959: vsock, memballoon, pstore, the pSeries ``<nvram>`` device and
USB hubs."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import format_kib

#: Memory balloon models QEMU implements (virtio-balloon).
QEMU_BALLOON_MODELS = frozenset({"virtio", "virtio-transitional", "virtio-non-transitional"})


@rule(
    code="DX974",
    name="vsock-cid-invalid",
    severity="error",
    summary="A <vsock> guest CID below 3 (0-2 are reserved for the hypervisor and host)",
    triggers=("vsock",),
    libvirt=("virDomainVsockDefValidate",),
)
def vsock_cid_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that a `<vsock><cid address=...>` is 3 or more.

    ## Why is this bad?
    vsock reserves CIDs 0 to 2 (the hypervisor, a local address and the
    host), so the guest cannot use them; libvirt refuses the definition:
    "guest CIDs must be >= 3".

    ## Example
    ```xml
    <vsock model='virtio'>
      <cid auto='no' address='2'/>
    </vsock>
    ```

    ## Use instead
    ```xml
    <vsock model='virtio'>
      <cid auto='yes'/>
    </vsock>
    ```

    ## Fix safety
    No fix: software in the guest or on the host may expect this CID.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainVsockDefValidate`);
    vsock(7) (reserved CIDs); formatdomain "Vsock".
    """
    for vsock in ctx.facts.vsocks:
        if vsock.cid is not None and 0 < vsock.cid <= 2:
            assert vsock.cid_element is not None
            yield ctx.finding(
                vsock.cid_element,
                f"guest CIDs must be >= 3, not {vsock.cid} (0-2 are reserved)",
                attribute="address",
            )


@rule(
    code="DX959",
    name="vsock-unsupported-by-qemu",
    severity="error",
    summary="A <vsock> whose QEMU lacks the vhost-vsock device (QEMU not built for Linux)",
    triggers=("vsock",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefVsock",),
)
def vsock_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that the guest's QEMU has the `vhost-vsock` device a `<vsock>`
    needs. vhost-vsock uses the Linux kernel's vhost driver, so a QEMU built
    for another system (macOS with hvf, for one) or without the device lacks
    it. Only a host snapshot's QEMU capabilities (libvirt's cache) say what a
    build has: without one the rule stays silent (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition: "vsock device is not supported with this
    QEMU binary".

    ## Example
    ```xml
    <!-- QEMU 9.1 on macOS (hvf) -->
    <vsock model='virtio'>
      <cid auto='yes'/>
    </vsock>
    ```

    ## Use instead
    A virtio-serial channel (`<channel type='unix'>` with a `virtio` target)
    carries the same host-guest traffic on any QEMU.

    ## Fix safety
    No fix: the guest needs a different device.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefVsock`);
    QEMU hw/virtio/Kconfig (`VHOST_VSOCK` depends on Linux vhost);
    formatdomain "Vsock".
    """
    for vsock in ctx.facts.vsocks:
        if why := ctx.qemu_lacks("vhost-vsock"):
            yield ctx.finding(
                vsock.element, f"vsock device is not supported with this QEMU binary: {why}"
            )


@rule(
    code="DX975",
    name="memballoon-model-unsupported",
    severity="error",
    summary="A <memballoon> model QEMU does not implement (xen), or an option its QEMU lacks",
    triggers=("memballoon",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefMemballoon",),
)
def memballoon_model_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that a QEMU/KVM guest's `<memballoon model=...>` is `virtio`
    (or its transitional variants) or `none`, and that the guest's QEMU has
    virtio-balloon's `deflate-on-oom` and `free-page-reporting` properties
    when `autodeflate` or `freePageReporting` is set (on or off). Every QEMU
    libvirt accepts has both where it has virtio-balloon, but a build may leave
    the device out: only a host snapshot's QEMU capabilities (libvirt's cache)
    say so, and without one that check stays silent.

    ## Why is this bad?
    The `xen` balloon exists only for Xen guests; libvirt's QEMU driver
    refuses the definition: "Memory balloon device type 'xen' is not supported
    by this version of qemu". A QEMU without the balloon's options gets
    "deflate-on-oom is not supported by this QEMU binary" or
    "freePageReporting is not supported by this QEMU binary".

    ## Example
    ```xml
    <memballoon model='xen'/>
    ```

    ## Use instead
    ```xml
    <memballoon model='virtio'/>
    ```

    ## Fix safety
    No fix: `virtio` adds a PCI device the guest sees; `none` removes the
    balloon. The author chooses.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefMemballoon`);
    formatdomain "Memory balloon device".
    """
    balloon = ctx.facts.memballoon
    if balloon is None or balloon.model in (None, "none"):
        return
    if balloon.model not in QEMU_BALLOON_MODELS:
        yield ctx.finding(
            balloon.element,
            f"Memory balloon device type '{balloon.model}' is not supported by this version of "
            "qemu",
            attribute="model",
        )
    elif balloon.autodeflate is not None and (
        why := ctx.qemu_lacks("virtio-balloon-pci.deflate-on-oom")
    ):
        yield ctx.finding(
            balloon.element,
            f"deflate-on-oom is not supported by this QEMU binary: {why}",
            attribute="autodeflate",
        )
    elif balloon.free_page_reporting is not None and (
        why := ctx.qemu_lacks("virtio-balloon.free-page-reporting")
    ):
        yield ctx.finding(
            balloon.element,
            f"freePageReporting is not supported by this QEMU binary: {why}",
            attribute="freePageReporting",
        )


@rule(
    code="DX976",
    name="pstore-invalid",
    severity="error",
    summary="An ACPI ERST <pstore> without a path, with a bad size, off the PCI bus, or "
    "without QEMU's acpi-erst",
    triggers=("pstore",),
    libvirt=("virDomainPstoreDefValidate", "qemuValidateDomainDeviceDefPstore"),
)
def pstore_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<pstore backend='acpi-erst'>`: it needs a `<path>`, a `<size>` of
    at least 4 KiB that is a power of two, and for QEMU/KVM guests a `pci`
    address (or none, which libvirt fills with one) and a QEMU with the
    `acpi-erst` device: QEMU 7.0 or later (from `qemu-version`), whose build
    kept it (only a host snapshot's QEMU capabilities say that).

    ## Why is this bad?
    libvirt refuses the definition: "missing path for ACPI ERST pstore
    device", "invalid size of ACPI ERST pstore device", and its QEMU driver
    "ACPI ERST device must reside on a PCI bus" (QEMU's `acpi-erst` is a PCI
    device), "acpi-erst backend of pstore device is not supported".

    ## Example
    ```xml
    <pstore backend='acpi-erst'>
      <path>/var/lib/libvirt/qemu/nvram/guest_pstore.raw</path>
      <size unit='KiB'>12</size>
    </pstore>
    ```

    ## Use instead
    ```xml
    <pstore backend='acpi-erst'>
      <path>/var/lib/libvirt/qemu/nvram/guest_pstore.raw</path>
      <size unit='KiB'>16</size>
    </pstore>
    ```

    ## Fix safety
    No fix: the size of the guest's crash log store is the author's choice.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainPstoreDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefPstore`);
    formatdomain "Devices" (pstore).
    """
    facts = ctx.facts
    for pstore in facts.pstores:
        if pstore.backend != "acpi-erst":
            continue
        if not pstore.path:
            yield ctx.finding(pstore.element, "missing path for ACPI ERST pstore device")
        kib = pstore.size_kib
        if kib is not None and (kib < 4 or kib & (kib - 1)):
            assert pstore.size_element is not None
            yield ctx.finding(
                pstore.size_element,
                f"invalid size of ACPI ERST pstore device: {format_kib(kib)} is "
                + ("below 4 KiB" if kib < 4 else "not a power of two"),
            )
        if facts.driver != "qemu":
            continue
        if why := ctx.qemu_lacks("acpi-erst"):
            yield ctx.finding(
                pstore.element,
                f"acpi-erst backend of pstore device is not supported: {why}",
                attribute="backend",
            )
        elif pstore.address_type not in (None, "pci"):
            yield ctx.finding(pstore.element, "ACPI ERST device must reside on a PCI bus")


@rule(
    code="DX977",
    name="nvram-device-invalid",
    severity="error",
    summary="A <devices><nvram> outside a pSeries guest, or not on the spapr-vio bus",
    triggers=("nvram",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefNVRAM",),
)
def nvram_device_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `<nvram>` *device* (under `<devices>`, not `<os><nvram>`, the
    UEFI variable store): QEMU has it only for pSeries machines, on the
    spapr-vio bus.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "nvram device is only
    supported for PPC64", "nvram address type must be spaprvio". An x86
    guest that wants UEFI variables needs `<os><nvram>` instead.

    ## Example
    ```xml
    <devices>
      <nvram/>
    </devices>
    ```

    ## Use instead
    ```xml
    <os firmware='efi'>
      <nvram/>
    </os>
    ```

    ## Fix safety
    No fix: moving the element changes what it means.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefNVRAM`);
    formatdomain "NVRAM device".
    """
    facts = ctx.facts
    for nvram in facts.nvram_devices:
        if facts.machine and not facts.is_pseries:
            yield ctx.finding(
                nvram.element,
                "nvram device is only supported for PPC64 (pSeries machines); "
                "UEFI variables belong in <os><nvram>",
            )
        elif nvram.address_type not in (None, "spapr-vio"):
            yield ctx.finding(nvram.element, "nvram address type must be spaprvio")


@rule(
    code="DX950",
    name="usb-hub-unsupported-by-qemu",
    severity="error",
    summary="A <hub type='usb'> whose QEMU lacks the usb-hub device",
    triggers=("hub",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefHub",),
)
def usb_hub_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that the guest's QEMU has the `usb-hub` device a `<hub type='usb'>`
    needs. Most builds have it wherever they have USB, but a build trimmed of
    default devices may not; only a host snapshot's QEMU capabilities
    (libvirt's cache) say so, and without one the rule stays silent (`-v`
    says why). A guest without USB at all is usb-disabled-conflict's (DX641)
    (libvirt: "Can't add USB hub: USB is disabled for this domain").

    ## Why is this bad?
    libvirt refuses the definition: "usb-hub not supported by QEMU binary".

    ## Example
    ```xml
    <!-- a QEMU built without usb-hub -->
    <hub type='usb'/>
    ```

    ## Use instead
    Plug the USB devices into the controller's own ports, or give the
    controller more ports (`<controller type='usb' model='qemu-xhci'
    ports='15'/>`).

    ## Fix safety
    No fix: where the devices should go is the author's choice.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefHub`);
    formatdomain "Hub devices".
    """
    for hub in ctx.facts.device_elements("hub"):
        if hub.get("type") == "usb" and (why := ctx.qemu_lacks("usb-hub")):
            yield ctx.finding(hub, f"usb-hub not supported by QEMU binary: {why}")
