"""DX506-DX509: vhost-net on the host, zero-copy transmit, NICs on one segment, MACs
across the guests of a host (guide 5.1, 5.2, 5.4.1)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ...facts import Interface
from ...findings import Finding
from ...guests import GuestFacts, NicUse
from ...planrules import PlanContext, PlanFinding, others, plan_rule
from ...rule import KVM, QEMU, HostPart, RuleContext, rule
from ..dx0_document.host_setup import host_name
from .network import TAP_INTERFACE_TYPES, VIRTIO_NET_MODELS, interface_label

VHOST_NET = "/dev/vhost-net"


@rule(
    code="DX506",
    name="vhost-net-unavailable",
    severity="error",
    summary="A virtio NIC of a KVM guest on a host without /dev/vhost-net",
    needs=(HostPart.SYSTEM,),
    triggers=("interface",),
    domains=KVM,
    libvirt=("qemuInterfaceOpenVhostNet",),
)
def vhost_net_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds virtio NICs of a KVM guest on tap-backed interfaces (`network`,
    `bridge`, `direct`, `ethernet`) when the host snapshot recorded that
    `/dev/vhost-net` does not exist. With `<driver name='vhost'>` that is an
    error; without a `name` a warning. NICs forced onto the userspace backend
    (`name='qemu'`, see DX504) and NICs with their own `<backend vhost=...>`
    path are left out.

    ## Why is this bad?
    vhost-net moves the virtio-net data path into the host kernel (guide
    5.2). When `/dev/vhost-net` cannot be opened, a NIC that asks for it
    explicitly stops the guest from starting ("vhost-net was requested for an
    interface, but is unavailable"); one that does not ask falls back
    silently to QEMU's userspace backend, with more copies, more latency and
    more host CPU per packet.

    ## Example
    On a host whose snapshot has `<node path='/dev/vhost-net' exists='no'/>`:
    ```xml
    <interface type='bridge'>
      <source bridge='br0'/>
      <model type='virtio'/>
      <driver name='vhost' queues='4'/>
    </interface>
    ```

    ## Use instead
    Load the module on the host (`modprobe vhost_net`, and list it in
    `/etc/modules-load.d/`), then take the snapshot again.

    ## Fix safety
    No fix: the host has to change.

    ## Source
    Guide 5.2 (virtio and vhost_net) and 1.3; libvirt
    src/qemu/qemu_interface.c `qemuInterfaceOpenVhostNet` (only KVM guests,
    only virtio models; "vhost-net was requested for an interface, but is
    unavailable" when `name='vhost'`, a silent fallback otherwise).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    node = system.device(VHOST_NET)
    candidates = [
        iface
        for iface in ctx.facts.interfaces
        if iface.type in TAP_INTERFACE_TYPES
        and iface.model in VIRTIO_NET_MODELS
        and iface.driver_attr("name") != "qemu"
        and not _own_vhost_path(iface)
    ]
    if not candidates:
        return
    if node is None:
        ctx.note(f"the snapshot does not say whether {VHOST_NET} exists")
        return
    if node.exists:
        return
    for iface in candidates:
        if iface.driver_attr("name") == "vhost":
            assert iface.driver is not None
            yield ctx.finding(
                iface.driver,
                f"virtio {interface_label(iface)} asks for vhost-net, but {host_name(system)} "
                f'has no {VHOST_NET}, so the guest does not start: "vhost-net was requested for '
                'an interface, but is unavailable" (modprobe vhost_net)',
                attribute="name",
            )
        else:
            yield ctx.finding(
                iface.element,
                f"virtio {interface_label(iface)}: {host_name(system)} has no {VHOST_NET}, so "
                "libvirt silently falls back to QEMU's userspace virtio-net backend "
                "(modprobe vhost_net)",
                severity="warning",
            )


def _own_vhost_path(iface) -> bool:
    for backend in iface.element.iterchildren("backend"):
        if backend.get("vhost"):
            return True
    return False


@plan_rule(
    code="DX507",
    name="vhost-net-zero-copy-off",
    severity="info",
    summary="Bridge zero-copy transmit is off on a host whose guests send through bridges",
    default=False,
    needs=(HostPart.SYSTEM,),
    domains=KVM,
)
def vhost_net_zero_copy_off(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Opt-in. Reports a host where `vhost_net` is loaded with
    `experimental_zcopytx=0` while some of its KVM guests have virtio NICs on
    a bridge or a libvirt network.

    ## Why is this bad?
    Zero-copy transmit hands large packets from the guest to the NIC without
    copying them: the guide measured about 15 % less host CPU for guests that
    send large packets to the external network, with no loss of throughput.
    It does nothing for guest-to-guest, guest-to-host or small-packet traffic.
    The copy it saves is also a mitigation against denial of service and
    information leaks, which is why it is off by default and why this rule is
    opt-in: turn it on only for such guests, and off again on regressions.

    ## Example
    A snapshot with `<module name='vhost_net' loaded='yes'>` and
    `<parameter name='experimental_zcopytx'>0</parameter>`.

    ## Use instead
    `options vhost_net experimental_zcopytx=1` in `/etc/modprobe.d/vhost-net.conf`,
    then reload the module (with the guests stopped).

    ## Fix safety
    No fix: the module parameter is host configuration.

    ## Source
    Guide 5.4.1 (Bridge Zero Copy Transmit) and 1.3; Linux
    drivers/vhost/net.c (`experimental_zcopytx`).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    module = system.module("vhost_net")
    if module is None or not module.loaded:
        return
    zero_copy = module.integer("experimental_zcopytx")
    if zero_copy is None:
        ctx.note("the snapshot does not record vhost_net's experimental_zcopytx")
        return
    if zero_copy:
        return
    senders = [
        (guest, nic)
        for guest in ctx.guests
        for nic in guest.nics
        if nic.type in ("bridge", "network") and nic.model in VIRTIO_NET_MODELS
    ]
    if not senders:
        return
    related, more = others([ctx.related(g, n.place, f"a NIC of {g.label}") for g, n in senders])
    yield ctx.host_finding(
        f"{host_name(system)} has bridge zero-copy transmit off (vhost_net "
        f"experimental_zcopytx=0) while virtio NICs of its guests send through bridges{more}; "
        "guests that send large packets outside use less host CPU with it on",
        fact="system/modules/module[vhost_net]",
        related=related,
    )


@rule(
    code="DX508",
    name="nics-on-one-segment",
    severity="info",
    summary="Two interfaces of one guest on the same network or bridge",
    triggers=("interface",),
    domains=QEMU,
)
def nics_on_one_segment(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds interfaces of one guest that join the same segment: the same
    libvirt `<source network>`, the same `<source bridge>`, or the same host
    device for `direct` interfaces. With a host snapshot whose system facts
    include `arp_filter`, the message says whether the host has it on.
    Silent on Open vSwitch ports and on interfaces with a `<vlan>`: the
    segment is then a VLAN or flow the XML does not fully name (OpenStack's
    agent tags each port on `br-int` outside libvirt).

    ## Why is this bad?
    Red Hat recommends against several interfaces on one segment. A Linux
    guest answers ARP requests for any of its addresses on every interface
    ("ARP flux"), so traffic meant for one NIC arrives on the other and the
    two do not share the load the way they seem to. If it cannot be avoided,
    set `net.ipv4.conf.all.arp_filter=1` in the guest and on the host.

    ## Example
    ```xml
    <interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>
    <interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>
    ```

    ## Use instead
    One interface per segment (with multi-queue for throughput), or separate
    networks, for example a dedicated backup or migration network.

    ## Fix safety
    No fix: which interface to move or drop is the author's choice.

    ## Source
    Guide 5.1 (Network Tuning Tips: use several networks; do not put several
    interfaces on one segment, else use arp_filter); Linux
    Documentation/networking/ip-sysctl.rst (`arp_filter`).
    """
    seen: dict[tuple[str, str], Interface] = {}
    system = ctx.optional_host.system if ctx.optional_host is not None else None
    for iface in ctx.facts.interfaces:
        segment = iface.segment
        if segment is None:
            continue
        first = seen.get(segment)
        if first is None:
            seen[segment] = iface
            continue
        advice = "if it cannot be avoided, set arp_filter=1 in the guest and on the host"
        if system is not None and system.arp_filter is not None:
            on = system.arp_filter_on(segment[1] if segment[0] == "bridge" else "all")
            if on:
                advice = "the host has arp_filter on; set it in the guest too"
            elif on is False:
                advice = (
                    f"set arp_filter=1 in the guest and on {host_name(system)}, which has it off"
                )
        line = ctx.doc.position(ctx.doc.span(first.element).start)[0]
        yield ctx.finding(
            iface.element,
            f"{interface_label(iface)} is on the same {segment[0]} as the interface on line "
            f"{line}: several interfaces on one segment cause ARP flux; {advice}",
        )


def _segment_label(nic: NicUse) -> str:
    assert nic.segment is not None
    kind, name = nic.segment
    return {"network": "network", "bridge": "bridge", "direct": "host device"}[kind] + f" '{name}'"


@plan_rule(
    code="DX509",
    name="mac-address-duplicate",
    severity="warning",
    summary="Two guests of a host with the same MAC address on one network",
    domains=QEMU,
)
def mac_address_duplicate(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Finds interfaces of different guests of one host that have the same
    `<mac address>` and join the same segment (libvirt network, bridge, or
    host device for `direct`). Each guest gets a finding pointing at the
    others. Interfaces without a `<mac>` get one libvirt generates, and are
    left out.

    ## Why is this bad?
    Two NICs with one MAC on one layer-2 segment take each other's traffic:
    the bridge's forwarding table flips between them, DHCP hands both the
    same lease, and both guests lose packets at random. libvirt does not check
    this across guests; copying a guest's XML without removing its `<mac>` is
    the usual cause.

    ## Example
    `web-01.xml` and `web-02.xml` both with
    ```xml
    <interface type='bridge'>
      <mac address='52:54:00:12:34:56'/>
      <source bridge='br0'/>
    </interface>
    ```

    ## Use instead
    Remove the `<mac>` of the copy (libvirt generates a new one) or give it a
    new address.

    ## Fix safety
    No fix: which guest keeps its address is the author's choice.

    ## Source
    Guide 5.1 (Network Tuning Tips); libvirt formatdomain, "Network
    interfaces" (`<mac>`: libvirt generates one when absent).
    """
    holders: dict[tuple[str, tuple[str, str]], list[tuple[GuestFacts, NicUse]]] = defaultdict(list)
    for guest in ctx.guests:
        for nic in guest.nics:
            if nic.mac and nic.segment is not None:
                holders[(nic.mac, nic.segment)].append((guest, nic))
    for (mac, _segment), users in holders.items():
        guests = {id(guest) for guest, _ in users}
        if len(guests) < 2:
            continue
        for guest, nic in users:
            peers = [
                ctx.related(g, n.place, f"{g.label} has the same MAC there")
                for g, n in users
                if g is not guest
            ]
            related, more = others(peers)
            first = next(g for g, _ in users if g is not guest)
            yield ctx.finding(
                guest,
                nic.place,
                f"MAC {mac} on {_segment_label(nic)} is also the MAC of an interface of "
                f"{first.label}{more}: on one segment they take each other's traffic",
                related=related,
            )
