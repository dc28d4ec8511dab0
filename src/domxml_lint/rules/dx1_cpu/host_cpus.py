"""DX106, DX109: pinned CPUs the host lacks, more vCPUs than host CPUs (guide 3.2.1, 9.3.2)."""

from __future__ import annotations

from collections.abc import Iterator

from ...cpuset import format_cpuset
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule


def pin_refs(facts):
    """The cpusets that pin host CPUs as libvirt applies them.

    ``<vcpu cpuset>`` (ignored with placement='auto'), the vcpupins libvirt keeps,
    every emulatorpin and iothreadpin.
    """
    refs = []
    if facts.vcpus.cpuset is not None and facts.vcpus.placement != "auto":
        refs.append(facts.vcpus.cpuset)
    refs += [pin.cpuset for pin in facts.effective_vcpupins.values()]
    if facts.cputune is not None:
        refs += [pin.cpuset for pin in (*facts.cputune.emulatorpins, *facts.cputune.iothreadpins)]
    return [ref for ref in refs if ref is not None and ref.ids]


@rule(
    code="DX106",
    name="pin-host-cpu-missing",
    severity="error",
    summary="A pinned host CPU that the host does not have",
    needs=(HostPart.NUMA,),
    triggers=("vcpu", "vcpupin", "emulatorpin", "iothreadpin"),
    domains=QEMU,
    libvirt=("virProcessSetAffinity",),
)
def pin_host_cpu_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every cpuset that pins guest threads to host CPUs (`<vcpu cpuset>`,
    `<vcpupin>`, `<emulatorpin>`, `<iothreadpin>`) against the CPUs the host
    snapshot lists, and reports CPU ids the host does not have. vcpupins that
    libvirt ignores (for vCPUs the guest does not have) are skipped, and so is
    `<vcpu cpuset>` with `placement='auto'`, which libvirt ignores too.

    ## Why is this bad?
    The definition is accepted, but the pin cannot be honoured on this host.
    When starting the guest libvirt sets each thread's affinity, which fails
    when none of the set's CPUs exist ("cannot set CPU affinity on process
    N"), so the guest does not start. When only some are missing, a cgroup v1
    host refuses the cpuset ("Invalid value '...' for 'cpuset.cpus': Invalid
    argument") and the guest does not start either; cgroup v2 accepts it and
    silently uses only the CPUs that exist, so the pinning is not what the file
    says. A pin list copied from a bigger host, or written for another CPU
    numbering, is the usual cause.

    ## Example
    On a host with CPUs 0-15:
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='16'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='8'/>
    </cputune>
    ```

    ## Fix safety
    No fix: which host CPU the thread belongs on is the author's choice.

    ## Source
    Guide 9.3.2 (NUMA vCPU pinning: the cpuset names host physical CPUs, from
    `virsh capabilities`) and 3.2.2 (`virsh capabilities` shows the host's CPUs
    and NUMA layout). libvirt src/util/vircgroup.c `virCgroupSetValueRaw`
    ("Invalid value '%1$s' for '%2$s'" on EINVAL) and src/util/virprocess.c
    `virProcessSetAffinity` ("cannot set CPU affinity on process %1$d"). That
    the kernel refuses these sets is sched_setaffinity(2) (EINVAL when the
    mask holds no existing CPU) and the cgroup v1/v2 cpuset rules (v1: a
    subset of the parent's CPUs; v2: the parent's constraints apply
    silently), not a libvirt check: reasoning from the kernel's documentation,
    not run here.
    """
    facts = ctx.facts
    host_cpus = ctx.host.cpu_ids
    assert host_cpus is not None  # needs=NUMA
    for ref in pin_refs(facts):
        missing = ref.ids - host_cpus
        if not missing:
            continue
        noun = "CPU" if len(missing) == 1 else "CPUs"
        if missing == ref.ids:
            outcome = "the guest fails to start (no CPU of the set exists)"
        else:
            outcome = (
                "the guest fails to start where the cgroup is v1; cgroup v2 silently drops them"
            )
        yield ctx.finding(
            ref.element,
            f"cpuset '{ref.text}' names host {noun} {format_cpuset(missing)} that the host "
            f"does not have (it has CPUs {format_cpuset(host_cpus)}): {outcome}",
            attribute=ref.attribute,
        )


@rule(
    code="DX109",
    name="vcpu-overcommit",
    severity="warning",
    summary="More vCPUs than the host has logical CPUs",
    needs=(HostPart.NUMA,),
    triggers=("vcpu",),
    domains=QEMU,
)
def vcpu_overcommit(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares the guest's maximum vCPU count (`<vcpu>`) with the number of
    logical CPUs the host snapshot lists, and reports a guest that has more.

    ## Why is this bad?
    A single guest with more vCPUs than the host has CPUs overcommits the host
    by itself: its vCPU threads take turns on the same CPUs, spin-waiting
    guest locks stall while the lock holder is descheduled, and throughput
    drops below that of a smaller guest. The guide warns that CPU overcommit
    hurts performance, especially under heavy or unpredictable load; the RHEL 7
    deployment guide adds that a guest should not have more vCPUs than the host
    has CPUs. vCPUs that are not online now (`current`) still count: they can
    be hot-plugged.

    ## Example
    On a host with 16 logical CPUs:
    ```xml
    <vcpu placement='static'>24</vcpu>
    ```

    ## Use instead
    ```xml
    <vcpu placement='static'>8</vcpu>
    ```

    ## Fix safety
    No fix: the vCPU count is guest-visible sizing.

    ## Source
    Guide 3.2.1 (选项：可用的 CPU, available CPUs: "如果 vCPU 总数大于主机 CPU 的数量
    ... CPU 过量使用可能会对性能造成负面影响"); RHEL 7 Virtualization Deployment and
    Administration Guide 7.3 (overcommitting virtualized CPUs).
    """
    facts = ctx.facts
    if facts.vcpus.element is None:
        return
    host_cpus = ctx.host.cpu_ids
    assert host_cpus is not None  # needs=NUMA
    maximum = facts.vcpu_count
    if maximum is None or maximum <= len(host_cpus):
        return
    current = facts.vcpus.current
    online = f" ({current} online now)" if current is not None and current < maximum else ""
    yield ctx.finding(
        facts.vcpus.element,
        f"the guest has {maximum} vCPUs{online} but the host has {len(host_cpus)} logical CPUs: "
        "its vCPUs overcommit the host on their own",
    )
