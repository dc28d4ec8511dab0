"""DX477: disk I/O throttling QEMU refuses (qemuValidateDomainDeviceDefDiskBlkdeviotune).

Totals given with their read/write twins are DX410; vhost-user disks' <iotune> DX449.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.storage import IOTUNE_BURSTS, IOTUNE_RATES, Disk
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: QEMU_BLOCK_IOTUNE_MAX: QEMU's THROTTLE_VALUE_MAX, the largest limit it takes.
IOTUNE_MAX = 1_000_000_000_000_000

#: The limits QEMU checks against that maximum (the burst lengths are seconds, not limits).
CAPPED_LIMITS = (*IOTUNE_RATES, *IOTUNE_BURSTS, "size_iops_sec")


@rule(
    code="DX477",
    name="iotune-unsupported",
    severity="error",
    summary="<iotune> QEMU refuses: a group without limits, an SD card, a group whose disks "
    "differ, a limit above 10^15",
    triggers=("iotune",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefDiskBlkdeviotune",),
)
def iotune_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each disk's `<iotune>`: a `<group_name>` needs at least one limit;
    an SD card (`bus='sd'`) cannot be throttled; the disks of one group must
    carry the same limits; no rate, burst or `size_iops_sec` may exceed
    10^15.

    ## Why is this bad?
    QEMU throttles a group with one set of limits, and ignores a group name
    on its own. libvirt refuses the definition: "group_name can be configured
    only together with settings", "<iotune> is not supported with bus='sd'",
    "different iotunes for disks vda and vdb", "block I/O throttle limit must
    be no more than 1000000000000000 using QEMU".

    ## Example
    ```xml
    <disk type='file' device='disk'>
      ...
      <iotune>
        <total_iops_sec>500</total_iops_sec>
        <group_name>tenant-a</group_name>
      </iotune>
    </disk>
    <disk type='file' device='disk'>
      ...
      <iotune>
        <total_iops_sec>800</total_iops_sec>
        <group_name>tenant-a</group_name>
      </iotune>
    </disk>
    ```

    ## Use instead
    Give every disk of `tenant-a` the same limits (the group shares them), or
    put the second disk in a group of its own.

    ## Fix safety
    No fix: which limits the group should have is the author's decision.

    ## Source
    libvirt src/qemu/qemu_validate.c
    (`qemuValidateDomainDeviceDefDiskBlkdeviotune`), src/qemu/qemu_domain.h
    (`QEMU_BLOCK_IOTUNE_MAX`).
    """
    group_first: dict[str, Disk] = {}
    for disk in ctx.facts.disks:
        iotune = disk.iotune
        if iotune is None or disk.storage.type == "vhostuser":
            continue
        if iotune.group_name is not None and not iotune.has_any:
            yield ctx.finding(
                iotune.element,
                f"{disk.label}: group_name can be configured only together with settings "
                f"(group '{iotune.group_name}' has no limit)",
            )
            continue
        if disk.effective_bus == "sd" and iotune.enabled:
            yield ctx.finding(
                iotune.element, f"{disk.label}: <iotune> is not supported with bus='sd'"
            )
            continue
        group = iotune.group_name
        if group is not None:
            first = group_first.setdefault(group, disk)
            first_iotune = first.iotune
            if first is not disk and first_iotune is not None and first.dev != disk.dev:
                if not first_iotune.same_limits(iotune):
                    yield ctx.finding(
                        iotune.element,
                        f"different iotunes for disks {first.dev} and {disk.dev} (group "
                        f"'{group}' shares one set of limits)",
                    )
                    continue
        over = [name for name in CAPPED_LIMITS if iotune.value(name) > IOTUNE_MAX]
        if over:
            element = next(iotune.element.iterchildren(over[0]), iotune.element)
            yield ctx.finding(
                element,
                f"{disk.label}: block I/O throttle limit must be no more than {IOTUNE_MAX} using "
                f"QEMU ({over[0]})",
            )
