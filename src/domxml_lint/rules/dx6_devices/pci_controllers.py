"""DX661-DX668, DX694: PCI controllers: root model per machine, indexes, targets, options."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...facts import BusController, child
from ...findings import Finding
from ...pci import address_number
from ...rule import QEMU, RuleContext, rule

Element = etree._Element

#: The QEMU device each PCI controller model uses by default (``<model name>``), as
#: ``qemuDomainPCIControllerSetDefaultModelName`` fills it in.
DEFAULT_MODEL_NAMES = {
    "pci-bridge": "pci-bridge",
    "dmi-to-pci-bridge": "i82801b11-bridge",
    "pcie-to-pci-bridge": "pcie-pci-bridge",
    "pcie-root-port": "pcie-root-port",
    "pcie-switch-upstream-port": "x3130-upstream",
    "pcie-switch-downstream-port": "xio3130-downstream",
    "pci-expander-bus": "pxb",
    "pcie-expander-bus": "pxb-pcie",
}
#: The ``<model name>`` values each model accepts (``qemuValidateDomainDeviceDefControllerPCI``).
VALID_MODEL_NAMES = {
    **{model: frozenset({name}) for model, name in DEFAULT_MODEL_NAMES.items()},
    "pcie-root-port": frozenset({"pcie-root-port", "ioh3420"}),
}
PHB_MODEL_NAME = "spapr-pci-host-bridge"
EXPANDER_MODELS = frozenset({"pci-expander-bus", "pcie-expander-bus"})
ROOT_MODELS = frozenset({"pci-root", "pcie-root"})
PORT_MODELS = frozenset({"pcie-root-port", "pcie-switch-downstream-port"})


def signed_number(text: str | None) -> int | None:
    """A signed integer as ``virXMLPropInt`` with base 0 reads it (``-1``, ``0x10``)."""
    if text is None:
        return None
    text = text.strip()
    if text.startswith("-"):
        value = address_number(text[1:])
        return None if value is None else -value
    return address_number(text.lstrip("+"))


def pci_controllers(facts) -> tuple[BusController, ...]:
    """Written PCI controllers whose model libvirt knows."""
    return facts.pci_controllers


def model_name(facts, controller: BusController) -> str:
    """The ``<model name>`` libvirt validates: written, else the default it fills in."""
    model = child(controller.element, "model") if controller.element is not None else None
    written = None if model is None else model.get("name")
    if written:
        return written
    if controller.model == "pci-root" and facts.is_pseries:
        return PHB_MODEL_NAME
    return DEFAULT_MODEL_NAMES.get(controller.model or "", "none")


def is_phb(facts, controller: BusController) -> bool:
    """A pSeries PHB: a pci-root whose QEMU device is spapr-pci-host-bridge."""
    return controller.model == "pci-root" and model_name(facts, controller) == PHB_MODEL_NAME


def target_value(controller: BusController, name: str) -> int | None:
    target = controller.target()
    return None if target is None else signed_number(target.get(name))


def numa_node(controller: BusController) -> tuple[int | None, Element | None]:
    target = controller.target()
    node = None if target is None else child(target, "node")
    if node is None:
        return None, None
    return signed_number(node.text), node


def auto_target_indexes(facts) -> dict[int, int | None]:
    """Target indexes libvirt gives PHBs without one (``qemuDomainAddressFindNewTargetIndex``).

    Keyed by controller index; None when no index 1-31 is free.
    """
    phbs = [c for c in pci_controllers(facts) if is_phb(facts, c)]
    used = {v for c in phbs if (v := target_value(c, "index")) is not None}
    assigned: dict[int, int | None] = {}
    for controller in phbs:
        if target_value(controller, "index") is not None:
            continue
        if controller.index == 0:
            value: int | None = 0
        else:
            value = next((i for i in range(1, 32) if i not in used), None)
        assigned[controller.index] = value
        if value is not None:
            used.add(value)
    return assigned


@rule(
    code="DX661",
    name="pci-root-model-mismatch",
    severity="error",
    summary="PCI controller 0 is not the root this machine has (pci-root or pcie-root)",
    fix="safe",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("qemuDomainDefAddDefaultDevices",),
)
def pci_root_model_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares the PCI controller with index 0 with the root bus the machine
    type has: `pcie-root` for q35, ARM and RISC-V `virt` and LoongArch;
    `pci-root` for i440fx (`pc`), pSeries and other PowerPC machines, s390,
    ARM versatilepb/realview, sparc64 and MIPS malta.

    ## Why is this bad?
    The root bus is part of the machine; libvirt refuses a definition that
    describes another one: "The PCI controller with index='0' must be
    model='pcie-root' for this machine type, but model='pci-root' was found
    instead". It usually comes from copying devices between an i440fx and a
    q35 definition.

    ## Example
    ```xml
    <os><type arch='x86_64' machine='q35'>hvm</type></os>
    <controller type='pci' index='0' model='pci-root'/>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='0' model='pcie-root'/>
    ```

    ## Fix safety
    Safe: the machine type decides the root bus; the fix writes the model it
    has. libvirt refuses the definition as written, so no working guest changes.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainDefAddDefaultDevices`); formatdomain
    "PCI topology"; kbase pci-hotplug.
    """
    facts = ctx.facts
    expected = facts.pci_root_model
    if expected is None:
        return
    root = next((c for c in pci_controllers(facts) if c.index == 0), None)
    if root is None or root.model == expected or root.element is None:
        return
    yield ctx.finding(
        root.element,
        f"The PCI controller with index='0' must be model='{expected}' for this machine "
        f"type, but model='{root.model}' was found instead (machine '{facts.machine}')",
        attribute="model",
        fix=ctx.safe_fix(
            f"Set model='{expected}'", ctx.edit.set_attribute(root.element, "model", expected)
        ),
    )


@rule(
    code="DX662",
    name="pci-controller-index-invalid",
    severity="error",
    summary="A PCI root with an index other than 0, another PCI controller at 0, or above 255",
    triggers=("controller",),
    domains=QEMU,
    libvirt=(
        "qemuDomainControllerDefPostParse",
        "virDomainControllerDefValidate",
        "qemuValidateDomainDeviceDefControllerPCI",
    ),
)
def pci_controller_index_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks PCI controller indexes: `pci-root` and `pcie-root` must be index 0
    (pSeries may have more `pci-root` PHBs), every other PCI controller must
    have an index above 0, and no index may exceed 255. (Index 0 on a machine
    with a root bus is `pci-root-model-mismatch`.)

    ## Why is this bad?
    A controller's index is the bus number devices plug into; bus 0 is the
    root. libvirt refuses the definition: "pci-root and pcie-root controllers
    should have index 0", "Index for 'pci-bridge' controllers must be > 0",
    "PCI controller index 256 too high, maximum is 255".

    ## Example
    ```xml
    <controller type='pci' index='1' model='pci-root'/>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='0' model='pci-root'/>
    <controller type='pci' index='1' model='pci-bridge'/>
    ```

    ## Fix safety
    No fix: renumbering buses moves the devices plugged into them.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainControllerDefPostParse`),
    src/conf/domain_validate.c (`virDomainControllerDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefControllerPCI`).
    """
    facts = ctx.facts
    for controller in pci_controllers(facts):
        element = controller.element
        assert element is not None
        attribute = "index" if element.get("index") is not None else None
        if controller.model in ROOT_MODELS and controller.index != 0:
            if not facts.is_pseries:
                message = "pci-root and pcie-root controllers should have index 0"
            elif controller.model == "pcie-root":
                message = "Index for 'pcie-root' controllers must be 0"
            else:
                continue  # a pSeries PHB
            yield ctx.finding(element, message, attribute=attribute)
        elif controller.model not in ROOT_MODELS and controller.index == 0:
            if facts.pci_root_model is not None:
                continue  # pci-root-model-mismatch says what libvirt says first
            yield ctx.finding(
                element,
                f"Index for '{controller.model}' controllers must be > 0",
                attribute=attribute,
            )
        if controller.index > 255:
            yield ctx.finding(
                element,
                f"PCI controller index {controller.index} too high, maximum is 255",
                attribute=attribute,
            )


@rule(
    code="DX663",
    name="pci-expander-bus-machine",
    severity="error",
    summary="A pci-expander-bus off i440fx, or a pcie-expander-bus off q35 and ARM virt",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("qemuDomainControllerDefPostParse",),
)
def pci_expander_bus_machine(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `pci-expander-bus` controllers (QEMU's `pxb`) on machines other than
    i440fx, and `pcie-expander-bus` (`pxb-pcie`) on machines other than q35
    and ARM `virt`.

    ## Why is this bad?
    Expander buses are extra host bridges of those chipsets. libvirt refuses
    the definition: "pci-expander-bus controllers are only supported on
    440fx-based machinetypes", "pcie-expander-bus controllers are not supported
    with this machine type".

    ## Example
    ```xml
    <os><type arch='x86_64' machine='pc'>hvm</type></os>
    <controller type='pci' index='1' model='pcie-expander-bus'/>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='1' model='pci-expander-bus'/>
    ```

    ## Fix safety
    No fix: another expander model changes the guest's PCI topology.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainControllerDefPostParse`);
    formatdomain "Controllers" (`pci-expander-bus`, `pcie-expander-bus`).
    """
    facts = ctx.facts
    if not facts.machine_known:
        return  # libvirt picks the machine type, which this rule cannot know
    for controller in pci_controllers(facts):
        assert controller.element is not None
        if controller.model == "pci-expander-bus" and not facts.is_i440fx:
            yield ctx.finding(
                controller.element,
                "pci-expander-bus controllers are only supported on 440fx-based machinetypes "
                f"(machine '{facts.machine}')",
                attribute="model",
            )
        elif controller.model == "pcie-expander-bus" and not (
            facts.is_q35_x86 or facts.is_arm_virt
        ):
            yield ctx.finding(
                controller.element,
                "pcie-expander-bus controllers are not supported with this machine type "
                f"('{facts.machine}')",
                attribute="model",
            )


@rule(
    code="DX664",
    name="pci-controller-numa-node-missing",
    severity="error",
    summary="A PCI controller's NUMA node is not among the guest NUMA cells",
    triggers=("node",),
    domains=QEMU,
    libvirt=("qemuDomainControllerDefPostParse",),
)
def pci_controller_numa_node_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds PCI controllers (an expander bus, or a pSeries PHB) whose
    `<target><node>` names a guest NUMA cell that `<cpu><numa>` does not
    define (cells are numbered from 0). Whether the model may carry a node at
    all is `pci-controller-numa-node-invalid` (DX240).

    ## Why is this bad?
    The node tells the guest which of its NUMA nodes the bus is close to; a
    node the guest does not have is meaningless. libvirt refuses the
    definition: "pci-expander-bus with index 1 is configured for a NUMA node
    (1) not present in the domain's <cpu><numa> array (0)".

    ## Example
    ```xml
    <controller type='pci' index='1' model='pci-expander-bus'>
      <target busNr='252'><node>1</node></target>
    </controller>
    ```
    with no `<cpu><numa>` cells.

    ## Use instead
    Define the guest NUMA cells in `<cpu><numa>`, or name one that exists.

    ## Fix safety
    No fix: the right node is the author's call.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainControllerDefPostParse`).
    """
    facts = ctx.facts
    cells = facts.numa_cell_count
    for controller in pci_controllers(facts):
        node, element = numa_node(controller)
        if node is None or element is None or node < 0 or node < cells:
            continue
        yield ctx.finding(
            element,
            f"{controller.model} with index {controller.index} is configured for a NUMA node "
            f"({node}) not present in the domain's <cpu><numa> array ({cells})",
        )


#: ``<target>`` settings with a range (``virDomainControllerDefValidate``) beyond what the
#: schema already bounds (it refuses chassisNr, chassis and port above 255): name, low, high.
TARGET_RANGES = (
    ("chassisNr", 1, 255),
    ("busNr", 1, 254),
)


@rule(
    code="DX665",
    name="pci-controller-target-invalid",
    severity="error",
    summary="A PCI controller's target index, chassisNr or busNr out of range",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("virDomainControllerDefValidate",),
)
def pci_controller_target_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks PCI controller `<target>` settings against libvirt's ranges:
    `index` (a pSeries PHB's target index) 0-30, and 0 exactly for controller
    0 and for no other; `chassisNr` 1-255; `busNr` 1-254. A PHB without a
    target index gets the lowest free one from 1 to 31, so a 31st extra PHB
    ends up out of range too. (What libvirt's schema already bounds, such as
    `chassis` and `port` above 255, is left to `schema-invalid`.)

    ## Why is this bad?
    libvirt refuses the definition: "PCI controller target index '31' out of
    range - must be 0-30", "Only the PCI controller with index 0 can have
    target index 0, and vice versa", "PCI controller chassisNr '0' out of
    range - must be 1-255", "PCI controller busNr '255' out of range - must
    be 1-254".

    ## Example
    ```xml
    <controller type='pci' index='1' model='pci-root'>
      <model name='spapr-pci-host-bridge'/>
      <target index='31'/>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='1' model='pci-root'>
      <model name='spapr-pci-host-bridge'/>
      <target index='1'/>
    </controller>
    ```

    ## Fix safety
    No fix: these numbers are guest-visible.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainControllerDefValidate`),
    src/qemu/qemu_domain_address.c (`qemuDomainAddressFindNewTargetIndex`).
    """
    facts = ctx.facts
    auto_indexes = auto_target_indexes(facts) if facts.is_pseries else {}
    for controller in pci_controllers(facts):
        element = controller.element
        assert element is not None
        target = controller.target()
        written_index = target_value(controller, "index")
        index_value = written_index
        if index_value is None:
            index_value = auto_indexes.get(controller.index)
        if index_value is not None:
            where = target if target is not None and written_index is not None else element
            attribute = "index" if written_index is not None else None
            suffix = "" if written_index is not None else " (the lowest target index left)"
            if index_value > 30:
                yield ctx.finding(
                    where,
                    f"PCI controller target index '{index_value}' out of range - must be 0-30"
                    + suffix,
                    attribute=attribute,
                )
            elif (controller.index == 0) != (index_value == 0):
                yield ctx.finding(
                    where,
                    "Only the PCI controller with index 0 can have target index 0, and vice versa",
                    attribute=attribute,
                )
        for name, low, high in TARGET_RANGES:
            value = target_value(controller, name)
            if target is not None and value is not None and not low <= value <= high:
                yield ctx.finding(
                    target,
                    f"PCI controller {name} '{value}' out of range - must be {low}-{high}",
                    attribute=name,
                )


@rule(
    code="DX694",
    name="pci-root-address",
    severity="error",
    summary="A pci-root or pcie-root controller with an <address>",
    fix="safe",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("virDomainControllerDefValidate",),
)
def pci_root_address(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `pci-root` and `pcie-root` controllers with an `<address>`.

    ## Why is this bad?
    The root bus is the machine's host bridge: it plugs into nothing. libvirt
    refuses the definition: "pci-root and pcie-root controllers should not
    have an address".

    ## Example
    ```xml
    <controller type='pci' index='0' model='pci-root'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='0' model='pci-root'/>
    ```

    ## Fix safety
    Safe: the fix removes the address; the root's place is fixed, and libvirt
    refuses the definition as written.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainControllerDefValidate`).
    """
    for controller in pci_controllers(ctx.facts):
        if controller.model in ROOT_MODELS and controller.address is not None:
            yield ctx.finding(
                controller.address.element,
                "pci-root and pcie-root controllers should not have an address",
                fix=ctx.safe_fix(
                    "Remove the address", ctx.edit.remove_element(controller.address.element)
                ),
            )


def _invalid_option(facts, controller: BusController, option: str) -> str:
    return (
        f"Option '{option}' is not valid for PCI controller with index '{controller.index}', "
        f"model '{controller.model}' and modelName '{model_name(facts, controller)}'"
    )


@rule(
    code="DX666",
    name="pci-controller-option-invalid",
    severity="error",
    summary="A PCI controller setting its model does not take (chassisNr, busNr, pcihole64 ...)",
    fix="safe",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefControllerPCI",),
)
def pci_controller_option_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each PCI controller's settings against its model, as libvirt's QEMU
    driver does:
    - `<model name>` must be the QEMU device of the model (`pcie-root-port`:
      `pcie-root-port` or `ioh3420`; `pci-bridge`: `pci-bridge`; pSeries
      `pci-root`: `spapr-pci-host-bridge`; ...); `pcie-root`, and `pci-root`
      outside pSeries, take none;
    - `<target index>` only on a pSeries PHB; `busNr` only on expander buses;
      `chassisNr` only on `pci-bridge`; `chassis` and `port` only on
      `pcie-root-port` and `pcie-switch-downstream-port`; `hotplug` only on
      those two and `pci-root`;
    - `<pcihole64>` on the root only of i440fx (`pci-root`) and q35
      (`pcie-root`); the schema refuses it on other models.

    (A NUMA node on the wrong model is `pci-controller-numa-node-invalid`.)

    ## Why is this bad?
    libvirt refuses the definition: "Option 'chassisNr' is not valid for PCI
    controller with index '1', model 'pcie-root-port' and modelName
    'pcie-root-port'", "Option 'modelName' has invalid value for PCI
    controller ...", "Setting the 64-bit PCI hole size is not supported for
    machine 'q35'" and so on. Settings copied from another controller model
    are the usual cause.

    ## Example
    ```xml
    <controller type='pci' index='1' model='pcie-root-port'>
      <target chassisNr='1'/>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='1' model='pcie-root-port'>
      <target chassis='1' port='0x10'/>
    </controller>
    ```

    ## Fix safety
    Safe where the setting is simply not valid for the model: the fix removes
    it (libvirt refuses the definition as written). No fix for a wrong
    `<model name>` value or a `<pcihole64>` on the wrong machine.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefControllerPCI`),
    src/qemu/qemu_domain_address.c (`qemuDomainPCIControllerSetDefaultModelName`);
    formatdomain "Controllers" (PCI `target` and `model` options).
    """
    facts = ctx.facts
    edit = ctx.edit
    for controller in pci_controllers(facts):
        element = controller.element
        assert element is not None
        model = controller.model or ""
        name_element = child(element, "model")
        written_name = None if name_element is None else name_element.get("name")
        if name_element is not None and written_name:
            if model == "pcie-root" or (model == "pci-root" and not facts.is_pseries):
                yield ctx.finding(
                    name_element,
                    _invalid_option(facts, controller, "modelName"),
                    attribute="name",
                    fix=ctx.safe_fix("Remove <model name>", edit.remove_element(name_element)),
                )
            elif written_name not in VALID_MODEL_NAMES.get(model, frozenset({PHB_MODEL_NAME})):
                yield ctx.finding(
                    name_element,
                    f"Option 'modelName' has invalid value for PCI controller with index "
                    f"'{controller.index}', model '{model}' and modelName '{written_name}'",
                    attribute="name",
                )
        target = controller.target()
        phb = is_phb(facts, controller)
        options = [
            ("index", "targetIndex", not phb),
            ("busNr", "busNr", model not in EXPANDER_MODELS),
            ("chassisNr", "chassisNr", model != "pci-bridge"),
            ("chassis", "chassis", model not in PORT_MODELS),
            ("port", "port", model not in PORT_MODELS),
            ("hotplug", "hotplug", model not in PORT_MODELS and model != "pci-root"),
        ]
        if target is not None:
            for attribute, option, invalid in options:
                if invalid and target.get(attribute) is not None:
                    yield ctx.finding(
                        target,
                        _invalid_option(facts, controller, option),
                        attribute=attribute,
                        fix=ctx.safe_fix(
                            f"Remove {attribute}", edit.remove_attribute(target, attribute)
                        ),
                    )
        hole = child(element, "pcihole64")
        if hole is None or not facts.machine_known:
            continue  # (the schema refuses <pcihole64> off the roots)
        if (model == "pci-root" and not facts.is_i440fx) or (
            model == "pcie-root" and not facts.is_q35_x86
        ):
            yield ctx.finding(
                hole,
                f"Setting the 64-bit PCI hole size is not supported for machine '{facts.machine}'",
            )


@rule(
    code="DX667",
    name="pci-controller-option-exhausted",
    severity="error",
    summary="No busNr or PHB target index is left for libvirt to fill in",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("qemuDomainAssignPCIAddresses",),
)
def pci_controller_option_exhausted(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Replays how libvirt fills in two PCI controller settings left out of the
    XML. An expander bus without `<target busNr>` gets the lowest bus number
    in use minus 2 (254 when none is set), which fails once a bus number of 2
    or less is taken. A pSeries PHB (an extra `pci-root`) without `<target
    index>` gets the lowest free target index from 1, which fails when all of
    1-31 are taken.

    ## Why is this bad?
    libvirt refuses the definition: "No free busNr lower than current lowest
    busNr is available to auto-assign to bus 0. Must be manually assigned",
    "No usable target index found for 0".

    ## Example
    ```xml
    <controller type='pci' index='1' model='pci-expander-bus'>
      <target busNr='2'/>
    </controller>
    <controller type='pci' index='2' model='pci-expander-bus'/>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='2' model='pci-expander-bus'>
      <target busNr='200'/>
    </controller>
    ```

    ## Fix safety
    No fix: bus numbers are guest-visible and need room for the buses behind
    each expander.

    ## Source
    libvirt src/qemu/qemu_domain_address.c (`qemuDomainAssignPCIAddresses`,
    `qemuDomainAddressFindNewBusNr`, `qemuDomainAddressFindNewTargetIndex`).
    """
    facts = ctx.facts
    controllers = pci_controllers(facts)
    bus_numbers = [v for c in controllers if (v := target_value(c, "busNr")) is not None]
    for controller in controllers:
        if controller.model not in EXPANDER_MODELS:
            continue
        if target_value(controller, "busNr") is not None:
            continue
        lowest = min((n for n in bus_numbers if n >= 0), default=256)
        if lowest <= 2:
            pci = controller.address.pci if controller.address is not None else None
            bus = pci.bus if pci is not None else 0
            assert controller.element is not None
            yield ctx.finding(
                controller.element,
                "No free busNr lower than current lowest busNr is available to auto-assign "
                f"to bus {bus}. Must be manually assigned",
            )
            continue
        bus_numbers.append(lowest - 2)
    if facts.is_pseries:
        for index, value in auto_target_indexes(facts).items():
            if value is not None:
                continue
            phb = facts.controller("pci", index)
            if phb is not None and phb.element is not None:
                yield ctx.finding(phb.element, "No usable target index found for 0")


@rule(
    code="DX668",
    name="pci-bridge-index-not-above-bus",
    severity="error",
    summary="A pci-bridge plugged into a bus whose index is not below its own",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("qemuDomainAssignPCIAddresses",),
)
def pci_bridge_index_not_above_bus(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `pci-bridge` controllers whose PCI address puts them on a bus with
    the same or a higher index than their own.

    ## Why is this bad?
    Firmware and guests number buses depth-first, so a bridge must sit on a
    bus numbered below it. libvirt refuses the definition: "PCI controller at
    index 1 (0x01) has bus='0x02', but index must be larger than bus".

    ## Example
    ```xml
    <controller type='pci' index='1' model='pci-bridge'>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x01' function='0x0'/>
    </controller>
    <controller type='pci' index='2' model='pci-bridge'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </controller>
    ```

    ## Use instead
    Swap the indexes, so that the bridge on bus 0 is index 1 and the one
    behind it index 2 (and move the devices' `bus` with them).

    ## Fix safety
    No fix: renumbering buses moves the devices behind them.

    ## Source
    libvirt src/qemu/qemu_domain_address.c (`qemuDomainAssignPCIAddresses`).
    """
    for controller in pci_controllers(ctx.facts):
        address = controller.address
        if controller.model != "pci-bridge" or address is None or not address.pci_present:
            continue
        pci = address.pci
        assert pci is not None
        if controller.index <= pci.bus:
            yield ctx.finding(
                address.element,
                f"PCI controller at index {controller.index} (0x{controller.index:02x}) has "
                f"bus='0x{pci.bus:02x}', but index must be larger than bus",
                attribute="bus",
            )
