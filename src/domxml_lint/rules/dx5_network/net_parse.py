"""DX544-DX550: what libvirt's interface parser refuses.

``virDomainNetDefParseXML`` and the helpers it calls for ``<ip>``, ``<mac>``,
``<model>``, ``<virtualport>``, ``<bandwidth>``, ``<vlan>`` and ``<coalesce>``.
These run on every define, with or without ``--validate``; many of them the
RelaxNG schema cannot express (ranges that depend on the IP family, on the
interface type, on other attributes).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...facts.network import NET_MODEL_CHARS, VIRTUALPORT_NET_TYPES
from ...findings import Finding
from ...pci import address_number
from ...rule import RuleContext, rule
from ...units import parse_uint

#: ``virNetDevVPortProfileParse``: the largest value of each numeric parameter, and
#: libvirt's words when it is larger.
VPORT_LIMITS = (
    ("managerid", 0xFF, "value of managerid out of range"),
    ("typeid", 0xFFFFFF, "value for typeid out of range"),
    ("typeidversion", 0xFF, "value of typeidversion out of range"),
)
#: ``LIBVIRT_IFLA_VF_PORT_PROFILE_MAX`` - 1: the longest profileid libvirt stores.
PROFILEID_MAX = 39

#: ``virNetDevBandwidthParseRate``'s limits (tc's): rates in KiB/s, burst in KiB.
RATE_MAX = 1 << 54
BURST_MAX = 0xFFFFFFFF >> 10
BANDWIDTH_LIMITS = (
    ("average", RATE_MAX),
    ("peak", RATE_MAX),
    ("burst", BURST_MAX),
    ("floor", RATE_MAX),
)

#: ``virDomainNetDefCoalesceParseXML``: rx frames are a 32-bit count.
COALESCE_MAX = 0xFFFFFFFF

#: ``<vlan><tag id>`` is 12 bits.
VLAN_ID_MAX = 4095


@rule(
    code="DX544",
    name="net-ip-prefix-invalid",
    severity="error",
    summary="An interface <ip prefix> wider than its address family allows",
    triggers=("ip",),
    libvirt=("virDomainNetIPParseXML",),
)
def net_ip_prefix_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `prefix` of every `<ip>` of an interface, guest side (under
    `<interface>`) and host side (under its `<source>`): it must be a number,
    at most 32 for an IPv4 address and at most 128 for an IPv6 one.

    ## Why is this bad?
    The schema accepts any prefix up to 128, whatever the family; libvirt's
    parser then refuses the definition: "Invalid prefix value '%s' in <ip>".

    ## Example
    ```xml
    <interface type='user'>
      <ip address='172.17.2.0' family='ipv4' prefix='64'/>
    </interface>
    ```

    ## Use instead
    ```xml
      <ip address='172.17.2.0' family='ipv4' prefix='24'/>
    ```

    ## Fix safety
    No fix: the intended prefix is the author's.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainNetIPParseXML`).
    """
    for iface in ctx.facts.interfaces:
        for ip in (*iface.host_ips, *iface.guest_ips):
            if ip.family is not None and not ip.prefix_valid:
                yield ctx.finding(
                    ip.element,
                    f"{ip.family} address {ip.address}: Invalid prefix value "
                    f"'{ip.prefix_text}' in <ip>",
                    attribute="prefix",
                )


@rule(
    code="DX545",
    name="net-mac-multicast",
    severity="error",
    summary="An interface MAC address with the multicast bit set",
    triggers=("mac",),
    libvirt=("virDomainNetDefParseXML",),
)
def net_mac_multicast(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<mac address>` values whose first octet is odd: the multicast (group)
    bit is set, so the address cannot name one NIC.

    ## Why is this bad?
    A NIC's own address must be unicast; frames to a multicast address go to
    every listener. libvirt refuses the definition: "expected unicast mac
    address, found multicast '%s'".

    ## Example
    ```xml
    <mac address='01:54:00:12:34:56'/>
    ```

    ## Use instead
    ```xml
    <mac address='52:54:00:12:34:56'/>
    ```

    ## Fix safety
    No fix: the MAC is guest-visible (the guest's network configuration and
    DHCP leases may follow it).

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainNetDefParseXML`),
    src/util/virmacaddr.c (`virMacAddrIsMulticast`).
    """
    for iface in ctx.facts.interfaces:
        mac = iface.mac
        if mac is not None and mac.formatted is not None and mac.multicast:
            element = child(iface.element, "mac")
            assert element is not None  # iface.mac comes from it
            yield ctx.finding(
                element,
                f"expected unicast mac address, found multicast '{mac.text}'",
                attribute="address",
            )


@rule(
    code="DX546",
    name="net-virtualport-invalid",
    severity="error",
    summary="A <virtualport> on an interface type without one, or a parameter out of range",
    triggers=("virtualport",),
    libvirt=("virDomainNetDefParseXML", "virNetDevVPortProfileParse"),
)
def net_virtualport_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<virtualport>` on interfaces other than `network`, `bridge`,
    `direct` and `hostdev`, and `<virtualport><parameters>` values out of
    range: `managerid` and `typeidversion` above 255, `typeid` above
    16777215, a `profileid` longer than 39 characters.

    ## Why is this bad?
    A virtual port profile (Open vSwitch, 802.1Qbg/Qbh, MidoNet) describes
    the switch port the interface connects to, which only those types have.
    libvirt refuses the definition: "<virtualport> element unsupported for
    <interface type='%s'>", "value of managerid out of range", "value for
    typeid out of range", "value of typeidversion out of range", "profileid
    parameter too long".

    ## Example
    ```xml
    <interface type='ethernet'>
      <virtualport type='openvswitch'/>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='bridge'>
      <source bridge='ovsbr0'/>
      <virtualport type='openvswitch'/>
    </interface>
    ```

    ## Fix safety
    No fix: the connection type is a host networking decision.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainNetDefParseXML`),
    src/conf/netdev_vport_profile_conf.c (`virNetDevVPortProfileParse`).
    """
    for iface in ctx.facts.interfaces:
        virtualport = iface.virtualport
        if virtualport is None:
            continue
        if iface.net_type not in VIRTUALPORT_NET_TYPES:
            yield ctx.finding(
                virtualport,
                f"<virtualport> element unsupported for <interface type='{iface.net_type}'>",
            )
            continue
        parameters = child(virtualport, "parameters")
        if parameters is not None:
            yield from _vport_parameters(ctx, parameters)


def _vport_parameters(ctx: RuleContext, parameters) -> Iterator[Finding]:
    for name, limit, words in VPORT_LIMITS:
        text = parameters.get(name)
        if text is None:
            continue
        value = address_number(text)
        if value is None:
            yield ctx.finding(parameters, f"cannot parse value of {name} parameter", attribute=name)
        elif value > limit:
            yield ctx.finding(
                parameters, f"{name}='{text}' (above {limit}): {words}", attribute=name
            )
    profile = parameters.get("profileid")
    if profile is not None and len(profile) > PROFILEID_MAX:
        yield ctx.finding(
            parameters,
            f"profileid of {len(profile)} characters (at most {PROFILEID_MAX}): profileid "
            "parameter too long",
            attribute="profileid",
        )


@rule(
    code="DX547",
    name="net-model-name-invalid",
    severity="error",
    summary="An interface <model type> with characters libvirt refuses",
    triggers=("model",),
    libvirt=("virDomainNetSetModelString",),
)
def net_model_name_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds interface `<model type>` values with characters other than ASCII
    letters, digits, `_` and `-`.

    ## Why is this bad?
    libvirt passes a model it does not know to the hypervisor as a device
    name, so it only takes names that cannot break the command line. It
    refuses the definition: "Model name contains invalid characters".

    ## Example
    ```xml
    <model type='virtio,mq=on'/>
    ```

    ## Use instead
    ```xml
    <model type='virtio'/>
    ```

    ## Fix safety
    No fix: the intended model is the author's.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainNetSetModelString`,
    `NET_MODEL_CHARS`).
    """
    for iface in ctx.facts.interfaces:
        model = iface.model
        if model is None or all(c in NET_MODEL_CHARS for c in model):
            continue
        element = child(iface.element, "model")
        assert element is not None  # iface.model comes from it
        yield ctx.finding(
            element,
            f"model type='{model}': Model name contains invalid characters",
            attribute="type",
        )


@rule(
    code="DX548",
    name="net-bandwidth-invalid",
    severity="error",
    summary="An interface <bandwidth> rate libvirt refuses",
    triggers=("bandwidth",),
    libvirt=("virNetDevBandwidthParse", "virNetDevBandwidthParseRate"),
)
def net_bandwidth_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<bandwidth>` `<inbound>` and `<outbound>`: each needs `average`
    (or, inbound only, `floor`); `peak` and `burst` need `average`; `floor`
    is for `inbound` of `type='network'` interfaces only; rates are at most
    2^54 KiB/s and `burst` at most 4194303 KiB.

    ## Why is this bad?
    libvirt shapes the traffic with tc, which has these limits, and
    guarantees a floor through the libvirt network's bridge, which only
    `network` interfaces have. It refuses the definition: "Missing mandatory
    average or floor attributes", "'peak' and 'burst' require 'average'
    attribute", "floor attribute is not supported for this config", "value
    '%llu' is too big for '%s' parameter, maximum is '%llu'".

    ## Example
    ```xml
    <interface type='bridge'>
      <source bridge='br0'/>
      <bandwidth>
        <inbound floor='1000'/>
        <outbound peak='5000'/>
      </bandwidth>
    </interface>
    ```

    ## Use instead
    ```xml
      <bandwidth>
        <inbound average='1000'/>
        <outbound average='1000' peak='5000'/>
      </bandwidth>
    ```

    ## Fix safety
    No fix: the rates are the author's.

    ## Source
    libvirt src/conf/netdev_bandwidth_conf.c (`virNetDevBandwidthParse`,
    `virNetDevBandwidthParseRate`); formatdomain "Quality of service".
    """
    for iface in ctx.facts.interfaces:
        bandwidth = iface.bandwidth
        if bandwidth is None:
            continue
        for direction in ("inbound", "outbound"):
            rate = child(bandwidth, direction)
            if rate is not None:
                allow_floor = direction == "inbound" and iface.net_type == "network"
                message = _rate_error(rate, allow_floor, direction == "outbound")
                if message is not None:
                    yield ctx.finding(rate, f"<{direction}>: {message}")


def _rate_error(rate, allow_floor: bool, outbound: bool) -> str | None:
    """libvirt's first complaint about one ``<inbound>``/``<outbound>``, or None."""
    for name, limit in BANDWIDTH_LIMITS:
        value = parse_uint(rate.get(name))
        if value is not None and value > limit:
            return f"value '{value}' is too big for '{name}' parameter, maximum is '{limit}'"
    has = {name: rate.get(name) is not None for name, _ in BANDWIDTH_LIMITS}
    if not has["average"] and not has["floor"]:
        return "Missing mandatory average or floor attributes"
    if (has["peak"] or has["burst"]) and not has["average"]:
        return "'peak' and 'burst' require 'average' attribute"
    if has["floor"] and not allow_floor:
        if outbound:  # libvirt 9.0 and older said it differently for <outbound>
            return (
                "floor attribute is not supported for this config ('floor' attribute allowed "
                "only in <inbound> element)"
            )
        return "floor attribute is not supported for this config"
    return None


@rule(
    code="DX549",
    name="net-vlan-invalid",
    severity="error",
    summary="A <vlan> with a tag above 4095, two native tags, or trunk='no' it cannot have",
    triggers=("vlan",),
    libvirt=("virNetDevVlanParse",),
)
def net_vlan_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks interface `<vlan>` elements: tag ids are at most 4095, at most one
    tag has `nativeMode`, and `trunk='no'` is neither given with more than
    one tag nor with a native tag.

    ## Why is this bad?
    VLAN ids are 12 bits; a port has one native VLAN; several tags or a
    native tag make the port a trunk. libvirt refuses the definition: "vlan
    tag id %u too large (maximum 4095)", "duplicate native vlan setting",
    "invalid "trunk='%s'" in <vlan> - trunk='yes' is required for more than
    one vlan tag", "invalid configuration in <vlan> - "trunk='no'" is not
    allowed with a native vlan id".

    ## Example
    ```xml
    <vlan trunk='no'>
      <tag id='42'/>
      <tag id='47'/>
    </vlan>
    ```

    ## Use instead
    ```xml
    <vlan trunk='yes'>
      <tag id='42'/>
      <tag id='47'/>
    </vlan>
    ```

    ## Fix safety
    No fix: the VLAN layout is the author's.

    ## Source
    libvirt src/conf/netdev_vlan_conf.c (`virNetDevVlanParse`); formatdomain
    "Setting VLAN tag".
    """
    for iface in ctx.facts.interfaces:
        if iface.vlan is not None:
            yield from _vlan_findings(ctx, iface.vlan)


def _vlan_findings(ctx: RuleContext, vlan) -> Iterator[Finding]:
    tags = list(vlan.iterchildren("tag"))
    native = None
    for tag in tags:
        tag_id = parse_uint(tag.get("id"))
        if tag_id is not None and tag_id > VLAN_ID_MAX:
            yield ctx.finding(
                tag, f"vlan tag id {tag_id} too large (maximum {VLAN_ID_MAX})", attribute="id"
            )
            return
        if tag.get("nativeMode") is not None:
            if native is not None:
                yield ctx.finding(tag, "duplicate native vlan setting", attribute="nativeMode")
                return
            native = tag
    trunk = vlan.get("trunk")
    if trunk is None or trunk.lower() == "yes":
        return
    if len(tags) > 1:
        yield ctx.finding(
            vlan,
            f"invalid \"trunk='{trunk}'\" in <vlan> - trunk='yes' is required for more than one "
            "vlan tag",
            attribute="trunk",
        )
    elif native is not None:
        yield ctx.finding(
            vlan,
            "invalid configuration in <vlan> - \"trunk='no'\" is not allowed with a native vlan id",
            attribute="trunk",
        )


@rule(
    code="DX550",
    name="net-coalesce-too-big",
    severity="error",
    summary="An interface <coalesce><rx><frames max> above 4294967295",
    triggers=("coalesce",),
    libvirt=("virDomainNetDefCoalesceParseXML",),
)
def net_coalesce_too_big(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<coalesce><rx><frames max>` values above 4294967295.

    ## Why is this bad?
    The kernel's ethtool coalescing parameters are 32-bit. libvirt refuses
    the definition: "value '%llu' is too big for coalesce parameter, maximum
    is '%u'".

    ## Example
    ```xml
    <coalesce><rx><frames max='4294967296'/></rx></coalesce>
    ```

    ## Use instead
    ```xml
    <coalesce><rx><frames max='64'/></rx></coalesce>
    ```

    ## Fix safety
    No fix: the batch size is the author's to pick.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainNetDefCoalesceParseXML`).
    """
    for iface in ctx.facts.interfaces:
        if iface.coalesce is None:
            continue
        rx = child(iface.coalesce, "rx")
        frames = None if rx is None else child(rx, "frames")
        value = None if frames is None else parse_uint(frames.get("max"))
        if frames is not None and value is not None and value > COALESCE_MAX:
            yield ctx.finding(
                frames,
                f"value '{value}' is too big for coalesce parameter, maximum is '{COALESCE_MAX}'",
                attribute="max",
            )
