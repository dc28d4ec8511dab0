"""DX307: KSM merging on pinned or huge page guests (guide 8.3, 9.4)."""

from __future__ import annotations

from collections.abc import Iterator

from ...edits import new_element
from ...findings import Edit, Finding
from ...rule import QEMU, RuleContext, rule

MEMORY_BACKING_ORDER = ("hugepages", "nosharepages", "locked", "source", "access", "allocation")


@rule(
    code="DX307",
    name="nosharepages-missing",
    severity="info",
    summary="A pinned guest without <nosharepages/> (KSM merging)",
    fix="unsafe",
    triggers=("vcpupin", "emulatorpin", "iothreadpin", "vcpu"),
    domains=QEMU,
)
def nosharepages_missing(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds guests tuned for performance, with pinned CPUs (`<vcpu cpuset>`,
    `<vcpupin>`, `<emulatorpin>`, `<iothreadpin>`), whose `<memoryBacking>`
    lacks `<nosharepages/>`. A guest backed by huge pages is left alone: KSM
    cannot merge hugetlbfs pages, so its memory is not shared anyway.

    ## Why is this bad?
    Kernel same-page merging (KSM) scans the guest's memory and merges
    identical pages copy-on-write. The scanning costs host CPU, a write to a
    merged page takes a copy-on-write fault, and on NUMA hosts KSM can merge
    pages across nodes, so a pinned guest ends up reading memory from a
    remote node. The guide recommends turning sharing off for such guests
    unless memory is overcommitted.

    All of this happens only where KSM runs, which most distributions leave
    off unless `ksmtuned` (Fedora, RHEL) starts it. With a host snapshot whose
    system facts show KSM stopped (`/sys/kernel/mm/ksm/run` is not 1) and
    `ksmtuned` not running, the rule is silent; without one the message says
    it applies where KSM runs.

    ## Example
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <memoryBacking>
      <nosharepages/>
    </memoryBacking>
    <cputune>
      <vcpupin vcpu='0' cpuset='2'/>
      <vcpupin vcpu='1' cpuset='3'/>
    </cputune>
    ```

    ## Fix safety
    Unsafe: `<nosharepages/>` tells QEMU not to mark the guest's memory
    mergeable, so KSM stops sharing its pages: the guest sees no difference,
    but the host's memory use grows by whatever KSM had merged, and a host that
    relied on KSM to overcommit can run short of memory. Only the host's
    administrator can tell. The fix adds it to `<memoryBacking>`, creating
    `<memoryBacking>` (after the memory elements) when the guest has none.

    ## Source
    Guide 8.2.2 (`nosharepages`), 8.3 (内核同页合并 KSM) and 9.4 (NUMA-aware
    KSM: "通常，除非您被超过系统内存，通过禁用 KSM 共享来获得更好的运行时性能");
    libvirt formatdomain, "Memory Backing"; QEMU system/physmem.c
    (`memory_try_enable_merging`: MADV_MERGEABLE unless mem-merge is off).
    """
    facts = ctx.facts
    backing = facts.memory_backing
    if backing is not None and backing.nosharepages:
        return
    if not facts.pinned_host_cpus or facts.hugepage_backing is not None:
        return  # KSM cannot merge hugetlbfs pages: the guest's memory is not shared anyway
    ksm = _ksm_state(ctx)
    if ksm == "off":
        return
    if backing is not None:
        element = backing.element

        def edits() -> list[Edit]:  # built only when the output needs it
            return [
                ctx.edit.insert_in_order(
                    element,
                    new_element("nosharepages"),
                    after=("hugepages",),
                    before=MEMORY_BACKING_ORDER[2:],
                )
            ]

        where = backing.element
    else:

        def edits() -> list[Edit]:
            backing_element = new_element("memoryBacking", None, new_element("nosharepages"))
            return [ctx.edit.insert_top_level(backing_element)]

        pinned_in = facts.cputune if facts.cputune is not None else facts.vcpus
        assert pinned_in.element is not None  # pinned: a <cputune> or <vcpu cpuset>
        where = pinned_in.element
    scans = "KSM, which runs on this host," if ksm == "on" else "where KSM runs, it"
    yield ctx.finding(
        where,
        f"pinned guest without <nosharepages/>: {scans} scans and merges its memory, costing "
        "CPU and latency, and can merge pages across NUMA nodes",
        fix=ctx.unsafe_fix("Add <nosharepages/> to <memoryBacking>", edits),
    )


def _ksm_state(ctx: RuleContext) -> str:
    """``on``, ``off`` or ``unknown``: whether KSM merges pages on the host.

    Off needs both: KSM stopped now (``run`` other than 1) and ``ksmtuned``, which
    starts KSM under memory pressure, known not to be running.
    """
    host = ctx.optional_host
    system = host.system if host is not None else None
    if system is None or system.ksm is None or system.ksm.running is None:
        return "unknown"
    if system.ksm.running:
        return "on"
    tuned = (system.services or {}).get("ksmtuned")
    if tuned is not None and tuned.installed is False:
        return "off"
    if tuned is not None and tuned.running is False and tuned.enabled != "enabled":
        return "off"
    return "unknown"
