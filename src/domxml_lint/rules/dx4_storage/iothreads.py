"""DX440-DX444, DX452: IOThreads: references, sizing, pinning, virtqueue mapping, ids."""

from __future__ import annotations

from collections.abc import Iterator

from ...edits import new_element
from ...facts import MAX_IOTHREADS, VIRTIO_SCSI_MODELS, child
from ...facts.values import Element
from ...findings import Edit, Finding
from ...rule import QEMU, RuleContext, rule
from ...units import parse_uint

VHOST_DISK_TYPES = frozenset({"vhostuser", "vhostvdpa"})


def _is_virtio_blk(disk) -> bool:
    return (
        disk.device == "disk"
        and disk.effective_bus == "virtio"
        and disk.type not in VHOST_DISK_TYPES
    )


def _is_virtio_scsi(controller) -> bool:
    return controller.type == "scsi" and controller.model in VIRTIO_SCSI_MODELS


def _mapping(disk) -> list:
    """The ``<driver><iothreads><iothread>`` elements of a disk (libvirt >= 10.0)."""
    if disk.driver is None:
        return []
    return list(disk.driver.iterfind("iothreads/iothread"))


def _raise_iothreads_edits(ctx, missing: set[int]) -> list:
    """Edits that define the IOThread ids in ``missing`` (as libvirt numbers them)."""
    facts = ctx.facts
    current = facts.top("iothreads")
    listed = facts.iothread_id_entries
    if not listed:
        count = str(max(max(missing), facts.iothreads or 0))
        if current is None:
            return [ctx.edit.insert_top_level(new_element("iothreads", text=count))]
        return [ctx.edit.replace_text(current, count)]
    edits = [
        ctx.edit.insert_children(
            listed[0].element.getparent(),
            [new_element("iothread", {"id": str(i)}) for i in sorted(missing)],
        )
    ]
    if current is not None:
        edits.append(ctx.edit.replace_text(current, str(len(facts.iothread_ids | missing))))
    return edits


@rule(
    code="DX440",
    name="iothread-reference-invalid",
    severity="error",
    summary="A disk, controller, iothreadpin or iothreadsched names a missing IOThread",
    fix="safe",
    triggers=("iothread", "iothreadpin", "iothreadsched", "driver"),
    libvirt=(
        "virDomainIOThreadPinDefParseXML",
        "qemuValidateDomainDeviceDefDiskIOThreads",
        "qemuValidateCheckSCSIControllerIOThreads",
    ),
)
def iothread_reference_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Collects every IOThread reference: `<disk><driver iothread='N'>`, the
    disk's `<driver><iothreads><iothread id='N'>` mapping, `<controller
    type='scsi'><driver iothread='N'>`, `<iothreadpin iothread='N'>` and
    `<iothreadsched iothreads='...'>`, and checks that IOThread N exists. The
    ids are those of `<iothreadids>`, topped up to the `<iothreads>` count with
    the lowest free ids (libvirt's numbering; without `<iothreadids>` they run
    from 1 to the count). A disk IOThread on a non-virtio bus is reported too.

    ## Why is this bad?
    libvirt refuses the definition: "Cannot find 'iothread' : %u" for pins and
    schedulers (proven on libvirt 9.0), and the QEMU driver "Disk iothread '%u'
    not defined in iothreadid", "controller iothread '%u' not defined in
    iothreadid", "IOThreads not available for bus %s target %s".

    ## Example
    ```xml
    <iothreads>1</iothreads>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' iothread='2'/>
    ```

    ## Use instead
    ```xml
    <iothreads>2</iothreads>
    ```

    ## Fix safety
    Safe: the fix raises `<iothreads>` (or adds the ids to `<iothreadids>`) so
    that every referenced IOThread exists. The definition is refused as
    written, and an extra IOThread changes nothing the guest sees. No fix for
    an IOThread on a non-virtio bus, nor for ids above 65536 (the fix would
    create that many threads).

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainIOThreadPinDefParseXML`,
    `virDomainDefParseIOThreads`), src/qemu/qemu_validate.c
    (`qemuValidateDomainDeviceDefDiskIOThreads`,
    `qemuValidateCheckSCSIControllerIOThreads`); formatdomain "IOThreads
    Allocation".
    """
    facts = ctx.facts
    defined = facts.iothread_ids
    problems: list[tuple[Element, str, str, set[int]]] = []
    if facts.driver == "qemu":
        for disk in facts.disks:
            if disk.type in VHOST_DISK_TYPES or disk.driver is None:
                continue
            value = disk.driver_attr("iothread")
            number = parse_uint(value)
            bus = disk.effective_bus
            if number and bus != "virtio":
                yield ctx.finding(
                    disk.driver,
                    f"{disk.label}: IOThreads not available for bus {bus} target {disk.dev}",
                    attribute="iothread",
                )
                continue
            if number and number not in defined:
                problems.append(
                    (
                        disk.driver,
                        "iothread",
                        f"Disk iothread '{number}' not defined in iothreadid",
                        {number},
                    )
                )
            for item in _mapping(disk):
                number = parse_uint(item.get("id"))
                if number and number not in defined:
                    problems.append(
                        (
                            item,
                            "id",
                            f"{disk.label} maps IOThread '{number}', which is not "
                            "defined in iothreadid",
                            {number},
                        )
                    )
        for controller in facts.controllers:
            driver = controller.driver
            number = None if driver is None else parse_uint(driver.get("iothread"))
            if (
                driver is not None
                and _is_virtio_scsi(controller)
                and number
                and number not in defined
            ):
                problems.append(
                    (
                        driver,
                        "iothread",
                        f"controller iothread '{number}' not defined in iothreadid",
                        {number},
                    )
                )
    tune = facts.cputune
    if tune is not None:
        for pin in tune.iothreadpins:
            if pin.target and pin.target not in defined:
                problems.append(
                    (
                        pin.element,
                        "iothread",
                        f"Cannot find 'iothread' : {pin.target}",
                        {pin.target},
                    )
                )
        for sched in facts.thread_scheds:
            if sched.element.tag != "iothreadsched" or sched.ids is None or sched.ids.ids is None:
                continue
            missing = {i for i in sched.ids.ids if i and i not in defined}
            if missing:
                problems.append(
                    (
                        sched.element,
                        "iothreads",
                        f"Cannot find 'iothread' : {min(missing)}",
                        missing,
                    )
                )
    if not problems:
        return
    wanted = set().union(*(ids for *_, ids in problems))
    fix = None
    if max(wanted) <= MAX_IOTHREADS:  # never propose a thread per id up to 2**64
        fix = ctx.safe_fix(
            f"Define IOThread(s) {', '.join(map(str, sorted(wanted)))}",
            *_raise_iothreads_edits(ctx, wanted),
        )
    count = len(defined)
    for element, attribute, message, _ids in problems:
        yield ctx.finding(
            element,
            f"{message} (the guest defines {count} IOThread{'s' if count != 1 else ''})",
            attribute=attribute,
            fix=fix,
        )


@rule(
    code="DX441",
    name="iothreads-suggested",
    severity="info",
    summary="virtio-blk disks or virtio-scsi controllers without an IOThread on a multi-vCPU guest",
    fix="unsafe",
    default=False,
    triggers=("disk", "controller"),
    domains=QEMU,
)
def iothreads_suggested(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds QEMU/KVM guests with more than one vCPU whose virtio-blk disks or
    virtio-scsi controllers have no IOThread (`iothread` attribute or
    `<iothreads>` mapping).

    ## Why is this bad?
    Without an IOThread, QEMU processes the device's I/O in its main loop,
    which also serves the monitor, timers and every other device, and in vCPU
    threads. A dedicated IOThread takes that work off them and scales better
    with many vCPUs and LUNs. Red Hat's RHEL 9 tuning chapter, Proxmox ("IO
    Thread") and IBM ("configure each virtual block device to use an I/O
    thread") all recommend it. It is advice, hence opt-in.

    ## Example
    ```xml
    <vcpu>4</vcpu>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native'/>
    ```

    ## Use instead
    ```xml
    <vcpu>4</vcpu>
    <iothreads>1</iothreads>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native' iothread='1'/>
    ```

    ## Fix safety
    Unsafe: the fix adds `<iothreads>1</iothreads>` when no IOThread exists
    and gives every such device the lowest IOThread id. That moves I/O onto a
    thread that is not pinned where the vCPUs are, which changes host CPU
    placement; review it together with `iothreadpin`.

    ## Source
    formatdomain "IOThreads Allocation" and disk `driver` `iothread`; Red Hat
    RHEL 9 "Optimizing virtual machine performance" (block I/O tuning);
    Proxmox qm.adoc (IO Thread); IBM KVM on Z "I/O threads".
    """
    facts = ctx.facts
    if (facts.vcpu_count or 1) < 2:
        return
    devices = [
        d.element for d in facts.disks
        if _is_virtio_blk(d) and not d.driver_attr("iothread") and not _mapping(d)
    ] + [
        c.element for c in facts.controllers
        if _is_virtio_scsi(c) and not c.driver_attr("iothread")
    ]  # fmt: skip
    if not devices:
        return
    thread = min(facts.iothread_ids) if facts.iothread_ids else 1

    def edits() -> list[Edit]:  # built only when the output needs it
        built = []
        if not facts.iothread_ids:
            built.append(ctx.edit.insert_top_level(new_element("iothreads", text="1")))
        for element in devices:
            driver = child(element, "driver")
            if driver is not None:
                built.extend(ctx.edit.set_attributes(driver, {"iothread": str(thread)}))
            else:
                attributes = {"name": "qemu"} if element.tag == "disk" else {}
                attributes["iothread"] = str(thread)
                first_child = next((c for c in element if isinstance(c.tag, str)), None)
                built.append(
                    ctx.edit.insert_children(
                        element, [new_element("driver", attributes)], before=first_child
                    )
                )
        return built

    names = [_device_label(el) for el in devices]
    yield ctx.finding(
        devices[0],
        f"{', '.join(names)} without an IOThread on a {facts.vcpu_count}-vCPU guest: I/O runs in "
        "QEMU's main loop",
        fix=ctx.unsafe_fix(f"Use IOThread {thread} for {len(devices)} device(s)", edits),
    )


def _device_label(element) -> str:
    if element.tag == "disk":
        dev = child(element, "target")
        return f"disk '{dev.get('dev')}'" if dev is not None and dev.get("dev") else "disk"
    return f"controller scsi index {element.get('index', '0')}"


def _iothread_capacity(facts) -> int:
    """How many IOThreads the guest's devices can keep busy at most."""
    capacity = 0
    for disk in facts.disks:
        if _is_virtio_blk(disk):
            capacity += max(1, len(_mapping(disk)))
    capacity += sum(1 for c in facts.controllers if _is_virtio_scsi(c))
    return capacity


@rule(
    code="DX442",
    name="iothreads-oversized",
    severity="warning",
    summary="More IOThreads than both the devices that can use them and the vCPUs",
    triggers=("iothreads", "iothreadids"),
    domains=QEMU,
)
def iothreads_oversized(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Counts the IOThreads a QEMU/KVM guest defines and compares them with the
    devices able to use one (each virtio-blk disk, one per IOThread it maps,
    and each virtio-scsi controller) and with the vCPU count. It warns when
    there are more IOThreads than both.

    ## Why is this bad?
    An IOThread serves the devices assigned to it; the surplus ones can never
    do work but are still created, each with its own event loop, and they
    complicate pinning. libvirt's documentation advises "only 1 or 2 IOThreads
    per host CPU"; IBM's KVM guidance is to avoid idle I/O threads and not to
    configure more I/O threads than devices or CPUs. With a host snapshot, it
    also warns when there are more than two IOThreads per host CPU.

    ## Example
    ```xml
    <vcpu>2</vcpu>
    <iothreads>8</iothreads>
    <!-- one virtio disk -->
    ```

    ## Use instead
    ```xml
    <vcpu>2</vcpu>
    <iothreads>1</iothreads>
    ```

    ## Fix safety
    No fix: IOThreads may be kept for disks attached later.

    ## Source
    formatdomain "IOThreads Allocation" ("There should be only 1 or 2
    IOThreads per host CPU"); IBM KVM on Z "I/O threads"; Red Hat RHEL 9
    "Optimizing virtual machine performance".
    """
    facts = ctx.facts
    count = max(len(facts.iothread_ids), facts.iothreads or 0)  # ids stop at MAX_IOTHREADS
    if not count:
        return
    element = facts.top("iothreads")
    if element is None:  # count > 0 comes from <iothreadids>
        element = facts.iothread_id_entries[0].element.getparent()
        assert element is not None
    vcpus = facts.vcpu_count or 1
    capacity = _iothread_capacity(facts)
    if count > capacity and count > vcpus:
        yield ctx.finding(
            element,
            f"{count} IOThreads for {capacity} device(s) that can use one and {vcpus} vCPU(s): "
            f"at least {count - capacity} can never do work",
        )
        return
    host = ctx.optional_host
    host_cpus = host.cpu_ids if host is not None else None
    if host_cpus and count > 2 * len(host_cpus):
        yield ctx.finding(
            element,
            f"{count} IOThreads on a host with {len(host_cpus)} CPUs: libvirt's documentation "
            "advises only 1 or 2 IOThreads per host CPU",
        )


@rule(
    code="DX443",
    name="iothread-unpinned",
    severity="warning",
    summary="vCPUs are pinned but IOThreads are not, so they float over every host CPU",
    triggers=("vcpupin",),
    domains=QEMU,
)
def iothread_unpinned(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds QEMU/KVM guests that pin vCPUs with `vcpupin` and define IOThreads,
    but give some IOThread no `iothreadpin`, while `<vcpu>` has no `cpuset`
    (and placement is not `auto`).

    ## Why is this bad?
    An unpinned IOThread runs on all host CPUs (formatdomain: "If this is
    omitted, and attribute cpuset of element vcpu is not specified, the
    IOThreads are pinned to all the physical CPUs by default"). It then
    competes with the carefully pinned vCPUs, including other guests' ones,
    and crosses NUMA nodes, which undoes the pinning's purpose.

    ## Example
    ```xml
    <iothreads>1</iothreads>
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
      <emulatorpin cpuset='1'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
      <emulatorpin cpuset='1'/>
      <iothreadpin iothread='1' cpuset='1'/>
    </cputune>
    ```

    ## Fix safety
    No fix: which host CPUs suit the IOThreads is host knowledge (often the
    emulator's CPUs on the same NUMA node).

    ## Source
    formatdomain "CPU Tuning" (`iothreadpin`); libvirt kbase kvm-realtime;
    guide 9.3.2 (pinning and NUMA).
    """
    facts = ctx.facts
    tune = facts.cputune
    if not facts.iothread_ids or not facts.vcpupins or tune is None:
        return
    if facts.vcpus.cpuset is not None or facts.vcpus.placement == "auto":
        return
    pinned = {p.target for p in tune.iothreadpins}
    unpinned = sorted(facts.iothread_ids - pinned)
    if unpinned:
        shown = ", ".join(map(str, unpinned))
        yield ctx.finding(
            tune.element,
            f"vCPUs are pinned but IOThread(s) {shown} have no iothreadpin: they run on every "
            "host CPU",
        )


@rule(
    code="DX444",
    name="virtio-blk-queue-mapping-invalid",
    severity="error",
    summary="A disk's IOThread-to-virtqueue mapping that QEMU or libvirt refuses",
    triggers=("queue", "iothreads"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskIOThreads",),
)
def virtio_blk_queue_mapping_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks a disk's `<driver><iothreads>` mapping (libvirt >= 10.0, QEMU >=
    9.0): it excludes the `iothread` attribute, needs a virtio disk, names each
    IOThread once, and either every `<iothread>` lists `<queue>`s or none does.
    With explicit queues, `queues` must be set, every queue id must be below
    it, and each queue from 0 to `queues`-1 must be assigned exactly once.
    The guest's QEMU must have virtio-blk's `iothread-vq-mapping`: QEMU 9.0 and
    later (from the host snapshot's QEMU capabilities, else `qemu-version`;
    silent when neither is known).

    ## Why is this bad?
    libvirt refuses the definition on an older QEMU: "IOThread mapping for
    disk 'vda' is not available with this QEMU binary". QEMU refuses to start
    the guest: "duplicate IOThread name \"%s\" in
    iothread-vq-mapping", "either all items in iothread-vq-mapping must have
    vqs or none of them must have it", "vq index %u for IOThread \"%s\" must be
    less than num_queues %u in iothread-vq-mapping", "cannot assign vq %u to
    IOThread \"%s\" because it is already assigned", "missing vq %u IOThread
    assignment in iothread-vq-mapping". libvirt documents that `iothread` "is
    mutually exclusive with `iothreads`" and that explicit queues need
    `queues`. Prefer the round-robin mapping (no `<queue>` at all).

    ## Example
    ```xml
    <driver name='qemu' queues='2'>
      <iothreads>
        <iothread id='1'><queue id='0'/></iothread>
        <iothread id='2'><queue id='2'/></iothread>
      </iothreads>
    </driver>
    ```

    ## Use instead
    ```xml
    <driver name='qemu' queues='2'>
      <iothreads>
        <iothread id='1'/>
        <iothread id='2'/>
      </iothreads>
    </driver>
    ```

    ## Fix safety
    No fix: the intended mapping is the author's.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefDiskIOThreads`);
    QEMU hw/virtio/iothread-vq-mapping.c (`iothread_vq_mapping_validate`);
    libvirt formatdomain, disk `driver` `iothreads` (libvirt commits
    "Introduce a new <iothreads> sub-element of disk's <driver>" and "Clarify
    configuration of iothread <-> virtqueue mapping"); Red Hat Developers
    "Scaling virtio-blk disk I/O with IOThread Virtqueue Mapping".
    """
    facts = ctx.facts
    for disk in facts.disks:
        driver = disk.driver
        mapping = None if driver is None else child(driver, "iothreads")
        items = _mapping(disk)
        if driver is None or mapping is None or not items:
            continue
        why = ctx.qemu_lacks("virtio-blk.iothread-mapping")
        if why:
            yield ctx.finding(
                mapping,
                f"IOThread mapping for disk '{disk.dev}' is not available with this QEMU binary: "
                f"{why}",
            )
            continue
        if driver.get("iothread") is not None:
            yield ctx.finding(
                driver,
                f"{disk.label}: the iothread attribute is mutually exclusive with <iothreads>",
                attribute="iothread",
            )
        if disk.effective_bus != "virtio":
            yield ctx.finding(
                mapping,
                f"{disk.label}: IOThread mapping needs a virtio disk, not bus {disk.effective_bus}",
            )
            continue
        seen_threads: set[str] = set()
        for item in items:
            name = item.get("id") or ""
            if name in seen_threads:
                yield ctx.finding(
                    item,
                    f'{disk.label}: duplicate IOThread name "{name}" in iothread-vq-mapping',
                    attribute="id",
                )
            seen_threads.add(name)
        with_queues = [bool(item.findall("queue")) for item in items]
        if any(with_queues) and not all(with_queues):
            yield ctx.finding(
                mapping,
                f"{disk.label}: either all items in iothread-vq-mapping must have vqs or none "
                "of them must have it",
            )
            continue
        if not any(with_queues):
            continue
        queues = parse_uint(driver.get("queues"))
        if not queues:
            yield ctx.finding(
                driver,
                f"{disk.label}: explicit <queue> mapping needs the queues attribute; without it "
                "QEMU sizes the queues itself and the mapping misses some",
            )
            continue
        assigned: set[int] = set()
        for item in items:
            for queue in item.iterfind("queue"):
                number = parse_uint(queue.get("id"))
                if number is None:
                    continue
                if number >= queues:
                    yield ctx.finding(
                        queue,
                        f'{disk.label}: vq index {number} for IOThread "{item.get("id")}" must '
                        f"be less than num_queues {queues} in iothread-vq-mapping",
                        attribute="id",
                    )
                elif number in assigned:
                    yield ctx.finding(
                        queue,
                        f"{disk.label}: cannot assign vq {number} to IOThread "
                        f'"{item.get("id")}" because it is already assigned',
                        attribute="id",
                    )
                assigned.add(number)
        missing = [q for q in range(queues) if q not in assigned]
        if missing:
            yield ctx.finding(
                mapping,
                f"{disk.label}: missing vq {missing[0]} IOThread assignment in iothread-vq-mapping",
            )


@rule(
    code="DX452",
    name="iothread-settings-invalid",
    severity="error",
    summary="Duplicate or zero IOThread ids, duplicate iothreadpins or a bad thread pool size",
    triggers=("iothreadids", "iothreadpin", "defaultiothread"),
    libvirt=(
        "virDomainDefParseIOThreads",
        "virDomainIOThreadPinDefParseXML",
        "virDomainDefValidateIOThreadsThreadPool",
    ),
)
def iothread_settings_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<iothreadids>`: ids must be unique and non-zero; `thread_pool_max`
    must be positive and not below `thread_pool_min` (also on
    `<defaultiothread>`); each IOThread may have only one `iothreadpin`.

    ## Why is this bad?
    libvirt refuses the definition (all proven on libvirt 9.0): "duplicate
    iothread id '%u' found", "Invalid value for attribute 'id' in element
    'iothread': Zero is not permitted", "thread_pool_max must be a positive
    integer", "thread_pool_min must be smaller or equal to thread_pool_max",
    "duplicate iothreadpin for same iothread '%u'".

    ## Example
    ```xml
    <iothreadids>
      <iothread id='1' thread_pool_min='8' thread_pool_max='2'/>
      <iothread id='1'/>
    </iothreadids>
    ```

    ## Use instead
    ```xml
    <iothreadids>
      <iothread id='1' thread_pool_min='2' thread_pool_max='8'/>
      <iothread id='2'/>
    </iothreadids>
    ```

    ## Fix safety
    No fix: which id or pool size was meant is the author's.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainDefParseIOThreads`,
    `virDomainIOThreadPinDefParseXML`), src/conf/domain_validate.c
    (`virDomainDefValidateIOThreadsThreadPool`); formatdomain "IOThreads
    Allocation".
    """
    facts = ctx.facts
    seen: set[int] = set()
    for element, number in facts.iothread_id_entries:
        if number == 0:
            yield ctx.finding(
                element,
                "Invalid value for attribute 'id' in element 'iothread': Zero is not permitted",
                attribute="id",
            )
        elif number is not None:
            if number in seen:
                yield ctx.finding(
                    element, f"duplicate iothread id '{number}' found", attribute="id"
                )
            seen.add(number)
    pools = [entry.element for entry in facts.iothread_id_entries]
    default = facts.top("defaultiothread")
    if default is not None:
        pools.append(default)
    for element in pools:
        low = parse_uint(element.get("thread_pool_min"))
        high = parse_uint(element.get("thread_pool_max"))
        if high == 0:
            yield ctx.finding(
                element, "thread_pool_max must be a positive integer", attribute="thread_pool_max"
            )
        elif low is not None and high is not None and low > high:
            yield ctx.finding(
                element,
                f"thread_pool_min {low} > thread_pool_max {high}: thread_pool_min must be "
                "smaller or equal to thread_pool_max",
                attribute="thread_pool_min",
            )
    if facts.cputune is not None:
        pinned: set[int] = set()
        for pin in facts.cputune.iothreadpins:
            if pin.target in pinned:
                yield ctx.finding(
                    pin.element,
                    f"duplicate iothreadpin for same iothread '{pin.target}'",
                    attribute="iothread",
                )
            if pin.target is not None:
                pinned.add(pin.target)
