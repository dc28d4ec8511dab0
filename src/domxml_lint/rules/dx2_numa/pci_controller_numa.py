"""DX240: NUMA nodes on PCI controllers that cannot take one."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import RuleContext, rule

#: PCI controller models that may carry <target><node> (besides pSeries PHBs).
NUMA_CAPABLE_PCI_MODELS = frozenset({"pci-expander-bus", "pcie-expander-bus"})


@rule(
    code="DX240",
    name="pci-controller-numa-node-invalid",
    severity="error",
    summary="A NUMA node on the PCI root controller or on a PCI controller model without NUMA",
    triggers=("node",),
    libvirt=("virDomainControllerDefValidate", "qemuValidateDomainDeviceDefControllerPCI"),
)
def pci_controller_numa_node_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<controller type='pci'>` elements with `<target><node>` where libvirt
    does not allow it: on the controller with index 0 (any driver), and, for
    QEMU/KVM, on any model other than `pci-expander-bus` and
    `pcie-expander-bus` (pSeries PHBs aside).

    ## Why is this bad?
    Only the expander buses are real NUMA-aware host bridges in QEMU; to place
    a device close to a guest NUMA node it must sit behind one. libvirt
    refuses the definition: "The PCI controller with index=0 can't be
    associated with a NUMA node" (proven on libvirt 9.0), and the QEMU driver
    "Option 'numaNode' is not valid for PCI controller with index '%d', model
    '%s' and modelName '%s'".

    ## Example
    ```xml
    <controller type='pci' index='1' model='pcie-root-port'>
      <target chassis='1' port='0x10'><node>1</node></target>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='1' model='pcie-expander-bus'>
      <target busNr='180'><node>1</node></target>
    </controller>
    ```

    ## Fix safety
    No fix: moving devices behind an expander bus changes the guest's PCI
    topology.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainControllerDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefControllerPCI`);
    formatdomain "Controllers" (PCI `target` `node`); guide 9.3 (NUMA and
    device locality).
    """
    facts = ctx.facts
    for controller in facts.controllers:
        if controller.type != "pci":
            continue
        node = controller.element.find("target/node")
        if node is None:
            continue
        if controller.index == 0:
            yield ctx.finding(
                node,
                "The PCI controller with index=0 can't be associated with a NUMA node",
            )
            continue
        model = controller.model
        if facts.driver != "qemu" or model is None or model in NUMA_CAPABLE_PCI_MODELS:
            continue
        if model == "pci-root" and facts.arch in ("ppc64", "ppc64le"):
            continue  # a pSeries PHB (spapr-pci-host-bridge) takes a NUMA node
        yield ctx.finding(
            node,
            f"Option 'numaNode' is not valid for PCI controller with index "
            f"'{controller.index}', model '{model}': only pci-expander-bus and "
            "pcie-expander-bus take a NUMA node",
        )
