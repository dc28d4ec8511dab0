"""DX557-DX560: interface back ends QEMU cannot build.

What libvirt's QEMU driver refuses when it connects an interface to its back
end at start: tap-only options on other types (``qemuDomainValidateActualNetDef``,
``qemuBuildHostNetProps``), interface types QEMU has no back end for, virtual
port profiles of hostdev interfaces (``virHostdevSetNetConfig``), and user-mode
back ends the host's QEMU lacks (domain capabilities).

An ``<interface type='network'>`` is left alone by the checks of the actual
type: libvirt resolves it through the network's definition, which the domain
XML does not hold.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import Interface
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: Types whose back end is a tap/macvtap device or that take several queues.
MULTIQUEUE_NET_TYPES = frozenset({"network", "bridge", "direct", "ethernet", "vhostuser", "vdpa"})
#: Types whose tap device libvirt opens itself (custom tap path, nwfilter).
TAP_NET_TYPES = frozenset({"network", "bridge", "ethernet"})
#: Interface types QEMU has no back end for (qemuBuildHostNetProps).
NO_QEMU_BACKEND = frozenset({"null", "vds"})
#: virHostdevNetConfigVirtPortProfile: profiles a VF cannot be set up with.
HOSTDEV_REFUSED_VPORTS = frozenset({"openvswitch", "802.1Qbg"})


def _message(iface: Interface, words: str) -> str:
    """libvirt's ``interface <MAC> - ...`` form."""
    return f"interface {iface.mac_label} - {words}"


@rule(
    code="DX557",
    name="net-tap-option-unsupported",
    severity="error",
    summary="Multi-queue, a tap path, a script or nwfilter where the interface has no tap",
    triggers=("interface",),
    domains=QEMU,
    libvirt=("qemuDomainValidateActualNetDef", "qemuBuildHostNetProps"),
)
def net_tap_option_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds, on QEMU interfaces other than `type='network'`: virtio multi-queue
    (`<driver queues>` above 1) on types that have no multi-queue back end
    (only `bridge`, `direct`, `ethernet`, `vhostuser` and `vdpa` do);
    `<backend tap>` on types other than `bridge` and `ethernet`; `<script>`
    on types other than `ethernet`; `<filterref>` on an interface with a
    `<virtualport>`.

    ## Why is this bad?
    These options configure the host's tap device, which only those types
    have, and nwfilter rules cannot apply to Open vSwitch or MidoNet ports.
    libvirt refuses the guest when it starts: "interface %s - multiqueue is
    not supported for network interfaces of type %s", "interface %s - custom
    tap device path is not supported for network interfaces of type %s",
    "scripts are not supported on interfaces of type %s", "interface %s -
    filterref is not supported for network interfaces with virtualport type
    %s".

    ## Example
    ```xml
    <interface type='hostdev' managed='yes'>
      <mac address='00:11:22:33:44:55'/>
      <source>
        <address type='pci' domain='0x0000' bus='0x06' slot='0x12' function='0x1'/>
      </source>
      <backend tap='/dev/mytap'/>
    </interface>
    ```

    ## Use instead
    Leave `<backend tap>` out: a passed-through VF has no tap device.

    ## Fix safety
    No fix: the connection type is a host networking decision.

    ## Source
    libvirt src/qemu/qemu_domain.c (`qemuDomainValidateActualNetDef`),
    src/qemu/qemu_command.c (`qemuBuildHostNetProps`).
    """
    for iface in ctx.facts.interfaces:
        kind = iface.net_type
        if kind == "network":
            continue
        if iface.multiqueue and kind not in MULTIQUEUE_NET_TYPES and iface.driver is not None:
            yield ctx.finding(
                iface.driver,
                _message(
                    iface,
                    f"multiqueue is not supported for network interfaces of type {kind}",
                ),
                attribute="queues",
            )
        if iface.filterref is not None and kind in ("bridge", "ethernet"):
            if iface.virtualport_type:
                yield ctx.finding(
                    iface.filterref,
                    _message(
                        iface,
                        "filterref is not supported for network interfaces with virtualport "
                        f"type {iface.virtualport_type}",
                    ),
                )
        backend = iface.backend
        if backend is not None and backend.get("tap") is not None and kind not in TAP_NET_TYPES:
            yield ctx.finding(
                backend,
                _message(
                    iface,
                    "custom tap device path is not supported for network interfaces of type "
                    f"{kind}",
                ),
                attribute="tap",
            )
        if iface.script is not None and iface.script.get("path") and kind != "ethernet":
            yield ctx.finding(
                iface.script,
                f"scripts are not supported on interfaces of type {kind}",
                attribute="path",
            )


@rule(
    code="DX558",
    name="net-type-unsupported",
    severity="error",
    summary="An interface type (null, vds) that QEMU has no back end for",
    triggers=("interface",),
    domains=QEMU,
    libvirt=("qemuBuildHostNetProps",),
)
def net_type_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds interfaces of `type='null'` (a bhyve/Xen no-op connection) or
    `type='vds'` (a VMware distributed switch) in QEMU guests.

    ## Why is this bad?
    QEMU has no back end for them. libvirt refuses the guest when it starts:
    "network device type '%s' is not supported by this hypervisor".

    ## Example
    ```xml
    <interface type='null'/>
    ```

    ## Use instead
    ```xml
    <interface type='user'/>
    ```

    ## Fix safety
    No fix: the connection is the author's to choose.

    ## Source
    libvirt src/qemu/qemu_command.c (`qemuBuildHostNetProps`).
    """
    for iface in ctx.facts.interfaces:
        if iface.net_type in NO_QEMU_BACKEND:
            yield ctx.finding(
                iface.element,
                f"network device type '{iface.net_type}' is not supported by this hypervisor",
                attribute="type",
            )


@rule(
    code="DX559",
    name="net-hostdev-virtualport-invalid",
    severity="warning",
    summary="A hostdev interface with a VLAN and a virtualport, or a profile a VF cannot take",
    triggers=("virtualport",),
    libvirt=("virHostdevSetNetConfig", "virHostdevNetConfigVirtPortProfile"),
)
def net_hostdev_virtualport_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds PCI `<interface type='hostdev'>` elements with a `<virtualport>`
    and a `<vlan>`, or with a `<virtualport>` of type `openvswitch` or
    `802.1Qbg`.

    ## Why is this bad?
    For an SR-IOV VF with a port profile, the switch (802.1Qbh) assigns the
    VLAN; without a profile libvirt sets the VF's VLAN and MAC through the
    PF. Open vSwitch and 802.1Qbg profiles have no VF equivalent. libvirt
    refuses the guest when it starts: "direct setting of the vlan tag is not
    allowed for hostdev devices using %s mode", "virtualport type %s is
    currently not supported on interfaces of type hostdev".

    A warning rather than an error: `virsh define` accepts the definition
    and only the start fails, when libvirt prepares the VF on the host;
    libvirt's own tests define such guests (`net-hostdev.xml`).

    ## Example
    ```xml
    <interface type='hostdev' managed='yes'>
      <source>
        <address type='pci' domain='0x0000' bus='0x06' slot='0x12' function='0x1'/>
      </source>
      <virtualport type='802.1Qbh'>
        <parameters profileid='finance'/>
      </virtualport>
      <vlan><tag id='42'/></vlan>
    </interface>
    ```

    ## Use instead
    Either the port profile or the `<vlan>`.

    ## Fix safety
    No fix: which one the switch should apply is the author's call.

    ## Source
    libvirt src/hypervisor/virhostdev.c (`virHostdevSetNetConfig`,
    `virHostdevNetConfigVirtPortProfile`).
    """
    for device in ctx.facts.host_devices:
        if not device.is_interface or device.type != "pci":
            continue
        iface = next(i for i in ctx.facts.interfaces if i.element is device.element)
        vport = iface.virtualport_type
        if iface.virtualport is None or not vport:
            continue
        if iface.vlan is not None:
            yield ctx.finding(
                iface.vlan,
                "direct setting of the vlan tag is not allowed for hostdev devices using "
                f"{vport} mode",
            )
        elif vport in HOSTDEV_REFUSED_VPORTS:
            yield ctx.finding(
                iface.virtualport,
                f"virtualport type {vport} is currently not supported on interfaces of type "
                "hostdev",
                attribute="type",
            )


@rule(
    code="DX560",
    name="net-user-backend-unavailable",
    severity="error",
    summary="A user-mode interface back end the host's QEMU does not offer",
    triggers=("interface",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDeviceDefNetwork", "qemuDomainDeviceNetDefPostParse"),
)
def net_user_backend_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    With a host snapshot, checks `type='user'` interfaces against the
    `<interface>` `backendType` values of the domain capabilities for the
    guest's machine: `<backend type='passt'>` needs `passt` listed, and the
    default back end (no `type`) needs `default` (QEMU's built-in slirp) or,
    failing that, `passt`, which libvirt then picks.

    ## Why is this bad?
    libvirt lists `passt` only when the passt binary is installed, and
    `default` only when QEMU was built with slirp. It refuses the definition:
    "the '%s' network backend is not supported with this QEMU binary".

    Releases after 10.7 switch an interface without a back end to passt when
    QEMU lacks slirp and passt is there (`qemuDomainDeviceNetDefPostParse`).
    The rule assumes that from libvirt 10.8 on (the change's release is not
    pinned down more closely; an earlier guess would only hide findings), and
    with no libvirt version configured follows the newest behaviour.

    ## Example
    ```xml
    <interface type='user'>
      <backend type='passt'/>
    </interface>
    ```

    ## Use instead
    Install passt on the host, or use QEMU's built-in back end:

    ```xml
    <interface type='user'/>
    ```

    ## Fix safety
    No fix: a host setting.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefNetwork`),
    src/qemu/qemu_postparse.c (`qemuDomainDeviceNetDefPostParse`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceNetCaps`).
    """
    users = [i for i in ctx.facts.interfaces if i.net_type == "user"]
    if not users:
        return
    caps = ctx.domain_caps
    if caps is None or caps.interface_backends is None:
        return
    offered = caps.interface_backends
    for iface in users:
        wanted = iface.backend_type or "default"
        switches = ctx.libvirt_at_least(10, 8)
        if switches and wanted == "default" and "default" not in offered and "passt" in offered:
            continue  # newer libvirt switches such an interface to passt
        if wanted not in offered:
            element = iface.backend if iface.backend is not None else iface.element
            yield ctx.finding(
                element,
                f"the '{wanted}' network backend is not supported with this QEMU binary "
                f"(the host offers: {', '.join(sorted(offered)) or 'none'})",
            )
