"""DX406-DX409: emulated disk buses and SCSI controllers, virtio-scsi queues (guide 7.4.2)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import VIRTIO_SCSI_MODELS, Controller, child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import parse_uint

#: Disk buses QEMU emulates in full (a real controller's registers, trapped per I/O).
EMULATED_DISK_BUSES = frozenset({"ide", "sata", "usb"})


#: SCSI controller models that are virtio-scsi.
#: Upstream machine types that carry a QEMU version: pc-q35-8.2, pc-i440fx-5.2, virt-6.0, ...


#: From these machine versions on, QEMU gives virtio-scsi-pci one queue per vCPU by itself.
AUTO_QUEUES_SINCE = (5, 2)


def controller_label(controller, kind: str = "SCSI") -> str:
    """How messages name a controller: ``SCSI controller 0``."""
    index = "" if controller.index is None else f" {controller.index}"
    return f"{kind} controller{index}"


def qemu_sizes_queues_itself(ctx: RuleContext, controller: Controller) -> bool:
    """Whether QEMU already gives this virtio-scsi controller one queue per vCPU.

    QEMU 5.2 made ``num_queues`` default to the vCPU count for virtio-scsi-pci;
    older machine types keep 1 through ``hw_compat_5_1``. A PCI transport on a
    machine type of 5.2 or later qualifies: a versioned one, or an alias (``q35``)
    or no machine at all, which QEMU resolves to its newest (5.2 or later for every
    QEMU libvirt 9.x and 10.x support; the configured ``qemu-version`` decides).
    """
    facts = ctx.facts
    version = facts.machine_version
    if version is not None:
        if version < AUTO_QUEUES_SINCE:
            return False
    elif not (facts.machine_is_newest and ctx.qemu_at_least(*AUTO_QUEUES_SINCE)):
        return False
    if (facts.arch or "").startswith("s390"):
        return False
    address = child(controller.element, "address")
    return address is None or address.get("type", "pci") == "pci"


@rule(
    code="DX406",
    name="disk-bus-emulated",
    severity="warning",
    summary="A disk on an emulated bus (IDE, SATA, USB) instead of virtio",
    triggers=("disk",),
    domains=QEMU,
)
def disk_bus_emulated(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `device='disk'` disks on bus `ide`, `sata` or `usb`, whether the bus
    is written in `<target bus>` or implied by a target name such as `hda`.

    ## Why is this bad?
    These buses are emulations of real controllers: every I/O request traps
    into QEMU, which mimics the hardware's registers, so each I/O costs far
    more CPU and latency than with a paravirtualized virtio device
    (virtio-blk, or a disk on a virtio-scsi controller), and only one request
    is in flight per IDE channel.

    ## Example
    ```xml
    <target dev='sda' bus='sata'/>
    ```

    ## Use instead
    ```xml
    <target dev='vda' bus='virtio'/>
    ```

    ## Fix safety
    No fix: the guest needs virtio drivers (Windows needs virtio-win installed
    first), and the device name and boot configuration inside the guest may
    change.

    ## Source
    Guide 1.3 (虚拟化性能功能和改进, virtio paravirtualized drivers) and
    7 (块 I/O); libvirt formatdomain, "Hard drives, floppy disks, CDROMs":
    `target bus`; libvirt src/conf/domain_postparse.c derives a missing bus
    from the target name (`hd` -> ide).
    """
    for disk in ctx.facts.disks:
        if disk.device != "disk":
            continue
        bus = disk.effective_bus
        if bus not in EMULATED_DISK_BUSES:
            continue
        implied = "" if disk.bus else f" (implied by the name '{disk.dev}')"
        yield ctx.finding(
            disk.target if disk.target is not None else disk.element,
            f"{disk.label} is on the emulated {bus} bus{implied}: each I/O traps into QEMU's "
            "device model; virtio (virtio-blk or virtio-scsi) needs far less CPU per I/O",
            attribute="bus" if disk.bus else "dev",
        )


@rule(
    code="DX407",
    name="scsi-controller-emulated",
    severity="warning",
    summary="A SCSI controller model other than virtio-scsi",
    triggers=("controller",),
    domains=QEMU,
)
def scsi_controller_emulated(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<controller type='scsi'>` whose `model` is set to something other
    than `virtio-scsi` (or its `virtio-transitional` and
    `virtio-non-transitional` variants): `lsilogic`, `lsisas1068`,
    `lsisas1078`, `buslogic`, `vmpvscsi`, `ibmvscsi`, `ncr53c90`, `am53c974`,
    `dc390`. A controller without a model, or with `model='auto'`, is left to
    the hypervisor and not reported.

    ## Why is this bad?
    QEMU emulates these host bus adapters register by register, so every SCSI
    command costs traps and CPU in QEMU. virtio-scsi is paravirtualized, has
    multiple queues (guide 7.4.2) and scales to many disks.

    ## Example
    ```xml
    <controller type='scsi' index='0' model='lsilogic'/>
    ```

    ## Use instead
    ```xml
    <controller type='scsi' index='0' model='virtio-scsi'/>
    ```

    ## Fix safety
    No fix: the guest needs the virtio-scsi driver (Windows needs virtio-win
    first), and changing the controller changes guest-visible hardware.

    ## Source
    Guide 7.4.2 (multi-queue virtio-scsi) and 1.3 (virtio); libvirt
    formatdomain, "Controllers": SCSI controller models.
    """
    for controller in ctx.facts.controllers:
        if controller.type != "scsi" or controller.model in (None, "auto"):
            continue
        if controller.model in VIRTIO_SCSI_MODELS:
            continue
        yield ctx.finding(
            controller.element,
            f"{controller_label(controller)} uses the emulated model "
            f"'{controller.model}': each command traps into QEMU; virtio-scsi is "
            "paravirtualized and multi-queue",
            attribute="model",
        )


@rule(
    code="DX408",
    name="virtio-scsi-queues-missing",
    severity="info",
    summary="A virtio-scsi controller without queues on a multi-vCPU guest",
    fix="unsafe",
    triggers=("controller",),
    domains=QEMU,
)
def virtio_scsi_queues_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds virtio-scsi controllers without `<driver queues>` on a guest whose
    vCPU count (the maximum in `<vcpu>`) is 2 or more. Silent when QEMU
    already gives the controller one queue per vCPU by itself: a PCI
    controller on a versioned machine type from QEMU 5.2 on (`pc-q35-5.2`,
    `pc-i440fx-8.2`, `virt-6.0`, ...), or on an unversioned alias (`q35`,
    `virt`) or no machine, which QEMU 5.2 and later resolve to their newest
    machine (a configured `qemu-version` before 5.2 brings the finding back).
    Also silent on a controller that no SCSI disk or SCSI host device sits on
    (virt-manager adds one to every q35 guest): no I/O goes through its queues.

    ## Why is this bad?
    With a single queue every vCPU's I/O goes through one virtqueue and one
    interrupt. Multi-queue virtio-scsi gives each vCPU its own queue and
    interrupt, so I/O on one vCPU does not disturb the others; the guide sets
    N = the number of vCPUs.

    ## Example
    ```xml
    <vcpu>4</vcpu>
    ...
    <controller type='scsi' index='0' model='virtio-scsi'/>
    ```

    ## Use instead
    ```xml
    <controller type='scsi' index='0' model='virtio-scsi'>
      <driver queues='4'/>
    </controller>
    ```

    ## Fix safety
    Unsafe: it changes guest-visible hardware (more virtqueues and MSI-X
    vectors), which matters for old guest drivers and for migration between
    hosts. The fix sets `queues` to the vCPU count, adding a `<driver>` when
    the controller has none.

    ## Source
    Guide 7.4.2.1 (配置多队列 virtio-scsi): `<driver queues='N'/>`, N = vCPUs;
    libvirt formatdomain, "Controllers": driver `queues`; QEMU
    hw/core/machine.c `hw_compat_5_1` keeps `num_queues=1` for machine types
    before 5.2.
    """
    vcpus = ctx.facts.vcpu_count
    if vcpus is None or vcpus < 2:
        return
    for controller in ctx.facts.controllers:
        if controller.type != "scsi" or controller.model not in VIRTIO_SCSI_MODELS:
            continue
        if controller.driver_attr("queues") is not None:
            continue
        if qemu_sizes_queues_itself(ctx, controller):
            ctx.note(
                f"{controller_label(controller)}: machine '{ctx.facts.machine}' already "
                "gives virtio-scsi-pci one queue per vCPU"
            )
            continue
        if (controller.index or 0) not in ctx.facts.scsi_controllers_in_use:
            ctx.note(f"{controller_label(controller)}: no SCSI disk or host device on it")
            continue
        edit = ctx.edit.set_driver_attribute(
            controller.element, controller.driver, "queues", str(vcpus), before=("address",)
        )
        yield ctx.finding(
            controller.driver if controller.driver is not None else controller.element,
            f"{controller_label(controller, 'virtio-scsi')} has one queue for {vcpus} vCPUs; "
            f"queues='{vcpus}' gives each vCPU its own queue and interrupt",
            fix=ctx.unsafe_fix(f"Set queues='{vcpus}'", edit),
        )


@rule(
    code="DX409",
    name="virtio-scsi-queues-exceed-vcpus",
    severity="warning",
    summary="virtio-scsi queues greater than the vCPU count",
    fix="safe",
    triggers=("controller",),
    domains=QEMU,
)
def virtio_scsi_queues_exceed_vcpus(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds virtio-scsi controllers whose `<driver queues>` is greater than the
    guest's vCPU count (the maximum in `<vcpu>`).

    ## Why is this bad?
    The guest driver maps queues to vCPUs, so queues beyond the vCPU count buy
    nothing, and they can cost: Linux's virtio_scsi cannot get one MSI-X
    vector per queue when there are more queues than possible CPUs, and falls
    back to a single vector shared by all queues. The guide sets N = the
    number of vCPUs.

    ## Example
    ```xml
    <vcpu>2</vcpu>
    ...
    <driver queues='8'/>
    ```

    ## Use instead
    ```xml
    <driver queues='2'/>
    ```

    ## Fix safety
    Safe: fewer queues than requested is always accepted by libvirt and QEMU,
    and the guest driver adapts to the queue count the device offers.

    ## Source
    Guide 7.4.2.1 (配置多队列 virtio-scsi): N = vCPUs; libvirt formatdomain,
    "Controllers": driver `queues`; Linux commit 1978f30a8773 ("scsi:
    virtio_scsi: limit number of hw queues by nr_cpu_ids") on the MSI-X
    fallback.
    """
    vcpus = ctx.facts.vcpu_count
    if vcpus is None:
        return
    for controller in ctx.facts.controllers:
        if controller.type != "scsi" or controller.model not in VIRTIO_SCSI_MODELS:
            continue
        driver = controller.driver
        queues = None if driver is None else parse_uint(driver.get("queues"))
        if driver is None or queues is None or queues <= vcpus:
            continue
        fix = ctx.safe_fix(
            f"Set queues='{vcpus}'", ctx.edit.set_attribute(driver, "queues", str(vcpus))
        )
        yield ctx.finding(
            driver,
            f"{controller_label(controller, 'virtio-scsi')} has queues='{queues}' for {vcpus} "
            "vCPU(s): the extra queues are never used on their own",
            attribute="queues",
            fix=fix,
        )
