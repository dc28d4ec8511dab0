"""DX113-DX114: resctrl groups (``<cachetune>``, ``<memorytune>``) and host cache banks (9.3.5)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule
from ...units import KIB, UnitError, format_kib, parse_uint, unit_scale
from .._wording import vcpu_list

#: libvirt parses every cachetune before any memorytune (virDomainDefParseXML),
#: so that is the order groups are formed in.
RESCTRL_ORDER = ("cachetune", "memorytune")


@rule(
    code="DX113",
    name="cachetune-overlap",
    severity="error",
    summary="Two cachetune/memorytune elements whose vcpus overlap; libvirt refuses the domain",
    triggers=RESCTRL_ORDER,
    libvirt=(
        "virDomainCachetuneDefParse",
        "virDomainMemorytuneDefParse",
        "virDomainResctrlVcpuMatch",
    ),
)
def cachetune_overlap(ctx: RuleContext) -> Iterator[Finding]:
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


#: libvirt's cachetune types (virCacheType).
CACHE_TYPES = ("both", "code", "data")


@rule(
    code="DX114",
    name="cachetune-host-unsupported",
    severity="error",
    summary="A cachetune allocation the host's cache banks cannot make",
    needs=(HostPart.CACHE_BANKS,),
    triggers=("cachetune",),
    domains=QEMU,
    libvirt=("virResctrlAllocAssign",),
)
def cachetune_host_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each `<cachetune><cache id level type size>` against the cache
    banks of the host snapshot (capabilities `host/cache/bank` and their
    resctrl `<control>`s) and reports an allocation libvirt cannot make:

    - no bank of that level has a resctrl allocation control (no cache
      allocation technology, or resctrl not mounted);
    - the banks control other types: with CDP on, they control `code` and
      `data` but not `both`, and without it only `both`;
    - no bank of that level has that `id`;
    - a size equal to or larger than the bank, not a multiple of the
      control's granularity, or below its minimum.

    A snapshot without cache banks says nothing about them, so the rule stays
    silent there (`--verbose` says so).

    ## Why is this bad?
    The definition is accepted, but the guest does not start: libvirt
    creates the resctrl group when it starts the guest and refuses with
    "Cache level 3 does not support tuning", "Cache level 3 does not support
    tuning for scope type 'both'", "Cache with id 4 does not exists for level
    3", "Cache allocation for the whole cache is not possible, specify size
    smaller than ...", "Not enough room for allocation of ... bytes for level 3
    cache 0 scope type 'both'", "Cache allocation of size ... is not divisible
    by granularity ..." or "Cache allocation of size ... is smaller than the
    minimum allowed allocation ...". The size is in bytes unless `unit` says
    otherwise.

    ## Example
    On a host whose L3 banks have 768 KiB granularity:
    ```xml
    <cachetune vcpus='0-1'>
      <cache id='0' level='3' type='both' size='1' unit='MiB'/>
    </cachetune>
    ```

    ## Use instead
    ```xml
    <cachetune vcpus='0-1'>
      <cache id='0' level='3' type='both' size='1536' unit='KiB'/>
    </cachetune>
    ```

    ## Fix safety
    No fix: how much cache to reserve is the author's choice.

    ## Source
    Guide 9.3.5 (使用缓存分配技术提高性能, cache allocation technology: the
    `cachetune` example with `type='code'` and `type='data'`); libvirt
    formatdomain, "CPU Tuning" (`cachetune`: size in bytes by default; the type
    must be one the host supports, so not `both` with CDP on); libvirt
    src/util/virresctrl.c `virResctrlAllocAssign` and
    `virResctrlAllocFindUnused` (every message above); formatcaps, "Host
    capabilities" (`cache/bank/control`: granularity, min, type).
    """
    facts = ctx.facts
    tune = facts.cputune
    if tune is None:
        return
    caps = ctx.host.capabilities
    assert caps is not None  # needs=CACHE_BANKS
    banks: dict[int, list] = {}
    for bank in caps.cache_banks:
        banks.setdefault(bank.level, []).append(bank)
    for cachetune in tune.element.iterchildren("cachetune"):
        for cache in cachetune.iterchildren("cache"):
            problem = _cache_problem(cache, banks)
            if problem is not None:
                attribute, message = problem
                yield ctx.finding(cache, message, attribute=attribute)


def _cache_problem(cache, banks) -> tuple[str | None, str] | None:
    level = parse_uint(cache.get("level"))
    cache_id = parse_uint(cache.get("id"))
    kind = cache.get("type")
    size = _size_bytes(cache)
    if level is None or cache_id is None or kind not in CACHE_TYPES or size is None:
        return None  # libvirt refuses the definition itself
    at_level = banks.get(level, [])
    controlled = [b for b in at_level if b.controls]
    if not controlled:
        where = (
            f"the host's level {level} cache banks have no resctrl allocation control"
            if at_level
            else f"the host has no level {level} cache bank"
        )
        return "level", (
            f'{where}: libvirt refuses to start the guest ("Cache level {level} does not '
            'support tuning")'
        )
    types = {control.type for bank in controlled for control in bank.controls}
    if kind not in types:
        offered = " and ".join(f"'{t}'" for t in CACHE_TYPES if t in types)
        cdp = "on" if kind == "both" else "off"
        return "type", (
            f"the host's level {level} cache allocation is of type {offered} (CDP is {cdp}), not "
            f"'{kind}': \"Cache level {level} does not support tuning for scope type '{kind}'\""
        )
    bank = next((b for b in controlled if b.id == cache_id), None)
    if bank is None:
        ids = sorted(b.id for b in controlled)
        return "id", (
            f"the host has no level {level} cache bank {cache_id} (its banks: "
            f'{", ".join(map(str, ids))}): "Cache with id {cache_id} does not exists for '
            f'level {level}"'
        )
    control = next(c for c in bank.controls if c.type == kind)
    bank_bytes = bank.size_kib * KIB
    granularity = control.granularity_kib * KIB
    minimum = (control.min_kib or control.granularity_kib) * KIB
    if size == bank_bytes:
        return "size", (
            f'{_bytes(size)} is the whole level {level} cache {cache_id}: "Cache allocation for '
            f'the whole cache is not possible, specify size smaller than {bank_bytes}"'
        )
    if granularity and size % granularity:
        return "size", (
            f"{_bytes(size)} is not a multiple of the cache's {_bytes(granularity)} "
            f'granularity: "Cache allocation of size {size} is not divisible by granularity '
            f'{granularity}"'
        )
    if size < minimum:
        return "size", (
            f"{_bytes(size)} is below the cache's {_bytes(minimum)} minimum: \"Cache "
            f'allocation of size {size} is smaller than the minimum allowed allocation {minimum}"'
        )
    # libvirt checks the free bits last; more than the whole cache never fits
    if size > bank_bytes:
        return "size", (
            f"{_bytes(size)} is more than level {level} cache {cache_id} holds "
            f'({_bytes(bank_bytes)}): "Not enough room for allocation of {size} bytes for '
            f"level {level} cache {cache_id} scope type '{kind}'\""
        )
    return None


def _size_bytes(cache) -> int | None:
    """The ``size`` in bytes: the attribute's default unit is bytes, not KiB."""
    number = parse_uint(cache.get("size"))
    if number is None:
        return None
    try:
        return number * unit_scale(cache.get("unit"), default=1)
    except UnitError:
        return None


def _bytes(size: int) -> str:
    return format_kib(size // KIB) if size % KIB == 0 else f"{size} bytes"
