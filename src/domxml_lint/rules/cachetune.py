"""DX1xx: resctrl groups, ``<cachetune>`` and ``<memorytune>`` (guide 9.3.5)."""

from __future__ import annotations

from ..rule import rule
from ._wording import vcpu_list

#: libvirt parses every cachetune before any memorytune (virDomainDefParseXML),
#: so that is the order groups are formed in.
RESCTRL_ORDER = ("cachetune", "memorytune")


@rule(
    code="DX113",
    name="cachetune-overlap",
    severity="error",
    summary="Two cachetune/memorytune elements whose vcpus overlap; libvirt refuses the domain",
    triggers=RESCTRL_ORDER,
)
def cachetune_overlap(ctx):
    """
    ## What it does
    Compares the `vcpus` of every `<cachetune>` and `<memorytune>` in
    `<cputune>`. Each distinct vCPU set is one resctrl group; two sets that
    share some vCPUs without being equal cannot both exist. Two `cachetune`
    elements with the same vCPUs are refused too; a `memorytune` with the same
    vCPUs as an earlier group joins that group, which is allowed.

    ## Why is this bad?
    A vCPU thread can be in only one resctrl group (one cache and memory
    bandwidth allocation). libvirt refuses the domain: "Overlapping vcpus in
    resctrls", or "Identical vcpus in cachetunes found" for two cachetunes
    over the same vCPUs.

    ## Example
    ```xml
    <cputune>
      <cachetune vcpus='0-1'>
        <cache id='0' level='3' type='both' size='3' unit='MiB'/>
      </cachetune>
      <cachetune vcpus='1-2'>
        <cache id='0' level='3' type='both' size='3' unit='MiB'/>
      </cachetune>
    </cputune>
    ```

    ## Use instead
    ```xml
    <cputune>
      <cachetune vcpus='0-1'>
        <cache id='0' level='3' type='both' size='3' unit='MiB'/>
      </cachetune>
      <cachetune vcpus='2'>
        <cache id='0' level='3' type='both' size='3' unit='MiB'/>
      </cachetune>
    </cputune>
    ```

    ## Fix safety
    No fix: which vCPUs belong to which allocation is the author's design.

    ## Source
    libvirt src/conf/domain_conf.c: `virDomainResctrlVcpuMatch` ("Overlapping
    vcpus in resctrls"), `virDomainCachetuneDefParse` ("Identical vcpus in
    cachetunes found"), `virDomainMemorytuneDefParse` (reuses an identical
    group); vCPUs at or above the `<vcpu>` count are dropped first. All checked
    on libvirt 9.0. Guide 9.3.5 (使用缓存分配技术提高性能, cache allocation
    technology): "a guest can have several cachetune elements".
    """
    tune = ctx.facts.cputune
    vcpu_ids = ctx.facts.vcpu_ids
    if tune is None or vcpu_ids is None:
        return
    limit = len(vcpu_ids)
    refs = {ref.element: ref for ref in ctx.facts.cpusets if ref.attribute == "vcpus"}
    groups: list[tuple[frozenset[int], str, object]] = []  # vcpus, tag, first element
    group_of_vcpu: dict[int, int] = {}
    for tag in RESCTRL_ORDER:
        for element in tune.element.iterchildren(tag):
            ref = refs.get(element)
            if ref is None or ref.ids is None:
                continue  # no vcpus, or cpuset-invalid reports it
            vcpus = frozenset(v for v in ref.ids if v < limit)
            if not vcpus:
                continue  # libvirt ignores a group with no existing vCPU
            touched = sorted({group_of_vcpu[v] for v in vcpus if v in group_of_vcpu})
            if not touched:
                for vcpu in vcpus:
                    group_of_vcpu[vcpu] = len(groups)
                groups.append((vcpus, tag, element))
                continue
            earlier_vcpus, earlier_tag, earlier = groups[touched[0]]
            if earlier_vcpus == vcpus:
                if tag == "cachetune":
                    yield ctx.finding(
                        element,
                        f"Identical vcpus in cachetunes found: {vcpu_list(vcpus)} already "
                        f"{'has' if len(vcpus) == 1 else 'have'} a cachetune (line "
                        f"{_line(ctx, earlier)})",
                        attribute="vcpus",
                    )
                continue  # an identical memorytune joins the group
            shared = earlier_vcpus & vcpus
            yield ctx.finding(
                element,
                f"Overlapping vcpus in resctrls: this {tag} and the {earlier_tag} on line "
                f"{_line(ctx, earlier)} share {vcpu_list(shared)}",
                attribute="vcpus",
            )


def _line(ctx, element) -> int:
    return ctx.doc.position(ctx.doc.span(element).start)[0]
