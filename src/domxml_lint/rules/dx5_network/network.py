"""DX501-DX505: NIC models, multi-queue virtio-net, vhost-net, coalescing (guide chapter 5)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import KVM, QEMU, RuleContext, rule

#: Interface types whose backend is a host tap (or macvtap) device.
TAP_INTERFACE_TYPES = frozenset({"network", "bridge", "direct", "ethernet"})


VIRTIO_NET_MODELS = frozenset({"virtio", "virtio-transitional", "virtio-non-transitional"})


#: Linux's MAX_TAP_QUEUES (include/linux/if_tap.h, drivers/net/tun.c).
MAX_TAP_QUEUES = 256


#: Interface types that take <driver queues> (libvirt refuses multiqueue on the others).
MULTIQUEUE_INTERFACE_TYPES = TAP_INTERFACE_TYPES | {"vhostuser", "vdpa"}


#: Architectures on which libvirt's default NIC model (no <model>) is an emulated one.
_X86 = frozenset({"x86_64", "i686"})


#: The interface types libvirt accepts <coalesce> on (qemuValidateNetSupportsCoalesce).
COALESCE_INTERFACE_TYPES = frozenset({"network", "bridge"})


def interface_label(iface) -> str:
    """How messages name an interface: ``interface 'br0' (bridge)``."""
    source = child(iface.element, "source")
    name = None
    if source is not None:
        name = source.get("bridge") or source.get("network") or source.get("dev")
    kind = iface.type or "?"
    return f"interface '{name}' ({kind})" if name else f"{kind} interface"


def queue_limit(iface, vcpus: int | None) -> int | None:
    """The most queues worth giving this NIC: the vCPU count, and 256 on a tap backend."""
    limits = [vcpus] if vcpus is not None else []
    if iface.type in TAP_INTERFACE_TYPES:
        limits.append(MAX_TAP_QUEUES)
    return min(limits) if limits else None


def _set_queues(ctx, iface, queues: int):
    return ctx.edit.set_driver_attribute(
        iface.element,
        iface.driver,
        "queues",
        str(queues),
        after=("model",),
        before=("address",),
    )


@rule(
    code="DX501",
    name="nic-model-emulated",
    severity="warning",
    summary="An emulated NIC model (e1000, rtl8139, ...) on a tap-backed interface",
    triggers=("interface",),
    domains=QEMU,
)
def nic_model_emulated(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds interfaces of type `network`, `bridge`, `direct` or `ethernet`
    (backed by a host tap or macvtap device) whose `<model type>` is not
    virtio: `e1000`, `e1000e`, `igb`, `rtl8139`, `ne2k_pci`, `pcnet`,
    `vmxnet3`, ... On x86 an interface without `<model>` counts too: libvirt
    then picks `rtl8139`.

    ## Why is this bad?
    QEMU emulates these NICs register by register, so every packet costs
    traps into QEMU and copies in user space. virtio-net is paravirtualized
    and, with vhost-net, moves the data path into the host kernel, which cuts
    latency and CPU use (guide 5.2).

    ## Example
    ```xml
    <interface type='bridge'>
      <source bridge='br0'/>
      <model type='e1000'/>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='bridge'>
      <source bridge='br0'/>
      <model type='virtio'/>
    </interface>
    ```

    ## Fix safety
    No fix: the guest needs a virtio-net driver (Windows needs virtio-win
    first), and the guest's interface name and configuration may change.

    ## Source
    Guide 1.3 (virtio paravirtualized drivers) and 5.2 (virtio 和 vhost_net);
    libvirt formatdomain, "Network interfaces": `model`; libvirt
    src/qemu/qemu_postparse.c (`qemuDomainDefaultNetModel`: rtl8139 first on
    x86).
    """
    for iface in ctx.facts.interfaces:
        if iface.type not in TAP_INTERFACE_TYPES or iface.model in VIRTIO_NET_MODELS:
            continue
        model_el = child(iface.element, "model")
        if iface.model is None:
            if ctx.facts.arch not in _X86:
                continue
            yield ctx.finding(
                iface.element,
                f"{interface_label(iface)} has no <model>, so libvirt picks the emulated "
                "rtl8139 on x86; virtio-net is paravirtualized and much cheaper per packet",
            )
            continue
        assert model_el is not None  # iface.model comes from it
        yield ctx.finding(
            model_el,
            f"{interface_label(iface)} uses the emulated NIC model '{iface.model}': every packet "
            "traps into QEMU; virtio-net (with vhost-net) is much cheaper per packet",
            attribute="type",
        )


@rule(
    code="DX502",
    name="net-multiqueue-missing",
    severity="info",
    summary="A virtio NIC without multi-queue on a multi-vCPU guest",
    fix="unsafe",
    triggers=("interface",),
    domains=QEMU,
)
def net_multiqueue_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds virtio NICs on tap-backed interfaces (`network`, `bridge`,
    `direct`, `ethernet`) without `<driver queues>` on a guest whose vCPU
    count (the maximum in `<vcpu>`) is 2 or more.

    ## Why is this bad?
    A single-queue virtio-net device has one TX and one RX queue, so the
    guest's network stack cannot send or receive on several vCPUs in
    parallel, and network throughput does not grow with the vCPU count. The
    guide recommends as many queues as vCPUs; the tap device allows at most
    256.

    ## Example
    ```xml
    <vcpu>4</vcpu>
    ...
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='network'>
      <source network='default'/>
      <model type='virtio'/>
      <driver queues='4'/>
    </interface>
    ```

    ## Fix safety
    Unsafe: it changes guest-visible hardware (more virtqueues and MSI-X
    vectors), the guest must enable the queues (`ethtool -L eth0 combined N`),
    and the guide notes multi-queue can slow down outgoing traffic of small
    TCP streams. The fix sets `queues` to min(vCPUs, 256), adding a `<driver>`
    after `<model>` when the interface has none.

    ## Source
    Guide 5.4.2 (multi-queue virtio-net) and 5.4.2.1 (`<driver name='vhost'
    queues='N'/>`, N from 1 to 256); libvirt formatdomain, "Network
    interfaces": driver `queues`.
    """
    vcpus = ctx.facts.vcpu_count
    if vcpus is None or vcpus < 2:
        return
    for iface in ctx.facts.interfaces:
        if iface.type not in TAP_INTERFACE_TYPES or iface.model not in VIRTIO_NET_MODELS:
            continue
        if iface.driver_attr("queues") is not None:
            continue
        queues = min(vcpus, MAX_TAP_QUEUES)  # queue_limit() of a tap NIC
        current = ctx.facts.vcpus.current
        online = ""
        if current is not None and current < vcpus:
            # Queues cannot be added while the NIC is up, so they are sized for the most
            # vCPUs the guest can have, not for those online at boot.
            online = (
                f" ({current} online at boot; sized for the maximum because queues cannot "
                "grow while the interface is up)"
            )
        yield ctx.finding(
            iface.driver if iface.driver is not None else iface.element,
            f"virtio {interface_label(iface)} has a single queue pair for {vcpus} vCPUs; "
            f"queues='{queues}'{online} lets the guest send and receive on several vCPUs at "
            "once",
            fix=ctx.unsafe_fix(f"Set queues='{queues}'", _set_queues(ctx, iface, queues)),
        )


@rule(
    code="DX503",
    name="net-queues-exceed-vcpus",
    severity="warning",
    summary="NIC queues greater than the vCPU count (an error above 256 on a tap device)",
    fix="safe",
    triggers=("interface",),
    domains=QEMU,
)
def net_queues_exceed_vcpus(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds interfaces (of the types that take queues: `network`, `bridge`,
    `direct`, `ethernet`, `vhostuser`, `vdpa`) whose `<driver queues>` is
    greater than the guest's vCPU count (the maximum in `<vcpu>`): a
    warning. On a tap-backed interface (`network`, `bridge`, `direct`,
    `ethernet`) more than 256 queues is an error.

    ## Why is this bad?
    Queues beyond the vCPU count are never used on their own but still cost
    virtqueues, interrupt vectors, and one tap queue (and vhost thread) each
    on the host. Linux caps a multi-queue tap device at 256 queues
    (`MAX_TAP_QUEUES`), so the guest does not start when more are asked for.

    ## Example
    ```xml
    <vcpu>2</vcpu>
    ...
    <driver name='vhost' queues='8'/>
    ```

    ## Use instead
    ```xml
    <driver name='vhost' queues='2'/>
    ```

    ## Fix safety
    Safe, on tap devices (`network`, `bridge`, `direct`, `ethernet`): fewer
    queues is always accepted, and the guest driver adapts to the queue count
    the device offers. The fix sets `queues` to the vCPU count, and at most 256.
    No fix on `vhostuser` and `vdpa` interfaces: their back end (a userspace
    switch, the vDPA NIC) provides the queues, and a count that does not match
    it can keep the interface from starting.

    ## Source
    Guide 5.4.2 (queues equal to the vCPU count perform best) and 5.4.2.1 (N
    from 1 to 256, "内核支持多队列 tap 设备支持 256 个队列"); Linux
    include/linux/if_tap.h `MAX_TAP_QUEUES 256`.
    """
    vcpus = ctx.facts.vcpu_count
    for iface in ctx.facts.interfaces:
        if iface.type not in MULTIQUEUE_INTERFACE_TYPES:
            continue
        queues = iface.queues
        limit = queue_limit(iface, vcpus)
        if iface.driver is None or queues is None or limit is None or queues <= limit:
            continue
        fix = None
        if iface.type in TAP_INTERFACE_TYPES:
            # On vhost-user and vDPA the back end (a switch, the NIC) provides the
            # queues: fewer may not match it, so only a tap device's count is fixed.
            edit = ctx.edit.set_attribute(iface.driver, "queues", str(limit))
            fix = ctx.safe_fix(f"Set queues='{limit}'", edit)
        label = interface_label(iface)
        if iface.type in TAP_INTERFACE_TYPES and queues > MAX_TAP_QUEUES:
            yield ctx.finding(
                iface.driver,
                f"{label} asks for {queues} queues: a tap device allows at most "
                f"{MAX_TAP_QUEUES}, so the guest does not start",
                attribute="queues",
                fix=fix,
                severity="error",
            )
            continue
        host_side = "host tap queues" if iface.type in TAP_INTERFACE_TYPES else "host resources"
        yield ctx.finding(
            iface.driver,
            f"{label} has queues='{queues}' for {vcpus} vCPU(s): the extra queues are never "
            f"used on their own but cost interrupt vectors and {host_side}",
            attribute="queues",
            fix=fix,
        )


@rule(
    code="DX504",
    name="net-userspace-backend",
    severity="warning",
    summary="A virtio NIC forced onto QEMU's userspace backend instead of vhost-net",
    fix="safe",
    triggers=("interface",),
    domains=KVM,
)
def net_userspace_backend(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds virtio NICs on tap-backed interfaces of a KVM guest whose
    `<driver name='qemu'>` forces QEMU's userspace virtio-net backend.

    ## Why is this bad?
    vhost-net moves the virtio-net data path from QEMU into the host kernel,
    which cuts copies, latency and CPU use (guide 5.2). `name='qemu'` turns it
    off. Without `name`, libvirt opens `/dev/vhost-net` and silently falls
    back to the userspace backend when it is not available. Plain `qemu`
    (TCG) guests never use vhost-net, so they are not reported.

    ## Example
    ```xml
    <model type='virtio'/>
    <driver name='qemu' queues='4'/>
    ```

    ## Use instead
    ```xml
    <model type='virtio'/>
    <driver queues='4'/>
    ```

    ## Fix safety
    Safe: without `name` libvirt uses vhost-net when the host has it and the
    userspace backend otherwise, so the guest starts wherever it started
    before. (`name='vhost'` would refuse to start on a host without
    vhost-net.)

    ## Source
    Guide 5.2 (virtio 和 vhost_net); libvirt formatdomain, "Network
    interfaces": driver `name` (vhost by default when present, with a silent
    fallback to qemu); libvirt src/qemu/qemu_interface.c
    (`qemuInterfaceOpenVhostNet`: no vhost for non-KVM guests or
    `name='qemu'`; only an explicit `name='vhost'` fails with "vhost-net was
    requested for an interface, but is unavailable").
    """
    for iface in ctx.facts.interfaces:
        if iface.type not in TAP_INTERFACE_TYPES or iface.model not in VIRTIO_NET_MODELS:
            continue
        if iface.driver is None or iface.driver.get("name") != "qemu":
            continue
        fix = ctx.safe_fix(
            "Remove name='qemu' (libvirt then uses vhost-net when available)",
            ctx.edit.remove_attribute(iface.driver, "name"),
        )
        yield ctx.finding(
            iface.driver,
            f"virtio {interface_label(iface)} is forced onto QEMU's userspace backend "
            "(driver name='qemu'); vhost-net keeps the data path in the host kernel",
            attribute="name",
            fix=fix,
        )


@rule(
    code="DX505",
    name="net-coalesce-unsupported",
    severity="error",
    summary="<coalesce> on an interface type other than network or bridge",
    triggers=("coalesce",),
    domains=QEMU,
    libvirt=("qemuValidateNetSupportsCoalesce",),
)
def net_coalesce_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<coalesce>` (tun/tap RX batching) on interfaces whose type is not
    `network` or `bridge`.

    ## Why is this bad?
    Packet coalescing is a setting of the tap device libvirt creates for
    `network` and `bridge` interfaces. For other types libvirt refuses the
    definition: "coalesce settings on interface type direct are not
    supported".

    ## Example
    ```xml
    <interface type='direct'>
      <source dev='eth0' mode='bridge'/>
      <coalesce><rx><frames max='7'/></rx></coalesce>
    </interface>
    ```

    ## Use instead
    ```xml
    <interface type='bridge'>
      <source bridge='br0'/>
      <coalesce><rx><frames max='7'/></rx></coalesce>
    </interface>
    ```

    ## Fix safety
    No fix: either the interface type or the coalescing is wrong, and only the
    author knows which.

    ## Source
    Guide 5.5 (批量网络数据包): coalescing "为 type='bridge' 或 type='network'
    接口提供"; libvirt src/qemu/qemu_validate.c
    (`qemuValidateNetSupportsCoalesce`, "coalesce settings on interface type
    %1$s are not supported").
    """
    for iface in ctx.facts.interfaces:
        if iface.net_type in COALESCE_INTERFACE_TYPES:
            continue
        coalesce = child(iface.element, "coalesce")
        if coalesce is None:
            continue
        yield ctx.finding(
            coalesce,
            f'<coalesce> on a {iface.net_type} interface: libvirt refuses it ("coalesce settings '
            f'on interface type {iface.net_type} are not supported"); only network and bridge '
            "interfaces have it",
        )
