"""DX211: a passed-through PCI device on another host NUMA node than the guest (guide 9.3.11)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule
from .._wording import describe_nodes


def _device_name(device) -> str:
    name = device.product.name if device.product is not None else None
    return f"{device.address} ({name})" if name else str(device.address)


@rule(
    code="DX211",
    name="pci-device-numa-remote",
    severity="warning",
    summary="A passed-through PCI device sits on a host NUMA node the guest is not bound to",
    needs=(HostPart.NODE_DEVICES,),
    triggers=("hostdev", "interface"),
    domains=QEMU,
)
def pci_device_numa_remote(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For each PCI `<hostdev>` and `<interface type='hostdev'>`, looks up the
    host device in the snapshot's node devices (`virsh nodedev-dumpxml`) and
    reports one whose NUMA node is not among the guest's bound host nodes:
    the `<numatune>` memory nodeset or, without one, the host nodes of the
    pinned vCPUs.

    The rule stays silent (and `--verbose` says why) when the snapshot has no
    node devices, does not list the device, or gives it no NUMA node, and when
    the guest is not bound to host nodes at all or numad places it.

    ## Why is this bad?
    The device reads and writes guest memory by DMA and interrupts the vCPUs
    handling it. On a remote node every DMA transfer and interrupt crosses the
    node interconnect, which costs latency and bandwidth: exactly what
    passthrough was chosen to avoid. The guide: when a guest gets a PCI device
    passed through, pin the guest to the device's NUMA node.

    ## Example
    With the NIC at 0000:c1:00.0 on host node 1:
    ```xml
    <numatune>
      <memory mode='strict' nodeset='0'/>
    </numatune>
    <devices>
      <hostdev mode='subsystem' type='pci' managed='yes'>
        <source>
          <address domain='0x0000' bus='0xc1' slot='0x00' function='0x0'/>
        </source>
      </hostdev>
    </devices>
    ```

    ## Use instead
    Bind the guest (numatune and vCPU pins) to node 1, or pass through a
    device on node 0.

    ## Fix safety
    No fix: moving the guest or choosing another device is the author's call.

    ## Source
    Guide 9.3.11 (PCI 设备的 NUMA 节点位置: "务必要知道主机 NUMA 拓扑和 PCI 设备与 NUMA 节点的关系，
    以便在请求 PCI 透传时，客户端会固定到正确的 NUMA 节点"; the node-0-1 guest with a
    node-2 device example); libvirt formatnode, PCI device capability (`numa
    node`), from `/sys/bus/pci/devices/*/numa_node`.
    """
    facts = ctx.facts
    devices = [
        h
        for h in facts.host_devices
        if h.type == "pci" and h.mode == "subsystem" and h.pci is not None
    ]
    if not devices:
        return
    host = ctx.host
    binding = ctx.placement
    if binding.automatic:
        ctx.note("numad places the guest (placement='auto'), so its host nodes are unknown")
        return
    bound = binding.bound_nodes
    if bound is None:
        ctx.note("the guest is not bound to host NUMA nodes (no numatune nodeset, no vCPU pins)")
        return
    for hostdev in devices:
        device = host.pci_device(hostdev.pci)
        if device is None:
            ctx.note(f"PCI device {hostdev.pci} is not in the host snapshot")
            continue
        if device.numa_node is None:
            ctx.note(f"the host snapshot gives PCI device {hostdev.pci} no NUMA node")
            continue
        if device.numa_node in bound:
            continue
        kind = "interface" if hostdev.is_interface else "hostdev"
        yield ctx.finding(
            hostdev.element,
            f"{kind} {_device_name(device)} is on host node {device.numa_node}, but the guest is "
            f"bound to {describe_nodes(bound)} ({binding.bound_by}): its DMA and interrupts "
            "cross the NUMA interconnect",
        )
