"""DX685-DX690: virtio-serial ports, CCW addresses, spapr-vio regs and zPCI ids."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from lxml import etree

from ...facts import DeviceAddress, child
from ...facts.addresses import S390, CcwAddress, SpaprVioAddress, VirtioSerialAddress
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import parse_uint
from ._where import a_device

Element = etree._Element

#: Ports of a virtio-serial controller without ``ports`` (libvirt's default).
DEFAULT_VIRTIO_SERIAL_PORTS = 31


class _Problem(NamedTuple):
    element: Element
    message: str
    attribute: str | None


def _is_virtio_chr(element) -> bool:
    target = child(element, "target")
    return target is not None and target.get("type") == "virtio"


def virtio_serial_problems(facts) -> list[_Problem]:
    """Replay ``qemuDomainAssignVirtioSerialAddresses``: reserve written ports, then assign."""
    ports: dict[int, int] = {}
    for controller in facts.controllers_of("virtio-serial"):
        count = None
        if controller.element is not None:
            count = parse_uint(controller.element.get("ports"))
        ports.setdefault(controller.index, DEFAULT_VIRTIO_SERIAL_PORTS if count is None else count)
    used: dict[int, set[int]] = {index: set() for index in ports}
    problems: list[_Problem] = []
    addresses = [
        a
        for a in facts.in_device_order(facts.device_addresses)
        if isinstance(a.value, VirtioSerialAddress)
    ]
    for address in addresses:
        value = address.value
        assert isinstance(value, VirtioSerialAddress)
        if value.port == 0:
            continue  # libvirt picks the port
        if value.controller not in ports:
            problems.append(
                _Problem(
                    address.element,
                    f"virtio serial controller {value.controller} is missing",
                    "controller",
                )
            )
        elif value.port >= ports[value.controller]:
            problems.append(
                _Problem(
                    address.element,
                    f"virtio serial controller {value.controller} does not have port "
                    f"{value.port} (it has ports 0-{ports[value.controller] - 1})",
                    "port",
                )
            )
        elif value.port in used[value.controller]:
            problems.append(
                _Problem(
                    address.element,
                    f"virtio serial port {value.port} on controller {value.controller} is "
                    "already occupied",
                    "port",
                )
            )
        else:
            used[value.controller].add(value.port)
    for tag in ("console", "channel"):
        for element in facts.device_elements(tag):
            if not _is_virtio_chr(element):
                continue
            address = facts.address_of(element)
            value = None if address is None else address.value
            if isinstance(value, VirtioSerialAddress) and value.port != 0:
                continue
            if isinstance(value, VirtioSerialAddress):
                taken = used.get(value.controller)
                if taken is None:
                    continue  # libvirt adds the controller the address names
                free = [p for p in range(1, ports[value.controller]) if p not in taken]
                if not free:
                    assert address is not None
                    problems.append(
                        _Problem(
                            address.element,
                            "Unable to find a free port on virtio-serial controller "
                            f"{value.controller}",
                            "controller",
                        )
                    )
                    continue
                taken.add(free[0])
            else:
                first = 0 if tag == "console" else 1
                for index in sorted(used):
                    free = [p for p in range(first, ports[index]) if p not in used[index]]
                    if free:
                        used[index].add(free[0])
                        break
                # else libvirt adds another controller
    return problems


@rule(
    code="DX685",
    name="virtio-serial-address-invalid",
    severity="error",
    summary="A virtio-serial port that its controller lacks or another device has",
    triggers=("channel", "console"),
    domains=QEMU,
    libvirt=("virDomainVirtioSerialAddrReserve", "virDomainVirtioSerialAddrNextFromController"),
)
def virtio_serial_address_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Replays how libvirt reserves virtio-serial ports (guest agent channels,
    virtio consoles): a written `<address type='virtio-serial' controller=...
    port=...>` must name an existing controller and one of its ports (0 to
    `ports`-1; 31 ports by default), and no two devices may share a port. A
    device that names only its controller needs a free port on it.

    ## Why is this bad?
    libvirt refuses the definition: "virtio serial port 1 on controller 0 is
    already occupied", "virtio serial controller 0 does not have port 4",
    "virtio serial controller 1 is missing", "Unable to find a free port on
    virtio-serial controller 0".

    ## Example
    ```xml
    <controller type='virtio-serial' index='0' ports='2'/>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
      <address type='virtio-serial' controller='0' bus='0' port='2'/>
    </channel>
    ```

    ## Use instead
    ```xml
    <address type='virtio-serial' controller='0' bus='0' port='1'/>
    ```

    ## Fix safety
    No fix: a port is guest-visible.

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainVirtioSerialAddrReserve`,
    `virDomainVirtioSerialAddrNextFromController`), src/qemu/qemu_domain_address.c
    (`qemuDomainAssignVirtioSerialAddresses`).
    """
    for problem in virtio_serial_problems(ctx.facts):
        yield ctx.finding(problem.element, problem.message, attribute=problem.attribute)


@rule(
    code="DX686",
    name="ccw-address-machine",
    severity="error",
    summary="A CCW address on a machine other than s390-ccw-virtio",
    triggers=("address",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefAddress",),
)
def ccw_address_machine(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<address type='ccw'>` on machines other than `s390-ccw-virtio`.
    (A partial CCW address, or one out of range, the schema already refuses:
    `schema-invalid` reports it.)

    ## Why is this bad?
    CCW (channel I/O) is the s390 bus; other machines have none. libvirt
    refuses the definition: "CCW addresses are not supported by machine type
    'virt'".

    ## Example
    ```xml
    <os><type arch='aarch64' machine='virt'>hvm</type></os>
    <address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>
    ```

    ## Use instead
    Leave the address out (libvirt gives virtio devices PCI addresses), or
    give a PCI one.

    ## Fix safety
    No fix.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefAddress`,
    `qemuDomainIsS390CCW`).
    """
    facts = ctx.facts
    if not facts.machine_known or facts.is_s390_ccw:
        return
    for address in facts.device_addresses:
        if address.type == "ccw":
            yield ctx.finding(
                address.element,
                f"CCW addresses are not supported by machine type '{facts.machine}'",
                attribute="type",
            )


@rule(
    code="DX687",
    name="ccw-address-duplicate",
    severity="error",
    summary="Two devices with the same CCW device number",
    triggers=("address",),
    domains=QEMU,
    libvirt=("virDomainCCWAddressAssign",),
)
def ccw_address_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    On s390-ccw machines, finds devices whose full CCW address
    (cssid.ssid.devno) another device already has.

    ## Why is this bad?
    A device number identifies one subchannel. libvirt refuses the
    definition: "The CCW devno 'fe.0.0001' is in use already".

    ## Example
    ```xml
    <address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>
    <!-- and on another device -->
    <address type='ccw' cssid='0xfe' ssid='0x0' devno='0x0001'/>
    ```

    ## Use instead
    Give each device its own `devno`, or leave the address out.

    ## Fix safety
    No fix: the device number is guest-visible.

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainCCWAddressAssign`,
    `virDomainCCWAddressSetCreateFromDomain`).
    """
    facts = ctx.facts
    if not facts.is_s390_ccw:
        return
    seen: dict[str, DeviceAddress] = {}
    for address in facts.in_device_order(facts.device_addresses):
        value = address.value
        if not isinstance(value, CcwAddress) or not value.in_range:
            continue
        key = str(value)
        first = seen.get(key)
        if first is None:
            seen[key] = address
            continue
        yield ctx.finding(
            address.element,
            f"The CCW devno '{key}' is in use already (by {a_device(first.device.tag)} earlier "
            "in the XML)",
        )


#: The spapr-vio reg libvirt starts from per device kind (QEMU's own defaults).
VIO_NET, VIO_SCSI, VIO_SERIAL, VIO_NVRAM, VIO_TPM = 0x1000, 0x2000, 0x30000000, 0x3000, 0x4000


def _reg_text(reg: int) -> str:
    """C's ``%#llx``: ``0x4000``, and plain ``0`` for zero."""
    return f"{reg:#x}" if reg else "0"


def _spapr_candidates(facts) -> list[tuple[Element, int]]:
    """Devices ``qemuDomainAssignSpaprVIOAddresses`` places on spapr-vio, in its order.

    Some are placed there whatever their address says: spapr-vlan NICs, ibmvscsi SCSI
    controllers, spapr-vio serial ports, and on pSeries the NVRAM and TPM devices.
    """
    pseries = facts.is_pseries
    found: list[tuple[Element, int]] = []

    def on_vio(element) -> bool:
        address = facts.address_of(element)
        return address is not None and address.type == "spapr-vio"

    for iface in facts.interfaces:
        if iface.model == "spapr-vlan" or on_vio(iface.element):
            found.append((iface.element, VIO_NET))
    for controller in facts.controllers:
        ibmvscsi = controller.type == "scsi" and (
            controller.model == "ibmvscsi" or (controller.model is None and pseries)
        )
        if ibmvscsi or on_vio(controller.element):
            found.append((controller.element, VIO_SCSI))
    for serial in facts.device_elements("serial"):
        target = child(serial, "target")
        kind = None if target is None else target.get("type")
        spapr = kind == "spapr-vio-serial" or (pseries and kind in (None, "isa-serial"))
        if spapr or on_vio(serial):
            found.append((serial, VIO_SERIAL))
    for nvram in facts.device_elements("nvram"):
        if pseries or on_vio(nvram):
            found.append((nvram, VIO_NVRAM))
    for tpm in facts.device_elements("tpm"):
        if (pseries and tpm.get("model") != "spapr-tpm-proxy") or on_vio(tpm):
            found.append((tpm, VIO_TPM))
    return found


@rule(
    code="DX688",
    name="spapr-vio-address-conflict",
    severity="error",
    summary="A spapr-vio reg another device already uses",
    triggers=("address", "serial", "interface", "controller", "nvram", "tpm"),
    domains=QEMU,
    libvirt=("qemuDomainAssignSpaprVIOAddress",),
)
def spapr_vio_address_conflict(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Replays how libvirt gives pSeries spapr-vio devices their `reg`: NICs,
    then controllers, serial ports, NVRAM and TPM, each kind from QEMU's
    default (0x1000 for NICs, 0x2000 for SCSI, 0x30000000 for serial ports,
    0x3000 for NVRAM, 0x4000 for TPM) upwards in 0x1000 steps past the regs
    in use. A `reg` written in the XML must not be one another device has.
    (A reg above 32 bits the schema already refuses.)

    ## Why is this bad?
    The reg is the device's address on the VIO bus. libvirt refuses the
    definition: "spapr-vio address 0x4000 already in use".

    ## Example
    ```xml
    <serial type='pty'>
      <address type='spapr-vio' reg='0x4000'/>
    </serial>
    <controller type='scsi' index='0'>
      <address type='spapr-vio' reg='0x4000'/>
    </controller>
    ```

    ## Use instead
    Different regs, or leave them out and libvirt picks free ones.

    ## Fix safety
    No fix.

    ## Source
    libvirt src/qemu/qemu_domain_address.c (`qemuDomainAssignSpaprVIOAddresses`,
    `qemuDomainAssignSpaprVIOAddress`).
    """
    facts = ctx.facts
    regs: dict[Element, int] = {}
    for address in facts.device_addresses:
        value = address.value
        if isinstance(value, SpaprVioAddress) and value.reg is not None:
            regs[address.device] = value.reg
    reported: set[int] = set()
    for device, default in _spapr_candidates(facts):
        own = regs.get(device)
        others = {r for d, r in regs.items() if d is not device}
        if own is not None:
            if own in others and own not in reported:
                reported.add(own)  # libvirt stops at the first device of the clash
                written = facts.address_of(device)
                assert written is not None
                yield ctx.finding(
                    written.element,
                    f"spapr-vio address {_reg_text(own)} already in use",
                    attribute="reg",
                )
            continue
        reg = default
        while reg in others:
            reg += 0x1000
        regs[device] = reg


def zpci_devices(facts) -> list[DeviceAddress]:
    """PCI addresses with a ``<zpci>`` uid or fid, in libvirt's device order."""
    return [
        a
        for a in facts.in_device_order(facts.device_addresses)
        if a.zpci is not None and (a.zpci.uid is not None or a.zpci.fid is not None)
    ]


#: zPCI id ranges (``VIR_DOMAIN_DEVICE_ZPCI_MAX_UID``, ``_MAX_FID``).
MAX_ZPCI_UID, MAX_ZPCI_FID = 0xFFFF, 0xFFFFFFFF


@rule(
    code="DX689",
    name="zpci-address-invalid",
    severity="error",
    summary="A zPCI uid of 0, or zPCI off s390",
    triggers=("zpci",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefZPCIAddress",),
)
def zpci_address_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<zpci uid=... fid=...>` inside PCI addresses: the uid must not be
    0, and zPCI exists only on s390 (the `zpci` device is built into
    qemu-system-s390x alone). (A uid above 0xffff the schema already
    refuses.)

    ## Why is this bad?
    libvirt refuses the definition: "Invalid PCI address uid='0x0000', must be
    > 0x0000 and <= 0xffff", and off s390 "This QEMU binary doesn't support
    zPCI".

    ## Example
    ```xml
    <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x0'>
      <zpci uid='0x0000' fid='0x00000001'/>
    </address>
    ```

    ## Use instead
    ```xml
    <zpci uid='0x0001' fid='0x00000001'/>
    ```

    ## Fix safety
    No fix.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefZPCIAddress`);
    formatdomain "Device Addresses" (`zpci`).
    """
    facts = ctx.facts
    for address in zpci_devices(facts):
        zpci = address.zpci
        assert zpci is not None
        if facts.arch not in S390:
            yield ctx.finding(
                zpci.element,
                f"This QEMU binary doesn't support zPCI: zPCI is for s390 guests, not "
                f"'{facts.arch}'",
            )
            continue
        if zpci.uid == 0:  # (the schema refuses uids above 0xffff)
            yield ctx.finding(
                zpci.element,
                f"Invalid PCI address uid='0x{zpci.uid:04x}', must be > 0x0000 and <= 0xffff",
                attribute="uid",
            )


@rule(
    code="DX690",
    name="zpci-address-duplicate",
    severity="error",
    summary="Two devices with the same zPCI uid or fid",
    triggers=("zpci",),
    domains=QEMU.on("s390", "s390x"),
    libvirt=("virDomainZPCIAddressReserveId", "virDomainZPCIAddressAssignId"),
)
def zpci_address_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Replays how libvirt reserves zPCI ids on s390: for each device with a
    `<zpci>` (in libvirt's device order), a missing uid takes the lowest free
    one from 1 and a missing fid the lowest free one from 0; then both are
    reserved. A uid or fid already reserved is refused.

    ## Why is this bad?
    The uid and fid identify the PCI function to the s390 guest. libvirt
    refuses the definition: "zPCI uid 11064 is already reserved" (libvirt
    prints the id in octal: 11064 is 0x1234).

    ## Example
    ```xml
    <zpci uid='0x1234' fid='0x00001234'/>
    <!-- and on another device -->
    <zpci uid='0x1234' fid='0x00001235'/>
    ```

    ## Use instead
    Give each device its own uid and fid, or leave them out.

    ## Fix safety
    No fix.

    ## Source
    libvirt src/conf/domain_addr.c (`virDomainZPCIAddressEnsureAddr`,
    `virDomainZPCIAddressReserveId`, `virDomainZPCIAddressAssignId`).
    """
    uids: set[int] = set()
    fids: set[int] = set()
    for address in zpci_devices(ctx.facts):
        zpci = address.zpci
        assert zpci is not None
        uid, fid = zpci.uid, zpci.fid
        if uid is None:
            uid = next((u for u in range(1, MAX_ZPCI_UID + 1) if u not in uids), None)
        if fid is None:
            fid = next((f for f in range(0, len(fids) + 1) if f not in fids), None)
        if uid is None:
            yield ctx.finding(zpci.element, "There is no more free uid.")
            continue
        if uid in uids:
            yield ctx.finding(
                zpci.element,
                f"zPCI uid {uid:o} is already reserved (uid 0x{uid:04x}; libvirt prints it in "
                "octal)",
                attribute="uid" if zpci.uid is not None else None,
            )
            continue
        uids.add(uid)
        if fid is not None and fid in fids:
            yield ctx.finding(
                zpci.element,
                f"zPCI fid {fid:o} is already reserved (fid 0x{fid:08x}; libvirt prints it in "
                "octal)",
                attribute="fid" if zpci.fid is not None else None,
            )
            continue
        if fid is not None:
            fids.add(fid)
