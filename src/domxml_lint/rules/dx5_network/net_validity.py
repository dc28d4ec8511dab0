"""DX540-DX543: NIC ring sizes, virtio-only options, per-type options and shared memory."""

from __future__ import annotations

from collections.abc import Iterator

from ...edits import new_element
from ...facts import VIRTIO_MODELS, child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import parse_uint

#: QEMU hw/net/virtio-net.c: VIRTIO_NET_RX/TX_QUEUE_MIN_SIZE and VIRTQUEUE_MAX_SIZE.
RING_MIN, RING_MAX = 256, 1024


#: QEMU >= 8.0 virtio_net_max_tx_queue_size(): 1024 only for vhost-user and vDPA peers.
TX_MAX_PLAIN = 256


VIRTIO_NET_OPTIONS = ("iommu", "ats", "packed", "page_per_vq")


#: virDomainCheckVirtioOptionsAreAbsent's words for each option.
VIRTIO_OPTION_MESSAGES = {
    "iommu": "iommu driver option is only supported for virtio devices",
    "ats": "ats driver option is only supported for virtio devices",
    "packed": "packed driver option is only supported for virtio devices",
    "page_per_vq": "page_per_vq option is only supported for virtio devices",
}


def _is_virtio_nic(iface, facts) -> bool | None:
    """Whether the NIC is virtio; None when the model is left to the driver and unknown."""
    if iface.model is not None:
        return iface.model in VIRTIO_MODELS
    if iface.type in ("vhostuser", "vdpa"):
        return True
    if facts.driver != "qemu" or facts.is_x86:
        return False  # QEMU's x86 default is rtl8139/e1000e; other drivers set no model
    return None


@rule(
    code="DX540",
    name="net-ring-size-invalid",
    severity="error",
    summary="A virtio NIC rx/tx_queue_size that is not a power of two in QEMU's range",
    triggers=("driver",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefNetwork",),
)
def net_ring_size_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `rx_queue_size` and `tx_queue_size` on the `<driver>` of virtio
    NICs of QEMU/KVM guests: each must be a power of two from 256 to 1024, and
    `tx_queue_size` above 256 needs a vhost-user or vDPA interface.

    ## Why is this bad?
    libvirt refuses sizes that are not powers of two: "rx_queue_size has to be
    a power of two" (and the tx equivalent). QEMU refuses the rest when the
    guest starts: "Invalid rx_queue_size (= %u), must be a power of 2 between
    256 and 1024." and "Invalid tx_queue_size (= %u), must be a power of 2
    between 256 and %d", where the maximum is 1024 for vhost-user and vDPA
    back ends and 256 otherwise (QEMU 8.0 and later; older QEMU accepted 1024
    and silently used 256).

    ## Example
    ```xml
    <interface type='bridge'>
      <model type='virtio'/>
      <driver rx_queue_size='1000' tx_queue_size='1024'/>
    ```

    ## Use instead
    ```xml
    <interface type='bridge'>
      <model type='virtio'/>
      <driver rx_queue_size='1024' tx_queue_size='256'/>
    ```

    ## Fix safety
    No fix: the ring size trades latency against throughput; pick it yourself.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefNetwork`);
    QEMU hw/net/virtio-net.c (`virtio_net_device_realize`,
    `virtio_net_max_tx_queue_size`); formatdomain "Setting NIC driver-specific
    options".
    """
    facts = ctx.facts
    for iface in facts.interfaces:
        if iface.driver is None or not _is_virtio_nic(iface, facts):
            continue
        for attribute in ("rx_queue_size", "tx_queue_size"):
            text = iface.driver.get(attribute)
            if text is None:
                continue
            value = parse_uint(text)
            if value is None or value == 0 or value & (value - 1):
                yield ctx.finding(
                    iface.driver,
                    f"{attribute}='{text}': {attribute} has to be a power of two",
                    attribute=attribute,
                )
                continue
            high = RING_MAX
            if attribute == "tx_queue_size" and iface.type not in ("vhostuser", "vdpa"):
                high = TX_MAX_PLAIN
            if not RING_MIN <= value <= high:
                yield ctx.finding(
                    iface.driver,
                    f"{attribute}='{value}': QEMU refuses it (\"Invalid {attribute} (= {value}), "
                    f'must be a power of 2 between {RING_MIN} and {high}")'
                    + (" on a non-vhost-user NIC" if high == TX_MAX_PLAIN and value > high else ""),
                    attribute=attribute,
                )


@rule(
    code="DX541",
    name="net-virtio-only-option",
    severity="error",
    summary="A virtio-only driver option (iommu, ats, packed, page_per_vq) on a non-virtio NIC",
    fix="safe",
    triggers=("interface",),
    libvirt=("virDomainNetDefValidate", "virDomainCheckVirtioOptionsAreAbsent"),
)
def net_virtio_only_option(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<interface>` elements whose model is not virtio (or is left to the
    x86 QEMU default, rtl8139/e1000e) and whose `<driver>` sets `iommu`, `ats`,
    `packed` or `page_per_vq`.

    ## Why is this bad?
    These are virtio transport options. libvirt refuses the definition (proven
    on libvirt 9.0): "iommu driver option is only supported for virtio
    devices", and likewise "ats driver option ...", "packed driver option ...",
    "page_per_vq option is only supported for virtio devices".

    ## Example
    ```xml
    <interface type='network'>
      <source network='default'/>
      <model type='e1000'/>
      <driver packed='on'/>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
      <driver packed='on'/>
    </interface>
    ```

    ## Fix safety
    Safe: the fix removes the option. The definition is refused as written; the
    fix does not change the NIC model, which the guest would see.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainNetDefValidate`,
    `virDomainCheckVirtioOptionsAreAbsent`); formatdomain "Virtio-related
    options".
    """
    facts = ctx.facts
    for iface in facts.interfaces:
        if iface.driver is None or _is_virtio_nic(iface, facts) is not False:
            continue
        present = [a for a in VIRTIO_NET_OPTIONS if iface.driver.get(a) is not None]
        if not present:
            continue
        model = f"model '{iface.model}'" if iface.model else "the default (non-virtio) model"
        words = "; ".join(VIRTIO_OPTION_MESSAGES[a] for a in present)
        yield ctx.finding(
            iface.driver,
            f"interface with {model}: {words}",
            attribute=present[0],
            fix=ctx.safe_fix(
                "Remove the virtio-only option(s)",
                *(ctx.edit.remove_attribute(iface.driver, a) for a in present),
            ),
        )


@rule(
    code="DX542",
    name="net-option-unsupported-for-type",
    severity="error",
    summary="A vlan, bandwidth or port isolation setting the interface type cannot take",
    triggers=("vlan", "bandwidth", "port"),
    libvirt=("virDomainNetDefValidatePortOptions", "virDomainActualNetDefValidate"),
)
def net_option_unsupported_for_type(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks per-type interface settings: `<port isolated='yes'/>` only on
    `network` and `bridge` interfaces without `<virtualport>`; `<vlan>` only on
    `hostdev`, `direct` in `passthrough` mode, or an Open vSwitch `bridge`;
    no `<bandwidth>` on `hostdev`. Interfaces of type `network` are not judged
    for vlan and bandwidth: their real type comes from the network definition.
    (`<coalesce>` on other types than `network` and `bridge` is
    `net-coalesce-unsupported`, DX505.)

    ## Why is this bad?
    libvirt refuses the definition: "interface %s - <port isolated='yes'/> is
    not supported for network interfaces with type='%s'" (proven on libvirt
    9.0). It refuses the start: "interface %s - vlan tag not supported for this
    connection type" and "interface %s - bandwidth settings are not supported
    for hostdev interfaces".

    ## Example
    ```xml
    <interface type='direct'>
      <source dev='eth0' mode='vepa'/>
      <vlan><tag id='42'/></vlan>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='bridge'>
      <source bridge='ovsbr0'/>
      <virtualport type='openvswitch'/>
      <vlan><tag id='42'/></vlan>
    </interface>
    ```

    ## Fix safety
    No fix: the right connection type is a host networking decision.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainNetDefValidatePortOptions`,
    `virDomainActualNetDefValidate`), src/qemu/qemu_validate.c
    (`qemuValidateNetSupportsCoalesce`); formatdomain "Network interfaces".
    """
    facts = ctx.facts
    for iface in facts.interfaces:
        element = iface.element
        kind = iface.net_type
        virtualport = child(element, "virtualport")
        vport_type = virtualport.get("type") if virtualport is not None else None
        port = child(element, "port")
        if port is not None and port.get("isolated") == "yes":
            if kind not in ("network", "bridge"):
                yield ctx.finding(
                    port,
                    f"interface {iface.mac_label} - <port isolated='yes'/> is not supported for "
                    f"network interfaces with type='{kind}'",
                    attribute="isolated",
                )
            elif vport_type:
                yield ctx.finding(
                    port,
                    f"interface {iface.mac_label} - <port isolated='yes'/> is not supported for "
                    f"network interfaces with virtualport type='{vport_type}'",
                    attribute="isolated",
                )
        vlan = child(element, "vlan")
        if vlan is not None and kind != "network":
            source = child(element, "source")
            mode = source.get("mode", "vepa") if source is not None else "vepa"
            allowed = (
                kind == "hostdev"
                or (kind == "direct" and mode == "passthrough")
                or (kind == "bridge" and vport_type == "openvswitch")
            )
            if not allowed:
                yield ctx.finding(
                    vlan,
                    f"<vlan> on a type='{kind}' interface: interface {iface.mac_label} - vlan tag "
                    "not supported for this connection type (only hostdev, direct passthrough "
                    "and Open vSwitch bridges)",
                )
        bandwidth = child(element, "bandwidth")
        if bandwidth is not None and kind == "hostdev":
            yield ctx.finding(
                bandwidth,
                f"interface {iface.mac_label} - bandwidth settings are not supported for "
                "hostdev interfaces",
            )


def _shared_memory_state(facts) -> tuple[bool, bool]:
    """(guest memory is shared, a fix can make it shared) as the QEMU driver judges it."""
    backing = facts.memory_backing
    access = backing.access_mode if backing is not None else None
    cells = facts.numa_cells
    if not cells:
        return access == "shared", True
    if any(c.mem_access == "private" for c in cells):
        return False, False
    return all(c.mem_access == "shared" or access == "shared" for c in cells), True


def _vhost_user_devices(facts):
    """(element, name libvirt uses, severity or None) for every device needing shared memory."""
    for iface in facts.interfaces:
        if iface.type == "vhostuser":
            backend = child(iface.element, "backend")
            if backend is not None and backend.get("type") == "passt":
                yield iface.element, "interface", None
            else:
                yield iface.element, "interface", "warning"
    for disk in facts.disks:
        if disk.type in ("vhostuser", "vhostvdpa"):
            yield disk.element, disk.type, None
    for fs in facts.device_elements("filesystem"):
        driver = child(fs, "driver")
        if driver is not None and driver.get("type") == "virtiofs":
            yield fs, "virtiofs", None


@rule(
    code="DX543",
    name="vhostuser-needs-shared-memory",
    severity="error",
    summary="vhost-user devices and virtiofs need guest memory shared with the back end",
    fix="unsafe",
    triggers=("interface", "disk", "filesystem"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefVhostUserRequireSharedMemory",),
)
def vhostuser_needs_shared_memory(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds vhost-user devices (`<interface type='vhostuser'>`, `<disk
    type='vhostuser'>` or `'vhostvdpa'`, `<filesystem>` with `<driver
    type='virtiofs'/>`) in QEMU/KVM guests whose memory is not shared: neither
    `<memoryBacking><access mode='shared'/>` nor `memAccess='shared'` on every
    guest NUMA cell.

    ## Why is this bad?
    A vhost-user back end (DPDK/OVS, virtiofsd, a storage daemon) runs in
    another process and reads and writes the guest's memory directly, which
    needs the memory mapped shared. libvirt refuses disks, virtiofs and passt
    vhost-user NICs: "'%s' requires shared memory" (e.g. "'virtiofs' requires
    shared memory", "'interface' requires shared memory"). For other vhost-user
    NICs libvirt only warns ("Detected vhost-user interface without any shared
    memory, the interface might not be operational") and the NIC passes no
    traffic; that case is reported as a warning.

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
    <memoryBacking>
      <source type='memfd'/>
      <access mode='shared'/>
    </memoryBacking>
    ```

    ## Fix safety
    Unsafe: the fix adds `<access mode='shared'/>` (and a memfd source when
    there is no source and no huge pages); memfd needs QEMU 4.0 and a recent
    kernel, and shared memory changes how the host accounts the guest. No fix
    when a NUMA cell says `memAccess='private'`.

    ## Source
    libvirt src/qemu/qemu_validate.c
    (`qemuValidateDomainDefVhostUserRequireSharedMemory` and its callers),
    src/qemu/qemu_process.c (`qemuProcessStartWarnShmem`); libvirt test
    net-vhostuser-passt-no-shmem.err; formatdomain "Memory Backing",
    "Filesystems"; libvirt kbase virtiofs.
    """
    facts = ctx.facts
    devices = list(_vhost_user_devices(facts))
    if not devices:
        return
    shared, fixable = _shared_memory_state(facts)
    if shared:
        return
    fix = (
        ctx.unsafe_fix("Share guest memory (memfd)", *_share_memory_edits(ctx)) if fixable else None
    )
    for element, name, severity in devices:
        message = f"'{name}' requires shared memory: add <access mode='shared'/> to <memoryBacking>"
        if severity == "warning":
            message = (
                "vhost-user interface without shared memory: the back end cannot map guest "
                "memory and the NIC passes no traffic"
            )
        yield ctx.finding(element, message, fix=fix, severity=severity)


def _share_memory_edits(ctx):
    backing = ctx.facts.memory_backing
    if backing is None:
        return [
            ctx.edit.insert_top_level(
                new_element(
                    "memoryBacking",
                    None,
                    new_element("source", {"type": "memfd"}),
                    new_element("access", {"mode": "shared"}),
                ),
            )
        ]
    access = child(backing.element, "access")
    if access is not None:
        return ctx.edit.set_attributes(access, {"mode": "shared"})
    children = []
    if backing.source_type is None and backing.hugepages is None:
        children.append(new_element("source", {"type": "memfd"}))
    children.append(new_element("access", {"mode": "shared"}))
    return [ctx.edit.insert_children(backing.element, children)]
