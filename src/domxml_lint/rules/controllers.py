"""DX240, DX446: PCI controller NUMA nodes and virtio-scsi-only controller options."""

from __future__ import annotations

from ..facts import VIRTIO_SCSI_MODELS
from ..rule import rule

#: PCI controller models that may carry <target><node> (besides pSeries PHBs).
NUMA_CAPABLE_PCI_MODELS = frozenset({"pci-expander-bus", "pcie-expander-bus"})
#: <controller><driver> attributes only virtio-scsi takes, and QEMU's words for each.
VIRTIO_SCSI_OPTIONS = (
    ("queues", "'queues' is only supported by virtio-scsi controller"),
    ("cmd_per_lun", "'cmd_per_lun' is only supported by virtio-scsi controller"),
    ("max_sectors", "'max_sectors' is only supported by virtio-scsi controller"),
    ("ioeventfd", "'ioeventfd' is only supported by virtio-scsi controller"),
)


@rule(
    code="DX240",
    name="pci-controller-numa-node-invalid",
    severity="error",
    summary="A NUMA node on the PCI root controller or on a PCI controller model without NUMA",
    triggers=("node",),
    libvirt=("virDomainControllerDefValidate", "qemuValidateDomainDeviceDefControllerPCI"),
)
def pci_controller_numa_node_invalid(ctx):
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


@rule(
    code="DX446",
    name="scsi-controller-virtio-only-option",
    severity="error",
    summary="A virtio-scsi-only controller option (queues, iothread ...) on another controller",
    fix="safe",
    triggers=("controller",),
    libvirt=("qemuValidateDomainDeviceDefControllerAttributes",),
)
def scsi_controller_virtio_only_option(ctx):
    """
    ## What it does
    Finds controllers that are not virtio-scsi (`model='virtio-scsi'`,
    `virtio-transitional` or `virtio-non-transitional`) but whose `<driver>`
    sets `iothread` (any driver), or, for QEMU/KVM, `queues`, `cmd_per_lun`,
    `max_sectors` or `ioeventfd` (a SCSI controller without a model is skipped
    for these: QEMU picks its default model).

    ## Why is this bad?
    These are virtio-scsi device properties. libvirt refuses the definition:
    "'iothread' attribute only supported for virtio scsi controllers" (parse
    error, proven on libvirt 9.0; a SCSI controller without a model counts as
    not virtio-scsi here), and the QEMU driver "'queues' is only supported by
    virtio-scsi controller" (and likewise for `cmd_per_lun`, `max_sectors`,
    `ioeventfd`).

    ## Example
    ```xml
    <controller type='scsi' index='0' model='lsilogic'>
      <driver queues='4'/>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='scsi' index='0' model='virtio-scsi'>
      <driver queues='4'/>
    </controller>
    ```

    ## Fix safety
    Safe: the fix removes the option; the definition is refused as written.
    It does not change the controller model, which the guest would see.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainControllerDefParseXML`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefControllerAttributes`);
    libvirt test controller-virtio-serial-iothread.err; formatdomain
    "Controllers"; guide 7.4 (virtio-scsi).
    """
    facts = ctx.facts
    for controller in facts.controllers:
        driver = controller.driver
        if driver is None:
            continue
        if controller.type == "scsi" and controller.model in VIRTIO_SCSI_MODELS:
            continue
        label = f"controller {controller.type} index {controller.element.get('index', '0')}"
        if controller.model:
            label += f" (model '{controller.model}')"
        problems = []
        if driver.get("iothread") is not None:
            problems.append(
                ("iothread", "'iothread' attribute only supported for virtio scsi controllers")
            )
        model_known = controller.type != "scsi" or controller.model is not None
        if facts.driver == "qemu" and model_known:
            problems += [
                (name, text) for name, text in VIRTIO_SCSI_OPTIONS if driver.get(name) is not None
            ]
        if problems:
            yield ctx.finding(
                driver,
                f"{label}: " + "; ".join(text for _, text in problems),
                attribute=problems[0][0],
                fix=ctx.safe_fix(
                    "Remove the virtio-scsi-only option(s)",
                    *(ctx.edit.remove_attribute(driver, name) for name, _ in problems),
                ),
            )
