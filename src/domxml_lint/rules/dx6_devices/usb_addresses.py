"""DX674-DX675: USB addresses: buses, port paths through hubs, duplicates.

Both rules replay how libvirt reserves USB ports (``qemuDomainAssignUSBAddresses``): one
bus per USB controller index, hubs with an address first (in document order, each adding
8 ports), then every other USB device with a full address, then those with only a bus.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from ...facts import DeviceAddress
from ...facts.addresses import UsbAddress, usb_ports
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ._where import per_document
from .pci_controllers import signed_number

#: Ports of a USB hub (``VIR_DOMAIN_USB_HUB_PORTS``).
HUB_PORTS = 8


class Hub:
    """A USB controller or hub: its port count (None: unknown), used ports, hubs on ports."""

    def __init__(self, ports: int | None) -> None:
        self.ports = ports
        self.used: set[int] = set()
        self.hubs: dict[int, Hub] = {}


class UsbProblem(NamedTuple):
    address: DeviceAddress
    message: str
    attribute: str
    duplicate: bool


def _find_port(buses: dict[int, Hub], usb: UsbAddress) -> tuple[Hub | None, int, str | None]:
    """``virDomainUSBAddressFindPort``: the hub holding the last port, or why none does."""
    assert usb.port is not None
    path = usb.port_text
    hub = buses.get(usb.bus)
    if hub is None:
        return None, 0, f"Missing USB bus {usb.bus}"
    *through, last = usb.port
    for port in through:
        if hub.ports is not None and port > hub.ports:
            return (
                None,
                0,
                f"port {port} out of range in USB address bus: {usb.bus} port: {path}",
            )
        nested = hub.hubs.get(port)
        if nested is None:
            return (
                None,
                0,
                f"there is no hub at port {port} in USB address bus: {usb.bus} port: {path}",
            )
        hub = nested
    if hub.ports is not None and last > hub.ports:
        return None, 0, f"requested USB port {path} not present on USB bus {usb.bus}"
    return hub, last, None


def _full(address: DeviceAddress | None) -> UsbAddress | None:
    """A USB address with a port path libvirt reserves as written (no zero port)."""
    if address is None or not isinstance(address.value, UsbAddress):
        return None
    usb = address.value
    if not usb.port or 0 in usb.port:
        return None
    return usb


@per_document
def usb_problems(ctx: RuleContext) -> list[UsbProblem]:
    """Every USB address libvirt would refuse, in the order it reserves them."""
    facts = ctx.facts
    buses: dict[int, Hub] = {}
    for controller in facts.controllers_of("usb"):
        ports = None
        if controller.element is not None:
            ports = signed_number(controller.element.get("ports"))
        count = usb_ports(controller.model, ports if ports is not None and ports >= 0 else None)
        if count == 0 or controller.index in buses:
            continue  # companions and model none are no bus; a duplicate is DX660's
        buses[controller.index] = Hub(count)
    problems: list[UsbProblem] = []
    if not buses:
        return problems  # no USB at all: usb-devices-without-usb and DX641 say so
    hubs = facts.usb_hubs
    for hub in hubs:
        address = facts.address_of(hub)
        usb = _full(address)
        if usb is None:
            continue
        assert address is not None
        parent, port, error = _find_port(buses, usb)
        if error is not None:
            problems.append(UsbProblem(address, error, "port", False))
        elif parent is not None and port in parent.hubs:
            problems.append(
                UsbProblem(
                    address,
                    f"Duplicate USB hub on bus {usb.bus} port {usb.port_text}",
                    "port",
                    True,
                )
            )
        elif parent is not None:
            parent.used.add(port)
            parent.hubs[port] = Hub(HUB_PORTS)
    devices = [d for d in facts.usb_devices() if d not in hubs]
    for device in devices:
        address = facts.address_of(device)
        usb = _full(address)
        if usb is None:
            continue
        assert address is not None
        parent, port, error = _find_port(buses, usb)
        if error is not None:
            problems.append(UsbProblem(address, error, "port", False))
        elif parent is not None and port in parent.used:
            problems.append(
                UsbProblem(
                    address,
                    f"Duplicate USB address bus {usb.bus} port {usb.port_text}",
                    "port",
                    True,
                )
            )
        elif parent is not None:
            parent.used.add(port)
    for device in [*hubs, *devices]:
        address = facts.address_of(device)
        if address is None or not isinstance(address.value, UsbAddress):
            continue
        usb = address.value
        if _full(address) is None and usb.bus not in buses:
            problems.append(
                UsbProblem(
                    address,
                    f"USB bus {usb.bus} requested but no controller with that index is present",
                    "bus",
                    False,
                )
            )
    return problems


@rule(
    code="DX674",
    name="usb-address-invalid",
    severity="error",
    summary="A USB address on a missing bus, or a port path that is not there",
    triggers=("address",),
    domains=QEMU,
    libvirt=("virDomainUSBAddressFindPort", "virDomainUSBAddressAssign"),
)
def usb_address_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Walks each `<address type='usb' bus=... port=...>` the way libvirt
    reserves it. The bus is the index of a USB controller (companions and
    `model='none'` provide none). The port is a path: `1.2` is port 2 of the
    hub on port 1, so every step but the last must be a port with a `<hub>`
    on it (hubs are added in document order, each with 8 ports), and every
    step must exist on its controller or hub (`piix3-uhci` has 2 ports,
    `pci-ohci` 3, `ehci` and `ich9-ehci1` 6, xHCI 4 unless `ports` says more).

    ## Why is this bad?
    libvirt refuses the definition: "Missing USB bus 1", "USB bus 1 requested
    but no controller with that index is present", "there is no hub at port 1
    in USB address bus: 0 port: 1.2.3", "port 3 out of range in USB address
    bus: 0 port: 3.1", "requested USB port 1.9 not present on USB bus 0".

    ## Example
    ```xml
    <controller type='usb' index='0' model='piix3-uhci'/>
    <input type='mouse' bus='usb'>
      <address type='usb' bus='0' port='1.2'/>
    </input>
    ```

    ## Use instead
    ```xml
    <hub type='usb'>
      <address type='usb' bus='0' port='1'/>
    </hub>
    <input type='mouse' bus='usb'>
      <address type='usb' bus='0' port='1.2'/>
    </input>
    ```

    ## Fix safety
    No fix: where a device should sit is the author's call (or leave the
    address out and libvirt picks a port).

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainUSBAddressFindPort`,
    `virDomainUSBAddressAssign`, `virDomainUSBAddressControllerModelToPorts`),
    src/qemu/qemu_domain_address.c (`qemuDomainAssignUSBAddresses`).
    """
    for problem in usb_problems(ctx):
        if not problem.duplicate:
            yield ctx.finding(problem.address.element, problem.message, attribute=problem.attribute)


@rule(
    code="DX675",
    name="usb-address-duplicate",
    severity="error",
    summary="Two USB devices (or hubs) on the same USB port",
    triggers=("address",),
    domains=QEMU,
    libvirt=("virDomainUSBAddressReserve", "virDomainUSBAddressSetAddHub"),
)
def usb_address_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds USB devices whose address names a port already taken: by a hub
    (hubs are placed first), or by another device earlier in libvirt's order.

    ## Why is this bad?
    A USB port takes one device. libvirt refuses the definition: "Duplicate
    USB address bus 0 port 1", "Duplicate USB hub on bus 0 port 1".

    ## Example
    ```xml
    <hub type='usb'>
      <address type='usb' bus='0' port='1'/>
    </hub>
    <input type='mouse' bus='usb'>
      <address type='usb' bus='0' port='1'/>
    </input>
    ```

    ## Use instead
    ```xml
    <input type='mouse' bus='usb'>
      <address type='usb' bus='0' port='1.1'/>
    </input>
    ```

    ## Fix safety
    No fix: which device moves is the author's call.

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainUSBAddressReserve`,
    `virDomainUSBAddressSetAddHub`).
    """
    for problem in usb_problems(ctx):
        if problem.duplicate:
            yield ctx.finding(problem.address.element, problem.message, attribute=problem.attribute)
