"""DX551-DX556: interface settings libvirt's validators refuse.

``virDomainNetDefValidate`` (every driver) and ``qemuValidateDomainDeviceDefNetwork``
(QEMU): options that only some interface types or backends take, teaming,
vhost-user and vDPA front ends, guest-side IP settings and the MTU.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import VIRTIO_MODELS, Interface, child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: ``qemuDomainNetSupportsMTU``: the types QEMU can set an MTU on (and user with passt).
MTU_NET_TYPES = frozenset({"network", "bridge", "ethernet", "vhostuser"})


def _model_text(ctx: RuleContext, iface: Interface) -> str:
    """``virDomainNetGetModelString``: the model libvirt validates, as it prints it."""
    return ctx.facts.effective_net_model(iface) or "(null)"


@rule(
    code="DX551",
    name="net-ethernet-only-option",
    severity="error",
    summary="Host-side <ip>/<route> or <target managed='no'> on a type other than ethernet",
    triggers=("interface",),
    libvirt=("virDomainNetDefValidate",),
)
def net_ethernet_only_option(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds host-side IP settings (`<ip>` and `<route>` under the interface's
    `<source>`) and `<target managed='no'>` on interfaces whose type is not
    `ethernet`.

    ## Why is this bad?
    Only for `type='ethernet'` does libvirt configure the host end of the tap
    device itself, or use a tap device created beforehand. libvirt refuses
    the definition: "Invalid attempt to set network interface host-side IP
    route and/or address info on interface of type '%s'. This is only
    supported on interfaces of type 'ethernet'", "unmanaged target dev is not
    supported on interfaces of type '%s'".

    ## Example
    ```xml
    <interface type='bridge'>
      <source bridge='br0'>
        <ip address='192.168.122.1' prefix='24'/>
      </source>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='ethernet'>
      <source>
        <ip address='192.168.122.1' prefix='24'/>
      </source>
    </interface>
    ```

    ## Fix safety
    No fix: the connection type is a host networking decision.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainNetDefValidate`).
    """
    for iface in ctx.facts.interfaces:
        if iface.net_type == "ethernet":
            continue
        host_side = (*(ip.element for ip in iface.host_ips), *iface.host_routes)
        if host_side:
            yield ctx.finding(
                host_side[0],
                "Invalid attempt to set network interface host-side IP route and/or address "
                f"info on interface of type '{iface.net_type}'. This is only supported on "
                "interfaces of type 'ethernet'",
            )
        target = iface.target
        if target is not None and target.get("managed") == "no":
            yield ctx.finding(
                target,
                f"unmanaged target dev is not supported on interfaces of type '{iface.net_type}'",
                attribute="managed",
            )


@rule(
    code="DX552",
    name="net-teaming-invalid",
    severity="error",
    summary="An interface <teaming> libvirt refuses: persistent peers, models and types",
    triggers=("teaming",),
    libvirt=(
        "virDomainNetDefValidate",
        "qemuValidateDomainDeviceDefNetwork",
        "qemuDomainValidateActualNetDef",
    ),
)
def net_teaming_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<teaming>` on interfaces (virtio-net failover): a `transient`
    one names its `persistent` peer, a `persistent` one names none; for QEMU
    the persistent interface is virtio and the transient one a `hostdev` (or
    a `network` that hands out host devices).

    ## Why is this bad?
    QEMU's failover pairs a virtio-net NIC (kept over migration) with a
    passed-through VF (unplugged before migration). libvirt refuses other
    pairings: "teaming persistent attribute must be set if teaming type is
    'transient'", "teaming persistent attribute not allowed if teaming type is
    '%s'", "virtio-net teaming persistent interface must be <model
    type='virtio'/>, not '%s'", "virtio-net teaming transient interface must
    be type='hostdev', not '%s'".

    ## Example
    ```xml
    <interface type='bridge'>
      <source bridge='br0'/>
      <model type='e1000e'/>
      <teaming type='persistent'/>
    </interface>
    ```

    ## Use instead
    ```xml
      <model type='virtio'/>
      <teaming type='persistent'/>
    ```

    ## Fix safety
    No fix: the pairing is the author's.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainNetDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefNetwork`),
    src/qemu/qemu_domain.c (`qemuDomainValidateActualNetDef`); formatdomain
    "Teaming a virtio/hostdev NIC".
    """
    is_qemu = ctx.facts.driver == "qemu"
    for iface in ctx.facts.interfaces:
        teaming = iface.teaming
        if teaming is None:
            continue
        kind = teaming.get("type")
        persistent = teaming.get("persistent")
        if kind == "transient" and persistent is None:
            yield ctx.finding(
                teaming, "teaming persistent attribute must be set if teaming type is 'transient'"
            )
        elif kind not in (None, "transient") and persistent is not None:
            yield ctx.finding(
                teaming,
                f"teaming persistent attribute not allowed if teaming type is '{kind}'",
                attribute="persistent",
            )
        if not is_qemu:
            continue
        if kind == "persistent" and ctx.facts.effective_net_model(iface) not in VIRTIO_MODELS:
            yield ctx.finding(
                teaming,
                "virtio-net teaming persistent interface must be <model type='virtio'/>, not "
                f"'{_model_text(ctx, iface)}'",
            )
        elif kind == "transient" and iface.net_type not in ("hostdev", "network"):
            yield ctx.finding(
                teaming,
                "virtio-net teaming transient interface must be type='hostdev', not "
                f"'{iface.net_type}'",
            )


@rule(
    code="DX553",
    name="net-passt-option-invalid",
    severity="error",
    summary="A passt backend or <portForward> where libvirt does not take it",
    triggers=("backend", "portForward"),
    libvirt=("virDomainNetDefValidate",),
)
def net_passt_option_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<backend type='passt'>` on interfaces other than `type='user'`,
    `<portForward>` on anything but a `user` interface with the passt
    backend, and passt `<portForward><range>` elements with `end`, `to` or
    `exclude` but no `start`.

    ## Why is this bad?
    passt is a user-mode network back end; port forwarding is one of its
    features (QEMU's built-in slirp forwards ports differently). From libvirt
    11.1 on, `type='vhostuser'` interfaces take the passt back end and its
    options too; the rule follows the libvirt version you configure (the
    newest when unknown). libvirt refuses the definition: "The 'passt' backend can only be used with
    interface type='user'", "The <portForward> element can only be used with
    <interface type='user'> and its 'passt' backend", "The 'range' of a
    'portForward' requires 'start' attribute if 'end', 'to', or 'exclude' is
    specified".

    ## Example
    ```xml
    <interface type='user'>
      <portForward proto='tcp'>
        <range start='2222' to='22'/>
      </portForward>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='user'>
      <backend type='passt'/>
      <portForward proto='tcp'>
        <range start='2222' to='22'/>
      </portForward>
    </interface>
    ```

    ## Fix safety
    No fix: whether to use passt is the author's call.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainNetDefValidate`);
    formatdomain "Userspace (SLIRP or passt) connection".
    """
    # libvirt 11.1 added passt (with its options) as a back end of vhost-user interfaces.
    passt_types = ("user", "vhostuser") if ctx.libvirt_at_least(11, 1) else ("user",)
    for iface in ctx.facts.interfaces:
        is_user = iface.net_type in passt_types
        if iface.is_passt and not is_user:
            assert iface.backend is not None  # is_passt reads it
            yield ctx.finding(
                iface.backend,
                f"<interface type='{iface.net_type}'>: The 'passt' backend can only be used "
                "with interface type='user'",
                attribute="type",
            )
        if iface.port_forwards and not (is_user and iface.is_passt):
            yield ctx.finding(
                iface.port_forwards[0],
                "The <portForward> element can only be used with <interface type='user'> and "
                "its 'passt' backend",
            )
            continue
        for forward in iface.port_forwards:
            for range_ in forward.iterchildren("range"):
                extra = [a for a in ("end", "to", "exclude") if range_.get(a) is not None]
                if range_.get("start") is None and extra:
                    yield ctx.finding(
                        range_,
                        "The 'range' of a 'portForward' requires 'start' attribute if 'end', "
                        "'to', or 'exclude' is specified",
                    )


@rule(
    code="DX554",
    name="net-vhostuser-vdpa-invalid",
    severity="error",
    summary=(
        "A vhost-user or vDPA interface with a non-virtio model, server-mode reconnect, or a "
        "QEMU without vhost-vdpa"
    ),
    triggers=("interface",),
    libvirt=("virDomainNetDefValidate", "qemuValidateDomainDeviceDefNetwork"),
)
def net_vhostuser_vdpa_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `type='vhostuser'` interfaces whose `<model>` is not a virtio model
    or whose `<source mode='server'>` has `<reconnect enabled='yes'/>`, and
    (QEMU) `type='vdpa'` interfaces whose `<model>` is not `virtio`, or whose
    QEMU lacks the vhost-vdpa network back end. That back end is Linux-only:
    a QEMU built for another system (macOS with hvf, for one) lacks it. Only a
    host snapshot's QEMU capabilities (libvirt's cache) say what a build has;
    without one that check stays silent (`-v` says why).

    A vhost-user interface without `<model>` gets virtio from libvirt 11.1 on;
    older releases give it the machine's default model (rtl8139 on x86), which
    they then refuse. The rule follows the libvirt version you configure
    (`libvirt-version`, or the host snapshot's), and the newest behaviour when
    it is unknown.

    ## Why is this bad?
    A vhost-user or vDPA back end implements the virtio-net device, so the
    guest must see a virtio NIC; and reconnecting is what the client end of a
    vhost-user socket does. libvirt refuses the definition: "Wrong or no
    <model> 'type' attribute specified with <interface type='vhostuser'/>.
    vhostuser requires the virtio-net* frontend", "'reconnect' attribute
    unsupported 'server' mode for <interface type='vhostuser'>", "invalid
    model for interface of type '%s': '%s'", "vDPA devices are not supported
    with this QEMU binary".

    ## Example
    ```xml
    <interface type='vhostuser'>
      <source type='unix' path='/tmp/vhost0.sock' mode='server'>
        <reconnect enabled='yes' timeout='10'/>
      </source>
      <model type='e1000'/>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='vhostuser'>
      <source type='unix' path='/tmp/vhost0.sock' mode='client'>
        <reconnect enabled='yes' timeout='10'/>
      </source>
      <model type='virtio'/>
    </interface>
    ```

    ## Fix safety
    No fix: the model is guest-visible.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainNetDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefNetwork`).
    """
    is_qemu = ctx.facts.driver == "qemu"
    for iface in ctx.facts.interfaces:
        model = child(iface.element, "model")
        if iface.net_type == "vhostuser":
            # Without <model>, the QEMU driver gives vhost-user virtio since libvirt 11.1
            # and the machine's default model before; other drivers give none.
            effective = iface.model_name
            if effective is None and is_qemu:
                effective = ctx.facts.effective_net_model(
                    iface, vhostuser_defaults_to_virtio=ctx.libvirt_at_least(11, 1)
                )
            if (model is not None or effective is not None) and effective not in VIRTIO_MODELS:
                shown = "" if model is not None else f" (libvirt gives it model '{effective}')"
                yield ctx.finding(
                    model if model is not None else iface.element,
                    "Wrong or no <model> 'type' attribute specified with <interface "
                    "type='vhostuser'/>. vhostuser requires the virtio-net* frontend" + shown,
                    attribute="type",
                )
            source = iface.source
            reconnect = None if source is None else child(source, "reconnect")
            if source is not None and source.get("mode") == "server" and reconnect is not None:
                if reconnect.get("enabled") == "yes":
                    yield ctx.finding(
                        reconnect,
                        "'reconnect' attribute unsupported 'server' mode for <interface "
                        "type='vhostuser'>",
                        attribute="enabled",
                    )
        elif iface.net_type == "vdpa" and is_qemu:
            if why := ctx.qemu_lacks("netdev.vhost-vdpa"):
                yield ctx.finding(
                    iface.element, f"vDPA devices are not supported with this QEMU binary: {why}"
                )
            if model is not None and iface.model_name != "virtio":
                yield ctx.finding(
                    model,
                    f"invalid model for interface of type 'vdpa': '{iface.model_name}'",
                    attribute="type",
                )


@rule(
    code="DX555",
    name="net-guest-ip-invalid",
    severity="error",
    summary="Guest-side <ip>/<route> QEMU cannot set up for the interface type",
    triggers=("ip", "route"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefNetwork",),
)
def net_guest_ip_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks guest-side `<ip>` and `<route>` (directly under `<interface>`) of
    QEMU guests. Only user-mode interfaces take them (QEMU's slirp or passt
    hands them to the guest): no `<route>`, no `peer`, one IPv4 address with a
    prefix from 4 to 27 and one IPv6 address with prefix 64. vDPA interfaces
    are not checked (libvirt ignores them there); other types take none.

    ## Why is this bad?
    libvirt refuses the definition: "Invalid attempt to set network interface
    guest-side IP route, not supported by QEMU", "Invalid attempt to set peer
    IP for guest", "Only one IPv4 address per interface is allowed", "invalid
    prefix, must be in range of 4-27", "Only one IPv6 address per interface
    is allowed", "unsupported IPv6 address prefix='%u' - must be 64",
    "Invalid attempt to set network interface guest-side IP route and/or
    address info, not supported by QEMU".

    ## Example
    ```xml
    <interface type='bridge'>
      <source bridge='br0'/>
      <ip address='192.168.122.5' prefix='24'/>
    </interface>
    ```

    ## Use instead
    Configure the address inside the guest (or through DHCP).

    ## Fix safety
    No fix: the address belongs in the guest's configuration.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefNetwork`);
    formatdomain "Userspace (SLIRP or passt) connection".
    """
    for iface in ctx.facts.interfaces:
        if iface.net_type == "user":
            yield from _user_ip_findings(ctx, iface)
        elif iface.net_type != "vdpa" and (iface.guest_ips or iface.guest_routes):
            first = iface.guest_ips[0].element if iface.guest_ips else iface.guest_routes[0]
            yield ctx.finding(
                first,
                f"<interface type='{iface.net_type}'>: Invalid attempt to set network interface "
                "guest-side IP route and/or address info, not supported by QEMU",
            )


def _user_ip_findings(ctx: RuleContext, iface: Interface) -> Iterator[Finding]:
    if iface.guest_routes:
        yield ctx.finding(
            iface.guest_routes[0],
            "Invalid attempt to set network interface guest-side IP route, not supported by QEMU",
        )
        return
    seen: set[str] = set()
    for ip in iface.guest_ips:
        if ip.peer is not None:
            yield ctx.finding(
                ip.element, "Invalid attempt to set peer IP for guest", attribute="peer"
            )
            return
        if ip.family is None:
            continue
        if ip.family in seen:
            version = "IPv4" if ip.family == "ipv4" else "IPv6"
            yield ctx.finding(ip.element, f"Only one {version} address per interface is allowed")
            return
        seen.add(ip.family)
        prefix = ip.prefix or 0
        if ip.family == "ipv4" and prefix > 0 and not 4 <= prefix <= 27:
            yield ctx.finding(
                ip.element,
                f"prefix='{prefix}': invalid prefix, must be in range of 4-27",
                attribute="prefix",
            )
            return
        if ip.family == "ipv6" and prefix and prefix != 64:
            yield ctx.finding(
                ip.element,
                f"unsupported IPv6 address prefix='{prefix}' - must be 64",
                attribute="prefix",
            )
            return


@rule(
    code="DX556",
    name="net-mtu-unsupported",
    severity="error",
    summary="An interface <mtu> on a type QEMU cannot set it for",
    triggers=("mtu",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefNetwork", "qemuDomainNetSupportsMTU"),
)
def net_mtu_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<mtu size>` on QEMU interfaces whose type is not `network`,
    `bridge`, `ethernet` or `vhostuser`, nor `user` with the passt backend.

    ## Why is this bad?
    libvirt sets the MTU on the host's tap device (or tells the vhost-user or
    passt back end); the other types have nothing to set it on. It refuses
    the definition: "setting MTU on interface type %s is not supported yet".

    ## Example
    ```xml
    <interface type='direct'>
      <source dev='eth0' mode='bridge'/>
      <mtu size='9000'/>
    </interface>
    ```

    ## Use instead
    Set the MTU of the host's `eth0`; macvtap devices follow it.

    ## Fix safety
    No fix: the connection type is a host networking decision.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefNetwork`),
    src/qemu/qemu_domain.c (`qemuDomainNetSupportsMTU`).
    """
    for iface in ctx.facts.interfaces:
        mtu = iface.mtu
        if mtu is None or mtu.get("size") in (None, "0"):
            continue
        if iface.net_type in MTU_NET_TYPES or (iface.net_type == "user" and iface.is_passt):
            continue
        yield ctx.finding(
            mtu,
            f"setting MTU on interface type {iface.net_type} is not supported yet",
            attribute="size",
        )
