"""DX916-DX920, DX926-DX927: character device backends (``<source>``) libvirt or QEMU refuse."""

from __future__ import annotations

import string
from collections.abc import Iterator

from ...facts.peripherals import Chardev, ChrSource
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: ``SERIAL_CHANNEL_NAME_CHARS`` (domain_validate.c): what a spiceport/dbus channel may hold.
CHANNEL_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_-.")
#: ``sizeof(struct sockaddr_un.sun_path)`` on Linux, with its terminating NUL.
SUN_PATH_MAX = 108
#: The only spicevmc channel name QEMU's virtserialport accepts (qemuBuildVirtioSerialPortDevProps).
SPICEVMC_NAME = "com.redhat.spice.0"

MISSING_PATH = "Missing source path attribute for char device"
MISSING_SERVICE = "Missing source service attribute for char device"


def _all_sources(facts) -> Iterator[tuple[ChrSource, Chardev | None]]:
    """Every chardev backend libvirt validates with ``virDomainChrSourceDefValidate``."""
    for chardev in facts.chardevs:
        yield chardev.source, chardev
    for source in facts.other_chr_sources:
        yield source, None


def _generated_path_allowed(chardev: Chardev | None) -> bool:
    """A UNIX channel of target type virtio or xen gets a path from libvirt."""
    return (
        chardev is not None
        and chardev.device == "channel"
        and chardev.target_type in ("virtio", "xen")
    )


def _missing_part(source: ChrSource, chardev: Chardev | None) -> tuple[str, str | None] | None:
    """libvirt's message for the part the backend lacks, and the attribute it concerns."""
    kind = source.type
    if kind in ("file", "dev", "pipe") and source.path is None:
        return MISSING_PATH, "path"
    if kind == "nmdm" and (source.master is None) != (source.slave is None):
        return "Should define both master and slave path attributes for nmdm device", None
    if kind == "tcp":
        if source.host is None:
            return "Missing source host attribute for char device", "host"
        if source.service is None:
            return MISSING_SERVICE, "service"
    if kind == "udp" and source.service is None:
        return MISSING_SERVICE, "service"
    if kind == "unix" and source.path is None and not _generated_path_allowed(chardev):
        return MISSING_PATH, "path"
    if kind in ("spiceport", "dbus"):
        if source.channel is None:
            return "Missing source channel attribute for char device", "channel"
        if not set(source.channel) <= CHANNEL_NAME_CHARS:
            return "Invalid character in source channel for char device", "channel"
    return None


def _device_words(source: ChrSource, chardev: Chardev | None) -> str:
    tag = chardev.device if chardev is not None else source.owner.tag
    if tag == "backend":
        tag = "rng egd backend"
    return f"<{tag} type='{source.type}'>"


@rule(
    code="DX916",
    name="chardev-source-incomplete",
    severity="error",
    summary="A chardev source that lacks the path, host, service or channel its type needs",
    triggers=("serial", "parallel", "console", "channel", "rng", "redirdev", "smartcard"),
    libvirt=("virDomainChrSourceDefValidate", "virDomainChrSourceDefValidateChannelName"),
)
def chardev_source_incomplete(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the backend of every character device (serial, parallel, console,
    channel) and of the devices that use one (an RNG's `egd` backend, a USB
    `<redirdev>`, a passthrough `<smartcard>`): a `file`, `dev`, `pipe` or
    `unix` source needs a `path` (a UNIX virtio or xen channel may leave it to
    libvirt), a `tcp` source a `host` and a `service`, a `udp` source a
    connect-mode `service`, an `nmdm` source both `master` and `slave`, and a
    `spiceport` or `dbus` source a `channel` made of letters, digits, `_`, `-`
    and `.`.

    ## Why is this bad?
    libvirt refuses the definition: "Missing source path attribute for char
    device", "Missing source host attribute for char device", "Missing source
    service attribute for char device", "Should define both master and slave
    path attributes for nmdm device", "Missing source channel attribute for
    char device" or "Invalid character in source channel for char device".

    ## Example
    ```xml
    <serial type='unix'>
      <target port='0'/>
    </serial>
    ```

    ## Use instead
    ```xml
    <serial type='unix'>
      <source mode='bind' path='/run/vm/serial0.sock'/>
      <target port='0'/>
    </serial>
    ```

    ## Fix safety
    No fix: only you know the path, host or port.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainChrSourceDefValidate`,
    `virDomainChrSourceDefValidateChannelName`, called for chardevs, RNG egd
    backends, redirdevs and smartcards); formatdomain "Relationship between
    guest and host".
    """
    for source, chardev in _all_sources(ctx.facts):
        missing = _missing_part(source, chardev)
        if missing is None:
            continue
        message, attribute = missing
        element = source.element
        if attribute is None or element.get(attribute) is None:
            attribute = None
        yield ctx.finding(
            element, f"{_device_words(source, chardev)}: {message}", attribute=attribute
        )


@rule(
    code="DX917",
    name="chardev-reconnect-invalid",
    severity="error",
    summary="Chardev <reconnect> on a listening (bind mode) source, or without a timeout above 0",
    triggers=("reconnect",),
    domains=QEMU,
    libvirt=(
        "virDomainChrSourceReconnectDefParseXML",
        "virDomainChrSourceDefValidate",
        "qemuValidateDomainChrSourceReconnectDef",
    ),
)
def chardev_reconnect_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<reconnect>` on a TCP or UNIX chardev source that listens
    (`mode='bind'`, which is also what a UNIX virtio channel becomes
    when libvirt generates its path, including a path that looks generated:
    `/var/lib/libvirt/qemu/channel/target/domain-NAME/<target name>`, which
    libvirt drops on define), and `<reconnect
    enabled='yes' timeout='0'>`. libvirt tests whether `enabled` is set at
    all, so `enabled='no'` on a listening source is refused too. An enabled
    reconnect also needs a `timeout`, which the schema leaves optional.

    ## Why is this bad?
    Only a connecting client can reconnect. libvirt refuses the definition:
    "chardev reconnect is possible only for connect mode", and "chardev
    reconnect source timeout cannot be '0'", and "Missing required attribute
    'timeout' in element 'reconnect'".

    ## Example
    ```xml
    <channel type='tcp'>
      <source mode='bind' host='localhost' service='1234'>
        <reconnect enabled='yes' timeout='10'/>
      </source>
      <target type='virtio' name='org.example.agent'/>
    </channel>
    ```

    ## Use instead
    ```xml
    <channel type='tcp'>
      <source mode='connect' host='localhost' service='1234'>
        <reconnect enabled='yes' timeout='10'/>
      </source>
      <target type='virtio' name='org.example.agent'/>
    </channel>
    ```

    ## Fix safety
    No fix: which side connects is a design choice.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainChrSourceReconnectDefParseXML`),
    src/conf/domain_validate.c (`virDomainChrSourceDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainChrSourceReconnectDef`),
    src/qemu/qemu_domain.c (`qemuDomainChrDefPostParse`: generated UNIX paths
    are dropped and the source then binds).
    """
    for source, _chardev in _all_sources(ctx.facts):
        reconnect = source.reconnect
        if reconnect is None or source.type not in ("tcp", "unix"):
            continue
        # libvirt tests the tristate itself: enabled='no' counts as set, too.
        if source.listen and reconnect.enabled in ("yes", "no"):
            yield ctx.finding(
                reconnect.element,
                f"<reconnect enabled='{reconnect.enabled}'> on a {source.type} source in bind "
                "mode: chardev reconnect is possible only for connect mode",
                attribute="enabled",
            )
        elif reconnect.enabled == "yes" and reconnect.element.get("timeout") is None:
            # The schema leaves timeout optional; libvirt's parser requires it.
            yield ctx.finding(
                reconnect.element, "Missing required attribute 'timeout' in element 'reconnect'"
            )
        elif reconnect.enabled == "yes" and reconnect.timeout == 0:
            yield ctx.finding(
                reconnect.element,
                "chardev reconnect source timeout cannot be '0'",
                attribute="timeout",
            )


@rule(
    code="DX918",
    name="chardev-source-duplicate",
    severity="error",
    summary="More than one <source> on a chardev (more than two on a udp one)",
    triggers=("source",),
    libvirt=("virDomainChrSourceDefParseXML",),
)
def chardev_source_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Counts the `<source>` elements of each character device backend: a `udp`
    chardev takes at most two (one to bind, one to connect), every other type
    one.

    ## Why is this bad?
    libvirt refuses the definition: "only one source element is allowed for
    character device", or "only two source elements are allowed for character
    device".

    ## Example
    ```xml
    <serial type='file'>
      <source path='/var/log/vm/serial0.log'/>
      <source path='/var/log/vm/serial0.old'/>
    </serial>
    ```

    ## Use instead
    ```xml
    <serial type='file'>
      <source path='/var/log/vm/serial0.log'/>
    </serial>
    ```

    ## Fix safety
    No fix: which source is meant is yours to say.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainChrSourceDefParseXML`).
    """
    for source, _chardev in _all_sources(ctx.facts):
        limit = 2 if source.type == "udp" else 1
        if len(source.sources) <= limit:
            continue
        message = (
            "only two source elements are allowed for character device"
            if source.type == "udp"
            else "only one source element is allowed for character device"
        )
        yield ctx.finding(source.sources[limit], message)


@rule(
    code="DX919",
    name="chardev-spice-without-spice-graphics",
    severity="error",
    summary="A spicevmc or spiceport chardev in a guest without SPICE graphics",
    triggers=("serial", "parallel", "console", "channel", "rng", "redirdev", "smartcard"),
    domains=QEMU,
    libvirt=("qemuValidateDomainChrSourceDef",),
)
def chardev_spice_without_spice_graphics(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds chardev backends of type `spicevmc` or `spiceport` (channels, USB
    redirection, smartcards, RNG backends) in a guest without `<graphics
    type='spice'>`.

    ## Why is this bad?
    These backends are tunnels through the SPICE connection. libvirt refuses
    the definition: "chardev 'spicevmc' not supported without spice graphics".

    ## Example
    ```xml
    <graphics type='vnc' port='-1' autoport='yes'/>
    <redirdev bus='usb' type='spicevmc'/>
    ```

    ## Use instead
    ```xml
    <graphics type='spice' autoport='yes'/>
    <redirdev bus='usb' type='spicevmc'/>
    ```

    ## Fix safety
    No fix: add SPICE graphics or drop the device, as you mean it.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainChrSourceDef`).
    """
    facts = ctx.facts
    if facts.has_spice_graphics:
        return
    for source, chardev in _all_sources(facts):
        if source.type in ("spicevmc", "spiceport"):
            yield ctx.finding(
                source.owner,
                f"{_device_words(source, chardev)}: chardev '{source.type}' not supported "
                "without spice graphics",
                attribute="type",
            )


@rule(
    code="DX920",
    name="spicevmc-channel-invalid",
    severity="error",
    summary="A spicevmc channel that is not a virtio channel named com.redhat.spice.0",
    triggers=("channel",),
    domains=QEMU,
    libvirt=("virDomainChrDefParseXML", "qemuBuildVirtioSerialPortDevProps"),
)
def spicevmc_channel_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<channel type='spicevmc'>`: its target must be `type='virtio'`,
    and its target name, when given, `com.redhat.spice.0`.

    ## Why is this bad?
    The SPICE agent channel is a virtio-serial port with a fixed name. libvirt
    refuses the definition ("spicevmc device type only supports virtio"), or
    the start ("Unsupported spicevmc target name 'org.example'").

    ## Example
    ```xml
    <channel type='spicevmc'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    ```

    ## Use instead
    ```xml
    <channel type='spicevmc'>
      <target type='virtio' name='com.redhat.spice.0'/>
    </channel>
    ```

    ## Fix safety
    No fix: a different name may mean a different channel was meant.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainChrDefParseXML`),
    src/qemu/qemu_command.c (`qemuBuildVirtioSerialPortDevProps`).
    """
    for chardev in ctx.facts.chardevs_of("channel"):
        if chardev.source.type != "spicevmc":
            continue
        where = chardev.target if chardev.target is not None else chardev.element
        if chardev.target_type != "virtio":
            yield ctx.finding(where, "spicevmc device type only supports virtio")
        elif chardev.target_name is not None and chardev.target_name != SPICEVMC_NAME:
            yield ctx.finding(
                where,
                f"Unsupported spicevmc target name '{chardev.target_name}' "
                f"(QEMU's SPICE agent channel is '{SPICEVMC_NAME}')",
                attribute="name",
            )


@rule(
    code="DX926",
    name="chardev-type-unsupported",
    severity="error",
    summary="An nmdm chardev (a bhyve null-modem device QEMU does not have)",
    triggers=("serial", "parallel", "console", "channel", "rng", "redirdev", "smartcard"),
    domains=QEMU,
    libvirt=("qemuProcessPrepareHostBackendChardevOne", "qemuBuildChardevCommand"),
)
def chardev_type_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds chardev backends of type `nmdm` in QEMU/KVM guests.

    ## Why is this bad?
    `nmdm` is FreeBSD's null-modem device, for bhyve guests. libvirt accepts
    the definition but the start fails: "unsupported chardev 'nmdm'".

    ## Example
    ```xml
    <serial type='nmdm'>
      <source master='/dev/nmdm0A' slave='/dev/nmdm0B'/>
    </serial>
    ```

    ## Use instead
    ```xml
    <serial type='pty'/>
    ```

    ## Fix safety
    No fix: choose the backend yourself.

    ## Source
    libvirt src/qemu/qemu_process.c (`qemuProcessPrepareHostBackendChardevOne`),
    src/qemu/qemu_command.c (`qemuBuildChardevCommand`).
    """
    for source, chardev in _all_sources(ctx.facts):
        if source.type == "nmdm":
            yield ctx.finding(
                source.owner,
                f"{_device_words(source, chardev)}: unsupported chardev 'nmdm'",
                attribute="type",
            )


@rule(
    code="DX927",
    name="chardev-unix-path-too-long",
    severity="error",
    summary="A listening UNIX chardev socket path longer than a socket address holds",
    triggers=("serial", "parallel", "console", "channel", "rng", "redirdev", "smartcard"),
    domains=QEMU,
    libvirt=("qemuOpenChrChardevUNIXSocket",),
)
def chardev_unix_path_too_long(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `unix` chardev sources in bind (listen) mode whose path is 108 bytes
    or longer.

    ## Why is this bad?
    libvirt creates the listening socket itself and hands it to QEMU; a UNIX
    socket address holds at most 107 bytes of path. The start fails: "UNIX
    socket path '...' too long".

    ## Example
    ```xml
    <serial type='unix'>
      <source mode='bind' path='/srv/a/very/long/directory/.../serial0.sock'/>
    </serial>
    ```

    ## Use instead
    ```xml
    <serial type='unix'>
      <source mode='bind' path='/run/vm/serial0.sock'/>
    </serial>
    ```

    ## Fix safety
    No fix: pick a shorter path yourself.

    ## Source
    libvirt src/qemu/qemu_command.c (`qemuOpenChrChardevUNIXSocket`);
    unix(7) (`sun_path` is 108 bytes with its terminating NUL).
    """
    for source, _chardev in _all_sources(ctx.facts):
        path = source.path
        if source.type != "unix" or not source.listen or path is None:
            continue
        if len(path.encode("utf-8")) >= SUN_PATH_MAX:
            yield ctx.finding(
                source.element, f"UNIX socket path '{path}' too long", attribute="path"
            )
