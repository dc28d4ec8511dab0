"""DX115, DX118-DX120: the host's CPUs and every guest on them: APICv, the vCPU sum,
guests pinned onto one another's CPUs (guide 1.3, 3.2.1, 9.3.2, 9.3.6)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from ...cpuset import format_cpuset
from ...guests import GuestFacts, Pinned
from ...planrules import PlanContext, PlanFinding, others, plan_rule
from ...rule import KVM, QEMU, HostPart
from ..dx0_document.host_setup import host_name


@plan_rule(
    code="DX115",
    name="apicv-disabled",
    severity="info",
    summary="APIC virtualization (APICv) is turned off in kvm_intel",
    needs=(HostPart.SYSTEM,),
    domains=KVM,
)
def apicv_disabled(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Reports an Intel host whose `kvm_intel` module runs with
    `enable_apicv=N`, when it has KVM guests. (AMD's counterpart, AVIC, is
    off by default in `kvm_amd` and not reported.)

    ## Why is this bad?
    APICv lets a guest reach its virtual interrupt controller without a VM
    exit for most accesses, which cuts interrupt latency and the exits that
    interrupts cause, and so speeds up I/O. KVM turns it on by default on CPUs
    that have it; `enable_apicv=N` (in `/etc/modprobe.d`, or on the kernel
    command line) gives that up.

    ## Example
    A snapshot with `<module name='kvm_intel' loaded='yes'>` and
    `<parameter name='enable_apicv'>N</parameter>`.

    ## Use instead
    Remove `enable_apicv=0` from `/etc/modprobe.d/*.conf` (or the kernel
    command line) and reload `kvm_intel` with the guests stopped.

    ## Fix safety
    No fix: the module parameter is host configuration.

    ## Source
    Guide 1.3 (APIC Virtualization (APICv): on by default on newer Intel
    processors); Linux arch/x86/kvm/vmx/vmx.c (`enable_apicv`).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    module = system.module("kvm_intel")
    if module is None or not module.loaded:
        return
    apicv = module.flag("enable_apicv")
    if apicv is None:
        ctx.note("the snapshot does not record kvm_intel's enable_apicv")
        return
    if apicv:
        return
    yield ctx.host_finding(
        f"{host_name(system)} runs kvm_intel with enable_apicv=N: its KVM guests take a VM exit "
        "for interrupts that APICv would deliver without one",
        fact="system/modules/module[kvm_intel]",
    )


@plan_rule(
    code="DX118",
    name="host-vcpu-overcommit",
    severity="warning",
    summary="The guests of a host have more vCPUs in total than the host has CPUs",
    needs=(HostPart.NUMA,),
    domains=QEMU,
)
def host_vcpu_overcommit(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Adds up the vCPUs of every guest of the host (the ones online at start,
    `<vcpu current>`, else the maximum) and compares the sum with the host's
    logical CPUs (from its capabilities). It reports on the host snapshot,
    pointing at each guest's `<vcpu>`, when the sum is larger and there are at
    least two guests (one guest larger than the host is vcpu-overcommit's).
    Every guest linted against the snapshot counts, as if all run at once.

    ## Why is this bad?
    CPUs are overcommitted when the guests' vCPUs outnumber the host's CPUs.
    Then vCPUs wait for one another, and a heavy or unpredictable load in one
    guest slows the others; the guide recommends against it, as it does for
    memory.

    ## Example
    Two guests with `<vcpu>24</vcpu>` on a host with 32 CPUs.

    ## Use instead
    Fewer vCPUs per guest, fewer guests on the host, or a larger host.

    ## Fix safety
    No fix: how to size the guests is the author's choice.

    ## Source
    Guide 3.2.1 (Option: Available CPUs: "if the total number of vCPUs of all
    guests is greater than the number of host CPUs, the CPUs are
    overcommitted").
    """
    cpus = ctx.host.cpu_ids
    assert cpus is not None  # needs=NUMA
    counted = [g for g in ctx.guests if g.vcpus]
    total = sum(g.vcpus or 0 for g in counted)
    if len(counted) < 2 or total <= len(cpus):
        return
    largest = sorted(counted, key=lambda g: (-(g.vcpus or 0), g.path))
    related, more = others(
        [ctx.related(g, g.vcpus_place, f"{g.label}: {g.vcpus} vCPUs") for g in largest]
    )
    yield ctx.host_finding(
        f"the {len(counted)} guests of this host have {total} vCPUs, the host has {len(cpus)} "
        f"CPUs: CPUs are overcommitted {total / len(cpus):.1f} to 1{more}",
        fact="capabilities/host/topology",
        related=related,
    )


def _exclusive(guest: GuestFacts) -> bool:
    """Whether the guest means to own its vCPUs' host CPUs: 1:1 pins or real-time vCPUs."""
    return guest.dedicated or bool(guest.realtime_vcpus)


def _kind(guest: GuestFacts) -> str:
    return "real-time" if guest.realtime_vcpus else "dedicated"


@plan_rule(
    code="DX119",
    name="pinned-cpus-shared",
    severity="warning",
    summary="Guests of a host pinned to the same host CPUs as another's dedicated vCPUs",
    domains=QEMU,
)
def pinned_cpus_shared(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Finds guests of one host whose vCPUs may run on the same host CPUs when
    at least one of them means to own its CPUs: it pins each vCPU to a host
    CPU of its own (1:1, "dedicated"), or its vCPUs are real-time (`fifo` or
    `rr` `<vcpusched>`). Both guests get a finding, pointing at the other's
    pins. Guests that share a floating pool of CPUs (`<vcpu cpuset='0-15'>`)
    with each other are not reported: that is what a shared pool is for.

    ## Why is this bad?
    1:1 pinning is for guests that need their CPUs to themselves: their
    caches stay warm and no other thread delays them. A second guest pinned
    to the same CPUs defeats that silently; with real-time vCPUs, the other
    guest's vCPU either starves or takes the real-time guest's latency budget.

    ## Example
    `db.xml` pins vCPUs 0-3 to host CPUs 8-11 one to one; `web.xml` has
    `<vcpu cpuset='8-15'>4</vcpu>`.

    ## Use instead
    Keep the dedicated guests' CPUs out of every other guest's cpuset (here
    `<vcpu cpuset='12-15'>` for `web.xml`).

    ## Fix safety
    No fix: how to divide the host's CPUs is the author's choice.

    ## Source
    Guide 9.3.2 (NUMA vCPU pinning) and 9.3.5 (real time); libvirt
    formatdomain, "CPU Tuning".
    """
    index: dict[int, list[tuple[GuestFacts, Pinned]]] = defaultdict(list)
    for guest in ctx.guests:
        for pin in guest.pins:
            for cpu in pin.cpus:
                index[cpu].append((guest, pin))
    for guest in ctx.guests:
        shared: dict[int, tuple[GuestFacts, set[int], Pinned | None, Pinned]] = {}
        for pin in guest.pins:
            for cpu in pin.cpus:
                for other, other_pin in index[cpu]:
                    if other is guest or not (_exclusive(guest) or _exclusive(other)):
                        continue
                    entry = shared.get(id(other))
                    if entry is None:
                        shared[id(other)] = (other, {cpu}, pin, other_pin)
                    else:
                        entry[1].add(cpu)
        if not shared:
            continue
        peers = sorted(shared.values(), key=lambda e: e[0].path)
        first_other, cpus, my_pin, _ = peers[0]
        assert my_pin is not None
        related, more = others(
            [ctx.related(o, p.place, f"{o.label} is pinned there") for o, _, _, p in peers]
        )
        plural = len(cpus) > 1
        shown = f"host CPU{'s' if plural else ''} {format_cpuset(frozenset(cpus))}"
        if _exclusive(guest):
            message = (
                f"{shown} of its {_kind(guest)} vCPUs {'are' if plural else 'is'} also in the "
                f"pins of {first_other.label}{more}: the guests take turns on CPUs meant for "
                "this one alone"
            )
        else:
            message = (
                f"its vCPUs are pinned to {shown}, where {first_other.label} runs "
                f"{_kind(first_other)} vCPUs{more}: the guests take turns on CPUs meant for "
                "that one alone"
            )
        yield ctx.finding(guest, my_pin.place, message, related=related)


@plan_rule(
    code="DX120",
    name="emulatorpin-on-dedicated-cpus",
    severity="warning",
    summary="A guest's emulator threads pinned onto another guest's dedicated vCPU CPUs",
    domains=QEMU,
)
def emulatorpin_on_dedicated_cpus(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Finds a guest whose `<emulatorpin>` includes host CPUs that another guest
    of the host pins its vCPUs to one to one (dedicated) or runs real-time
    vCPUs on. The finding points at the other guest's pins.

    ## Why is this bad?
    The emulator threads (QEMU's main loop, I/O, vhost workers) of one guest
    then run on CPUs another guest was given for itself, and interrupt its
    vCPUs at unpredictable times: exactly what 1:1 pinning and a separate
    `<emulatorpin>` are meant to prevent.

    ## Example
    `db.xml` pins its vCPUs to host CPUs 8-11 one to one; `web.xml` has
    `<emulatorpin cpuset='8-9'/>`.

    ## Use instead
    Pin the emulator threads to CPUs no dedicated vCPU uses (a housekeeping
    core, say `<emulatorpin cpuset='0'/>`).

    ## Fix safety
    No fix: which CPUs are housekeeping CPUs is the author's choice.

    ## Source
    Guide 9.3.6 (Using emulatorpin) and 9.3.2 (configure vcpupin, numatune and
    emulatorpin together).
    """
    dedicated: dict[int, list[tuple[GuestFacts, Pinned]]] = defaultdict(list)
    for guest in ctx.guests:
        if _exclusive(guest):
            for pin in guest.pins:
                for cpu in pin.cpus:
                    dedicated[cpu].append((guest, pin))
    for guest in ctx.guests:
        if not guest.emulator_cpus:
            continue
        hit: dict[int, tuple[GuestFacts, set[int], Pinned]] = {}
        for cpu in guest.emulator_cpus:
            for other, pin in dedicated.get(cpu, ()):
                if other is guest:
                    continue
                entry = hit.setdefault(id(other), (other, set(), pin))
                entry[1].add(cpu)
        if not hit:
            continue
        peers = sorted(hit.values(), key=lambda e: e[0].path)
        other, cpus, _ = peers[0]
        related, more = others(
            [ctx.related(o, p.place, f"a {_kind(o)} vCPU of {o.label}") for o, _, p in peers]
        )
        yield ctx.finding(
            guest,
            guest.emulator_place,
            f"the emulator threads are pinned to host CPU{'s' if len(cpus) > 1 else ''} "
            f"{format_cpuset(frozenset(cpus))}, where {other.label} runs its {_kind(other)} "
            f"vCPUs{more}: they interrupt that guest's vCPUs",
            related=related,
        )
