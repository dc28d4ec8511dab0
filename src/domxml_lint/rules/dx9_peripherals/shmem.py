"""DX966-DX969: ``<shmem>`` (ivshmem) devices libvirt or QEMU refuse."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...facts.peripherals import Shmem
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

MIB = 1024 * 1024


def _model_problem(shmem: Shmem, newer: bool) -> tuple[str, etree._Element] | None:
    """libvirt's first objection to the model and its options, with where to point."""
    if shmem.msi is not None and shmem.server is None:
        return "msi option is only supported with a server", shmem.msi
    model = shmem.model
    if model == "ivshmem":
        if newer:
            return "ivshmem device is no longer supported", shmem.element
        return "ivshmem device is not supported with this QEMU binary", shmem.element
    if model == "ivshmem-doorbell":
        if shmem.server is None:
            return (
                f"shmem model '{model}' is supported only with server option enabled",
                shmem.element,
            )
        if shmem.size is not None:
            return f"shmem model '{model}' does not support size setting", shmem.size
    if model == "ivshmem-plain" and shmem.server is not None:
        return f"shmem model '{model}' is supported only with server option disabled", shmem.server
    return None


@rule(
    code="DX966",
    name="shmem-model-options-invalid",
    severity="error",
    summary="A shmem model with options it cannot take (server, msi, size), or the legacy ivshmem",
    triggers=("shmem",),
    domains=QEMU,
    libvirt=("virDomainShmemDefParseXML", "qemuDomainShmemDefPostParse",
             "qemuValidateDomainDeviceDefShmem"),
)  # fmt: skip
def shmem_model_options_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<shmem>` options against its model: `<msi>` needs a `<server>`;
    `ivshmem-doorbell` needs a `<server>` and takes no `<size>` (the server
    sets it); `ivshmem-plain` takes no `<server>`; the legacy `ivshmem`
    model is gone.

    ## Why is this bad?
    libvirt refuses the definition: "msi option is only supported with a
    server", "shmem model 'ivshmem-doorbell' is supported only with server
    option enabled", "shmem model 'ivshmem-doorbell' does not support size
    setting", "shmem model 'ivshmem-plain' is supported only with server
    option disabled", "ivshmem device is no longer supported" (libvirt 9.0
    words the last one "ivshmem device is not supported with this QEMU
    binary"; the rule follows the target libvirt, `libvirt-version`).

    ## Example
    ```xml
    <shmem name='shmem0'>
      <model type='ivshmem-plain'/>
      <msi/>
    </shmem>
    ```

    ## Use instead
    ```xml
    <shmem name='shmem0'>
      <model type='ivshmem-doorbell'/>
      <server path='/run/ivshmem/shmem0.sock'/>
      <msi/>
    </shmem>
    ```

    ## Fix safety
    No fix: the model decides how the guests share memory.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainShmemDefParseXML`),
    src/qemu/qemu_domain.c (`qemuDomainShmemDefPostParse`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefShmem`).
    """
    newer = ctx.libvirt_at_least(10, 0)
    for shmem in ctx.facts.shmems:
        problem = _model_problem(shmem, newer)
        if problem is None:
            continue
        message, where = problem
        yield ctx.finding(where, message)


@rule(
    code="DX967",
    name="shmem-name-invalid",
    severity="error",
    summary="A shmem name with '/', or '.' or '..'",
    triggers=("shmem",),
    libvirt=("virDomainShmemDefValidate", "qemuProcessStartValidateShmem"),
)
def shmem_name_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<shmem name>`: it names a file in `/dev/shm`, so it cannot
    contain `/` or be `.` or `..`.

    ## Why is this bad?
    libvirt refuses the definition: "shmem name cannot include '/'
    character", "shmem name cannot be equal to '.'", "shmem name cannot be
    equal to '..'".

    ## Example
    ```xml
    <shmem name='vm/shared'>
      <model type='ivshmem-plain'/>
    </shmem>
    ```

    ## Use instead
    ```xml
    <shmem name='vm-shared'>
      <model type='ivshmem-plain'/>
    </shmem>
    ```

    ## Fix safety
    No fix: the name is what the guests share.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainShmemDefValidate`),
    src/qemu/qemu_process.c (`qemuProcessStartValidateShmem`).
    """
    for shmem in ctx.facts.shmems:
        name = shmem.name
        if name is None:
            continue
        message = None
        if "/" in name:
            message = "shmem name cannot include '/' character"
        elif name in (".", ".."):
            message = f"shmem name cannot be equal to '{name}'"
        if message is not None:
            yield ctx.finding(shmem.element, message, attribute="name")


@rule(
    code="DX968",
    name="shmem-size-invalid",
    severity="error",
    summary="A shmem size below 1 MiB or not a power of two",
    triggers=("shmem",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefShmem",),
)
def shmem_size_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<shmem><size>` (bytes unless a `unit` says otherwise): it must be
    a power of two of at least 1 MiB.

    ## Why is this bad?
    ivshmem maps the region as a PCI BAR, whose size is a power of two.
    libvirt refuses the definition: "shmem size must be a power of 2 and at
    least 1 MiB (1024 KiB)". libvirt 9.0 only refused it when the guest
    started, as "shmem size must be at least 1 MiB (1024 KiB)" or "shmem size
    must be a power of two"; the rule follows the target libvirt
    (`libvirt-version`).

    ## Example
    ```xml
    <shmem name='shmem0'>
      <model type='ivshmem-plain'/>
      <size unit='K'>12345</size>
    </shmem>
    ```

    ## Use instead
    ```xml
    <shmem name='shmem0'>
      <model type='ivshmem-plain'/>
      <size unit='M'>16</size>
    </shmem>
    ```

    ## Fix safety
    No fix: the size is shared with the other guests.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefShmem`).
    """
    for shmem in ctx.facts.shmems:
        size = shmem.size_bytes
        if shmem.size is None or size is None or shmem.model == "ivshmem-doorbell":
            continue
        if not ctx.libvirt_at_least(10, 0):
            # libvirt 9.0 checked while building the command line, with two messages.
            if size < MIB:
                yield ctx.finding(shmem.size, "shmem size must be at least 1 MiB (1024 KiB)")
            elif size & (size - 1):
                yield ctx.finding(shmem.size, "shmem size must be a power of two")
        elif size < MIB or size & (size - 1):
            yield ctx.finding(
                shmem.size,
                f"size {size} bytes: shmem size must be a power of 2 and at least 1 MiB (1024 KiB)",
            )


@rule(
    code="DX969",
    name="shmem-address-invalid",
    severity="error",
    summary="A shmem device with an address that is not PCI",
    triggers=("shmem",),
    domains=QEMU,
    libvirt=("qemuBuildShmemCommandLine",),
)
def shmem_address_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<shmem>` devices whose `<address>` is of a type other than `pci`.

    ## Why is this bad?
    ivshmem devices are PCI devices. The guest does not start: "only 'pci'
    addresses are supported for the shared memory device".

    ## Example
    ```xml
    <shmem name='shmem0'>
      <model type='ivshmem-plain'/>
      <address type='isa'/>
    </shmem>
    ```

    ## Use instead
    ```xml
    <shmem name='shmem0'>
      <model type='ivshmem-plain'/>
    </shmem>
    ```

    ## Fix safety
    No fix: libvirt picks a PCI address when none is written, but which
    address you meant is yours to say.

    ## Source
    libvirt src/qemu/qemu_command.c (`qemuBuildShmemCommandLine`).
    """
    for shmem in ctx.facts.shmems:
        address = shmem.address
        if address is not None and address.get("type") not in (None, "pci"):
            yield ctx.finding(
                address,
                "only 'pci' addresses are supported for the shared memory device",
                attribute="type",
            )
