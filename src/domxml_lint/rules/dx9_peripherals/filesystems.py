"""DX986-DX989: ``<filesystem>`` devices (9p, virtiofs, mtp) libvirt refuses."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from ...facts.misc_devices import Filesystem, MiscDeviceFacts
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: Filesystem types that need no ``<source>`` (a RAM disk, a storage volume).
SOURCELESS_TYPES = frozenset({"ram", "volume"})
#: Drivers of other hypervisors (LXC, OpenVZ) that QEMU cannot use.
NON_QEMU_DRIVERS = frozenset({"loop", "nbd", "ploop"})


@rule(
    code="DX986",
    name="filesystem-invalid",
    severity="error",
    summary="A <filesystem> without source or target, with a bad mode, or a clashing target",
    triggers=("filesystem",),
    libvirt=("virDomainFSDefParseXML", "virDomainFSDefValidate"),
)
def filesystem_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every `<filesystem>` as libvirt parses and validates it for any
    hypervisor: `fmode` and `dmode` are at most `0777`; a `<source>` is given
    (except for `ram` and `volume` filesystems and a virtiofs with a
    `socket`); a `<target dir>` is given; `<boot order>` only on virtiofs;
    and no virtiofs shares its target (the mount tag) with another
    filesystem.

    ## Why is this bad?
    libvirt refuses the definition: "invalid fmode: '01777'", "missing source
    information for device tag", "missing target information for device
    /srv/share", "boot order is only supported for virtiofs", "filesystem
    target 'tag' specified twice". The guest mounts a filesystem by its tag,
    so two with one tag cannot both be reached.

    ## Example
    ```xml
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs'/>
      <source dir='/srv/data'/>
      <target dir='data'/>
    </filesystem>
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs'/>
      <source dir='/srv/logs'/>
      <target dir='data'/>
    </filesystem>
    ```

    ## Use instead
    ```xml
    <target dir='logs'/>
    ```

    ## Fix safety
    No fix: the guest mounts the filesystem by the tag the author chose.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainFSDefParseXML`),
    src/conf/domain_validate.c (`virDomainFSDefValidate`); formatdomain
    "Filesystems".
    """
    facts = ctx.facts
    virtiofs_targets: dict[str, Filesystem] = {}
    for fs in facts.filesystems:
        if fs.is_virtiofs and fs.target is not None:
            virtiofs_targets.setdefault(fs.target, fs)
    for fs in facts.filesystems:
        element = fs.element
        for name, mode in (("fmode", fs.fmode), ("dmode", fs.dmode)):
            if mode is not None and mode.value is not None and mode.value > 0o777:
                yield ctx.finding(
                    element, f"invalid {name}: '0{mode.value:o}' (at most 0777)", attribute=name
                )
        if fs.source is None and fs.socket is None and fs.type not in SOURCELESS_TYPES:
            where = f" for device {fs.target}" if fs.target else ""
            yield ctx.finding(element, f"missing source information{where}")
        if fs.target is None:
            where = f" for device {fs.source or fs.socket}" if fs.source or fs.socket else ""
            yield ctx.finding(element, f"missing target information{where}")
            continue
        if fs.boot is not None and not fs.is_virtiofs:
            yield ctx.finding(fs.boot, "boot order is only supported for virtiofs")
        first = virtiofs_targets.get(fs.target)
        if first is not None and first is not fs:
            assert fs.target_element is not None
            yield ctx.finding(
                fs.target_element,
                f"filesystem target '{fs.target}' specified twice",
                attribute="dir",
            )


def _qemu_common_refusal(fs: Filesystem) -> tuple[str, str | None] | None:
    """The first refusal of ``qemuValidateDomainDeviceDefFS`` before its per-driver checks,
    or of the non-virtiofs drivers: (message, attribute)."""
    if fs.type != "mount":
        return "only supports mount filesystem type", "type"
    if fs.space_limits:
        return "filesystem usage limits are not supported with QEMU", None
    accessmode = fs.accessmode or "passthrough"
    if _modes_set(fs) and accessmode != "mapped":
        return "fmode and dmode must be used with accessmode=mapped", None
    if _given(fs.sandbox, "mode") and not fs.is_virtiofs:
        return "sandbox can only be used with driver=virtiofs", None
    if fs.driver_type == "handle" and accessmode != "passthrough":
        return "only supports passthrough accessmode", "accessmode"
    if fs.driver_type in NON_QEMU_DRIVERS:
        return "Filesystem driver type not supported", None
    if fs.driver_type == "mtp" and accessmode != "passthrough":
        return "mtp only supports passthrough accessmode", "accessmode"
    return None


@rule(
    code="DX987",
    name="filesystem-unsupported-by-qemu",
    severity="error",
    summary="A <filesystem> type, driver, access mode, limit or option QEMU does not support",
    triggers=("filesystem",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefFS",),
)
def filesystem_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every `<filesystem>` of a QEMU/KVM guest as libvirt's QEMU driver
    does before its virtiofs checks: only `type='mount'`; no
    `<space_hard_limit>`/`<space_soft_limit>`; `fmode`/`dmode` only with
    `accessmode='mapped'`; `<binary><sandbox>` only for virtiofs; the
    `handle` and `mtp` drivers only with `accessmode='passthrough'`; no
    `loop`, `nbd` or `ploop` driver (those are LXC's). Against the guest's
    QEMU: `multidevs` needs `-fsdev`'s multidevs option, which a QEMU built
    without VirtFS (9p) lacks, and the `mtp` driver QEMU's `usb-mtp` device.
    Both depend on how QEMU was built, so only a host snapshot's QEMU
    capabilities (libvirt's cache) answer them; without one these two checks
    stay silent (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition: "only supports mount filesystem type",
    "filesystem usage limits are not supported with QEMU", "fmode and dmode
    must be used with accessmode=mapped", "sandbox can only be used with
    driver=virtiofs", "only supports passthrough accessmode", "Filesystem
    driver type not supported", "mtp only supports passthrough accessmode",
    "multidevs is not supported with this QEMU binary", "mtp is not supported
    with this QEMU binary".

    ## Example
    ```xml
    <filesystem type='mount' fmode='644'>
      <source dir='/srv/share'/>
      <target dir='share'/>
    </filesystem>
    ```

    ## Use instead
    ```xml
    <filesystem type='mount' accessmode='mapped' fmode='644'>
      <source dir='/srv/share'/>
      <target dir='share'/>
    </filesystem>
    ```

    ## Fix safety
    No fix: the access mode decides how guest files map to host owners.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefFS`);
    formatdomain "Filesystems".
    """
    for fs in ctx.facts.filesystems:
        refusal = _qemu_common_refusal(fs)
        if refusal is not None:
            message, attribute = refusal
            yield ctx.finding(fs.element, message, attribute=attribute)
        # libvirt asks for -fsdev's multidevs right after the type and the limits
        reaches_multidevs = fs.type == "mount" and not fs.space_limits
        if (
            reaches_multidevs
            and fs.multidevs not in (None, "default")
            and (why := ctx.qemu_lacks("fsdev.multidevs"))
        ):
            yield ctx.finding(
                fs.element,
                f"multidevs is not supported with this QEMU binary: {why}",
                attribute="multidevs",
            )
        elif refusal is None and fs.driver_type == "mtp" and (why := ctx.qemu_lacks("usb-mtp")):
            yield ctx.finding(fs.element, f"mtp is not supported with this QEMU binary: {why}")


def _modes_set(fs: Filesystem) -> bool:
    return (fs.fmode is not None and fs.fmode.set) or (fs.dmode is not None and fs.dmode.set)


def _given(element: etree._Element | None, attribute: str) -> bool:
    """An enum attribute set to a value other than libvirt's 'default' (its zero)."""
    return element is not None and element.get(attribute) not in (None, "default")


def _virtiofs_refusal(fs: Filesystem, facts: MiscDeviceFacts) -> str | None:
    """The first refusal of the virtiofs checks of ``qemuValidateDomainDeviceDefFS``."""
    accessmode = fs.accessmode or "passthrough"
    driver = fs.driver
    if fs.socket is None:  # libvirt starts virtiofsd itself
        if fs.readonly:
            return "virtiofs does not yet support read-only mode"
        if accessmode != "passthrough":
            return "virtiofs only supports passthrough accessmode"
        if _given(driver, "wrpolicy"):
            return "virtiofs does not support wrpolicy"
    if fs.readonly:
        return "virtiofs does not support read-only access"
    if fs.model not in (None, "default"):
        return "virtiofs does not support model"
    if driver is not None and driver.get("format") not in (None, "none"):
        return "virtiofs does not support format"
    if fs.multidevs not in (None, "default"):
        return "virtiofs does not support multidevs"
    if _modes_set(fs):
        return "virtiofs does not support fmode and dmode"
    if fs.boot is not None:
        bus = fs.address_type or facts.virtio_address_type
        if bus is not None and bus != "pci":
            return f"setting virtiofs boot order is supported only with PCI bus, not {bus}"
    return None


@rule(
    code="DX988",
    name="virtiofs-invalid",
    severity="error",
    summary="A virtiofs filesystem with a setting virtiofs cannot honour",
    triggers=("filesystem",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefFS",),
)
def virtiofs_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each virtiofs `<filesystem>` (`<driver type='virtiofs'>`) of a
    QEMU/KVM guest: no `<readonly/>`, no `model`, no `<driver format>`, no
    `multidevs`, no `fmode`/`dmode`; when libvirt starts virtiofsd itself
    (no `<source socket>`) also `accessmode='passthrough'` and no
    `<driver wrpolicy>`; and a `<boot order>` only on a PCI device (s390
    guests put virtio devices on CCW) and only where QEMU's vhost-user-fs has
    a `bootindex` property (QEMU 6.0, from `qemu-version` or a host snapshot's
    QEMU capabilities).

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "virtiofs does not yet
    support read-only mode", "virtiofs only supports passthrough accessmode",
    "virtiofs does not support wrpolicy", "virtiofs does not support model",
    "virtiofs does not support format", "virtiofs does not support
    multidevs", "virtiofs does not support fmode and dmode", "setting
    virtiofs boot order is supported only with PCI bus", "setting virtiofs
    boot order is not supported with this QEMU binary".

    ## Example
    ```xml
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs'/>
      <source dir='/srv/share'/>
      <target dir='share'/>
      <readonly/>
    </filesystem>
    ```

    ## Use instead
    ```xml
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs'/>
      <source dir='/srv/share'/>
      <target dir='share'/>
    </filesystem>
    ```
    and mount it read-only in the guest (`mount -o ro`).

    ## Fix safety
    No fix: dropping `<readonly/>` would give the guest write access.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefFS`);
    formatdomain "Filesystems"; virtiofs.rst ("Sharing files with
    Virtiofs").
    """
    facts = ctx.facts
    for fs in facts.filesystems:
        if not fs.is_virtiofs or _qemu_common_refusal(fs) is not None:
            continue
        message = _virtiofs_refusal(fs, facts)
        if message is not None:
            yield ctx.finding(fs.element, message)
        elif (
            fs.boot is not None
            # without vhost-user-fs at all, virtiofs-unsupported (DX989) says so first
            and not ctx.qemu_lacks("vhost-user-fs")
            and (why := ctx.qemu_lacks("vhost-user-fs.bootindex"))
        ):
            yield ctx.finding(
                fs.boot,
                f"setting virtiofs boot order is not supported with this QEMU binary: {why}",
            )


@rule(
    code="DX989",
    name="virtiofs-unsupported",
    severity="error",
    summary="A virtiofs filesystem on a host whose QEMU has no vhost-user-fs device",
    triggers=("filesystem",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDeviceDefFS",),
)
def virtiofs_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For a QEMU/KVM guest with a virtiofs `<filesystem>`, looks up `virtiofs`
    in the host's domain capabilities for the guest's machine
    (`<filesystem><enum name='driverType'>`).

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "virtiofs is not supported
    with this QEMU binary" (QEMU built without the vhost-user-fs device, as
    some architectures' are).

    The rule needs a host snapshot with domain capabilities for the guest's
    machine; without one it stays silent (`--verbose` says why).

    ## Example
    ```xml
    <filesystem type='mount' accessmode='passthrough'>
      <driver type='virtiofs'/>
      <source dir='/srv/share'/>
      <target dir='share'/>
    </filesystem>
    ```

    ## Use instead
    ```xml
    <filesystem type='mount' accessmode='mapped'>
      <source dir='/srv/share'/>
      <target dir='share'/>
    </filesystem>
    ```
    (9p, which every QEMU has.)

    ## Fix safety
    No fix: 9p and virtiofs need different guest drivers.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefFS`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceFSCaps`);
    formatdomaincaps "Filesystem device".
    """
    filesystems = [fs for fs in ctx.facts.filesystems if fs.is_virtiofs]
    if not filesystems:
        return
    caps = ctx.domain_caps
    drivers = None if caps is None else caps.enum("devices/filesystem", "driverType")
    if drivers is None or "virtiofs" in drivers:
        return
    for fs in filesystems:
        assert fs.driver is not None
        yield ctx.finding(
            fs.driver, "virtiofs is not supported with this QEMU binary", attribute="type"
        )
