"""DX676-DX680: user-given PCI addresses, as libvirt reserves them.

The rules replay ``qemuDomainAssignPCIAddresses`` for the addresses written in the XML:
every device with a PCI address is checked against the bus it names
(``virDomainPCIAddressValidate``, ``virDomainPCIAddressFlagsCompatible``) and reserved
(``virDomainPCIAddressReserveAddr``); then the chipset's fixed functions are reserved
(``qemuDomainValidateDevicePCISlotsChipsets``). Automatic assignment is not replayed; the
capacity rule only counts what must fit.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ...facts import BusController, DeviceAddress, PciDevice
from ...facts.addresses import CONNECT_WORDS, PCI_BUS_MODELS, PciBusModel, pci_bus_accepts
from ...findings import Finding
from ...pci import PciAddress
from ...rule import QEMU, RuleContext, rule
from ._where import a_device as _a
from ._where import per_document

#: Why a PCI function is taken when no device of the XML took it first.
PIIX3_ISA = "the PIIX3 ISA bridge"
PIIX3_PM = "the PIIX3 power management function"
Q35_ISA = "the ICH9 LPC/ISA bridge"
Q35_SMBUS = "the ICH9 SMBus controller"


class PciProblem(NamedTuple):
    #: duplicate, invalid, incompatible or chipset (which rule reports it).
    kind: str
    address: DeviceAddress
    message: str
    attribute: str | None = None


class _Reservations:
    """Reserved PCI functions, each with the device of the XML that holds it (if any)."""

    def __init__(self) -> None:
        self.taken: dict[tuple[int, int, int], DeviceAddress | str] = {}

    def holder(self, pci: PciAddress) -> DeviceAddress | str | None:
        return self.taken.get((pci.bus, pci.slot, pci.function))

    def take(self, pci: PciAddress, who: DeviceAddress | str) -> None:
        self.taken.setdefault((pci.bus, pci.slot, pci.function), who)


def _is_piix3_ide(controller: BusController | None) -> bool:
    return controller is not None and controller.type == "ide" and controller.index == 0


def _is_piix3_usb(controller: BusController | None) -> bool:
    return (
        controller is not None
        and controller.type == "usb"
        and controller.index == 0
        and controller.model in (None, "piix3-uhci")
    )


#: The fixed function of each built-in controller: (predicate, address, what, message).
PIIX3_IDE = PciAddress(0, 0, 1, 1)
PIIX3_USB = PciAddress(0, 0, 1, 2)
Q35_SATA = PciAddress(0, 0, 0x1F, 2)


@per_document
def pci_problems(ctx: RuleContext) -> list[PciProblem]:
    """Every user-given PCI address libvirt would refuse, in the order it finds them."""
    facts = ctx.facts
    problems: list[PciProblem] = []
    if facts.driver != "qemu":
        return problems
    buses: dict[int, PciBusModel | None] = {i: b.spec for i, b in facts.pci_buses.items()}
    nbuses = len(buses)
    reserved = _Reservations()
    for device in facts.pci_devices:
        pci = device.pci
        controller = facts.controller_of(device.address.device)
        if (
            pci.domain == 0
            and pci.bus == 0
            and pci.slot == 1
            and (
                (_is_piix3_ide(controller) and pci.function == 1)
                or (_is_piix3_usb(controller) and pci.function == 2)
            )
        ):
            root = buses.get(0)
            if root is not None and not pci_bus_accepts_exactly(root, "pci"):
                problems.append(
                    PciProblem(
                        "chipset",
                        device.address,
                        "Bus 0 must be PCI for integrated PIIX3 USB or IDE controllers "
                        f"(bus 0 is a {facts.pci_buses[0].model} on this machine)",
                    )
                )
            continue  # reserved with the chipset, below
        problem = _validate(facts, device, buses, nbuses)
        if problem is not None:
            problems.append(problem)
            continue
        holder = reserved.holder(pci)
        if isinstance(holder, DeviceAddress):
            problems.append(
                PciProblem(
                    "duplicate",
                    device.address,
                    f"Attempted double use of PCI Address {pci}: {_a(holder.device.tag)} "
                    "earlier in the XML has it already",
                )
            )
            continue
        reserved.take(pci, device.address)
    if nbuses:
        problems += _chipset(facts, reserved)
    return problems


def pci_bus_accepts_exactly(model: PciBusModel, connect: str) -> bool:
    return connect in model.accepts


def _validate(facts, device: PciDevice, buses, nbuses: int) -> PciProblem | None:
    """``virDomainPCIAddressValidate`` (after the dry run grew the buses it could)."""
    pci, address = device.pci, device.address
    if nbuses == 0:
        if not facts.machine_known:
            return None  # libvirt picks a machine type; whether it has PCI is unknown
        return PciProblem(
            "invalid",
            address,
            f"No PCI buses available: machine '{facts.machine}' has no PCI bus for {pci}",
        )
    if pci.domain != 0:
        return PciProblem(
            "invalid",
            address,
            f"Invalid PCI address {pci}. Only PCI domain 0 is available",
            "domain",
        )
    if pci.bus not in buses:
        grown = _grow(facts, device, buses)
        if isinstance(grown, PciProblem):
            return grown
    if device.integrated and pci.bus != 0:
        return PciProblem(
            "incompatible",
            address,
            f"The device at PCI address {pci} needs to be an integrated device (bus=0)",
            "bus",
        )
    model = buses.get(pci.bus)
    if model is None:
        return None  # a bus libvirt adds, of a model that depends on the device
    if not pci_bus_accepts(model, device.connect):
        wanted = CONNECT_WORDS.get(device.connect, device.connect)
        return PciProblem(
            "incompatible",
            address,
            f"The device at PCI address {pci} cannot be plugged into the PCI controller with "
            f"index='{pci.bus}'. It requires a controller that accepts a {wanted}.",
            "bus",
        )
    if model.min_slot and pci.slot < model.min_slot:
        return PciProblem(
            "invalid",
            address,
            f"Invalid PCI address {pci}. slot must be >= {model.min_slot}",
            "slot",
        )
    if pci.slot > model.max_slot:
        return PciProblem(
            "invalid",
            address,
            f"Invalid PCI address {pci}. slot must be <= {model.max_slot}",
            "slot",
        )
    return None  # a function above 7 never gets here: the parser refuses it


def _grow(facts, device: PciDevice, buses) -> PciProblem | None:
    """``virDomainPCIAddressSetGrow``: add the buses up to the one the address names.

    The buses it adds for an endpoint are pci-bridges (pci-roots on pSeries) when every
    endpoint is a conventional PCI device (no pcie-root); behind a pcie-root their model
    depends on the device, so they are left unjudged (None).
    """
    connect = device.connect
    top = device.pci.bus
    if connect in ("pci", "pcie", "pcie-switch-upstream-port"):
        model: PciBusModel | None = None
        if not facts.has_pcie_root:
            model = PCI_BUS_MODELS["pci-root" if facts.is_pseries else "pci-bridge"]
        for index in range(len(buses), top + 1):
            buses[index] = model
        return None
    if connect == "pcie-to-pci-bridge":
        message = (
            "Cannot automatically add a new PCI bus for a device with connect flags of a "
            f"pcie-to-pci-bridge: bus {top} at {device.pci} does not exist"
        )
    else:
        message = (
            f"a PCI slot is needed to connect a PCI controller model='{connect}', but none is "
            f"available, and it cannot be automatically added: bus {top} at {device.pci} "
            "does not exist"
        )
    return PciProblem("incompatible", device.address, message, "bus")


def _chipset(facts, reserved: _Reservations) -> list[PciProblem]:
    """``qemuDomainValidateDevicePCISlotsChipsets``: i440fx's PIIX3 and q35's ICH9 functions."""
    problems: list[PciProblem] = []
    fixed: list[tuple[PciAddress, str]] = []
    if facts.is_i440fx:
        for controller in facts.bus_controllers:
            if _is_piix3_ide(controller):
                where, what, label = (
                    PIIX3_IDE,
                    "the primary IDE controller",
                    "Primary IDE controller",
                )
            elif _is_piix3_usb(controller):
                where, what, label = (
                    PIIX3_USB,
                    "the PIIX3 USB controller",
                    ("PIIX3 USB controller at index 0"),
                )
            else:
                continue
            address = controller.address
            if address is not None and address.pci_present and address.pci != where:
                short = f"0:0:{where.slot:x}.{where.function}"
                problems.append(
                    PciProblem(
                        "chipset",
                        address,
                        f"{label} must have PCI address {short}",
                    )
                )
                continue
            fixed.append((where, what))
        fixed += [(PciAddress(0, 0, 1, 0), PIIX3_ISA), (PciAddress(0, 0, 1, 3), PIIX3_PM)]
    elif facts.is_q35_x86:
        sata = facts.controller("sata", 0)
        if sata is not None:
            address = sata.address
            if address is not None and address.pci_present:
                if address.pci != Q35_SATA:
                    problems.append(
                        PciProblem(
                            "chipset",
                            address,
                            "Primary SATA controller must have PCI address 0:0:1f.2",
                        )
                    )
            else:
                fixed.append((Q35_SATA, "the primary SATA controller"))
        fixed += [(PciAddress(0, 0, 0x1F, 0), Q35_ISA), (PciAddress(0, 0, 0x1F, 3), Q35_SMBUS)]
    for where, what in fixed:
        holder = reserved.holder(where)
        if holder is None:
            reserved.take(where, what)
        elif isinstance(holder, DeviceAddress):
            problems.append(
                PciProblem(
                    "duplicate",
                    holder,
                    f"Attempted double use of PCI Address {where}: libvirt reserves it for "
                    f"{what} on '{facts.machine}'",
                )
            )
    return problems


def _report(ctx: RuleContext, kind: str) -> Iterator[Finding]:
    for problem in pci_problems(ctx):
        if problem.kind == kind:
            yield ctx.finding(problem.address.element, problem.message, attribute=problem.attribute)


@rule(
    code="DX676",
    name="pci-address-duplicate",
    severity="error",
    summary="Two devices at the same PCI address, or one at a chipset's fixed function",
    triggers=("address",),
    domains=QEMU,
    libvirt=("virDomainPCIAddressReserveAddrInternal", "qemuDomainValidateDevicePCISlotsChipsets"),
)
def pci_address_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds devices whose PCI address (domain:bus:slot.function) another device
    already has, or that the chipset keeps for itself: on i440fx (`pc`) slot 1
    (ISA bridge 1.0, primary IDE 1.1 when there is one, PIIX3 USB 1.2, power
    management 1.3); on q35 slot 0x1f (LPC/ISA bridge 1f.0, primary SATA 1f.2,
    SMBus 1f.3).

    ## Why is this bad?
    One PCI function is one device. libvirt refuses the definition: "Attempted
    double use of PCI Address 0000:00:05.0".

    ## Example
    ```xml
    <interface type='network'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </memballoon>
    ```

    ## Use instead
    Give each device its own slot (or function of a multifunction slot), or
    leave the address out and libvirt picks a free one.

    ## Fix safety
    No fix: which device moves is the author's call, and moving one changes
    what the guest sees.

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainPCIAddressReserveAddrInternal`),
    src/qemu/qemu_domain_address.c (`qemuDomainValidateDevicePCISlotsPIIX3`,
    `qemuDomainValidateDevicePCISlotsQ35`).
    """
    yield from _report(ctx, "duplicate")


@rule(
    code="DX677",
    name="pci-address-invalid",
    severity="error",
    summary="A PCI address outside its bus: domain not 0, slot or function out of range",
    triggers=("address",),
    domains=QEMU,
    libvirt=("virDomainPCIAddressValidate",),
)
def pci_address_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each user-given PCI address against the bus it names, as libvirt
    does: the domain must be 0; the slot must be within the bus's range (1-31
    on `pci-root`, `pcie-root`, `pci-bridge` and `pcie-to-pci-bridge`; 0-31 on
    `dmi-to-pci-bridge`, expander buses and switch upstream ports; only 0 on
    `pcie-root-port` and `pcie-switch-downstream-port`); the function must be
    0-7; and the machine must have a PCI bus at all. A bus index without a
    controller is judged as the controller libvirt adds there (a
    `pcie-root-port` behind a `pcie-root`, else a `pci-bridge`; a PHB on
    pSeries).

    ## Why is this bad?
    libvirt refuses the definition: "Invalid PCI address 0000:01:03.0. slot
    must be <= 0", "Invalid PCI address 0001:00:03.0. Only PCI domain 0 is
    available", "No PCI buses available". A root port has a single slot, so
    the device behind it must be at slot 0.

    ## Example
    ```xml
    <controller type='pci' index='1' model='pcie-root-port'/>
    <interface type='network'>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x03' function='0x0'/>
    </interface>
    ```

    ## Use instead
    ```xml
    <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    ```

    ## Fix safety
    No fix: a device's PCI address is guest-visible.

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainPCIAddressValidate`,
    `virDomainPCIAddressBusSetModel`), src/qemu/qemu_domain_address.c
    (`qemuDomainPCIAddressSetCreate`).
    """
    yield from _report(ctx, "invalid")


@rule(
    code="DX678",
    name="pci-address-controller-incompatible",
    severity="error",
    summary="A device on a PCI controller that does not accept it (or integrated off bus 0)",
    triggers=("address",),
    domains=QEMU,
    libvirt=("virDomainPCIAddressFlagsCompatible", "virDomainPCIAddressSetGrow"),
)
def pci_address_controller_incompatible(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks what each PCI controller model accepts downstream
    (`virDomainPCIAddressBusSetModel`) against the device placed on it:
    - `pcie-root`: PCI Express devices, `pcie-root-port`,
      `dmi-to-pci-bridge`, `pcie-expander-bus`;
    - `pcie-root-port`, `pcie-switch-downstream-port`: one PCI Express device,
      a `pcie-switch-upstream-port` or a `pcie-to-pci-bridge`;
    - `pcie-switch-upstream-port`: `pcie-switch-downstream-port` only;
    - `pcie-expander-bus`: `pcie-root-port` and `dmi-to-pci-bridge` only;
    - `pci-root`, `pci-bridge`, `dmi-to-pci-bridge`, `pcie-to-pci-bridge`,
      `pci-expander-bus`: conventional PCI devices and `pci-bridge` (and
      `pci-expander-bus` on `pci-root`).

    For addresses written in the XML libvirt is lenient about endpoints: a
    PCI device may sit where a PCI Express one may and the other way round,
    and a `pci-bridge` wherever a PCI device may. Integrated devices
    (virtio-iommu, pvpanic) must sit on bus 0. A PCI controller addressed to
    a bus that does not exist cannot be added automatically.

    ## Why is this bad?
    libvirt refuses the definition: "The device at PCI address 0000:01:00.0
    cannot be plugged into the PCI controller with index='1'. It requires a
    controller that accepts a dmi-to-pci-bridge.", "The device at PCI address
    0000:01:00.0 needs to be an integrated device (bus=0)".

    ## Example
    ```xml
    <controller type='pci' index='1' model='pcie-root-port'/>
    <controller type='pci' index='2' model='dmi-to-pci-bridge'>
      <address type='pci' bus='1'/>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='pci' index='2' model='dmi-to-pci-bridge'>
      <address type='pci' bus='0' slot='0x1e'/>
    </controller>
    ```

    ## Fix safety
    No fix: moving a device changes the guest's PCI topology.

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainPCIAddressFlagsCompatible`,
    `virDomainPCIAddressBusSetModel`, `virDomainPCIAddressSetGrow`),
    src/qemu/qemu_domain_address.c (`qemuDomainDeviceCalculatePCIConnectFlags`);
    formatdomain "PCI topology"; kbase pci-addresses.
    """
    yield from _report(ctx, "incompatible")


@rule(
    code="DX679",
    name="pci-chipset-address-fixed",
    severity="error",
    summary="A built-in IDE, USB or SATA controller moved off its fixed chipset address",
    triggers=("address",),
    domains=QEMU,
    libvirt=(
        "qemuDomainValidateDevicePCISlotsPIIX3",
        "qemuDomainValidateDevicePCISlotsQ35",
        "qemuDomainCollectPCIAddress",
    ),
)
def pci_chipset_address_fixed(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds the controllers built into the chipset at another PCI address than
    their fixed one: on i440fx (`pc`) the primary IDE controller (IDE index
    0) at 0:0:1.1 and the PIIX3 USB controller (USB index 0, `piix3-uhci`) at
    0:0:1.2; on q35 the primary SATA controller (SATA index 0) at 0:0:1f.2.
    Also finds those PIIX3 functions placed on a bus 0 that is not a
    conventional PCI bus (q35's `pcie-root`).

    ## Why is this bad?
    These controllers are part of the chipset; QEMU cannot move them. libvirt
    refuses the definition: "Primary IDE controller must have PCI address
    0:0:1.1", "PIIX3 USB controller at index 0 must have PCI address
    0:0:1.2", "Primary SATA controller must have PCI address 0:0:1f.2", "Bus
    0 must be PCI for integrated PIIX3 USB or IDE controllers".

    ## Example
    ```xml
    <controller type='ide' index='0'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </controller>
    ```

    ## Use instead
    ```xml
    <controller type='ide' index='0'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x1'/>
    </controller>
    ```

    ## Fix safety
    No fix: the address can only be the chipset's, but a wrong one may mean
    the author wanted another controller.

    ## Source
    libvirt src/qemu/qemu_domain_address.c (`qemuDomainValidateDevicePCISlotsPIIX3`,
    `qemuDomainValidateDevicePCISlotsQ35`, `qemuDomainCollectPCIAddress`).
    """
    yield from _report(ctx, "chipset")


#: Functions of a PCI slot; pcie-root-ports share slots as functions (aggregate slots).
FUNCTIONS_PER_SLOT = 8


class _Slots:
    """Which slots of a bus are taken, and how many root-port functions remain."""

    def __init__(self, min_slot: int, max_slot: int) -> None:
        self.free = set(range(min_slot, max_slot + 1))
        self.spare_functions = 0  # free functions on slots root ports already share

    def use(self, slot: int, functions: set[int], aggregate: bool) -> None:
        if slot in self.free:
            self.free.discard(slot)
            if aggregate:
                self.spare_functions += FUNCTIONS_PER_SLOT - len(functions)

    def place_root_port(self) -> bool:
        if self.spare_functions:
            self.spare_functions -= 1
            return True
        if self.free:
            self.free.remove(min(self.free))
            self.spare_functions += FUNCTIONS_PER_SLOT - 1
            return True
        return False

    def place_slot(self, preferred: int | None = None) -> bool:
        if preferred is not None and preferred in self.free:
            self.free.remove(preferred)
            return True
        if self.free:
            self.free.remove(min(self.free))
            return True
        return False


def _wants_address(address: DeviceAddress | None) -> bool:
    """``virDeviceInfoPCIAddressIsWanted``: no address, or a PCI one left to libvirt."""
    return address is None or (address.type == "pci" and not address.pci_present)


def _first_video_is_pci(facts) -> bool:
    """Whether the primary video is a PCI device libvirt places itself (q35: slot 1)."""
    videos = facts.device_elements("video")
    if not videos:
        return bool(facts.device_elements("graphics"))  # libvirt adds a default video
    model = videos[0].find("model")
    kind = None if model is None else model.get("type")
    return kind not in ("none", "ramfb") and _wants_address(facts.address_of(videos[0]))


def _bus_slots(facts) -> dict[int, _Slots]:
    """Bus 0 (a pcie-root) and the pcie-expander-buses, after the user-given addresses."""
    slots = {0: _Slots(1, 31)}
    for index, bus in facts.pci_buses.items():
        if bus.model == "pcie-expander-bus":
            slots[index] = _Slots(0, 31)
    used: dict[tuple[int, int], tuple[set[int], bool]] = {}
    for device in facts.pci_devices:
        pci = device.pci
        if pci.domain == 0 and pci.bus in slots:
            functions, aggregate = used.setdefault(
                (pci.bus, pci.slot), (set(), device.connect == "pcie-root-port")
            )
            functions.add(pci.function)
    for (bus, slot), (functions, aggregate) in used.items():
        slots[bus].use(slot, functions, aggregate)
    root = slots[0]
    if facts.is_q35_x86:
        root.use(0x1F, {0, 2, 3}, False)  # LPC/ISA bridge, SATA, SMBus
        if _first_video_is_pci(facts):
            root.use(1, {0}, False)
        sounds = facts.device_elements("sound")
        if any(s.get("model") == "ich9" and _wants_address(facts.address_of(s)) for s in sounds):
            root.use(0x1B, {0}, False)
    return slots


@rule(
    code="DX680",
    name="pci-slots-exhausted",
    severity="error",
    summary="More PCIe root ports (or bridges) than the pcie-root has slots for",
    triggers=("controller",),
    domains=QEMU,
    libvirt=("virDomainPCIAddressSetGrow", "virDomainPCIAddressGetNextAddr"),
)
def pci_slots_exhausted(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    On machines with a `pcie-root` (q35, ARM and RISC-V `virt`), counts the
    slots of bus 0 and of any `pcie-expander-bus` that the PCI controllers
    without an address need: each `pcie-root-port` takes a function (libvirt
    puts up to 8 in one slot), each `dmi-to-pci-bridge` and
    `pcie-expander-bus` a whole slot. What the XML already places there
    counts first, then q35's fixed slots (0x1f for the chipset, slot 1 for
    the primary video, 0x1b for an ICH9 sound card). This is a lower bound of
    what libvirt needs, so the rule only fires when even that does not fit.

    ## Why is this bad?
    Root ports cannot be added anywhere else, so libvirt refuses the
    definition: "a PCI slot is needed to connect a PCI controller
    model='pcie-root-port', but none is available, and it cannot be
    automatically added". q35's root bus holds about 29 slots of 8 root ports.

    ## Example
    241 `<controller type='pci' model='pcie-root-port'/>` on q35.

    ## Use instead
    Fewer root ports, or a `pcie-expander-bus` for more, or PCIe switches
    (`pcie-switch-upstream-port` behind a root port, with downstream ports).

    ## Fix safety
    No fix.

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainPCIAddressSetGrow`,
    `virDomainPCIAddressGetNextAddr`, `virDomainPCIAddressFindUnusedFunctionOnBus`),
    src/qemu/qemu_domain_address.c (`qemuDomainAssignDevicePCISlots`,
    `qemuDomainValidateDevicePCISlotsQ35`).
    """
    facts = ctx.facts
    if not facts.has_pcie_root:
        return
    slots = _bus_slots(facts)
    extra = [s for index, s in sorted(slots.items()) if index != 0]
    root = slots[0]
    pending = [c for c in facts.pci_controllers if _wants_address(c.address)]
    if facts.is_q35_x86 and any(c.model == "dmi-to-pci-bridge" for c in pending):
        first_dmi = next(c for c in pending if c.model == "dmi-to-pci-bridge")
        if 0x1E in root.free:
            root.place_slot(0x1E)  # libvirt's preferred place for it
            pending.remove(first_dmi)
    for controller in pending:
        if controller.model == "pcie-root-port":
            placed = root.place_root_port() or any(s.place_root_port() for s in extra)
        elif controller.model == "dmi-to-pci-bridge":
            placed = root.place_slot() or any(s.place_slot() for s in extra)
        elif controller.model == "pcie-expander-bus":
            placed = root.place_slot()
        else:
            continue
        if not placed:
            assert controller.element is not None
            yield ctx.finding(
                controller.element,
                f"a PCI slot is needed to connect a PCI controller model='{controller.model}', "
                "but none is available, and it cannot be automatically added",
            )
            return
