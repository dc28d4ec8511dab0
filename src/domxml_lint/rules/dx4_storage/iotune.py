"""DX410-DX411, DX463: disk I/O throttling and blkio weights (guide 7.1, 7.4.1)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child, child_text
from ...findings import Finding
from ...rule import CGROUPS, RuleContext, rule
from ...units import parse_uint

#: The iotune limits that come as a total and a read/write pair.
IOTUNE_PAIRS = ("bytes_sec", "iops_sec", "bytes_sec_max", "iops_sec_max")


WEIGHT_MIN, WEIGHT_MAX = 100, 1000


#: Kernels after 2.6.39 (and BFQ) accept weights down to 10.
WEIGHT_MIN_NEWER_KERNELS = 10


@rule(
    code="DX410",
    name="iotune-total-with-read-write",
    severity="error",
    summary="An iotune total_* limit set together with its read_* or write_* twin",
    triggers=("iotune",),
    libvirt=("virDomainDiskDefValidate",),
)
def iotune_total_with_read_write(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    In a disk's `<iotune>`, finds a `total_bytes_sec`, `total_iops_sec`,
    `total_bytes_sec_max` or `total_iops_sec_max` limit given together with
    the matching `read_*` or `write_*` limit.

    ## Why is this bad?
    A total limit and a per-direction limit of the same kind contradict each
    other, and libvirt refuses the definition, for example "total and
    read/write bytes_sec cannot be set at the same time" (likewise for
    `iops_sec`, `bytes_sec_max` and `iops_sec_max`). A value of 0 means "no
    limit" and passes that check, but libvirt's RelaxNG schema allows only
    one of the two forms at all, so `virsh define --validate` still refuses
    the pair: that case is a warning.

    ## Example
    ```xml
    <iotune>
      <total_bytes_sec>52428800</total_bytes_sec>
      <read_bytes_sec>10485760</read_bytes_sec>
    </iotune>
    ```

    ## Use instead
    ```xml
    <iotune>
      <read_bytes_sec>10485760</read_bytes_sec>
      <write_bytes_sec>41943040</write_bytes_sec>
    </iotune>
    ```

    ## Fix safety
    No fix: whether the total or the per-direction limits were meant is the
    author's decision.

    ## Source
    Guide 7.4.1 (磁盘 I/O Throttling): total-bytes-sec, read-bytes-sec, ...;
    libvirt src/conf/domain_validate.c (`virDomainDiskDefValidate`, "Validate
    IotuneParse"); libvirt's schema, domaincommon.rng `diskIoTune` (a
    `choice` between the total and the read/write elements).
    """
    for disk in ctx.facts.disks:
        iotune = disk.iotune
        if iotune is None:
            continue
        for kind in IOTUNE_PAIRS:
            total = iotune.child(f"total_{kind}")
            if total is None:
                continue
            names = [
                f"{d}_{kind}" for d in ("read", "write") if iotune.child(f"{d}_{kind}") is not None
            ]
            if not names:
                continue
            named = " and ".join(names)
            if iotune.sets(f"total_{kind}") and any(iotune.sets(name) for name in names):
                yield ctx.finding(
                    total,
                    f"{disk.label}: total_{kind} is set together with {named}; libvirt refuses "
                    f'it ("total and read/write {kind} cannot be set at the same time")',
                )
            else:
                yield ctx.finding(
                    total,
                    f"{disk.label}: total_{kind} is given together with {named}; a 0 means "
                    "no limit and passes libvirt's own check, but libvirt's schema refuses the "
                    "pair (virsh define --validate); drop the element that is 0",
                    severity="warning",
                )


@rule(
    code="DX411",
    name="blkiotune-weight-range",
    severity="error",
    summary="A blkiotune weight or device weight outside 100..1000",
    triggers=("blkiotune",),
    libvirt=("virDomainCgroupSetupBlkio",),
    domains=CGROUPS,
)
def blkiotune_weight_range(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<blkiotune><weight>` and every `<blkiotune><device><weight>`
    against the range the guide gives, 100 to 1000. A weight of 10 to 99 is a
    warning: only kernels after 2.6.39 (and the BFQ scheduler) accept it.
    Anything else is an error, except 0: on a device it means "remove this
    device's weight" and is not reported; as the domain's weight libvirt
    does not apply it (a warning). Applies to the cgroup-based drivers:
    `kvm`, `qemu` and `lxc`.

    ## Why is this bad?
    libvirt does not check the value when it defines the guest: when the
    guest starts it writes the weight to the host's cgroup, and the kernel
    refuses a value outside the controller's range (cgroup v1 `blkio.weight`:
    100..1000, 10..1000 after 2.6.39; BFQ's `blkio.bfq.weight` /
    `io.bfq.weight`: 1..1000), so the guest fails to start with an error
    writing the cgroup file. Only cgroup v2's plain `io.weight` (no BFQ) takes
    1..10000. libvirt's schema accepts only 100..1000, so `virsh define
    --validate` refuses everything else, 10..99 and 0 included.

    ## Example
    ```xml
    <blkiotune>
      <weight>5000</weight>
    </blkiotune>
    ```

    ## Use instead
    ```xml
    <blkiotune>
      <weight>1000</weight>
    </blkiotune>
    ```

    ## Fix safety
    No fix: the intended share of I/O is the author's decision.

    ## Source
    Guide 7.1 (块 I/O 调优): "I/O 权重，范围为 100 到 1000", device weights "在范围
    100-1000 中，或值 0 才能从每个设备列表中删除该设备"; libvirt formatdomain,
    "Block I/O Tuning" ([100, 1000], [10, 1000] after kernel 2.6.39);
    libvirt src/hypervisor/domain_cgroup.c (`virDomainCgroupSetupBlkio` skips
    a weight of 0), src/util/vircgroupv2.c (`virCgroupV2SetBlkioWeight`
    writes the value as given) and domaincommon.rng (`weight`: 100..1000).
    """
    blkiotune = ctx.facts.top("blkiotune")
    if blkiotune is None:
        return
    checks = [(child(blkiotune, "weight"), "weight")]
    for device in blkiotune.iterchildren("device"):
        path = (child_text(device, "path") or "").strip() or "?"
        checks.append((child(device, "weight"), f"device '{path}' weight"))
    for element, label in checks:
        if element is None:
            continue
        weight = parse_uint(element.text)
        if weight is None or WEIGHT_MIN <= weight <= WEIGHT_MAX:
            continue
        if weight == 0:
            if label == "weight":
                yield ctx.finding(
                    element,
                    "blkiotune weight 0 is not applied by libvirt and its schema refuses it "
                    "(100..1000); remove the element to keep the default",
                    severity="warning",
                )
            continue
        if WEIGHT_MIN_NEWER_KERNELS <= weight < WEIGHT_MIN:
            yield ctx.finding(
                element,
                f"blkiotune {label} {weight} is below 100: only kernels after 2.6.39 (or BFQ) "
                "accept 10..99, and libvirt's schema refuses it",
                severity="warning",
            )
            continue
        yield ctx.finding(
            element,
            f"blkiotune {label} {weight} is outside 100..1000 (10..1000 on newer kernels): "
            "the host's blkio cgroup refuses it and the guest does not start",
        )


@rule(
    code="DX463",
    name="blkiotune-device-duplicate",
    severity="error",
    summary="A host device listed twice in <blkiotune>",
    triggers=("blkiotune",),
    libvirt=("virDomainDefTunablesValidate",),
)
def blkiotune_device_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a `<blkiotune><device>` whose `<path>` an earlier `<device>` of the
    same `<blkiotune>` already names.

    ## Why is this bad?
    Each host device gets one set of weights and limits; two entries for it
    contradict each other. libvirt refuses the definition: "duplicate blkio
    device path '/dev/sda'".

    ## Example
    ```xml
    <blkiotune>
      <device><path>/dev/sda</path><weight>500</weight></device>
      <device><path>/dev/sda</path><read_bytes_sec>10000000</read_bytes_sec></device>
    </blkiotune>
    ```

    ## Use instead
    ```xml
    <blkiotune>
      <device>
        <path>/dev/sda</path>
        <weight>500</weight>
        <read_bytes_sec>10000000</read_bytes_sec>
      </device>
    </blkiotune>
    ```

    ## Fix safety
    No fix: merging the entries means choosing between their values.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefTunablesValidate`).
    """
    seen: set[str] = set()
    for device in ctx.facts.blkio_devices:
        if device.path is None:
            continue
        if device.path in seen:
            yield ctx.finding(device.element, f"duplicate blkio device path '{device.path}'")
        seen.add(device.path)
