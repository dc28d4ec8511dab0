"""DX116-DX117: KVM's paravirtual features turned off; more vCPUs than the host CPUs they
are pinned to (guide 1.3, 9.3.2)."""

from __future__ import annotations

from collections.abc import Iterator

from ...cpuset import format_cpuset
from ...facts import child
from ...findings import Finding
from ...rule import KVM, X86, RuleContext, rule

#: CPUID bits of KVM's paravirtual interface (libvirt's cpu_map names) and what each gives
#: a Linux guest: the guide's 1.3 features.
PV_FEATURES = {
    "kvmclock": "paravirtual time (kvmclock: gettimeofday and clock_gettime in user space)",
    "kvm_pv_unhalt": "paravirtual ticketlocks (PV spinlocks, for hosts with overcommitted CPUs)",
    "kvm_asyncpf": "paravirtual page faults (async PF, for hosts that swap guest memory)",
    "kvm_asyncpf_int": "paravirtual page faults (async PF, for hosts that swap guest memory)",
    "kvm_pv_eoi": "paravirtual end-of-interrupt (PV EOI)",
}


@rule(
    code="DX116",
    name="kvm-paravirt-disabled",
    severity="info",
    summary="KVM's paravirtual features (kvmclock, PV spinlocks, async PF, PV EOI) turned off",
    triggers=("kvm", "apic", "timer", "feature"),
    domains=KVM.on(*X86),
)
def kvm_paravirt_disabled(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds what turns off KVM's paravirtual interface for an x86 Linux guest:
    `<features><kvm><hidden state='on'/>` (the guest no longer sees KVM, so
    it uses none of it), `<clock><timer name='kvmclock' present='no'/>`,
    `<cpu><feature policy='disable'>` (or `forbid`) for `kvmclock`,
    `kvm_pv_unhalt`, `kvm_asyncpf` or `kvm_pv_eoi`, and `<features><apic
    eoi='off'/>`. Windows guests use Hyper-V enlightenments instead and are
    left out.

    ## Why is this bad?
    The guide lists these among KVM's performance features: kvmclock lets
    `gettimeofday` and `clock_gettime` run in user space (vsyscall);
    paravirtual ticketlocks keep a guest on an overcommitted host from
    spinning on a lock whose holder is not running; paravirtual page faults
    let it run another task while the host swaps a page back in; PV EOI
    saves an exit per interrupt. Turning them off costs the guest time and
    the host CPU. Hiding KVM is sometimes needed for a passed-through GPU
    whose driver refuses to run in a VM; then keep it.

    ## Example
    ```xml
    <clock offset='utc'>
      <timer name='kvmclock' present='no'/>
    </clock>
    ```

    ## Use instead
    Leave them on (the defaults): remove the element or attribute.

    ## Fix safety
    No fix: a clock source change is visible to the guest, and the author may
    have a reason (a GPU driver, a debugging session).

    ## Source
    Guide 1.3 (Virtualization performance features: paravirtualized
    ticketlocks, paravirtualized page faults, paravirtualized time vsyscall
    optimization, EOI acceleration); libvirt formatdomain, "Hypervisor
    features" (`kvm/hidden`, `apic eoi`) and "Time keeping"; libvirt
    src/cpu_map/x86_features.xml (the `kvm_*` feature names).
    """
    facts = ctx.facts
    if facts.is_windows:
        return
    features = facts.features
    if features is not None:
        kvm = child(features, "kvm")
        hidden = child(kvm, "hidden") if kvm is not None else None
        if hidden is not None and hidden.get("state") == "on":
            reason = ""
            if facts.host_devices:
                reason = " (keep it if a passed-through GPU's driver refuses to run in a VM)"
            yield ctx.finding(
                hidden,
                "KVM is hidden from the guest, so it uses none of KVM's paravirtual features "
                f"(kvmclock, PV spinlocks, async page faults, PV EOI){reason}",
                attribute="state",
            )
        apic = child(features, "apic")
        if apic is not None and apic.get("eoi") == "off":
            yield ctx.finding(
                apic,
                "eoi='off' turns off paravirtual end-of-interrupt (PV EOI), which saves the guest "
                "an exit per interrupt",
                attribute="eoi",
            )
    kvmclock = facts.timer("kvmclock")
    if kvmclock is not None and kvmclock.present == "no":
        yield ctx.finding(
            kvmclock.element,
            f"the kvmclock timer is turned off: the guest loses {PV_FEATURES['kvmclock']}",
            attribute="present",
        )
    cpu = facts.cpu
    if cpu is not None:
        for feature in cpu.element.iterchildren("feature"):
            name = feature.get("name") or ""
            if name in PV_FEATURES and feature.get("policy") in ("disable", "forbid"):
                yield ctx.finding(
                    feature,
                    f"CPU feature {name} is turned off: the guest loses {PV_FEATURES[name]}",
                    attribute="policy",
                )


@rule(
    code="DX117",
    name="vcpus-share-pinned-cpus",
    severity="warning",
    summary="More vCPUs than the host CPUs they are pinned to",
    triggers=("vcpu", "vcpupin"),
    domains=KVM,
)
def vcpus_share_pinned_cpus(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Counts the distinct host CPUs the guest's vCPUs are pinned to (each
    vCPU's `<vcpupin>`, else `<vcpu cpuset>`) and reports a guest whose every
    vCPU is pinned but to fewer host CPUs than it has vCPUs. Automatic
    placement (`placement='auto'`) and real-time vCPUs (which
    realtime-vcpu-not-dedicated checks more strictly) are left out.

    ## Why is this bad?
    vCPUs pinned onto fewer CPUs than there are of them take turns on those
    CPUs: the guest sees N processors but gets the time of fewer, and a vCPU
    that holds a lock while it waits for its turn stalls the others. The
    guide: pinning that leaves more vCPUs than physical cores adds complexity
    and costs performance.

    ## Example
    ```xml
    <vcpu placement='static'>4</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='2'/>
      <vcpupin vcpu='2' cpuset='3'/>
      <vcpupin vcpu='3' cpuset='3'/>
    </cputune>
    ```

    ## Use instead
    A host CPU per vCPU, or fewer vCPUs:
    ```xml
    <vcpu placement='static'>2</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
    </cputune>
    ```

    ## Fix safety
    No fix: the vCPU count is visible to the guest, and the CPUs to add are
    the author's choice.

    ## Source
    Guide 9.3.2 (NUMA vCPU pinning: "pinning that results in more vCPUs than
    physical cores increases complexity").
    """
    facts = ctx.facts
    vcpu_ids = facts.vcpu_ids
    if vcpu_ids is None or facts.vcpus.placement == "auto":
        return
    pinned = facts.vcpu_host_cpus
    if len(pinned) != len(vcpu_ids) or len(vcpu_ids) < 2:
        return  # a vCPU floats over every host CPU
    if any(sched.realtime and sched.element.tag == "vcpusched" for sched in facts.thread_scheds):
        return
    cpus: set[int] = set()
    for host_cpus in pinned.values():
        cpus |= host_cpus
    if len(cpus) >= len(vcpu_ids):
        return
    element = facts.cputune.element if facts.vcpupins and facts.cputune is not None else None
    if element is None:
        element = facts.vcpus.element
    if element is None:
        return
    yield ctx.finding(
        element,
        f"{len(vcpu_ids)} vCPUs are pinned to {len(cpus)} host "
        f"CPU{'s' if len(cpus) > 1 else ''} ({format_cpuset(frozenset(cpus))}): they take turns "
        "on them, and a vCPU waiting for its turn stalls the others",
    )
