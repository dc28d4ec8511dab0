"""DX931-DX938: ``<graphics>`` devices libvirt or QEMU refuse."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.peripherals import Graphics
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: Graphics types that take a socket or 'none' listen (virDomainGraphicsDefListensValidate).
LISTEN_SOCKET_TYPES = frozenset({"vnc", "spice"})
#: Graphics types QEMU allows once each (qemuBuildCommandLineValidate).
ONE_PER_TYPE = ("sdl", "vnc", "spice", "egl-headless", "dbus")
#: The only graphics types egl-headless can be paired with.
EGL_HEADLESS_PARTNERS = frozenset({"egl-headless", "vnc", "spice"})
#: QEMU's VNC display ports (5900 + display number).
VNC_PORT_MIN, VNC_PORT_MAX = 5900, 65535
#: QEMU takes at most 8 characters of a VNC password (the DES key length).
VNC_PASSWORD_MAX = 8


@rule(
    code="DX931",
    name="graphics-listen-attribute-mismatch",
    severity="error",
    summary="A <graphics> listen/socket attribute that contradicts its first <listen>",
    triggers=("listen",),
    libvirt=("virDomainGraphicsListenDefParseXML",),
)
def graphics_listen_attribute_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares the old-style `listen` and `socket` attributes of `<graphics>`
    with its first `<listen>` element (they must agree), and checks that a
    `<listen>` carries `network` only with `type='network'` and `socket` only
    with `type='socket'`.

    ## Why is this bad?
    libvirt keeps both spellings in step and refuses a definition where they
    differ: "graphics 'listen' attribute '0.0.0.0' must match 'address'
    attribute of first listen element (found '127.0.0.1')", the same for
    `socket`, "'network' attribute is valid only for listen type 'network'"
    and "'socket' attribute is valid only for listen type 'socket'".

    ## Example
    ```xml
    <graphics type='vnc' port='-1' listen='0.0.0.0'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    ```

    ## Use instead
    ```xml
    <graphics type='vnc' port='-1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    ```

    ## Fix safety
    No fix: which address you meant is yours to say.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainGraphicsListenDefParseXML`).
    """
    for graphics in ctx.facts.graphics:
        for index, listen in enumerate(graphics.listens):
            if index == 0:
                yield from _compat_mismatch(ctx, graphics, listen)
            if listen.network is not None and listen.type != "network":
                yield ctx.finding(
                    listen.element,
                    "'network' attribute is valid only for listen type 'network'",
                    attribute="network",
                )
            if listen.socket is not None and listen.type != "socket":
                yield ctx.finding(
                    listen.element,
                    "'socket' attribute is valid only for listen type 'socket'",
                    attribute="socket",
                )


def _compat_mismatch(ctx: RuleContext, graphics: Graphics, listen) -> Iterator[Finding]:
    compat_address, compat_socket = graphics.attr("listen"), graphics.attr("socket")
    if listen.type == "address" and compat_address is not None and listen.address is not None:
        if listen.address != compat_address:
            yield ctx.finding(
                graphics.element,
                f"graphics 'listen' attribute '{compat_address}' must match 'address' attribute "
                f"of first listen element (found '{listen.address}')",
                attribute="listen",
            )
    if listen.type == "socket" and compat_socket is not None and listen.socket is not None:
        if listen.socket != compat_socket:
            yield ctx.finding(
                graphics.element,
                f"graphics 'socket' attribute '{compat_socket}' must match 'socket' attribute "
                f"of first listen element (found '{listen.socket}')",
                attribute="socket",
            )


@rule(
    code="DX932",
    name="graphics-listen-type-invalid",
    severity="error",
    summary="A <listen> its graphics type cannot take, a network listen without a network, "
    "or several listens",
    triggers=("listen",),
    domains=QEMU,
    libvirt=("virDomainGraphicsDefListensValidate", "qemuProcessStartValidateGraphics"),
)
def graphics_listen_type_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<listen>` elements: `type='network'` needs a `network`; only VNC
    and SPICE take `type='socket'` and `type='none'`; and a VNC or SPICE
    display listens in one place only.

    ## Why is this bad?
    libvirt refuses the definition: "'network' attribute is required for
    listen type 'network'", "listen type 'socket' is not available for
    graphics type 'rdp'", "listen type 'none' is not available for graphics
    type 'rdp'"; QEMU guests with two listens do not start: "QEMU does not
    support multiple listens for one graphics device."

    ## Example
    ```xml
    <graphics type='vnc' port='-1'>
      <listen type='address' address='127.0.0.1'/>
      <listen type='address' address='192.0.2.10'/>
    </graphics>
    ```

    ## Use instead
    ```xml
    <graphics type='vnc' port='-1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    ```

    ## Fix safety
    No fix: which listen to keep is yours to say.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainGraphicsDefListensValidate`),
    src/qemu/qemu_process.c (`qemuProcessStartValidateGraphics`).
    """
    for graphics in ctx.facts.graphics:
        for listen in graphics.listens:
            if listen.type == "network" and listen.network is None:
                yield ctx.finding(
                    listen.element, "'network' attribute is required for listen type 'network'"
                )
            elif listen.type in ("socket", "none") and graphics.type not in LISTEN_SOCKET_TYPES:
                yield ctx.finding(
                    listen.element,
                    f"listen type '{listen.type}' is not available for graphics type "
                    f"'{graphics.type}'",
                    attribute="type",
                )
        if graphics.type in LISTEN_SOCKET_TYPES and len(graphics.listens) > 1:
            yield ctx.finding(
                graphics.listens[1].element,
                "QEMU does not support multiple listens for one graphics device.",
            )


@rule(
    code="DX933",
    name="graphics-vnc-invalid",
    severity="error",
    summary="A VNC display with a password over 8 characters, a port outside 5900-65535, "
    "or connected= other than keep",
    triggers=("graphics",),
    domains=QEMU,
    libvirt=(
        "virDomainGraphicsAuthDefParseXML",
        "qemuValidateDomainDeviceDefVNCGraphics",
        "qemuBuildGraphicsVNCCommandLine",
    ),
)
def graphics_vnc_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<graphics type='vnc'>`: its `passwd` may have at most 8
    characters, `connected` (with a password) may only be `keep`, and a fixed
    `port` (without `autoport`, listening on an address or network) must lie
    in 5900-65535.

    ## Why is this bad?
    VNC authentication uses an 8-byte DES key. libvirt refuses the definition
    ("VNC password is 12 characters long, only 8 permitted", "VNC supports
    connected='keep' only"), or the start ("vnc port must be in range
    [5900,65535]").

    ## Example
    ```xml
    <graphics type='vnc' port='5800' passwd='correcthorse'/>
    ```

    ## Use instead
    ```xml
    <graphics type='vnc' port='5901' passwd='c0rrect!'/>
    ```

    ## Fix safety
    No fix: a password or port is yours to choose.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainGraphicsAuthDefParseXML`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefVNCGraphics`),
    src/qemu/qemu_command.c (`qemuBuildGraphicsVNCCommandLine`).
    """
    for graphics in ctx.facts.graphics:
        if graphics.type != "vnc":
            continue
        passwd, connected = graphics.attr("passwd"), graphics.attr("connected")
        if passwd is not None and connected is not None and connected != "keep":
            yield ctx.finding(
                graphics.element, "VNC supports connected='keep' only", attribute="connected"
            )
        if passwd is not None and len(passwd.encode("utf-8")) > VNC_PASSWORD_MAX:
            yield ctx.finding(
                graphics.element,
                f"VNC password is {len(passwd.encode('utf-8'))} characters long, "
                f"only {VNC_PASSWORD_MAX} permitted",
                attribute="passwd",
            )
        if graphics.autoport or graphics.listen_type not in ("address", "network"):
            continue
        port_text = graphics.attr("port")
        try:
            port = 0 if port_text is None else int(port_text.strip())
        except ValueError:
            continue
        if not VNC_PORT_MIN <= port <= VNC_PORT_MAX:
            yield ctx.finding(
                graphics.element,
                f"port='{port}': vnc port must be in range [{VNC_PORT_MIN},{VNC_PORT_MAX}]",
                attribute="port" if port_text is not None else None,
            )


def _spice_port(graphics: Graphics, name: str) -> int:
    try:
        return int((graphics.attr(name) or "0").strip())
    except ValueError:
        return 0


@rule(
    code="DX934",
    name="graphics-spice-plaintext-unavailable",
    severity="error",
    summary="A SPICE display asking for plaintext while it only has a TLS port",
    triggers=("graphics",),
    domains=QEMU,
    libvirt=("qemuBuildGraphicsSPICECommandLine",),
)
def graphics_spice_plaintext_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<graphics type='spice'>` with a `tlsPort`, no plain `port` and no
    `autoport`, whose `defaultMode` or a `<channel mode>` is `insecure`.

    ## Why is this bad?
    An insecure (plaintext) channel needs the plain port. The guest does not
    start: "spice defaultMode insecure requested in XML configuration, but
    plaintext connection is not available", or "spice insecure channels set in
    XML configuration, but plaintext connection is not available".

    ## Example
    ```xml
    <graphics type='spice' tlsPort='5902' autoport='no' defaultMode='insecure'/>
    ```

    ## Use instead
    ```xml
    <graphics type='spice' port='5901' tlsPort='5902' autoport='no' defaultMode='insecure'/>
    ```

    ## Fix safety
    No fix: add the port or drop the mode, as you mean it.

    ## Source
    libvirt src/qemu/qemu_command.c (`qemuBuildGraphicsSPICECommandLine`).
    """
    for graphics in ctx.facts.graphics:
        if graphics.type != "spice" or graphics.attr("autoport") == "yes":
            continue
        if graphics.listen_type not in ("address", "network"):
            continue
        port, tls_port = _spice_port(graphics, "port"), _spice_port(graphics, "tlsPort")
        if port == -1 or tls_port == -1 or port > 0 or tls_port <= 0:
            continue  # -1 is the legacy spelling of autoport
        if graphics.attr("defaultMode") == "insecure":
            yield ctx.finding(
                graphics.element,
                "spice defaultMode insecure requested in XML configuration, but plaintext "
                "connection is not available",
                attribute="defaultMode",
            )
        for channel in graphics.element.iterchildren("channel"):
            if channel.get("mode") == "insecure":
                yield ctx.finding(
                    channel,
                    "spice insecure channels set in XML configuration, but plaintext "
                    "connection is not available",
                    attribute="mode",
                )
                break


@rule(
    code="DX935",
    name="graphics-duplicate-type",
    severity="error",
    summary="Two <graphics> devices of the same type (sdl, vnc, spice, egl-headless, dbus)",
    triggers=("graphics",),
    domains=QEMU,
    libvirt=("qemuBuildCommandLineValidate",),
)
def graphics_duplicate_type(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Counts `<graphics>` devices per type: QEMU takes one each of `sdl`,
    `vnc`, `spice`, `egl-headless` and `dbus`.

    ## Why is this bad?
    The guest does not start: "only 1 graphics device of each type (sdl,
    vnc, spice, headless, dbus) is supported".

    ## Example
    ```xml
    <graphics type='vnc' port='-1' autoport='yes'/>
    <graphics type='vnc' port='5910'/>
    ```

    ## Use instead
    ```xml
    <graphics type='vnc' port='-1' autoport='yes'/>
    <graphics type='spice' autoport='yes'/>
    ```

    ## Fix safety
    No fix: which display to keep is yours to say.

    ## Source
    libvirt src/qemu/qemu_command.c (`qemuBuildCommandLineValidate`).
    """
    seen: set[str] = set()
    for graphics in ctx.facts.graphics:
        if graphics.type not in ONE_PER_TYPE:
            continue
        if graphics.type in seen:
            yield ctx.finding(
                graphics.element,
                f"a second <graphics type='{graphics.type}'>: only 1 graphics device of each "
                "type (sdl, vnc, spice, headless, dbus) is supported",
                attribute="type",
            )
        seen.add(graphics.type)


@rule(
    code="DX936",
    name="graphics-egl-headless-conflict",
    severity="error",
    summary="egl-headless beside a display other than VNC or SPICE, or beside SPICE OpenGL",
    triggers=("graphics",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefGraphics",),
)
def graphics_egl_headless_conflict(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    In a guest with `<graphics type='egl-headless'>`, finds other displays
    that are neither VNC nor SPICE, and a SPICE display with `<gl
    enable='yes'>`.

    ## Why is this bad?
    egl-headless renders OpenGL for a VNC or SPICE client. libvirt refuses
    the definition: "graphics type 'egl-headless' is only supported with one
    of: 'vnc', 'spice' graphics types", or "multiple OpenGL displays are not
    supported by QEMU".

    ## Example
    ```xml
    <graphics type='spice' autoport='yes'>
      <gl enable='yes'/>
    </graphics>
    <graphics type='egl-headless'/>
    ```

    ## Use instead
    ```xml
    <graphics type='spice' autoport='yes'/>
    <graphics type='egl-headless'/>
    ```

    ## Fix safety
    No fix: which renderer to keep is yours to say.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefGraphics`).
    """
    all_graphics = ctx.facts.graphics
    if not any(g.type == "egl-headless" for g in all_graphics):
        return
    for graphics in all_graphics:
        if graphics.type not in EGL_HEADLESS_PARTNERS:
            yield ctx.finding(
                graphics.element,
                "graphics type 'egl-headless' is only supported with one of: 'vnc', 'spice' "
                "graphics types",
                attribute="type",
            )
        elif graphics.type == "spice" and graphics.gl_enabled:
            assert graphics.gl is not None
            yield ctx.finding(
                graphics.gl,
                "multiple OpenGL displays are not supported by QEMU",
                attribute="enable",
            )


@rule(
    code="DX937",
    name="graphics-dbus-invalid",
    severity="error",
    summary="A D-Bus display with both p2p and an address, or tied to a non-D-Bus audio backend",
    triggers=("graphics",),
    libvirt=("virDomainGraphicsDefValidate", "qemuValidateDomainDeviceDefDBusGraphics"),
)
def graphics_dbus_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<graphics type='dbus'>`: `p2p='yes'` and an `address` exclude
    each other, and its `<audio id>` must name an `<audio type='dbus'>`.

    ## Why is this bad?
    libvirt refuses the definition: "D-Bus p2p with an address is not
    supported", or "The associated audio is not of 'dbus' kind.".

    ## Example
    ```xml
    <graphics type='dbus' p2p='yes' address='unix:path=/run/vm/dbus'/>
    ```

    ## Use instead
    ```xml
    <graphics type='dbus' p2p='yes'/>
    ```

    ## Fix safety
    No fix: peer-to-peer or a bus address is your choice.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainGraphicsDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDBusGraphics`).
    """
    facts = ctx.facts
    for graphics in facts.graphics:
        if graphics.type != "dbus":
            continue
        if graphics.attr("p2p") == "yes" and graphics.attr("address") is not None:
            yield ctx.finding(
                graphics.element, "D-Bus p2p with an address is not supported", attribute="address"
            )
        if graphics.audio_id and facts.driver == "qemu":
            audio = next((a for a in facts.audios if a.id == graphics.audio_id), None)
            if audio is not None and audio.type != "dbus":
                yield ctx.finding(
                    graphics.element,
                    f"<audio id='{graphics.audio_id}'> is of type '{audio.type}': "
                    "The associated audio is not of 'dbus' kind.",
                )


@rule(
    code="DX938",
    name="graphics-type-unsupported",
    severity="error",
    summary="A graphics type the host's QEMU does not offer (domain capabilities)",
    triggers=("graphics",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDeviceDefGraphics",),
)
def graphics_type_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares each `<graphics type>` with the graphics types the host's QEMU
    offers (`virsh domcapabilities`, `<devices><graphics><enum name='type'>`).
    libvirt fills that list from the emulator binary, so when the snapshot
    has no document for the guest's own machine type, one for another machine
    of the same emulator answers.

    ## Why is this bad?
    libvirt refuses the definition: "rdp graphics are not supported with this
    QEMU".

    ## Example
    ```xml
    <graphics type='rdp' autoport='yes'/>
    ```

    ## Use instead
    ```xml
    <graphics type='vnc' port='-1' autoport='yes'/>
    ```

    ## Fix safety
    No fix: choose a display the host has.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefGraphics`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceGraphicsCaps`).
    """
    caps = ctx.device_caps
    if caps is None:
        return
    offered = caps.enum("devices/graphics", "type")
    if offered is None:
        return
    for graphics in ctx.facts.graphics:
        if graphics.type is not None and graphics.type not in offered:
            yield ctx.finding(
                graphics.element,
                f"{graphics.type} graphics are not supported with this QEMU",
                attribute="type",
            )
