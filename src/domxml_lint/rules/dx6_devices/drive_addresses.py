"""DX682-DX684: drive addresses of disks and SCSI host devices (written or derived)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.addresses import X86, DriveDevice, disk_name_index
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


def _where(drive: DriveDevice):
    """The ``<address>`` when written, else the device (its target name implied the address)."""
    return drive.written.element if drive.written is not None else drive.element


def _name(drive: DriveDevice) -> str:
    return f"disk '{drive.dev}'" if drive.dev else f"the <{drive.element.tag}>"


def _origin(drive: DriveDevice) -> str:
    if drive.written is not None:
        return "written"
    if drive.is_hostdev:
        return "given by libvirt"
    return f"derived from target name '{drive.dev}'"


@rule(
    code="DX682",
    name="drive-address-duplicate",
    severity="error",
    summary="Two disks (or SCSI host devices) at the same drive address",
    triggers=("disk", "hostdev"),
    domains=QEMU,
    libvirt=(
        "virDomainDefDuplicateDriveAddressesValidate",
        "virDomainDiskDefAssignAddress",
        "virDomainHostdevDefPostParse",
    ),
)
def drive_address_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks on one bus (IDE, SATA, SCSI, floppy) with the same drive
    address (controller, bus, target, unit), and SCSI host devices whose
    address a SCSI disk or another SCSI host device has. A disk without an
    `<address>` counts at the address its target name implies, as libvirt
    derives it: IDE `hdX` controller n/4, bus (n%4)/2, unit n%2; SATA `sdX`
    controller n/6, unit n%6; SCSI `sdX` controller n/7, unit n%7; floppy
    `fdX` controller n/2, unit n%2 (n is the letter index: a=0).

    ## Why is this bad?
    Two devices cannot share a bus position. libvirt refuses the definition:
    "Found duplicate drive address for disk with target name 'sda'
    controller='0' bus='0' target='0' unit='0'", "using disk target name 'sda'
    conflicts with SCSI host device address controller='0' bus='0' target='0'
    unit='0'", "SCSI host address controller='0' bus='0' target='0' unit='0'
    in use by a SCSI disk". (libvirt prints `bus` and `controller` swapped in
    its "in use by another SCSI host device" message; the finding quotes it
    as libvirt prints it.)

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <target dev='sda' bus='scsi'/>
    </disk>
    <disk type='file' device='disk'>
      <target dev='sdb' bus='scsi'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    ```

    ## Fix safety
    No fix: which disk moves is the author's call, and the guest sees it.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefDuplicateDriveAddressesValidate`),
    src/conf/domain_conf.c (`virDomainDiskDefAssignAddress`),
    src/conf/domain_postparse.c (`virDomainHostdevDefPostParse`).
    """
    drives = ctx.facts.drive_devices
    disks = [d for d in drives if not d.is_hostdev]
    hostdevs = [d for d in drives if d.is_hostdev]
    written_hostdevs = {d.address: d for d in hostdevs if d.written is not None}
    for disk in disks:
        if disk.written is None and disk.bus == "scsi" and disk.address in written_hostdevs:
            yield ctx.finding(
                disk.element,
                f"using disk target name '{disk.dev}' conflicts with SCSI host device address "
                f"{disk.address}",
            )
    seen: dict[tuple[str, object], DriveDevice] = {}
    for disk in disks:
        key = (disk.bus, disk.address)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = disk
            continue
        yield ctx.finding(
            _where(disk),
            f"Found duplicate drive address for disk with target name '{earlier.dev}' "
            f"{disk.address}: {_name(disk)} ({_origin(disk)}) and {_name(earlier)} "
            f"({_origin(earlier)}) share it",
        )
    scsi_disks = {d.address: d for d in disks if d.bus == "scsi"}
    taken: dict[object, DriveDevice] = {}
    for hostdev in hostdevs:
        if hostdev.written is None:
            continue  # libvirt gives it a free unit
        address = hostdev.address
        user = scsi_disks.get(address)
        if user is not None and user.written is None:
            continue  # reported at the disk, whose name libvirt turns into this address
        if user is not None:
            yield ctx.finding(
                hostdev.written.element,
                f"SCSI host address {address} in use by a SCSI disk ({_name(user)})",
            )
            continue
        if address in taken:
            swapped = (
                f"controller='{address.bus}' bus='{address.controller}' "
                f"target='{address.target}' unit='{address.unit}'"
            )
            yield ctx.finding(
                hostdev.written.element,
                f"SCSI host address {swapped} in use by another SCSI host device (libvirt "
                f"prints bus and controller swapped: this is {address})",
            )
            continue
        taken[address] = hostdev


def _scsi_model(facts, index: int) -> str | None:
    """The SCSI controller's model as libvirt sets it (lsilogic by default on x86)."""
    controller = facts.controller("scsi", index)
    if controller is None:
        return None
    if controller.model is not None:
        return controller.model
    return "lsilogic" if facts.arch in X86 else None


@rule(
    code="DX683",
    name="drive-address-invalid",
    severity="error",
    summary="A drive address its bus cannot have (a second IDE controller, a SCSI bus > 0 ...)",
    triggers=("disk", "hostdev"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefAddressDrive",),
)
def drive_address_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks drive addresses (written, or derived from the target name) per bus,
    as libvirt's QEMU driver does:
    - IDE: controller 0 and target 0 only (so `hde` and beyond, which fall on
      controller 1, are refused);
    - floppy: controller 0, bus 0, target 0 only;
    - SATA: bus 0 and target 0 only;
    - SCSI (disks and SCSI host devices): bus 0 only, and target 0 on an
      `lsilogic` controller (the default SCSI model on x86).

    ## Why is this bad?
    QEMU's IDE, floppy and SATA devices have no such positions, and a SCSI
    controller has one bus. libvirt refuses the definition: "Only 1 IDE
    controller is supported", "target must be 0 for ide controller", "Only 1
    fdc controller is supported", "bus must be 0 for sata controller", "SCSI
    controller only supports 1 bus", "target must be 0 for controller model
    'lsilogic'".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      <target dev='sda' bus='sata'/>
      <address type='drive' controller='0' bus='1' target='0' unit='0'/>
    </disk>
    ```

    ## Use instead
    ```xml
    <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    ```

    ## Fix safety
    No fix: the drive's position is guest-visible.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefAddressDrive`).
    """
    facts = ctx.facts
    for drive in facts.drive_devices:
        if drive.is_hostdev and drive.written is None:
            continue
        address = drive.address
        problems: list[tuple[str, str]] = []
        if drive.bus == "scsi":
            if address.bus != 0:
                problems.append(("bus", "SCSI controller only supports 1 bus"))
            elif address.target != 0 and _scsi_model(facts, address.controller) == "lsilogic":
                problems.append(("target", "target must be 0 for controller model 'lsilogic'"))
        elif drive.bus == "ide":
            if address.controller != 0:
                problems.append(("controller", "Only 1 IDE controller is supported"))
            elif address.target != 0:
                problems.append(("target", "target must be 0 for ide controller"))
        elif drive.bus == "fdc":
            if address.controller != 0:
                problems.append(("controller", "Only 1 fdc controller is supported"))
            elif address.bus != 0:
                problems.append(("bus", "Only 1 fdc bus is supported"))
            elif address.target != 0:
                problems.append(("target", "target must be 0 for controller fdc"))
        elif drive.bus == "sata":
            if address.bus != 0:
                problems.append(("bus", "bus must be 0 for sata controller"))
            elif address.target != 0:
                problems.append(("target", "target must be 0 for sata controller"))
        for attribute, message in problems:
            if drive.written is not None:
                yield ctx.finding(drive.written.element, message, attribute=attribute)
            else:
                yield ctx.finding(
                    drive.element,
                    f"{message}: target name '{drive.dev}' implies drive address {address}",
                )


@rule(
    code="DX684",
    name="disk-target-name-unknown",
    severity="error",
    summary="A disk without an address whose target name is not a disk name",
    triggers=("disk",),
    domains=QEMU,
    libvirt=("virDomainDiskDefAssignAddress",),
)
def disk_target_name_unknown(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds disks without an `<address>` whose `<target dev>` is not a disk name
    libvirt can turn into an address: a prefix (`hd`, `sd`, `vd`, `xvd`,
    `ubd`, `fd`), then lower-case letters (`a`, ..., `z`, `aa`, ...), then
    optionally digits.

    ## Why is this bad?
    libvirt derives the drive address from the name and cannot: it refuses
    the definition with "Unknown disk name 'disk1' and no address specified".

    ## Example
    ```xml
    <target dev='disk1' bus='sata'/>
    ```

    ## Use instead
    ```xml
    <target dev='sdb' bus='sata'/>
    ```

    ## Fix safety
    No fix: the name is what the guest may see, and the right letter is the
    author's call.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDiskDefAssignAddress`),
    src/util/virutil.c (`virDiskNameParse`).
    """
    facts = ctx.facts
    for disk in facts.disks:
        if disk.dev is None or facts.address_of(disk.element) is not None:
            continue
        if disk_name_index(disk.dev) is None:
            yield ctx.finding(
                disk.target if disk.target is not None else disk.element,
                f"Unknown disk name '{disk.dev}' and no address specified",
                attribute="dev",
            )
