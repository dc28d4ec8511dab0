"""DX241-DX242: guest NUMA distances and the HMAT description (caches, interconnects)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import RuleContext, rule

#: LOCAL_DISTANCE and UNREACHABLE in src/conf/numa_conf.c (the ACPI SLIT range).
LOCAL_DISTANCE = 10
UNREACHABLE = 255


@rule(
    code="DX241",
    name="numa-distances-invalid",
    severity="error",
    summary="Guest NUMA <distances> libvirt refuses: no siblings, an unknown cell, or a value "
    "outside 10..255 (10 only to itself)",
    triggers=("distances",),
    libvirt=("virDomainNumaDefNodeDistanceParseXML",),
)
def numa_distances_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each guest NUMA cell's `<distances>`: it needs at least one
    `<sibling>`; every `sibling id` must be a cell of the guest; every
    `value` must lie in 10..255, be 10 for the cell itself and more than 10
    for any other cell.

    ## Why is this bad?
    libvirt refuses the definition: "NUMA distances defined without
    siblings", "'sibling_id %d' does not refer to a valid cell within NUMA
    'cell id %d'", "'value %d' is invalid for 'sibling id %d' under NUMA 'cell
    id %d'". The values are ACPI SLIT distances: 10 means local, 255
    unreachable.

    ## Example
    ```xml
    <cell id='0' cpus='0-1' memory='2' unit='GiB'>
      <distances>
        <sibling id='0' value='10'/>
        <sibling id='1' value='10'/>
      </distances>
    </cell>
    ```

    ## Use instead
    ```xml
    <sibling id='1' value='21'/>
    ```

    ## Fix safety
    No fix: the distances describe the intended topology.

    ## Source
    libvirt src/conf/numa_conf.c (`virDomainNumaDefNodeDistanceParseXML`);
    formatdomain "NUMA Node Tuning" (distances); ACPI SLIT.
    """
    facts = ctx.facts
    numa = facts.guest_numa
    if numa is None:
        return
    count = len(numa.cells)
    for detail in facts.numa_cell_details:
        if detail.distances is None or detail.id is None:
            continue
        if not detail.siblings:
            yield ctx.finding(detail.distances, "NUMA distances defined without siblings")
            continue
        for sibling in detail.siblings:
            if sibling.id is None:
                continue
            if sibling.id >= count:
                yield ctx.finding(
                    sibling.element,
                    f"'sibling_id {sibling.id}' does not refer to a valid cell within NUMA 'cell "
                    f"id {detail.id}'",
                    attribute="id",
                )
                break
            value = sibling.value
            if value is None:
                continue
            local = sibling.id == detail.id
            if (
                not LOCAL_DISTANCE <= value <= UNREACHABLE
                or (local and value != LOCAL_DISTANCE)
                or (not local and value == LOCAL_DISTANCE)
            ):
                yield ctx.finding(
                    sibling.element,
                    f"'value {value}' is invalid for 'sibling id {sibling.id}' under NUMA 'cell "
                    f"id {detail.id}' ({_why(value, local)})",
                    attribute="value",
                )
                break


def _why(value: int, local: bool) -> str:
    if not LOCAL_DISTANCE <= value <= UNREACHABLE:
        return f"distances run from {LOCAL_DISTANCE} to {UNREACHABLE}"
    if local:
        return f"a cell's distance to itself is {LOCAL_DISTANCE}"
    return f"{LOCAL_DISTANCE} is the local distance, another cell is farther"


@rule(
    code="DX242",
    name="numa-hmat-invalid",
    severity="error",
    summary="A guest NUMA HMAT description libvirt refuses: cache levels, interconnects naming "
    "missing cells or caches, initiators without CPUs, duplicate links",
    triggers=("interconnects", "cell"),
    libvirt=("virDomainNumaDefValidate", "qemuBuildNumaCommandLine"),
)
def numa_hmat_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the Heterogeneous Memory Attribute Table of the guest NUMA
    topology:

    - a cell's `<cache level>` must be 1 to 3, each level once per cell;
    - every `<interconnects>` `<latency>`/`<bandwidth>` must name existing
      cells as `initiator` and `target`, its `initiator` must have vCPUs (once
      libvirt has added the vCPUs no cell names to cell 0), and its `cache`
      must be a cache level of the target cell;
    - the same entry may not be given twice, nor a link between two cells in
      both directions.

    ## Why is this bad?
    libvirt refuses the definition: "Ain't nobody heard of that much cache
    level", "Cache level '%u' already defined", "'initiator' refers to a
    non-existent NUMA node", "'target' refers to a non-existent NUMA node",
    "NUMA nodes without CPUs can't be initiator", "'cache' refers to a
    non-existent NUMA node cache", "Duplicate info for NUMA latencies", "Link
    already defined". For QEMU, a HMAT needs at least one cell with vCPUs:
    "At least one NUMA node has to have CPUs".

    ## Example
    ```xml
    <numa>
      <cell id='0' cpus='0-3' memory='2' unit='GiB'/>
      <cell id='1' memory='2' unit='GiB'/>
      <interconnects>
        <latency initiator='1' target='0' type='access' value='5'/>
      </interconnects>
    </numa>
    ```

    ## Use instead
    ```xml
    <latency initiator='0' target='1' type='access' value='5'/>
    ```

    ## Fix safety
    No fix: the HMAT describes the intended memory hierarchy.

    ## Source
    libvirt src/conf/numa_conf.c (`virDomainNumaDefValidate`),
    src/qemu/qemu_command.c (`qemuBuildNumaCommandLine`), src/qemu/qemu_domain.c
    (`qemuDomainDefNumaCPUsRectify`); formatdomain "NUMA Node Tuning" (HMAT).
    """
    facts = ctx.facts
    numa = facts.guest_numa
    if numa is None:
        return
    levels_by_cell: dict[int, set[int]] = {}
    for detail in facts.numa_cell_details:
        seen: set[int] = set()
        for cache in detail.caches:
            if cache.level is None or cache.level == 0:
                continue
            if cache.level > 3:
                yield ctx.finding(
                    cache.element,
                    f"level='{cache.level}': Ain't nobody heard of that much cache level",
                    attribute="level",
                )
            elif cache.level in seen:
                yield ctx.finding(
                    cache.element,
                    f"Cache level '{cache.level}' already defined",
                    attribute="level",
                )
            seen.add(cache.level)
        if detail.id is not None:
            levels_by_cell.setdefault(detail.id, set()).update(seen)
    yield from _interconnects(ctx, levels_by_cell)
    if facts.driver == "qemu" and facts.has_hmat and numa.cpus_valid:
        if not any(facts.numa_cell_has_cpus(i) for i in numa.cells_by_id):
            anchor = child(facts.cpu.element, "numa") if facts.cpu is not None else None
            yield ctx.finding(
                anchor if anchor is not None else facts.root,
                "At least one NUMA node has to have CPUs",
            )


def _interconnects(ctx: RuleContext, levels_by_cell: dict[int, set[int]]) -> Iterator[Finding]:
    facts = ctx.facts
    count = len(facts.numa_cells)
    earlier: list = []
    for link in facts.numa_interconnects:
        if link.initiator is None or link.target is None:
            continue
        if link.initiator >= count:
            yield ctx.finding(
                link.element,
                f"initiator='{link.initiator}': 'initiator' refers to a non-existent NUMA node",
                attribute="initiator",
            )
            continue
        if link.target >= count:
            yield ctx.finding(
                link.element,
                f"target='{link.target}': 'target' refers to a non-existent NUMA node",
                attribute="target",
            )
            continue
        if facts.numa_cell_has_cpus(link.initiator) is False:
            yield ctx.finding(
                link.element,
                f"initiator='{link.initiator}' has no vCPUs: NUMA nodes without CPUs can't be "
                "initiator",
                attribute="initiator",
            )
            continue
        if link.cache and link.cache not in levels_by_cell.get(link.target, set()):
            yield ctx.finding(
                link.element,
                f"cache='{link.cache}': 'cache' refers to a non-existent NUMA node cache",
                attribute="cache",
            )
            continue
        for other in earlier:
            if (link.kind, link.initiator, link.target, link.cache, link.access_type) == (
                other.kind,
                other.initiator,
                other.target,
                other.cache,
                other.access_type,
            ):
                yield ctx.finding(link.element, "Duplicate info for NUMA latencies")
                break
            if (
                link.initiator != link.target
                and link.initiator == other.target
                and link.target == other.initiator
            ):
                yield ctx.finding(
                    link.element,
                    f"{link.initiator} -> {link.target} after {other.initiator} -> "
                    f"{other.target}: Link already defined",
                )
                break
        earlier.append(link)
