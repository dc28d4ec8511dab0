"""DX921-DX925: character device targets (type, model, port, address) libvirt or QEMU refuse."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from ...facts.peripherals import SERIAL_MODEL_TARGET_TYPE, SERIAL_TARGET_ADDRESS, Chardev
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: ``VIR_MAX_ISA_SERIAL_PORTS``.
MAX_ISA_SERIAL_PORTS = 4
#: Console target types QEMU can build (``qemuValidateDomainDefConsole``).
QEMU_CONSOLE_TARGETS = frozenset({"serial", "virtio", "sclp", "sclplm"})


def _target_or_device(chardev: Chardev):
    return chardev.target if chardev.target is not None else chardev.element


@rule(
    code="DX921",
    name="serial-target-address-mismatch",
    severity="error",
    summary="A serial or parallel device whose address type does not fit its target type or model",
    triggers=("serial", "parallel"),
    domains=QEMU,
    libvirt=(
        "qemuValidateDomainChrTargetDef",
        "virDomainChrDefParseXML",
        "qemuBuildVirtioSerialPortDevProps",
    ),
)
def serial_target_address_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each `<serial>` as libvirt's QEMU driver sees it (a missing or
    `isa-serial` target type becomes the machine's default: `isa-serial` on
    x86, `spapr-vio-serial` on pSeries, `system-serial` on ARM, RISC-V and
    LoongArch `virt`, `sclp-serial` on s390; a missing model follows the type):

    - an `<address>` must be of the type the target type needs (`isa` for
      `isa-serial` and `isa-debug`, `usb` for `usb-serial`, `pci` for
      `pci-serial`, `spapr-vio` for `spapr-vio-serial`), and `system-serial`
      and `sclp-serial` take none;
    - the target `<model name>` must belong to the target type (`pl011` and
      `16550a` to `system-serial`, `spapr-vty` to `spapr-vio-serial` ...);
    - neither a serial nor a parallel port can sit on a virtio-serial address.

    ## Why is this bad?
    libvirt refuses the definition: "Target type 'pci-serial' requires address
    type 'pci'", "Target type 'system-serial' cannot have an associated
    address", "Target model 'pl011' requires target type 'system-serial'",
    "usb-serial requires address of usb type"; or the start: "Cannot use
    virtio serial for parallel/serial devices".

    ## Example
    ```xml
    <serial type='pty'>
      <target type='pci-serial'/>
      <address type='usb' bus='0' port='1'/>
    </serial>
    ```

    ## Use instead
    ```xml
    <serial type='pty'>
      <target type='usb-serial'/>
      <address type='usb' bus='0' port='1'/>
    </serial>
    ```

    ## Fix safety
    No fix: the serial port's bus is guest-visible hardware.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainChrTargetDef`),
    src/conf/domain_conf.c (`virDomainChrDefParseXML`), src/qemu/qemu_domain.c
    (`qemuDomainChrDefPostParse`: the defaults), src/qemu/qemu_command.c
    (`qemuBuildVirtioSerialPortDevProps`).
    """
    facts = ctx.facts
    for chardev in facts.chardevs:
        if chardev.device == "parallel":
            if chardev.address is not None and chardev.address_type == "virtio-serial":
                yield ctx.finding(
                    chardev.address, "Cannot use virtio serial for parallel/serial devices"
                )
            continue
        if chardev.device != "serial":
            continue
        yield from _serial_target_findings(ctx, chardev)


def _serial_target_findings(ctx: RuleContext, chardev: Chardev) -> Iterator[Finding]:
    address, address_type = chardev.address, chardev.address_type
    target_type, model = chardev.target_type, chardev.target_model
    if address is None:
        address_type = None
    where = address if address is not None else chardev.element
    if chardev.written_target_type == "usb-serial" and address_type not in (None, "usb"):
        yield ctx.finding(where, "usb-serial requires address of usb type", attribute="type")
        return
    if target_type in SERIAL_TARGET_ADDRESS:
        expected = SERIAL_TARGET_ADDRESS[target_type]
        if expected is None and address is not None:
            yield ctx.finding(
                where, f"Target type '{target_type}' cannot have an associated address"
            )
            return
        if expected is not None and address_type is not None and address_type != expected:
            yield ctx.finding(
                where,
                f"Target type '{target_type}' requires address type '{expected}'",
                attribute="type",
            )
            return
    required = SERIAL_MODEL_TARGET_TYPE.get(model or "")
    if required is not None and required != target_type:
        default = "" if chardev.written_target_type else f" (the default here: '{target_type}')"
        yield ctx.finding(
            _target_or_device(chardev),
            f"Target model '{model}' requires target type '{required}'{default}",
        )
        return
    if address_type == "virtio-serial":
        yield ctx.finding(where, "Cannot use virtio serial for parallel/serial devices")


def _serial_compatible(facts, chardev: Chardev) -> bool:
    """``qemuValidateDomainChrDef``'s machine check for one serial."""
    target_type, model = chardev.target_type, chardev.target_model
    if target_type == "system-serial":
        if model == "pl011" and not facts.is_arm_virt:
            return False
        if model == "16550a" and not (facts.is_riscv_virt or facts.is_loongarch_virt):
            return False
    if not facts.is_pseries and (target_type == "spapr-vio-serial" or model == "spapr-vty"):
        return False
    sclp_model = model in ("sclpconsole", "sclplmconsole")
    return facts.is_s390 or not (target_type == "sclp-serial" or sclp_model)


@rule(
    code="DX922",
    name="serial-target-incompatible-machine",
    severity="error",
    summary="A serial or parallel port the guest's architecture or machine type cannot have",
    triggers=("serial", "parallel"),
    domains=QEMU,
    libvirt=("qemuValidateDomainChrDef", "virDomainChrDefPostParse"),
)
def serial_target_incompatible_machine(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks serial ports against the machine: `pl011` needs an ARM `virt`
    machine, `16550a` a RISC-V or LoongArch `virt` one, `spapr-vio-serial` /
    `spapr-vty` a pSeries one, `sclp-serial` and the SCLP consoles s390, and
    `isa-debug` an x86 guest. Parallel ports do not exist on s390 and pSeries.
    A non-x86 guest whose machine type is not written is skipped (libvirt
    picks the machine later).

    ## Why is this bad?
    libvirt refuses the definition: "Serial device with target type
    'spapr-vio-serial' and target model 'spapr-vty' not compatible with guest
    architecture or machine type", "isa-debug serial type only valid on x86
    architecture", "parallel ports are not supported".

    ## Example
    ```xml
    <os><type arch='x86_64' machine='pc-q35-9.1'>hvm</type></os>
    <serial type='pty'>
      <target type='spapr-vio-serial'/>
    </serial>
    ```

    ## Use instead
    ```xml
    <os><type arch='x86_64' machine='pc-q35-9.1'>hvm</type></os>
    <serial type='pty'>
      <target type='isa-serial'/>
    </serial>
    ```

    ## Fix safety
    No fix: the serial device is guest-visible hardware.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainChrDef`),
    src/conf/domain_postparse.c (`virDomainChrDefPostParse`).
    """
    facts = ctx.facts
    machine_known = bool(facts.machine) or facts.is_x86
    for chardev in facts.chardevs:
        if chardev.device == "parallel":
            if facts.is_s390 or facts.is_pseries:
                yield ctx.finding(chardev.element, "parallel ports are not supported")
            continue
        if chardev.device != "serial":
            continue
        if chardev.target_type == "isa-debug" and not facts.is_x86:
            yield ctx.finding(
                _target_or_device(chardev), "isa-debug serial type only valid on x86 architecture"
            )
        elif machine_known and not _serial_compatible(facts, chardev):
            yield ctx.finding(
                _target_or_device(chardev),
                f"Serial device with target type '{chardev.target_type or 'none'}' and target "
                f"model '{chardev.target_model or 'none'}' not compatible with guest "
                "architecture or machine type",
            )


@rule(
    code="DX923",
    name="isa-serial-port-invalid",
    severity="error",
    summary="More than four ISA serial ports, an ISA serial target port above 3, or a port twice",
    triggers=("serial",),
    libvirt=("virDomainChrIsaSerialDefPostParse",),
)
def isa_serial_port_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the serial ports written with `<target type='isa-serial'>`: there
    can be at most four, their `<target port>` must be 0 to 3, and no port may
    be given twice.

    ## Why is this bad?
    A PC has four ISA serial ports (COM1-COM4). libvirt refuses the
    definition: "Maximum supported number of ISA serial ports is '4'", or
    "target port '1' already allocated".

    ## Example
    ```xml
    <serial type='pty'><target type='isa-serial' port='1'/></serial>
    <serial type='pty'><target type='isa-serial' port='1'/></serial>
    ```

    ## Use instead
    ```xml
    <serial type='pty'><target type='isa-serial' port='0'/></serial>
    <serial type='pty'><target type='isa-serial' port='1'/></serial>
    ```

    ## Fix safety
    No fix: the port number is what the guest sees as COM1-COM4.

    ## Source
    libvirt src/conf/domain_postparse.c (`virDomainChrIsaSerialDefPostParse`,
    which runs on the target types as written, before the QEMU driver's
    defaults).
    """
    used: set[int] = set()
    count = 0
    for chardev in ctx.facts.chardevs_of("serial"):
        if chardev.written_target_type != "isa-serial":
            continue
        count += 1
        port = chardev.target_port
        where = _target_or_device(chardev)
        if count > MAX_ISA_SERIAL_PORTS or (port is not None and port >= MAX_ISA_SERIAL_PORTS):
            yield ctx.finding(
                where,
                f"Maximum supported number of ISA serial ports is '{MAX_ISA_SERIAL_PORTS}'",
            )
            return
        if port is not None and port >= 0:
            if port in used:
                yield ctx.finding(
                    where, f"target port '{port}' already allocated", attribute="port"
                )
                return
            used.add(port)


@rule(
    code="DX924",
    name="console-target-invalid",
    severity="error",
    summary="A console target type QEMU cannot build, or a serial console that is not the first",
    triggers=("console",),
    domains=QEMU,
    libvirt=("virDomainDefAddConsoleCompat", "qemuValidateDomainDefConsole"),
)
def console_target_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<console>` targets: only the first console may be of target type
    `serial` (the default when no type is written), and QEMU guests only take
    `serial`, `virtio`, `sclp` and `sclplm` consoles.

    ## Why is this bad?
    The first console is an alias of the first serial port; the others need
    their own device. libvirt refuses the definition: "Only the first console
    can be a serial port", or "unsupported console target type xen".

    ## Example
    ```xml
    <console type='pty'><target type='serial'/></console>
    <console type='pty'/>
    ```

    ## Use instead
    ```xml
    <console type='pty'><target type='serial'/></console>
    <console type='pty'><target type='virtio'/></console>
    ```

    ## Fix safety
    No fix: the console device is guest-visible.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefAddConsoleCompat`),
    src/conf/domain_postparse.c (`virDomainChrDefPostParse`: the serial
    default), src/qemu/qemu_validate.c (`qemuValidateDomainDefConsole`).
    """
    facts = ctx.facts
    hvm = facts.os_type is not None and (facts.os_type.text or "").strip() == "hvm"
    for index, chardev in enumerate(facts.chardevs_of("console")):
        where = _target_or_device(chardev)
        if hvm and index > 0 and chardev.target_type == "serial":
            yield ctx.finding(where, "Only the first console can be a serial port")
        elif chardev.target_type not in QEMU_CONSOLE_TARGETS:
            yield ctx.finding(
                where, f"unsupported console target type {chardev.target_type}", attribute="type"
            )


@rule(
    code="DX925",
    name="channel-target-invalid",
    severity="error",
    summary="A channel without a target type, or a guestfwd channel without an IPv4 address",
    triggers=("channel",),
    libvirt=("virDomainChrDefaultTargetType", "virDomainChrDefParseTargetXML"),
)
def channel_target_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<channel>` targets: each needs a `<target type>` (`virtio`, `xen`
    or `guestfwd`), and a `guestfwd` target an IPv4 `address`.

    ## Why is this bad?
    libvirt refuses the definition: "target type must be specified for
    channel device", "guestfwd channel does not define a target address",
    "guestfwd channel only supports IPv4 addresses".

    ## Example
    ```xml
    <channel type='pty'>
      <target type='guestfwd' address='fd00::2' port='4600'/>
    </channel>
    ```

    ## Use instead
    ```xml
    <channel type='pty'>
      <target type='guestfwd' address='10.0.2.1' port='4600'/>
    </channel>
    ```

    ## Fix safety
    No fix: the target is what the guest talks to.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainChrDefaultTargetType`,
    `virDomainChrDefParseTargetXML`).
    """
    for chardev in ctx.facts.chardevs_of("channel"):
        if chardev.written_target_type is None:
            yield ctx.finding(
                _target_or_device(chardev), "target type must be specified for channel device"
            )
            continue
        if chardev.written_target_type != "guestfwd":
            continue
        assert chardev.target is not None
        address = chardev.target.get("address")
        if address is None:
            yield ctx.finding(chardev.target, "guestfwd channel does not define a target address")
            continue
        try:
            parsed = ipaddress.ip_address(address.strip())
        except ValueError:
            continue  # libvirt reports an unparsable address with its own message
        if parsed.version != 4:
            yield ctx.finding(
                chardev.target,
                "guestfwd channel only supports IPv4 addresses",
                attribute="address",
            )
