"""Device addresses and the controllers they sit on, as libvirt's QEMU driver sees them.

libvirt checks addresses after post-parse has added implicit devices and before the
validators run (``qemuDomainAssignAddresses``). These facts model what that stage sees,
built once per document:

- every device's ``<address>``, parsed per type as libvirt parses it (PCI, drive,
  USB, virtio-serial, CCW, spapr-vio, zPCI, DIMM ...), with the element it came from;
- the machine's chipset (i440fx, q35, pSeries, s390-ccw) and its root PCI model;
- the controllers by type and index, including the implicit ones libvirt adds:
  the root PCI controller, the default USB controller, q35's SATA controller, and one
  controller for every index a drive, virtio-serial or smartcard address names;
- drive addresses derived from target names as ``virDomainDiskDefAssignAddress`` does;
- the PCI buses with what each controller model accepts (``virDomainPCIAddressBusSetModel``)
  and a per-device connection kind (``qemuDomainDeviceCalculatePCIConnectFlags``).

Automatic assignment itself is not reproduced: rules judge user-given addresses, and
approximate capacity where libvirt would run out of slots.
"""

from __future__ import annotations

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..pci import PciAddress, address_number
from .cpu import CpuFacts
from .devices import Controller, DeviceFacts
from .hostdevs import HostdevFacts
from .storage import StorageFacts
from .values import child, grandchild

Element = etree._Element

# -- address values ------------------------------------------------------------------------


class DriveAddress(NamedTuple):
    controller: int
    bus: int
    target: int
    unit: int

    def __str__(self) -> str:
        return (
            f"controller='{self.controller}' bus='{self.bus}' target='{self.target}' "
            f"unit='{self.unit}'"
        )


class UsbAddress(NamedTuple):
    bus: int
    #: The port path (``1.2`` is (1, 2)); None when no port is given (libvirt picks one).
    port: tuple[int, ...] | None

    @property
    def port_text(self) -> str:
        return ".".join(str(p) for p in self.port or ())


class VirtioSerialAddress(NamedTuple):
    controller: int
    bus: int
    #: 0 means "any port" (libvirt assigns one).
    port: int


class CcwAddress(NamedTuple):
    cssid: int | None
    ssid: int | None
    devno: int | None

    @property
    def complete(self) -> bool:
        return None not in self

    @property
    def partial(self) -> bool:
        return not self.complete and any(v is not None for v in self)

    @property
    def in_range(self) -> bool:
        """``virCCWDeviceAddressIsValid``: cssid <= 0xfe, ssid <= 3, devno <= 0xffff."""
        cssid, ssid, devno = self
        return (
            cssid is not None
            and ssid is not None
            and devno is not None
            and cssid <= 0xFE
            and ssid <= 3
            and devno <= 0xFFFF
        )

    def __str__(self) -> str:
        """libvirt's ``virCCWDeviceAddressAsString``: ``fe.0.0001``."""
        return f"{self.cssid:x}.{self.ssid:x}.{self.devno:04x}"


class ZpciAddress(NamedTuple):
    element: Element
    uid: int | None
    fid: int | None


class CcidAddress(NamedTuple):
    controller: int
    slot: int


class SpaprVioAddress(NamedTuple):
    reg: int | None


class DimmAddress(NamedTuple):
    slot: int | None
    base: int | None


AddressValue = (
    PciAddress
    | DriveAddress
    | UsbAddress
    | VirtioSerialAddress
    | CcwAddress
    | CcidAddress
    | SpaprVioAddress
    | DimmAddress
    | None
)


class DeviceAddress(NamedTuple):
    """A device's ``<address>`` (its direct child), parsed for its type."""

    element: Element
    #: The device element (``<disk>``, ``<controller>``, ``<interface>`` ...).
    device: Element
    #: The address type as written; None when missing.
    type: str | None
    #: The parsed value; None for types without fields, or when a field is malformed
    #: (the schema reports those).
    value: AddressValue
    #: ``<zpci>`` inside a PCI address.
    zpci: ZpciAddress | None = None

    @property
    def pci(self) -> PciAddress | None:
        return self.value if isinstance(self.value, PciAddress) else None

    @property
    def pci_present(self) -> bool:
        """``virDeviceInfoPCIAddressIsPresent``: a PCI address naming a domain, bus or slot.

        ``<address type='pci'/>`` or all zeros means "assign one".
        """
        pci = self.pci
        return pci is not None and bool(pci.domain or pci.bus or pci.slot)


def _number(text: str | None, base: int) -> int | None:
    """An address field as libvirt reads it (``virXMLPropUInt`` with ``base``)."""
    if text is None:
        return None
    if base == 0:
        return address_number(text)
    try:
        value = int(text.strip(), base)
    except ValueError:
        return None
    return value if value >= 0 else None


def _fields(element: Element, names: tuple[str, ...], base: int) -> list[int] | None:
    """Each field as a number (0 when absent); None when one is malformed."""
    values = []
    for name in names:
        text = element.get(name)
        if text is None:
            values.append(0)
            continue
        value = _number(text, base)
        if value is None:
            return None
        values.append(value)
    return values


def _usb_port(text: str) -> tuple[int, ...] | None:
    """``virDomainDeviceUSBAddressParsePort``: up to 4 dot-separated decimal ports."""
    parts = text.split(".")
    if len(parts) > 4:
        return None
    try:
        ports = tuple(int(p, 10) for p in parts)
    except ValueError:
        return None
    return ports if all(p >= 0 for p in ports) else None


def parse_address(element: Element, device: Element) -> DeviceAddress:
    """One ``<address>`` element, parsed as libvirt's parser reads its type."""
    kind = element.get("type")
    value: AddressValue = None
    zpci = None
    if kind == "pci":
        fields = _fields(element, ("domain", "bus", "slot", "function"), 0)
        if fields is not None:
            value = PciAddress(*fields)
        zpci_element = child(element, "zpci") if len(element) else None  # usually empty
        if zpci_element is not None:
            zpci = ZpciAddress(
                zpci_element,
                _number(zpci_element.get("uid"), 0),
                _number(zpci_element.get("fid"), 0),
            )
    elif kind == "drive":
        fields = _fields(element, ("controller", "bus", "target", "unit"), 10)
        value = None if fields is None else DriveAddress(*fields)
    elif kind == "usb":
        fields = _fields(element, ("bus",), 10)
        port_text = element.get("port")
        port = None if port_text is None else _usb_port(port_text)
        if fields is not None and (port_text is None or port is not None):
            value = UsbAddress(fields[0], port)
    elif kind == "virtio-serial":
        fields = _fields(element, ("controller", "bus", "port"), 10)
        value = None if fields is None else VirtioSerialAddress(*fields)
    elif kind == "ccid":
        fields = _fields(element, ("controller", "slot"), 10)
        value = None if fields is None else CcidAddress(*fields)
    elif kind == "ccw":
        value = CcwAddress(
            _number(element.get("cssid"), 0),
            _number(element.get("ssid"), 0),
            _number(element.get("devno"), 0),
        )
    elif kind == "spapr-vio":
        value = SpaprVioAddress(_number(element.get("reg"), 16))
    elif kind == "dimm":
        value = DimmAddress(_number(element.get("slot"), 10), _number(element.get("base"), 16))
    return DeviceAddress(element, device, kind, value, zpci)


# -- the machine -------------------------------------------------------------------------

X86 = frozenset({"i686", "x86_64"})
ARM = frozenset({"armv6l", "armv7l", "armv7b", "aarch64"})
PPC64 = frozenset({"ppc64", "ppc64le"})
RISCV = frozenset({"riscv32", "riscv64"})
S390 = frozenset({"s390", "s390x"})
#: Architectures whose every machine gets a pci-root (``qemuDomainDefAddDefaultDevices``).
PCI_ROOT_ARCHES = frozenset({"ppc64", "ppc64le", "alpha", "ppc", "ppcemb", "sh4", "sh4eb"})
#: Architectures whose machines get a default USB controller (where a model is known).
DEFAULT_USB_ARCHES = frozenset(
    {"ppc64", "ppc64le", "alpha", "ppc", "ppcemb", "sh4", "sh4eb", "sparc64"}
)
MIPS = frozenset({"mips", "mipsel", "mips64", "mips64el"})

# -- controllers ---------------------------------------------------------------------------

#: USB2 companion controllers (``IS_USB2_CONTROLLER``), which share an index with ich9-ehci1.
USB2_MODELS = frozenset({"ich9-ehci1", "ich9-uhci1", "ich9-uhci2", "ich9-uhci3"})
USB_COMPANIONS = frozenset({"ich9-uhci1", "ich9-uhci2", "ich9-uhci3"})
XHCI_MODELS = frozenset({"nec-xhci", "qemu-xhci"})


def usb_ports(model: str | None, ports: int | None) -> int | None:
    """Ports of a USB controller (``virDomainUSBAddressControllerModelToPorts``).

    0 for companions and model none (they are not buses of their own); None when the
    model is not known.
    """
    if model is None:
        return None
    if model in ("piix3-uhci", "piix4-uhci", "vt82c686b-uhci"):
        return 2
    if model in ("ehci", "ich9-ehci1"):
        return 6
    if model == "pci-ohci":
        return 3
    if model in XHCI_MODELS:
        return ports if ports is not None else 4
    if model in ("qusb1", "qusb2"):
        return ports if ports is not None else 8
    return 0


class BusController(NamedTuple):
    """A controller as libvirt has it after post-parse: written, or added implicitly."""

    type: str
    index: int  # type: ignore[assignment]  # the field shadows tuple.index on purpose
    #: The model as written, else the one libvirt fills in; None when unknown.
    model: str | None
    #: The ``<controller>`` element; None for an implicit controller.
    element: Element | None
    #: For an implicit controller, the device that makes libvirt add it (if any).
    implied_by: Element | None = None
    address: DeviceAddress | None = None

    @property
    def implicit(self) -> bool:
        return self.element is None

    @property
    def model_written(self) -> str | None:
        return None if self.element is None else self.element.get("model")

    def target(self) -> Element | None:
        return None if self.element is None else child(self.element, "target")

    @property
    def label(self) -> str:
        """How messages name it: ``controller pci index 1 (model 'pci-bridge')``."""
        text = f"{self.type} controller {self.index}"
        if self.model:
            text += f" (model '{self.model}')"
        return text


# -- PCI buses -----------------------------------------------------------------------------


class PciBusModel(NamedTuple):
    """What a PCI controller model offers downstream (``virDomainPCIAddressBusSetModel``)."""

    accepts: frozenset[str]
    min_slot: int
    max_slot: int


#: Connection kinds: "pci" (conventional endpoint), "pcie" (PCI Express endpoint), and
#: the PCI controller models that plug in as themselves.
PCI_BUS_MODELS = {
    "pci-root": PciBusModel(frozenset({"pci", "pci-bridge", "pci-expander-bus"}), 1, 31),
    "pci-bridge": PciBusModel(frozenset({"pci", "pci-bridge"}), 1, 31),
    "pci-expander-bus": PciBusModel(frozenset({"pci", "pci-bridge"}), 0, 31),
    "pcie-root": PciBusModel(
        frozenset({"pcie", "pcie-root-port", "dmi-to-pci-bridge", "pcie-expander-bus"}), 1, 31
    ),
    "dmi-to-pci-bridge": PciBusModel(frozenset({"pci", "pci-bridge"}), 0, 31),
    "pcie-to-pci-bridge": PciBusModel(frozenset({"pci", "pci-bridge"}), 1, 31),
    "pcie-root-port": PciBusModel(
        frozenset({"pcie", "pcie-switch-upstream-port", "pcie-to-pci-bridge"}), 0, 0
    ),
    "pcie-switch-downstream-port": PciBusModel(
        frozenset({"pcie", "pcie-switch-upstream-port", "pcie-to-pci-bridge"}), 0, 0
    ),
    "pcie-switch-upstream-port": PciBusModel(frozenset({"pcie-switch-downstream-port"}), 0, 31),
    "pcie-expander-bus": PciBusModel(frozenset({"pcie-root-port", "dmi-to-pci-bridge"}), 0, 31),
}

#: PCI controller models that plug into another bus (all but the roots).
PLUGGED_PCI_MODELS = frozenset(PCI_BUS_MODELS) - {"pci-root", "pcie-root"}

#: How libvirt names a connection kind in "It requires a controller that accepts a %s".
CONNECT_WORDS = {
    "pci": "standard PCI device",
    "pcie": "PCI Express device",
    "pci-bridge": "standard PCI device",  # a user-placed pci-bridge counts as a PCI device
}


def pci_bus_accepts(model: PciBusModel, connect: str) -> bool:
    """``virDomainPCIAddressFlagsCompatible`` for a user-given address (``fromConfig``).

    For addresses from the XML libvirt lets either kind of endpoint sit where one kind
    may, and a pci-bridge wherever a conventional device may.
    """
    accepts = set(model.accepts)
    if accepts & {"pci", "pcie"}:
        accepts |= {"pci", "pcie"}
    wanted = {connect, "pci"} if connect == "pci-bridge" else {connect}
    return bool(accepts & wanted)


class PciBus(NamedTuple):
    index: int  # type: ignore[assignment]  # the field shadows tuple.index on purpose
    model: str
    #: The controller providing it; None when libvirt adds it (a gap in the indexes).
    controller: BusController | None
    spec: PciBusModel


class PciDevice(NamedTuple):
    """A device with a user-given PCI address, and how it connects."""

    address: DeviceAddress
    pci: PciAddress
    #: "pci", "pcie", or the PCI controller model it plugs in as.
    connect: str
    #: Must sit on bus 0 (virtio-iommu, pvpanic).
    integrated: bool


VIRTIO_TRANSITIONAL = "virtio-transitional"


def _virtio_kind(model: str | None) -> str:
    """virtio devices: transitional ones only work in conventional slots."""
    return "pci" if model == VIRTIO_TRANSITIONAL else "pcie"


# -- the facts -----------------------------------------------------------------------------

#: Device elements in libvirt's iteration order (``virDomainDeviceInfoIterate``), for the
#: checks whose outcome depends on the order devices are reserved.
DEVICE_ORDER = (
    "disk", "interface", "sound", "hostdev", "video", "controller", "smartcard", "serial",
    "parallel", "channel", "console", "input", "filesystem", "watchdog", "memballoon", "nvram",
    "hub", "shmem", "tpm", "panic", "memory", "redirdev", "rng", "iommu", "vsock", "crypto",
)  # fmt: skip

#: Disk buses whose devices get drive addresses, with the controller type they use.
DRIVE_BUS_CONTROLLER = {"ide": "ide", "fdc": "fdc", "scsi": "scsi", "sata": "sata"}


class DriveDevice(NamedTuple):
    """A disk or SCSI host device with its drive address (written or derived)."""

    element: Element
    #: The disk's bus ("scsi" for a SCSI host device).
    bus: str
    address: DriveAddress
    #: The ``<address>`` element when written; None when derived from the target name.
    written: DeviceAddress | None
    #: The disk's target name (None for a host device).
    dev: str | None
    is_hostdev: bool


def disk_name_index(name: str | None) -> int | None:
    """``virDiskNameToIndex``: ``sda`` 0, ``hdc`` 2, ``vdaa`` 26; None when not a disk name."""
    if not name:
        return None
    for prefix in ("fd", "hd", "vd", "sd", "xvd", "ubd"):
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            break
    else:
        return None
    letters = 0
    index = 0
    for char in rest:
        if not ("a" <= char <= "z"):
            break
        index = (index + (1 if letters else 0)) * 26 + (ord(char) - ord("a"))
        letters += 1
        if index > 2**31 - 1:
            return None
    if not letters:
        return None
    tail = rest[letters:]
    if tail and not (tail.isdigit() and tail.isascii()):
        return None
    return index


def derive_drive_address(bus: str, index: int) -> DriveAddress | None:
    """``virDomainDiskDefAssignAddress`` for the QEMU driver (a narrow SCSI bus)."""
    if bus == "scsi":
        return DriveAddress(index // 7, 0, 0, index % 7)
    if bus == "ide":
        return DriveAddress(index // 4, (index % 4) // 2, 0, index % 2)
    if bus == "sata":
        return DriveAddress(index // 6, 0, 0, index % 6)
    if bus == "fdc":
        return DriveAddress(index // 2, 0, 0, index % 2)
    return None


class AddressFacts(StorageFacts, HostdevFacts, DeviceFacts, CpuFacts):
    """Addresses, controllers (written and implicit) and PCI buses."""

    # -- the machine

    @lazy
    def machine_known(self) -> bool:
        """Whether the architecture and machine type are written (else libvirt picks them)."""
        return bool(self.arch and self.machine)

    @lazy
    def is_q35_x86(self) -> bool:
        """``qemuDomainIsQ35`` (which also wants an x86 architecture)."""
        return self.arch in X86 and bool(self.is_q35)

    @lazy
    def pci_root_model(self) -> str | None:
        """The root PCI controller libvirt adds for this machine (None: no PCI)."""
        arch, machine = self.arch or "", self.machine or ""
        if not machine:
            return None
        if self.is_q35_x86 or self.is_arm_virt or self.is_riscv_virt or arch == "loongarch64":
            return "pcie-root"
        if self.is_i440fx or arch in PCI_ROOT_ARCHES or arch in S390:
            return "pci-root"
        if arch in ARM and (machine == "versatilepb" or machine.startswith("realview-eb")):
            return "pci-root"
        if arch == "sparc64" or (arch in MIPS and machine == "malta"):
            return "pci-root"
        return None

    @lazy
    def has_builtin_ide(self) -> bool:
        """``qemuDomainHasBuiltinIDE``: i440fx, malta, sun4u, g3beige."""
        return self.is_i440fx or (self.machine or "") in ("malta", "sun4u", "g3beige")

    @lazy
    def default_usb_model(self) -> str | None:
        """The USB controller libvirt adds by itself (None: none, or not known here)."""
        arch, machine = self.arch or "", self.machine or ""
        if arch in X86:
            if machine in ("isapc", "microvm") or not machine:
                return None
            return "qemu-xhci" if self.is_q35_x86 else "piix3-uhci"
        if arch in ARM and (machine == "versatilepb" or machine.startswith("realview-eb")):
            return "pci-ohci"
        if arch in PPC64:
            return "pci-ohci"
        if arch in ("ppc", "ppcemb"):
            return "piix3-uhci"
        return None

    @lazy
    def adds_default_usb(self) -> bool:
        """Whether libvirt adds a USB controller to this machine when none is written."""
        arch, machine = self.arch or "", self.machine or ""
        if arch in X86:
            return machine not in ("isapc", "microvm")
        if arch in ARM:
            return machine == "versatilepb" or machine.startswith("realview-eb")
        return arch in DEFAULT_USB_ARCHES or arch in MIPS

    def _usb_model_for_written(self) -> str | None:
        """The model libvirt picks for a written USB controller without one."""
        arch = self.arch or ""
        if arch in X86:
            return "piix3-uhci"
        if arch in ("aarch64", "loongarch64"):
            return "qemu-xhci"
        if self.is_pseries:
            return "pci-ohci"
        return None

    # -- addresses

    @lazy
    def device_addresses(self) -> tuple[DeviceAddress, ...]:
        """Every device's ``<address>``, in document order.

        The console that mirrors the first serial port is left out: it is that port.
        """
        devices = self.devices
        if devices is None or "address" not in self.tags:
            return ()
        result = []
        mirror = self.mirrored_console
        # ElementPath's "*/address", first per device, without its generators
        for device in devices.iterchildren("*"):
            address = next(device.iterchildren("address"), None)
            if address is not None and device is not mirror:
                result.append(parse_address(address, device))
        return tuple(result)

    @lazy
    def mirrored_console(self) -> Element | None:
        """The console that libvirt keeps as a copy of the first serial port, if any.

        A first ``<console>`` of target type serial (or none) with a ``<serial>`` beside it
        is the same device: libvirt's device walks skip it.
        """
        serials = self.device_elements("serial")
        consoles = self.device_elements("console")
        if not serials or not consoles:
            return None
        target = child(consoles[0], "target")
        if target is None or target.get("type") in (None, "serial"):
            return consoles[0]
        return None

    @lazy
    def _address_of(self) -> dict[Element, DeviceAddress]:
        return {a.device: a for a in self.device_addresses}

    def address_of(self, device: Element) -> DeviceAddress | None:
        return self._address_of.get(device)

    def in_device_order(self, addresses: tuple[DeviceAddress, ...]) -> list[DeviceAddress]:
        """``addresses`` in libvirt's device iteration order (document order within a kind)."""
        rank = {tag: i for i, tag in enumerate(DEVICE_ORDER)}
        return sorted(addresses, key=lambda a: rank.get(a.device.tag, len(rank)))

    # -- controllers

    @lazy
    def written_controllers(self) -> tuple[BusController, ...]:
        """The ``<controller>`` elements, their indexes assigned where left out.

        Indexes are assigned as ``virDomainAssignControllerIndexes`` does; a USB
        controller without a model gets the one libvirt picks for this architecture.
        """
        return tuple(self._written_controllers())

    @lazy
    def bus_controllers(self) -> tuple[BusController, ...]:
        """Every controller as libvirt has it after post-parse, written ones first.

        The implicit controllers follow in the order libvirt adds them: the machine's
        default USB, q35's SATA and the PCI root, then one for every index a drive,
        virtio-serial or smartcard address names.
        """
        result = list(self.written_controllers)
        present = {(c.type, c.index) for c in result}

        def add(kind: str, index: int, model: str | None, implied_by: Element | None) -> None:
            if (kind, index) not in present:
                present.add((kind, index))
                result.append(BusController(kind, index, model, None, implied_by))

        if self.driver == "qemu":
            default_usb = self.default_usb_model
            if self.adds_default_usb and default_usb and ("usb", 0) not in present:
                add("usb", 0, default_usb, None)
            if self.is_q35_x86:
                add("sata", 0, None, None)
            root = self.implicit_pci_root
            if root is not None:
                result.append(root)
                present.add(("pci", 0))
        for kind, index, implied_by in self._implied_controllers():
            add(kind, index, None, implied_by)
        return tuple(result)

    @lazy
    def implicit_pci_root(self) -> BusController | None:
        """The PCI root libvirt adds when no PCI controller has index 0."""
        root = self.pci_root_model
        if self.driver != "qemu" or root is None:
            return None
        if any(c.type == "pci" and c.index == 0 for c in self.written_controllers):
            return None
        return BusController("pci", 0, root, None)

    def _written_controllers(self) -> list[BusController]:
        controllers = []
        used: dict[str, set[int]] = {}
        pending = []
        for position, controller in enumerate(self.controllers):
            kind = controller.type or ""
            if controller.index is not None:
                used.setdefault(kind, set()).add(controller.index)
            controllers.append(controller)
            if controller.index is None:
                pending.append(position)
        indexes: list[int | None] = [c.index for c in controllers]
        for position in pending:
            current = controllers[position]
            kind = current.type or ""
            index = self._usb2_companion_index(controllers, indexes, position)
            if index is None:
                index = 0
                while index in used.get(kind, set()):
                    index += 1
            used.setdefault(kind, set()).add(index)
            indexes[position] = index
        result = []
        for controller, index in zip(controllers, indexes, strict=True):
            kind = controller.type or ""
            model = controller.model
            if model is None and kind == "usb" and self.driver == "qemu":
                model = self._usb_model_for_written()
            result.append(
                BusController(
                    kind,
                    index if index is not None else 0,
                    model,
                    controller.element,
                    None,
                    self.address_of(controller.element),
                )
            )
        return result

    @staticmethod
    def _usb2_companion_index(
        controllers: list[Controller], indexes: list[int | None], position: int
    ) -> int | None:
        """A USB2 companion without index joins the USB2 controller just before it."""
        current = controllers[position]
        if position == 0 or current.type != "usb" or current.model not in USB2_MODELS:
            return None
        previous = position - 1
        while previous >= 0 and controllers[previous].type != "usb":
            previous -= 1
        if previous < 0 or controllers[previous].model not in USB2_MODELS:
            return None
        index = indexes[previous]
        for other, other_index in zip(controllers, indexes, strict=True):
            if other.type == "usb" and other_index == index and other.model == current.model:
                return None
        return index

    def _implied_controllers(self) -> list[tuple[str, int, Element | None]]:
        """Controllers ``virDomainDefAddImplicitControllers`` adds for addresses that name them."""
        implied: list[tuple[str, int, Element | None]] = []
        for bus in ("scsi", "fdc", "ide", "sata"):
            highest: dict[int, Element] = {}
            for drive in self.drive_devices:
                if drive.bus == bus and not drive.is_hostdev:
                    highest.setdefault(drive.address.controller, drive.element)
            if highest:
                first = min(highest.items(), key=lambda item: item[0])[1]
                for index in range(max(highest) + 1):
                    implied.append((bus, index, highest.get(index, first)))
        for tag in ("channel", "console"):
            for element in self.device_elements(tag):
                target = child(element, "target")
                if target is None or target.get("type") != "virtio":
                    continue
                address = self.address_of(element)
                index = 0
                if address is not None and isinstance(address.value, VirtioSerialAddress):
                    index = address.value.controller
                implied.append(("virtio-serial", index, element))
        for element in self.device_elements("smartcard"):
            address = self.address_of(element)
            index = 0
            if address is not None and isinstance(address.value, CcidAddress):
                index = address.value.controller
            implied.append(("ccid", index, element))
        scsi_hostdevs = [d for d in self.drive_devices if d.is_hostdev]
        if scsi_hostdevs:
            highest_index = max(d.address.controller for d in scsi_hostdevs)
            for index in range(highest_index + 1):
                implied.append(("scsi", index, scsi_hostdevs[0].element))
        return implied

    @lazy
    def _controllers_by_type(self) -> dict[str, tuple[BusController, ...]]:
        grouped: dict[str, list[BusController]] = {}
        for controller in self.bus_controllers:
            grouped.setdefault(controller.type, []).append(controller)
        return {kind: tuple(items) for kind, items in grouped.items()}

    def controllers_of(self, kind: str) -> tuple[BusController, ...]:
        return self._controllers_by_type.get(kind, ())

    def controller(self, kind: str, index: int) -> BusController | None:
        """The first controller of this type and index (libvirt's ``virDomainControllerFind``)."""
        for item in self.controllers_of(kind):
            if item.index == index:
                return item
        return None

    @lazy
    def pci_controllers(self) -> tuple[BusController, ...]:
        """Written PCI controllers of a model libvirt knows."""
        return tuple(
            c for c in self.written_controllers if c.type == "pci" and c.model in PCI_BUS_MODELS
        )

    @lazy
    def _controller_of_element(self) -> dict[Element, BusController]:
        return {c.element: c for c in self.written_controllers if c.element is not None}

    def controller_of(self, element: Element) -> BusController | None:
        """The controller a ``<controller>`` element became (its index resolved)."""
        return self._controller_of_element.get(element)

    # -- drive addresses

    @lazy
    def drive_devices(self) -> tuple[DriveDevice, ...]:
        """Disks on ide/fdc/scsi/sata and SCSI host devices, with their drive addresses.

        A disk without ``<address>`` gets the one its target name implies; a disk whose
        name is not a disk name gets none (libvirt refuses it). A SCSI host device
        without an address gets the next free unit, as ``virDomainHostdevAssignAddress``.
        """
        result = []
        for disk in self.disks:
            bus = self.disk_bus(disk.element)
            if bus not in DRIVE_BUS_CONTROLLER:
                continue
            written = self.address_of(disk.element)
            if written is not None:
                if isinstance(written.value, DriveAddress):
                    result.append(
                        DriveDevice(disk.element, bus, written.value, written, disk.dev, False)
                    )
                continue
            index = disk_name_index(disk.dev)
            derived = None if index is None else derive_drive_address(bus, index)
            if derived is not None:
                result.append(DriveDevice(disk.element, bus, derived, None, disk.dev, False))
        for hostdev in self.scsi_hostdevs:
            written = self.address_of(hostdev)
            if written is not None and isinstance(written.value, DriveAddress):
                result.append(DriveDevice(hostdev, "scsi", written.value, written, None, True))
        assigned = self._assign_hostdev_units(result)
        return tuple(result + assigned)

    @lazy
    def scsi_controllers_in_use(self) -> frozenset[int]:
        """Indexes of the SCSI controllers that SCSI disks and SCSI host devices sit on.

        Uses the drive addresses libvirt gives devices written without one.
        """
        return frozenset(d.address.controller for d in self.drive_devices if d.bus == "scsi")

    def _assign_hostdev_units(self, known: list[DriveDevice]) -> list[DriveDevice]:
        used = {d.address for d in known if d.bus == "scsi"}
        result = []
        for hostdev in self.scsi_hostdevs:
            if self.address_of(hostdev) is not None:
                continue
            controller = 0
            while True:
                unit = next(
                    (u for u in range(7) if DriveAddress(controller, 0, 0, u) not in used), None
                )
                if unit is not None:
                    break
                controller += 1
            address = DriveAddress(controller, 0, 0, unit)
            used.add(address)
            result.append(DriveDevice(hostdev, "scsi", address, None, None, True))
        return result

    @lazy
    def scsi_hostdevs(self) -> tuple[Element, ...]:
        """``<hostdev mode='subsystem' type='scsi'>`` elements."""
        return tuple(
            h.element
            for h in self.host_devices
            if not h.is_interface and h.mode == "subsystem" and h.type == "scsi"
        )

    def disk_bus(self, disk: Element) -> str | None:
        """The disk's bus after post-parse (``virDomainDiskDefPostParse``)."""
        target = child(disk, "target")
        bus = None if target is None else target.get("bus")
        if bus:
            return bus
        if disk.get("device") == "floppy":
            return "fdc"
        dev = "" if target is None else (target.get("dev") or "")
        for prefix, implied in (("hd", "ide"), ("sd", "scsi"), ("vd", "virtio"), ("xvd", "xen")):
            if dev.startswith(prefix):
                return implied
        if dev.startswith("ubd"):
            return "uml"
        return "ide"

    # -- PCI

    @lazy
    def pci_buses(self) -> dict[int, PciBus]:
        """The PCI buses libvirt's address set has (indexes up to the highest PCI controller).

        Bus 0 is the machine's root (pci-root or pcie-root). An index without a
        controller gets the model libvirt adds for it: pci-root on pSeries,
        pcie-root-port behind a pcie-root, else pci-bridge.
        """
        controllers: dict[int, BusController] = {}
        root = self.implicit_pci_root
        for controller in (*self.pci_controllers, *([root] if root else [])):
            controllers.setdefault(controller.index, controller)
        if not controllers:
            return {}
        has_pcie_root = any(c.model == "pcie-root" for c in controllers.values())
        if self.is_pseries:
            gap_model = "pci-root"
        elif has_pcie_root:
            gap_model = "pcie-root-port"
        else:
            gap_model = "pci-bridge"
        buses = {}
        for index in range(max(controllers) + 1):
            found = controllers.get(index)
            if index == 0 and self.pci_root_model is not None:
                # The machine decides its root bus (a written mismatch is refused anyway).
                machine_root = self.pci_root_model
                buses[0] = PciBus(0, machine_root, found, PCI_BUS_MODELS[machine_root])
            elif found is not None and found.model is not None:
                buses[index] = PciBus(index, found.model, found, PCI_BUS_MODELS[found.model])
            elif index == 0:
                buses[0] = PciBus(0, "pci-root", None, PCI_BUS_MODELS["pci-root"])
            else:
                buses[index] = PciBus(index, gap_model, None, PCI_BUS_MODELS[gap_model])
        return buses

    @lazy
    def has_pcie_root(self) -> bool:
        bus = self.pci_buses.get(0)
        return bus is not None and bus.model == "pcie-root"

    @lazy
    def pci_devices(self) -> tuple[PciDevice, ...]:
        """Devices with a user-given PCI address (all but "assign one"), in document order.

        Addresses outside what a PCI address can hold are left out: the parser refuses them.
        """
        result = []
        for address in self.device_addresses:
            pci = address.pci
            if pci is None or not address.pci_present:
                continue
            if pci.domain > 0xFFFF or pci.bus > 0xFF or pci.slot > 0x1F or pci.function > 7:
                continue  # libvirt's parser refuses it (as the schema does): DX002 says why
            connect, integrated = self.pci_connect(address.device)
            if connect is None:
                continue
            result.append(PciDevice(address, pci, connect, integrated))
        return tuple(result)

    def pci_connect(self, device: Element) -> tuple[str | None, bool]:
        """How a device plugs into a PCI bus: its connection kind, and whether it is integrated.

        Follows ``qemuDomainDeviceCalculatePCIConnectFlags``. A pci-root or pcie-root
        controller plugs into nothing (None). Endpoints are "pcie" on a machine with a
        pcie-root when QEMU makes them PCI Express devices, else "pci"; a device that is not
        a PCI device but carries a PCI address counts as "pci", as libvirt forces it.
        """
        tag = device.tag
        if tag == "controller" and device.get("type") == "pci":
            model = device.get("model")
            if model in PLUGGED_PCI_MODELS:
                return model, False
            return None, False
        if tag == "iommu" and device.get("model") == "virtio":
            return self._endpoint("pcie"), True
        if tag == "panic" and device.get("model") == "pvpanic":
            return "pci", True
        return self._endpoint(self._endpoint_kind(device)), False

    def _endpoint(self, kind: str) -> str:
        return kind if self.has_pcie_root else "pci"

    def _endpoint_kind(self, device: Element) -> str:
        """ "pcie" for devices QEMU builds as PCI Express endpoints, else "pci"."""
        tag = device.tag
        if tag == "disk":
            target = child(device, "target")
            if target is not None and target.get("bus") == "virtio":
                return _virtio_kind(device.get("model"))
            return "pci"
        if tag == "interface":
            if device.get("type") == "hostdev":
                return "pci"
            model_element = child(device, "model")
            model = None if model_element is None else model_element.get("type")
            if model is None:
                return "pcie" if self._default_nic_is_virtio else "pci"
            if model in ("virtio", "virtio-non-transitional", "e1000e", "igb"):
                return "pcie"
            return "pci"
        if tag == "controller":
            kind, model = device.get("type"), device.get("model")
            if kind == "usb":
                return "pcie" if model in XHCI_MODELS else "pci"
            if kind == "scsi":
                return "pcie" if model in ("virtio-scsi", "virtio-non-transitional") else "pci"
            if kind == "virtio-serial":
                return _virtio_kind(model)
            return "pci"
        if tag == "hostdev":
            if device.get("type") in ("pci", "mdev"):
                return "pcie"
            if device.get("type") == "scsi_host":
                return _virtio_kind(device.get("model"))
            return "pci"
        if tag in ("memballoon", "rng", "vsock"):
            return _virtio_kind(device.get("model"))
        if tag == "input":
            if device.get("bus") == "virtio":
                return _virtio_kind(device.get("model"))
            return "pci"
        if tag == "video":
            model_element = child(device, "model")
            video_type = None if model_element is None else model_element.get("type")
            if video_type in ("virtio", "bochs"):
                return "pcie"
            if video_type is None and self._default_video_is_virtio:
                return "pcie"
            return "pci"
        if tag == "filesystem":
            driver = child(device, "driver")
            if driver is not None and driver.get("type") == "virtiofs":
                return "pcie"
            return _virtio_kind(device.get("model"))
        if tag == "memory" and device.get("model") in ("virtio-pmem", "virtio-mem"):
            return "pcie"
        return "pci"

    @lazy
    def _default_nic_is_virtio(self) -> bool:
        """``qemuDomainDefaultNetModel`` picks virtio on these machines."""
        return (
            (self.arch or "") in S390
            or self.arch == "loongarch64"
            or self.is_riscv_virt
            or self.is_arm_virt
        )

    @lazy
    def _default_video_is_virtio(self) -> bool:
        return (
            self.is_arm_virt
            or self.is_riscv_virt
            or self.arch == "loongarch64"
            or (self.arch or "") in S390
        )

    # -- other buses

    @lazy
    def numa_cell_count(self) -> int:
        """``virDomainNumaGetNodeCount``: the guest NUMA cells."""
        return len(self.numa_cells)

    @lazy
    def usb_hubs(self) -> tuple[Element, ...]:
        return tuple(h for h in self.device_elements("hub") if h.get("type") == "usb")

    def usb_devices(self) -> list[Element]:
        """The devices that need a USB port (``virDomainUSBDeviceDefForeach``), hubs first."""
        found: list[Element] = list(self.usb_hubs)
        found += [h.element for h in self.host_devices if h.type == "usb" and not h.is_interface]
        found += [d.element for d in self.disks if self.disk_bus(d.element) == "usb"]
        found += [c.element for c in self.controllers if c.type == "ccid"]
        found += self.device_elements("smartcard")
        found += [i for i in self.device_elements("input") if self.input_bus(i) == "usb"]
        for serial in self.device_elements("serial"):
            target = child(serial, "target")
            if target is not None and target.get("type") == "usb-serial":
                found.append(serial)
        found += [s for s in self.device_elements("sound") if s.get("model") == "usb"]
        found += [r for r in self.device_elements("redirdev") if r.get("bus") == "usb"]
        return found

    def input_bus(self, element: Element) -> str | None:
        """An input device's bus after post-parse (``virDomainInputDefPostParse``)."""
        bus = element.get("bus")
        if bus:
            return bus
        kind = element.get("type")
        os_type = grandchild(self.root, "os", "type")
        if os_type is None or (os_type.text or "").strip() != "hvm":
            return None
        if kind in ("mouse", "keyboard") and (self.arch in X86 or self.arch is None):
            return None
        if (self.arch or "") in S390 or kind == "passthrough":
            return "virtio"
        if kind == "evdev":
            return None
        return "usb"
