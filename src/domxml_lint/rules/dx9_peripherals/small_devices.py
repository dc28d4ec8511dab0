"""DX974-DX977: vsock, memballoon, pstore and the pSeries ``<nvram>`` device."""

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
    code="DX975",
    name="memballoon-model-unsupported",
    severity="error",
    summary="A <memballoon> model QEMU does not implement (xen)",
    triggers=("memballoon",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefMemballoon",),
)
def memballoon_model_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that a QEMU/KVM guest's `<memballoon model=...>` is `virtio`
    (or its transitional variants) or `none`.

    ## Why is this bad?
    The `xen` balloon exists only for Xen guests; libvirt's QEMU driver
    refuses the definition: "Memory balloon device type 'xen' is not supported
    by this version of qemu".

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
    if balloon is None or balloon.model in (None, "none") or balloon.model in QEMU_BALLOON_MODELS:
        return
    yield ctx.finding(
        balloon.element,
        f"Memory balloon device type '{balloon.model}' is not supported by this version of qemu",
        attribute="model",
    )


@rule(
    code="DX976",
    name="pstore-invalid",
    severity="error",
    summary="An ACPI ERST <pstore> without a path, with a bad size, or off the PCI bus",
    triggers=("pstore",),
    libvirt=("virDomainPstoreDefValidate", "qemuValidateDomainDeviceDefPstore"),
)
def pstore_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<pstore backend='acpi-erst'>`: it needs a `<path>`, a `<size>` of
    at least 4 KiB that is a power of two, and for QEMU/KVM guests a `pci`
    address (or none, which libvirt fills with one).

    ## Why is this bad?
    libvirt refuses the definition: "missing path for ACPI ERST pstore
    device", "invalid size of ACPI ERST pstore device", and its QEMU driver
    "ACPI ERST device must reside on a PCI bus" (QEMU's `acpi-erst` is a PCI
    device).

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
        if facts.driver == "qemu" and pstore.address_type not in (None, "pci"):
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
