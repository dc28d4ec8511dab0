"""DX348: memory backing and memory devices against what QEMU offers (domain capabilities)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule


@rule(
    code="DX348",
    name="memory-backend-unsupported",
    severity="error",
    summary="A memfd memory source or an SGX EPC section that this QEMU does not offer",
    triggers=("source", "memory"),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=(
        "qemuBuildMemoryBackendProps",
        "qemuValidateDomainDefMemory",
        "qemuValidateDomainDeviceDefMemory",
    ),
)
def memory_backend_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Looks up, in the domain capabilities of the guest's machine, whether QEMU
    offers what the memory configuration asks for:

    - `<memoryBacking><source type='memfd'/>` needs `memfd` among the
      `<memoryBacking>` source types;
    - a `<memory model='sgx-epc'>` device needs `<features><sgx
      supported='yes'>`.

    ## Why is this bad?
    libvirt refuses the guest: "this qemu doesn't support the
    memory-backend-memfd object" when it builds the command line ("hugepages
    is not supported with memfd memory source" when validating a guest that
    also asks for huge pages: QEMU's memfd backend gained huge pages with the
    backend itself), "sgx epc
    isn't supported by this QEMU binary" when it validates the device (a QEMU
    built with SGX on a host without SGX EPC sections is refused as "this QEMU
    version didn't provide SGX EPC NUMA info", which the domain capabilities
    also show as unsupported).

    ## Example
    ```xml
    <memoryBacking>
      <source type='memfd'/>
    </memoryBacking>
    ```

    ## Use instead
    ```xml
    <memoryBacking>
      <source type='file'/>
      <access mode='shared'/>
    </memoryBacking>
    ```

    ## Fix safety
    No fix: the memory backend is the author's choice.

    ## Source
    libvirt src/qemu/qemu_command.c (`qemuBuildMemoryBackendProps`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefMemory`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainMemoryBackingCaps`,
    the SGX feature caps); formatdomaincaps "Memory Backing", "SGX
    capabilities". Needs a host snapshot with domain capabilities for the
    guest's machine.
    """
    facts = ctx.facts
    backing = facts.memory_backing
    wants_memfd = backing is not None and backing.source_type == "memfd"
    sgx_devices = [d for d in facts.memory_devices if d.model == "sgx-epc"]
    if not wants_memfd and not sgx_devices:
        return
    caps = ctx.domain_caps
    if caps is None:
        return
    if wants_memfd and backing is not None:
        sources = caps.memory_backing_sources
        if sources is not None and "memfd" not in sources:
            source = child(backing.element, "source")
            # With huge pages, validation refuses it before the command line is built.
            message = (
                "hugepages is not supported with memfd memory source"
                if backing.hugepages is not None
                else "this qemu doesn't support the memory-backend-memfd object"
            )
            yield ctx.finding(
                source if source is not None else backing.element,
                f"{message} (the host's memory backing sources: "
                f"{', '.join(sorted(sources)) or 'none'})",
                attribute="type",
            )
    if sgx_devices and caps.supported("features/sgx") is False:
        yield ctx.finding(sgx_devices[0].element, "sgx epc isn't supported by this QEMU binary")
