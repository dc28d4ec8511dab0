"""DX349: memory devices whose QEMU device or backend option the guest's QEMU lacks.

libvirt's ``!virQEMUCapsGet(qemuCaps, FLAG)`` checks of ``<devices><memory>``,
answered by ``ctx.qemu_lacks`` (:mod:`domxml_lint.qemu_support`). SGX EPC and
the memfd backend are memory-backend-unsupported's (DX348), which reads the
domain capabilities.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.values import child, grandchild
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: ``qemuValidateDomainDeviceDefMemory``: model -> (the flag of its device, libvirt's words).
MEMORY_MODEL_FLAGS = {
    "dimm": ("pc-dimm", "memory hotplug isn't supported by this QEMU binary"),
    "nvdimm": ("nvdimm", "nvdimm isn't supported by this QEMU binary"),
    "virtio-pmem": ("virtio-pmem-pci", "virtio-pmem isn't supported by this QEMU binary"),
    "virtio-mem": ("virtio-mem-pci", "virtio-mem isn't supported by this QEMU binary"),
}


@rule(
    code="DX349",
    name="memory-device-unsupported-by-qemu",
    severity="error",
    summary="A DIMM, NVDIMM, virtio-pmem or virtio-mem device (or option) the guest's QEMU "
    "does not have",
    triggers=("memory",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefMemory", "qemuBuildMemoryBackendProps"),
)
def memory_device_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<devices><memory>` against the guest's QEMU: a `dimm` needs the
    pc-dimm device, an `nvdimm` the nvdimm device (and, with `<source><pmem/>`,
    memory-backend-file's `pmem` property, which needs QEMU built with
    libpmem), a `virtio-pmem` the virtio-pmem-pci device and a `virtio-mem`
    the virtio-mem-pci device; virtio-mem's `dynamicMemslots='yes'` needs
    QEMU 8.2 or later.

    What the guest's QEMU has comes from the host snapshot's QEMU
    capabilities (libvirt's cache, see the README's "Host snapshots"), else
    from `qemu-version` (`dynamicMemslots`); which memory devices a QEMU has
    depends on its architecture and build (s390x has none of them before
    virtio-mem, aarch64 builds lack libpmem), which only a snapshot can say.
    The rule stays silent when it cannot know (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition, or the start: "memory hotplug isn't
    supported by this QEMU binary", "nvdimm isn't supported by this QEMU
    binary", "virtio-pmem isn't supported by this QEMU binary", "virtio-mem
    isn't supported by this QEMU binary", "virtio-mem does not support
    dynamicMemslots", "nvdimm pmem property is not available with this QEMU
    binary".

    ## Example
    ```xml
    <memory model='virtio-mem'>
      <target dynamicMemslots='yes'>
        <size unit='GiB'>4</size>
        <node>0</node>
        <block unit='MiB'>2</block>
        <requested unit='GiB'>1</requested>
      </target>
    </memory>
    ```
    with `qemu-version = "8.1"` in the configuration.

    ## Use instead
    ```xml
    <memory model='virtio-mem'>
      <target>
        <size unit='GiB'>4</size>
        <node>0</node>
        <block unit='MiB'>2</block>
        <requested unit='GiB'>1</requested>
      </target>
    </memory>
    ```

    ## Fix safety
    No fix: the memory device is guest-visible hardware.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefMemory`),
    src/qemu/qemu_command.c (`qemuBuildMemoryBackendProps`).
    """
    for device in ctx.facts.memory_devices:
        element = device.element
        if device.model not in MEMORY_MODEL_FLAGS:
            continue
        flag, message = MEMORY_MODEL_FLAGS[device.model]
        why = ctx.qemu_lacks(flag)
        if why:
            yield ctx.finding(element, f"{message}: {why}", attribute="model")
            continue
        target = child(element, "target")
        if (
            device.model == "virtio-mem"
            and target is not None
            and target.get("dynamicMemslots") == "yes"
            and (why := ctx.qemu_lacks("virtio-mem-pci.dynamic-memslots"))
        ):
            message = "virtio-mem does not support dynamicMemslots"
            yield ctx.finding(target, f"{message}: {why}", attribute="dynamicMemslots")
        pmem = grandchild(element, "source", "pmem")
        if device.model == "nvdimm" and pmem is not None:
            why = ctx.qemu_lacks("memory-backend-file.pmem")
            if why:
                message = "nvdimm pmem property is not available with this QEMU binary"
                yield ctx.finding(pmem, f"{message}: {why}")
