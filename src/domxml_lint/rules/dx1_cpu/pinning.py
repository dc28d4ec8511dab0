"""DX102-DX104, DX107-DX108: vCPU and emulator pinning in ``<cputune>`` (guide 9.3.2, 9.3.6)."""

from __future__ import annotations

from collections.abc import Iterator

from ...cpuset import format_cpuset
from ...edits import new_element
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from .._wording import describe_nodes, vcpu_list

#: libvirt's order of the <cputune> children that come after emulatorpin.
AFTER_EMULATORPIN = (
    "iothreadpin",
    "vcpusched",
    "iothreadsched",
    "emulatorsched",
    "cachetune",
    "memorytune",
)


@rule(
    code="DX102",
    name="vcpupin-incomplete",
    severity="warning",
    summary="Some vCPUs have a vcpupin and others do not; the others float",
    triggers=("vcpupin",),
    domains=QEMU,
)
def vcpupin_incomplete(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds guests where some vCPUs have a `<vcpupin>` and others have none.

    ## Why is this bad?
    A vCPU without its own `vcpupin` is not pinned to one place: it runs on
    any CPU of `<vcpu cpuset>`, or on every host CPU when there is no cpuset.
    The guide's example (9.3.2) leaves out vCPU 5, which then floats over
    CPUs 0-7, shares them with the pinned vCPUs and loses the cache and NUMA
    locality the pinning was meant to give. Usually a line was forgotten, or
    the vCPU count was raised without adding pins.

    ## Example
    ```xml
    <vcpu placement='static' cpuset='0-3'>4</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='0'/>
      <vcpupin vcpu='1' cpuset='1'/>
      <vcpupin vcpu='2' cpuset='2'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <vcpu placement='static' cpuset='0-3'>4</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='0'/>
      <vcpupin vcpu='1' cpuset='1'/>
      <vcpupin vcpu='2' cpuset='2'/>
      <vcpupin vcpu='3' cpuset='3'/>
    </cputune>
    ```

    ## Fix safety
    No fix: which host CPU the missing vCPUs should get is the author's choice.

    ## Source
    Guide 9.3.2 (NUMA vCPU 固定, NUMA vCPU pinning): "if no vcpupin is given
    for a vCPU, it inherits the parent `<vcpu>` cpuset" and the vcpu 5
    example; libvirt formatdomain, "CPU Tuning": vcpupin.
    """
    facts = ctx.facts
    if facts.vcpu_ids is None:
        return
    pinned = facts.effective_vcpupins
    if not pinned:
        return
    missing = frozenset(v for v in facts.vcpu_ids if v not in pinned)
    if not missing:
        return
    cpuset = facts.vcpus.cpuset
    if cpuset is not None and cpuset.ids is not None:
        floats = f"the <vcpu> cpuset '{cpuset.text}'"
    else:
        floats = "every host CPU"
    verb = "has" if len(missing) == 1 else "have"
    assert facts.cputune is not None  # the vcpupins live in it
    yield ctx.finding(
        facts.cputune.element,
        f"{vcpu_list(missing)} of {len(facts.vcpu_ids)} {verb} no vcpupin and float over "
        f"{floats}, while {vcpu_list(pinned)} {'is' if len(pinned) == 1 else 'are'} pinned",
    )


@rule(
    code="DX103",
    name="vcpupin-unknown-vcpu",
    severity="warning",
    summary="A vcpupin for a vCPU the guest does not have; libvirt silently ignores it",
    fix="safe",
    triggers=("vcpupin",),
)
def vcpupin_unknown_vcpu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<vcpupin vcpu='N'>` where N is not below the maximum vCPU count
    (`<vcpu>`).

    ## Why is this bad?
    libvirt drops such a pin when it parses the domain and only logs
    "Ignoring vcpupin for missing vcpus". The pin that was meant to hold a vCPU
    in place does nothing, which usually means the vCPU count was lowered or
    the pins were copied from another guest; the vCPU it was meant for may be
    unpinned (see vcpupin-incomplete).

    ## Example
    ```xml
    <vcpu>2</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
      <vcpupin vcpu='2' cpuset='4'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <vcpu>2</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
    </cputune>
    ```

    ## Fix safety
    Safe: the fix removes the pin, which is exactly what libvirt does when it
    defines the domain, so the running guest does not change.

    ## Source
    libvirt src/conf/domain_conf.c, `virDomainVcpuPinDefParseXML`:
    `VIR_WARN("Ignoring vcpupin for missing vcpus")` (seen on libvirt 9.0's
    test driver, which keeps the domain and drops the pin); guide 9.3.2.
    """
    maximum = ctx.facts.vcpu_count
    if maximum is None:
        return
    for pin in ctx.facts.vcpupins:
        if pin.target is not None and pin.target >= maximum:
            fix = ctx.safe_fix("Remove the vcpupin", ctx.edit.remove_element(pin.element))
            yield ctx.finding(
                pin.element,
                f"vcpupin for vCPU {pin.target}, but the guest has {maximum} vCPU"
                f"{'' if maximum == 1 else 's'} (0-{maximum - 1}): libvirt ignores it",
                attribute="vcpu",
                fix=fix,
            )


@rule(
    code="DX104",
    name="vcpupin-duplicate",
    severity="error",
    summary="Two vcpupin elements for one vCPU; libvirt refuses the domain",
    triggers=("vcpupin",),
    libvirt=("virDomainVcpuPinDefParseXML",),
)
def vcpupin_duplicate(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a second `<vcpupin>` for a vCPU that already has one.

    ## Why is this bad?
    libvirt refuses to define the domain: "duplicate vcpupin for vcpu 'N'".
    Even if it did not, only one of the two cpusets could apply, and the file
    would not say which.

    ## Example
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='0' cpuset='3'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
    </cputune>
    ```

    ## Fix safety
    No fix: only the author knows which pin, or which vCPU number, was meant.

    ## Source
    libvirt src/conf/domain_conf.c, `virDomainVcpuPinDefParseXML`:
    "duplicate vcpupin for vcpu '%1$d'" (checked on libvirt 9.0). Pins on vCPUs
    beyond the count are dropped before this check, so they never collide.
    """
    kept = ctx.facts.effective_vcpupins
    for pin in ctx.facts.vcpupins:
        first = kept.get(pin.target) if pin.target is not None else None
        if first is not None and first is not pin:
            line, _ = ctx.doc.position(ctx.doc.span(first.element).start)
            yield ctx.finding(
                pin.element,
                f"duplicate vcpupin for vcpu '{pin.target}' (first pinned on line {line}): "
                "libvirt refuses the domain",
                attribute="vcpu",
            )


@rule(
    code="DX107",
    name="emulatorpin-missing",
    severity="warning",
    summary="vCPUs are pinned but the emulator threads are not, so they share the vCPUs' CPUs",
    fix="unsafe",
    triggers=("vcpupin",),
    domains=QEMU,
)
def emulatorpin_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds guests with `<vcpupin>` but no `<emulatorpin>`, where the emulator
    threads may therefore run on the host CPUs the vCPUs are pinned to.

    ## Why is this bad?
    Without `emulatorpin`, QEMU's emulator threads (the main loop, and the I/O
    threads and vhost workers that follow it) run on the CPUs of
    `<vcpu cpuset>`, or on every host CPU. They then preempt the pinned vCPUs
    on their own cores and pull cache lines away from them: the pinning no
    longer gives the deterministic performance it was set up for. The guide
    says to configure `vcpupin`, `numatune` and `emulatorpin` together.

    When `<vcpu cpuset>` leaves out every CPU the vCPUs are pinned to, the
    emulator is already kept apart and the rule stays silent.

    ## Example
    ```xml
    <vcpu placement='static'>2</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <vcpu placement='static'>2</vcpu>
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
      <emulatorpin cpuset='1'/>
    </cputune>
    ```

    ## Fix safety
    Unsafe, and only with a host snapshot: the fix adds `<emulatorpin>` with
    the CPUs of the guest's bound host node(s) (the numatune nodeset, else the
    nodes of the pinned vCPUs) that no vCPU uses, preferring CPUs whose whole
    core is free of vCPUs over SMT siblings of vCPU CPUs. Without a host, or
    when every CPU of those nodes runs a vCPU, there is no fix. It changes
    where QEMU's threads run, and the CPUs may be meant for other guests.

    ## Source
    Guide 9.3.2 (NUMA vCPU pinning, "vcpupin, numatune and emulatorpin should
    be configured together") and 9.3.6 (使用 emulatorpin, using emulatorpin);
    libvirt formatdomain, "CPU Tuning": emulatorpin ("the default is the
    cpuset of `<vcpu>`"); libvirt kbase kvm-realtime (emulator threads apart
    from the vCPUs).
    """
    facts = ctx.facts
    if facts.cputune is None or facts.cputune.emulatorpins:
        return
    pinned = facts.effective_vcpupins
    vcpu_cpus: set[int] = set()
    for pin in pinned.values():
        if pin.cpuset is not None and pin.cpuset.ids is not None:
            vcpu_cpus |= pin.cpuset.ids
    if not vcpu_cpus:
        return
    cpuset = facts.vcpus.cpuset
    if cpuset is not None and cpuset.ids is not None:
        shared = vcpu_cpus & cpuset.ids
        if not shared:
            return
        where = f"the <vcpu> cpuset '{cpuset.text}'"
    else:
        shared = vcpu_cpus
        where = "any host CPU"
    assert facts.cputune is not None  # the vcpupins live in it
    yield ctx.finding(
        facts.cputune.element,
        f"vCPUs are pinned but there is no emulatorpin: the emulator threads run on {where}, "
        f"including host CPUs {format_cpuset(shared)} that the vCPUs are pinned to",
        fix=_emulatorpin_fix(ctx),
    )


def _emulatorpin_fix(ctx):
    """Pin the emulator beside the vCPUs: free CPUs of the bound host nodes, whole cores first."""
    host = ctx.optional_host
    if host is None or not host.has_numa:
        return None
    facts = ctx.facts
    binding = ctx.placement
    nodes = binding.bound_nodes
    if not nodes:
        return None
    busy: set[int] = set()
    for cpus in facts.vcpu_host_cpus.values():
        busy |= cpus
    from ...placement import host_cpus_of_nodes  # with a snapshot only: not at start-up

    free = host_cpus_of_nodes(host, nodes) - busy
    if not free:
        return None
    caps = host.capabilities
    whole_cores = frozenset(
        cpu for cpu in free if not (caps.cpu(cpu).siblings or frozenset({cpu})) & busy
    )
    chosen = whole_cores or free
    cpuset = format_cpuset(chosen)
    pin = new_element("emulatorpin", {"cpuset": cpuset})
    assert facts.cputune is not None  # the vcpupins live in it
    return ctx.unsafe_fix(
        f"Pin the emulator to host CPUs {cpuset} ({describe_nodes(nodes)}, no vCPU on them)",
        ctx.edit.insert_in_order(
            facts.cputune.element, pin, after=("vcpupin",), before=AFTER_EMULATORPIN
        ),
    )


@rule(
    code="DX108",
    name="pinning-without-numatune",
    severity="warning",
    summary="vCPUs are pinned but memory is not bound with numatune",
    fix="unsafe",
    triggers=("vcpupin",),
    domains=QEMU,
)
def pinning_without_numatune(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds guests that pin vCPUs with `<vcpupin>` but have no `<numatune>`.

    ## Why is this bad?
    Pinning keeps the vCPUs on chosen host CPUs, but without `numatune` their
    memory is allocated wherever the host kernel finds it, often on another
    NUMA node. Every such access is a NUMA miss; the guide puts the cost at
    10% and more, and says vCPU pinning and numatune should be configured
    together. With `<vcpu placement='auto'>` numad binds the memory too, so
    such guests are left alone.

    Whether it matters depends on the host: on a host with one NUMA node all
    memory is local. With a host snapshot the rule is a warning on a host with
    several nodes and silent on a single-node one (most desktops and small
    servers); without a host it is advice (info) that says it applies to
    multi-node hosts.

    ## Example
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='8'/>
      <vcpupin vcpu='1' cpuset='9'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='8'/>
      <vcpupin vcpu='1' cpuset='9'/>
    </cputune>
    <numatune>
      <memory mode='preferred' nodeset='1'/>
    </numatune>
    ```

    ## Fix safety
    Unsafe, and only with a host snapshot: the fix adds
    `<numatune><memory nodeset>` with the host node(s) of the CPUs the vCPUs
    are pinned to, `mode='preferred'` for one node (the guide's advice: memory
    that does not fit may still come from elsewhere) and `mode='strict'` for
    several (preferred takes a single node). Without a host there is no fix.
    It changes where the guest's memory may come from.

    ## Source
    Guide 9.3.2 (NUMA vCPU pinning: "combining vCPU pinning with numatune
    avoids NUMA misses ... usually 10% or more ... configure them together")
    and 9.1 (NUMA memory allocation policies); libvirt formatdomain, "NUMA
    Node Tuning".
    """
    facts = ctx.facts
    if facts.numatune is not None or facts.vcpus.placement == "auto":
        return
    pinned = facts.effective_vcpupins
    if not pinned:
        return
    assert facts.cputune is not None  # the vcpupins live in it
    verb = "is" if len(pinned) == 1 else "are"
    pinned_but = f"{vcpu_list(pinned)} {verb} pinned but there is no "
    host = ctx.optional_host
    if host is not None and host.has_numa:
        if len(host.cells) < 2:
            return  # one NUMA node: all memory is local to the pinned CPUs
        yield ctx.finding(
            facts.cputune.element,
            f"{pinned_but}<numatune>: guest memory may come from another of the host's "
            f"{len(host.cells)} NUMA nodes",
            fix=_numatune_fix(ctx),
        )
        return
    # Without the host's topology this is advice for multi-node hosts, not a problem.
    yield ctx.finding(
        facts.cputune.element,
        f"{pinned_but}<numatune>: on a host with more than one NUMA node, guest memory may "
        "come from another node than the pinned CPUs'",
        severity="info",
    )


def _numatune_fix(ctx):
    """Bind memory to the host nodes of the pinned vCPUs: preferred for one, strict for more."""
    host = ctx.optional_host
    if host is None or not host.has_numa:
        return None
    facts = ctx.facts
    nodes = ctx.placement.pinned_vcpu_nodes
    if not nodes:
        return None
    mode = "preferred" if len(nodes) == 1 else "strict"
    nodeset = format_cpuset(nodes)
    numatune = new_element(
        "numatune", None, new_element("memory", {"mode": mode, "nodeset": nodeset})
    )
    assert facts.cputune is not None  # the vcpupins live in it
    return ctx.unsafe_fix(
        f"Bind memory to host {describe_nodes(nodes)} with <numatune mode='{mode}'>",
        ctx.edit.insert_child(facts.root, numatune, after=facts.cputune.element),
    )
