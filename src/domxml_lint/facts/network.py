"""Network interfaces: what libvirt's ``virDomainNetDefParseXML`` reads of an ``<interface>``.

Values are read as libvirt reads them, and never raise: a value libvirt would
refuse becomes None (with the raw text kept) for rules to report.
"""

from __future__ import annotations

import ipaddress

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import parse_uint
from .domain import ARM_ARCHES, VIRTIO_MODELS, DomainBase
from .values import first_children

Element = etree._Element

#: libvirt's interface type when ``<interface>`` has no ``type`` (virDomainNetDefParseXML).
DEFAULT_NET_TYPE = "user"

#: ``NET_MODEL_CHARS``: the characters a model name libvirt does not know may use.
NET_MODEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

#: Interface types whose ``<virtualport>`` libvirt parses (the others refuse one).
VIRTUALPORT_NET_TYPES = frozenset({"network", "bridge", "direct", "hostdev"})

#: Interface types whose ``<filterref>`` libvirt parses (it ignores the others' silently).
FILTERREF_NET_TYPES = frozenset({"network", "bridge", "ethernet"})


class MacAddress(NamedTuple):
    """``<mac address>`` as ``virMacAddrParse`` reads it."""

    text: str
    #: ``virMacAddrFormat``'s spelling (lower-case hex), None when the text is not a MAC.
    formatted: str | None
    multicast: bool
    all_clear: bool


class NetIp(NamedTuple):
    """One ``<ip>`` of an interface (guest side) or of its ``<source>`` (host side)."""

    element: Element
    address: str | None
    #: ``ipv4`` / ``ipv6`` as libvirt decides it (``family``, else the address), None if
    #: the address does not parse as that family.
    family: str | None
    prefix_text: str | None
    #: The prefix, None when absent or not a number.
    prefix: int | None
    peer: str | None

    @property
    def prefix_valid(self) -> bool:
        """What ``virDomainNetIPParseXML`` accepts: a number within the family's width."""
        if self.prefix_text is None:
            return True
        if self.prefix is None:
            return False
        return self.prefix <= (128 if self.family == "ipv6" else 32)


#: The ``<source>`` attribute that names the segment an interface of each type is on.
SEGMENT_ATTRIBUTE = {"network": "network", "bridge": "bridge", "direct": "dev"}


class Interface(NamedTuple):
    element: Element
    type: str | None
    model: str | None
    driver: Element | None
    queues: int | None
    #: ``type``, or libvirt's default ``user`` when the attribute is absent.
    net_type: str = DEFAULT_NET_TYPE
    #: The model lower-cased: libvirt matches the models it knows case-insensitively.
    model_name: str | None = None
    source: Element | None = None
    mac: MacAddress | None = None
    virtualport: Element | None = None
    virtualport_type: str | None = None
    vlan: Element | None = None
    bandwidth: Element | None = None
    coalesce: Element | None = None
    teaming: Element | None = None
    backend: Element | None = None
    target: Element | None = None
    mtu: Element | None = None
    filterref: Element | None = None
    script: Element | None = None
    port: Element | None = None
    #: ``<ip>``/``<route>`` under ``<source>``: host side (ethernet interfaces).
    host_ips: tuple[NetIp, ...] = ()
    host_routes: tuple[Element, ...] = ()
    #: ``<ip>``/``<route>`` directly under ``<interface>``: guest side.
    guest_ips: tuple[NetIp, ...] = ()
    guest_routes: tuple[Element, ...] = ()
    port_forwards: tuple[Element, ...] = ()
    #: The guest ``<address>`` element (its ``type`` says the bus).
    address: Element | None = None

    def driver_attr(self, name: str) -> str | None:
        return None if self.driver is None else self.driver.get(name)

    @property
    def segment(self) -> tuple[str, str] | None:
        """The network segment the interface joins: ``("network", "default")``,
        ``("bridge", "br0")`` or ``("direct", "eno1")``; None for other types.

        None also when the XML does not say which segment of the source it is: an Open
        vSwitch port (its VLAN tag or flows come from outside libvirt, e.g. OpenStack's
        agent on ``br-int``) or an interface with a ``<vlan>`` (one bridge, several VLANs).
        """
        attribute = SEGMENT_ATTRIBUTE.get(self.type or "")
        if attribute is None or self.source is None:
            return None
        if self.virtualport_type == "openvswitch" or self.vlan is not None:
            return None
        value = self.source.get(attribute)
        return (self.type, value) if value and self.type else None

    @property
    def is_virtio(self) -> bool:
        """Whether the model written is a virtio one (``virDomainNetIsVirtioModel``)."""
        return self.model_name in VIRTIO_MODELS

    @property
    def backend_type(self) -> str | None:
        """``<backend type>``: None (QEMU's built-in slirp), ``default`` or ``passt``."""
        return None if self.backend is None else self.backend.get("type")

    @property
    def is_passt(self) -> bool:
        return self.backend_type == "passt"

    @property
    def mac_label(self) -> str:
        """How libvirt names the interface in its messages: its MAC address."""
        if self.mac is not None and self.mac.formatted is not None and not self.mac.all_clear:
            return self.mac.formatted
        return "(MAC generated by libvirt)"

    @property
    def multiqueue(self) -> bool:
        """More than one queue pair: libvirt treats ``queues='1'`` as none."""
        return self.is_virtio and self.net_type != "hostdev" and (self.queues or 0) > 1


def parse_mac(text: str | None) -> MacAddress | None:
    """``virMacAddrParse``: six hex octets separated by ':' (or '-')."""
    if text is None:
        return None
    parts = text.replace("-", ":").split(":")
    octets: list[int] = []
    if len(parts) == 6:
        for part in parts:
            if not (1 <= len(part) <= 2) or any(c not in "0123456789abcdefABCDEF" for c in part):
                break
            octets.append(int(part, 16))
    if len(octets) != 6:
        return MacAddress(text, None, False, False)
    formatted = ":".join(f"{octet:02x}" for octet in octets)
    return MacAddress(text, formatted, bool(octets[0] & 1), not any(octets))


def address_family(address: str | None, family: str | None) -> str | None:
    """The family libvirt parses ``address`` as: ``family`` if given, else what it looks like."""
    if address is None:
        return None
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    actual = "ipv6" if parsed.version == 6 else "ipv4"
    if family in ("ipv4", "ipv6") and family != actual:
        return None
    return actual


def net_ip(element: Element) -> NetIp:
    address = element.get("address")
    prefix_text = element.get("prefix")
    prefix = None
    if prefix_text is not None and prefix_text.strip().isdigit() and prefix_text.isascii():
        prefix = int(prefix_text)
    return NetIp(
        element=element,
        address=address,
        family=address_family(address, element.get("family")),
        prefix_text=prefix_text,
        prefix=prefix,
        peer=element.get("peer"),
    )


def _interface(element: Element) -> Interface:
    children = first_children(element)
    get = children.get
    model_el = get("model")
    model = None if model_el is None else model_el.get("type")
    driver = get("driver")
    source = get("source")
    virtualport = get("virtualport")
    mac_el = get("mac")
    return Interface(
        element=element,
        type=element.get("type"),
        model=model,
        driver=driver,
        queues=None if driver is None else parse_uint(driver.get("queues")),
        net_type=element.get("type", DEFAULT_NET_TYPE),
        model_name=None if model is None else model.lower(),
        source=source,
        mac=None if mac_el is None else parse_mac(mac_el.get("address")),
        virtualport=virtualport,
        virtualport_type=None if virtualport is None else virtualport.get("type"),
        vlan=get("vlan"),
        bandwidth=get("bandwidth"),
        coalesce=get("coalesce"),
        teaming=get("teaming"),
        backend=get("backend"),
        target=get("target"),
        mtu=get("mtu"),
        filterref=get("filterref"),
        script=get("script"),
        port=get("port"),
        host_ips=() if source is None else tuple(map(net_ip, source.iterchildren("ip"))),
        host_routes=() if source is None else tuple(source.iterchildren("route")),
        guest_ips=tuple(map(net_ip, element.iterchildren("ip"))),
        guest_routes=tuple(element.iterchildren("route")),
        port_forwards=tuple(element.iterchildren("portForward")),
        address=get("address"),
    )


class NetworkFacts(DomainBase):
    """``<interface>`` devices."""

    @lazy
    def interfaces(self) -> tuple[Interface, ...]:
        return tuple(_interface(element) for element in self.device_elements("interface"))

    @lazy
    def default_net_model(self) -> str | None:
        """The model libvirt's QEMU driver gives an interface without ``<model>``.

        ``qemuDomainDefaultNetModel``: virtio on s390 and on the ARM, RISC-V and
        LoongArch ``virt`` machines, smc91c111 or lan9118 on other ARM boards,
        else rtl8139 (which every QEMU libvirt 10.7 supports has on those
        architectures). None when the document names no architecture.
        """
        arch = self.arch
        machine = self.machine or ""
        virt_machine = machine == "virt" or machine.startswith("virt-")
        if arch is None:
            return None
        if arch in ("s390", "s390x") or (arch in ("riscv64", "loongarch64") and virt_machine):
            return "virtio"
        if arch in ARM_ARCHES:
            if machine == "versatilepb":
                return "smc91c111"
            return "virtio" if self.is_arm_virt else "lan9118"
        return "rtl8139"

    def effective_net_model(
        self, iface: Interface, *, vhostuser_defaults_to_virtio: bool = True
    ) -> str | None:
        """The model libvirt validates: the one written, else its post-parse default.

        vDPA interfaces default to virtio, and so do vhost-user ones since libvirt
        11.1 (``vhostuser_defaults_to_virtio``; before, they got the machine's
        default); a hostdev interface has none.
        """
        if iface.model_name is not None:
            return iface.model_name
        if iface.net_type == "vdpa" or (
            iface.net_type == "vhostuser" and vhostuser_defaults_to_virtio
        ):
            return "virtio"
        if iface.net_type == "hostdev":
            return None
        return self.default_net_model
