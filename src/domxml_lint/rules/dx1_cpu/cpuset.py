"""DX105: every cpuset and nodeset must parse and name at least one id."""

from __future__ import annotations

from collections.abc import Iterator

from ...cpuset import EMPTY_SET_ERROR as EMPTY
from ...findings import Finding
from ...rule import RuleContext, rule

#: Elements whose empty set libvirt reports as "'%s' scheduler bitmap '%s' is empty".
SCHEDULERS = frozenset({"vcpusched", "iothreadsched", "emulatorsched"})
#: Resctrl groups: virDomainResctrlParseVcpus reports a bad set naming the element.
RESCTRL = frozenset({"cachetune", "memorytune"})
#: Sets libvirt accepts empty and ignores: a guest NUMA cell's cpus
#: (virDomainNumaDefParseXML) and a resctrl group's vcpus (virDomainCachetuneDefParse).
IGNORED_WHEN_EMPTY = frozenset({"cell", "cachetune", "memorytune"})


@rule(
    code="DX105",
    name="cpuset-invalid",
    severity="error",
    summary="A cpuset or nodeset that libvirt cannot parse, or that names no CPU or node",
    triggers=("vcpu", "cputune", "numatune", "hugepages", "numa"),
    libvirt=("virBitmapParseInternal",),
)
def cpuset_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the syntax of every cpuset-like attribute: `vcpu@cpuset`,
    `vcpupin@cpuset`, `emulatorpin@cpuset`, `iothreadpin@cpuset`,
    `vcpusched@vcpus`, `iothreadsched@iothreads`, `cachetune@vcpus`,
    `memorytune@vcpus`, numatune `memory@nodeset` and `memnode@nodeset`,
    hugepage `page@nodeset` and guest NUMA `cell@cpus`. The syntax is
    comma-separated ids, ranges `N-M` and exclusions `^N`, such as `0-7,^5,10`.
    A guest NUMA cell's `cpus` or a `cachetune`/`memorytune` `vcpus` whose
    exclusions leave nothing is not reported: libvirt accepts the empty set
    and ignores it.

    ## Why is this bad?
    libvirt refuses to define the domain: "Failed to parse bitmap '...'" for
    bad syntax, or, when exclusions leave the set empty, "Invalid value of
    'cpuset': ..." (or 'nodeset'), or "'vcpus' scheduler bitmap '...' is
    empty" for a scheduler (`0-3,^0-3` is not even valid: an exclusion cannot
    be a range).
    Ids must stay below libvirt's limit of 16384 (VIR_DOMAIN_CPUMASK_LEN).

    ## Example
    ```xml
    <vcpupin vcpu='0' cpuset='2-1'/>
    <emulatorpin cpuset='0,^0'/>
    ```

    ## Use instead
    ```xml
    <vcpupin vcpu='0' cpuset='1-2'/>
    <emulatorpin cpuset='0'/>
    ```

    ## Fix safety
    No fix: only the author knows which CPUs were meant.

    ## Source
    libvirt `virBitmapParseInternal` (src/util/virbitmap.c) and its callers in
    src/conf/domain_conf.c and numa_conf.c; guide 9.3.2 (NUMA vCPU pinning)
    for the syntax.
    """
    for ref in ctx.facts.cpusets:
        if ref.error is None:
            continue
        text = ref.text if len(ref.text) <= 60 else ref.text[:57] + "..."  # may be megabytes
        if ref.error != EMPTY and ref.element.tag in RESCTRL:
            message = f"Invalid {ref.element.tag} attribute 'vcpus' value '{text}': {ref.error}"
        elif ref.error != EMPTY:
            message = f"Failed to parse bitmap '{text}': {ref.error}"
        elif ref.element.tag in IGNORED_WHEN_EMPTY:
            continue
        elif ref.element.tag in SCHEDULERS:
            message = f"'{ref.attribute}' scheduler bitmap '{text}' is empty"
        else:
            message = f"Invalid value of '{ref.attribute}': {text} (no id left)"
        yield ctx.finding(
            ref.element, f"{ref.element.tag} {ref.attribute}: {message}", attribute=ref.attribute
        )
