"""DX647, DX649, DX651, DX652, DX657, DX659: boot devices, boot order and the ``<os>`` options."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...facts import DomainFacts, child
from ...facts.values import signed_int
from ...findings import Finding
from ...rule import QEMU, X86, RuleContext, rule
from ...units import parse_uint

#: What ``virDomainDeviceLoadparmIsValid`` accepts once the value is upper-cased.
LOADPARM_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789. ")
LOADPARM_MAX = 8
Element = etree._Element
BOOT_MENU_TIMEOUT_MAX = 65535
REBOOT_TIMEOUT_RANGE = (-1, 65535)


@rule(
    code="DX647",
    name="boot-loadparm-invalid",
    severity="error",
    summary="A <boot loadparm> that is empty, longer than 8 characters or has other characters",
    triggers=("boot",),
    domains=QEMU,
    libvirt=("virDomainDeviceLoadparmIsValid",),
)
def boot_loadparm_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `loadparm` of a device's `<boot>` (the s390 boot menu entry
    or kernel selector): libvirt upper-cases it, then wants 1 to 8
    characters, each a letter, a digit, `.` or a space.

    ## Why is this bad?
    libvirt's parser refuses the definition: "loadparm value '%s' must be
    between 1 and 8 characters", "invalid loadparm value '%s', expecting
    chars in set of [a-zA-Z0-9.] and blank spaces" (both with the value
    upper-cased). The schema rule (DX002) reports the same value with the
    schema's pattern when libvirt's schema is installed; this rule gives
    libvirt's own words, which `virsh define` prints.

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <source file='/var/lib/libvirt/images/s390.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <boot order='1' loadparm='system_1'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <boot order='1' loadparm='SYSTEM1'/>
    ```

    ## Fix safety
    No fix: only the author knows which boot entry was meant.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDeviceBootParseXML`,
    `virDomainDeviceLoadparmIsValid`); formatdomain "Hard drives, floppy
    disks, CDROMs" (`boot` `loadparm`).
    """
    for boot in ctx.facts.device_boots:
        value = boot.loadparm
        if value is None:
            continue
        upper = "".join(c.upper() if "a" <= c <= "z" else c for c in value)
        if not 1 <= len(upper.encode()) <= LOADPARM_MAX:
            message = f"loadparm value '{upper}' must be between 1 and {LOADPARM_MAX} characters"
        elif not set(upper) <= LOADPARM_CHARS:
            message = (
                f"invalid loadparm value '{upper}', expecting chars in set of [a-zA-Z0-9.] "
                "and blank spaces"
            )
        else:
            continue
        yield ctx.finding(boot.element, message, attribute="loadparm")


@rule(
    code="DX649",
    name="boot-order-invalid",
    severity="error",
    summary="Two devices with the same <boot order>, or per-device boot order beside <os><boot>",
    triggers=("boot",),
    domains=QEMU,
    libvirt=("virDomainDefBootOrderPostParse", "virDomainDefCollectBootOrder"),
)
def boot_order_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Collects the `<boot order='N'/>` of every disk, interface, host device,
    redirected USB device and filesystem: no two may share an order, and
    none may be given when `<os>` lists `<boot dev=.../>` elements.

    ## Why is this bad?
    libvirt refuses the definition: "boot order '%s' used for more than one
    device", and "per-device boot elements cannot be used together with
    os/boot elements" (the two ways of choosing the boot device exclude each
    other; both refusals proven on libvirt 9.0's QEMU driver).

    ## Example
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <boot dev='hd'/>
    </os>
    ...
    <disk type='file' device='disk'>
      ...
      <boot order='1'/>
    </disk>
    ```

    ## Use instead
    Either `<os><boot dev=.../>` elements or per-device `<boot order>`, with
    each order used once:
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    </os>
    ```

    ## Fix safety
    No fix: which of the two boot orders the author wants is not knowable.

    ## Source
    libvirt src/conf/domain_postparse.c (`virDomainDefCollectBootOrder`,
    `virDomainDefBootOrderPostParse`); formatdomain "BIOS bootloader"
    (`boot`) and "Hard drives, floppy disks, CDROMs" (`boot order`).
    """
    facts = ctx.facts
    first_with_order: dict[int, Element] = {}
    for boot in facts.device_boots:
        if not boot.order:
            continue
        first = first_with_order.setdefault(boot.order, boot.device)
        if first is not boot.device:
            yield ctx.finding(
                boot.element,
                f"boot order '{boot.order}' used for more than one device "
                f"({_device_name(first)} and {_device_name(boot.device)})",
                attribute="order",
            )
    if first_with_order and facts.boot_devices:
        yield ctx.finding(
            facts.boot_devices[0],
            "per-device boot elements cannot be used together with os/boot elements",
        )


def _device_name(device: Element) -> str:
    """A device as a reader finds it: ``disk 'vda'``, ``interface 52:54:00:..``, ``hostdev``."""
    target = child(device, "target")
    if device.tag == "disk" and target is not None and target.get("dev"):
        return f"disk '{target.get('dev')}'"
    if device.tag == "filesystem" and target is not None and target.get("dir"):
        return f"filesystem '{target.get('dir')}'"
    mac = child(device, "mac")
    if device.tag == "interface" and mac is not None and mac.get("address"):
        return f"interface {mac.get('address')}"
    return f"<{device.tag}> on line {device.sourceline}"


@rule(
    code="DX651",
    name="boot-timeout-invalid",
    severity="error",
    summary="A boot menu timeout above 65535 or a BIOS rebootTimeout outside -1..65535",
    triggers=("bootmenu", "bios"),
    domains=QEMU,
    libvirt=("virDomainDefBootValidate",),
)
def boot_timeout_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<os><bootmenu enable='yes' timeout='N'/>` (libvirt reads the
    timeout only when the menu is enabled) and `<os><bios rebootTimeout='N'/>`
    (milliseconds before the BIOS retries a failed boot; -1 disables it).

    ## Why is this bad?
    libvirt refuses the definition: "invalid value for boot menu timeout,
    must be in range [0,65535]", "invalid value for rebootTimeout, must be in
    range [-1,65535]". QEMU takes both as 16-bit values.

    ## Example
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <bootmenu enable='yes' timeout='90000'/>
    </os>
    ```

    ## Use instead
    ```xml
    <bootmenu enable='yes' timeout='5000'/>
    ```

    ## Fix safety
    No fix: the intended wait is the author's choice.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefBootValidate`);
    formatdomain "BIOS bootloader" (`bootmenu`, `bios`).
    """
    facts = ctx.facts
    menu = facts.bootmenu
    if menu is not None and menu.get("enable") == "yes":
        timeout = parse_uint(menu.get("timeout"))
        if timeout is not None and timeout > BOOT_MENU_TIMEOUT_MAX:
            yield ctx.finding(
                menu,
                "invalid value for boot menu timeout, must be in range [0,65535]",
                attribute="timeout",
            )
    bios = facts.bios
    if bios is not None:
        delay = signed_int(bios.get("rebootTimeout"))
        low, high = REBOOT_TIMEOUT_RANGE
        if delay is not None and not low <= delay <= high:
            yield ctx.finding(
                bios,
                "invalid value for rebootTimeout, must be in range [-1,65535]",
                attribute="rebootTimeout",
            )


@rule(
    code="DX652",
    name="acpi-table-duplicate",
    severity="error",
    summary="More than one <os><acpi><table>",
    triggers=("table",),
    domains=QEMU,
    libvirt=("virDomainDefParseBootAcpiOptions",),
)
def acpi_table_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Counts the ACPI tables `<os><acpi>` passes to the guest (the `slic`
    table Windows licensing reads).

    ## Why is this bad?
    libvirt's parser refuses a second one: "Only one acpi table is
    supported".

    ## Example
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <acpi>
        <table type='slic'>/var/lib/libvirt/acpi/slic.dat</table>
        <table type='slic'>/var/lib/libvirt/acpi/slic-new.dat</table>
      </acpi>
    </os>
    ```

    ## Use instead
    ```xml
    <acpi>
      <table type='slic'>/var/lib/libvirt/acpi/slic.dat</table>
    </acpi>
    ```

    ## Fix safety
    No fix: which table the guest should get is the author's choice.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefParseBootAcpiOptions`);
    formatdomain "BIOS bootloader" (`acpi`).
    """
    for table in ctx.facts.acpi_tables[1:]:
        yield ctx.finding(table, "Only one acpi table is supported")


@rule(
    code="DX657",
    name="bootloader-unsupported",
    severity="error",
    summary="A <bootloader> or <bootloader_args> (Xen only) in a QEMU/KVM domain",
    fix="safe",
    triggers=("bootloader", "bootloader_args"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefBoot",),
)
def bootloader_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<bootloader>` and `<bootloader_args>` with a value in a domain of
    type kvm, qemu or hvf. They name a host-side boot loader such as
    `pygrub`, which only Xen paravirtualized guests use.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "bootloader is not
    supported by QEMU". QEMU boots through the guest's firmware, or
    `<kernel>`/`<initrd>` for a direct kernel boot.

    ## Example
    ```xml
    <bootloader>/usr/bin/pygrub</bootloader>
    ```

    ## Use instead
    Nothing: QEMU boots from the firmware and `<os><boot>` or the devices'
    `<boot order>`.

    ## Fix safety
    Safe: the fix removes the elements, which QEMU has no use for; the
    definition is refused as written.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefBoot`);
    formatdomain "Host bootloader".
    """
    root = ctx.facts.root
    # libvirt reads string(./bootloader): the first element's text, when not empty
    firsts = [next(root.iterchildren(tag), None) for tag in ("bootloader", "bootloader_args")]
    used = [el for el in firsts if el is not None and any(el.itertext())]
    if not used:
        return
    removals = [
        ctx.edit.remove_element(element)
        for tag in ("bootloader", "bootloader_args")
        for element in root.iterchildren(tag)
    ]
    fix = ctx.safe_fix("Remove <bootloader> and <bootloader_args>", *removals)
    yield ctx.finding(used[0], "bootloader is not supported by QEMU", fix=fix)


@rule(
    code="DX659",
    name="bios-serial-invalid",
    severity="error",
    summary="<bios useserial='yes'> on a guest that is not x86, or without a serial port",
    triggers=("bios",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDef",),
)
def bios_serial_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<os><bios useserial='yes'/>` (SeaBIOS shows its output on the
    first serial port): the guest must be x86 and have a serial port. A
    `<console>` whose target is a serial port (or has no target type) counts,
    as libvirt turns it into the first `<serial>`.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "BIOS serial console only
    supported on x86 architectures" (on other architectures QEMU's switch
    changes which devices the machine gets), "need at least one serial port to
    use BIOS serial output".

    ## Example
    ```xml
    <os>
      <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
      <bios useserial='yes'/>
    </os>
    <devices>
      <graphics type='vnc'/>
    </devices>
    ```

    ## Use instead
    ```xml
    <devices>
      <serial type='pty'/>
      <graphics type='vnc'/>
    </devices>
    ```

    ## Fix safety
    No fix: a serial port is guest-visible hardware, and its backend is the
    author's choice.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`),
    src/conf/domain_conf.c (`virDomainDefAddConsoleCompat`); formatdomain
    "BIOS bootloader" (`bios useserial`).
    """
    facts = ctx.facts
    bios = facts.bios
    if bios is None or bios.get("useserial") != "yes" or facts.arch is None:
        return
    if facts.arch not in X86:
        yield ctx.finding(
            bios,
            f"BIOS serial console only supported on x86 architectures, not '{facts.arch}'",
            attribute="useserial",
        )
        return
    if facts.device_elements("serial") or _console_is_serial(facts):
        return
    yield ctx.finding(
        bios,
        "need at least one serial port to use BIOS serial output",
        attribute="useserial",
    )


def _console_is_serial(facts: DomainFacts) -> bool:
    """Whether libvirt turns the first ``<console>`` into a serial port
    (``virDomainDefAddConsoleCompat``)."""
    consoles = facts.device_elements("console")
    if not consoles:
        return False
    target = child(consoles[0], "target")
    return target is None or target.get("type") in (None, "serial")
