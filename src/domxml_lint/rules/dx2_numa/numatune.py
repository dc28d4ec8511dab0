"""DX210, DX243: ``<numatune>`` memory binding that libvirt refuses (guide 9.3.3)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import RuleContext, rule


@rule(
    code="DX210",
    name="numatune-memnode-invalid",
    severity="error",
    summary="A <memnode> libvirt refuses: no guest cells, unknown or duplicate cellid, no nodeset, "
    "or automatic placement",
    triggers=("memnode",),
    libvirt=("virDomainNumatuneNodeParseXML", "virDomainNumaDefValidate"),
)
def numatune_memnode_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks every `<numatune><memnode>`, which binds one guest NUMA cell's
    memory to host nodes. It reports a memnode when:

    - the guest has no NUMA cells (`<cpu><numa>`);
    - `cellid` is missing or names no guest cell;
    - two memnodes name the same cell;
    - `nodeset` is missing;
    - placement is automatic (`<memory placement='auto'>`, or no explicit
      nodeset while `<vcpu placement='auto'>`): numad picks the nodes, so a
      per-cell binding cannot apply;
    - `<memory mode='restrictive'>` while the memnode has another mode, or a
      `restrictive` memnode while `<memory>` is not restrictive.

    ## Why is this bad?
    libvirt refuses the domain with, respectively: "Element 'memnode' is
    invalid without any guest NUMA cells"; "Argument 'cellid' in memnode
    element must correspond to existing guest's NUMA cell"; "Multiple memnode
    elements with cellid N"; "Missing required nodeset attribute in memnode
    element"; "Per-node binding is not compatible with automatic NUMA
    placement."; "'restrictive' mode is required in memnode element when mode
    is 'restrictive' in memory element" (and, in libvirt releases after 9.0,
    "'restrictive' mode is required in memory element when mode is
    'restrictive' in memnode element").

    ## Example
    ```xml
    <numatune>
      <memory mode='strict' placement='auto'/>
      <memnode cellid='0' mode='strict' nodeset='0'/>
      <memnode cellid='2' mode='strict' nodeset='1'/>
    </numatune>
    <cpu>
      <numa>
        <cell id='0' cpus='0-1' memory='2' unit='GiB'/>
        <cell id='1' cpus='2-3' memory='2' unit='GiB'/>
      </numa>
    </cpu>
    ```

    ## Use instead
    ```xml
    <numatune>
      <memory mode='strict' nodeset='0-1'/>
      <memnode cellid='0' mode='strict' nodeset='0'/>
      <memnode cellid='1' mode='strict' nodeset='1'/>
    </numatune>
    ```

    ## Fix safety
    No fix: the intended cell or host node is the author's choice.

    ## Source
    libvirt src/conf/numa_conf.c: `virDomainNumatuneNodeParseXML`,
    `virDomainNumatuneSet` (how placement follows `<vcpu placement>`) and
    `virDomainNumaDefValidate`; every message checked on libvirt 9.0 except the
    memory-must-be-restrictive one, which 9.0 still accepts. Guide
    9.3.3 (域进程, domain processes: numatune placement inheritance).
    """
    facts = ctx.facts
    numatune = facts.numatune
    if numatune is None or not numatune.memnodes:
        return
    if facts.numatune_placement == "auto":
        cause = (
            "<memory placement='auto'>"
            if numatune.memory is not None and numatune.memory.placement == "auto"
            else "<vcpu placement='auto'> without a numatune nodeset"
        )
        yield ctx.finding(
            numatune.memnodes[0].element,
            f"Per-node binding is not compatible with automatic NUMA placement ({cause})",
        )
    cell_count = len(facts.numa_cells)
    if not cell_count:
        for memnode in numatune.memnodes:
            yield ctx.finding(
                memnode.element,
                "Element 'memnode' is invalid without any guest NUMA cells (<cpu><numa>)",
            )
        return
    seen: dict[int, object] = {}
    restrictive = numatune.memory is not None and numatune.memory.mode == "restrictive"
    for memnode in numatune.memnodes:
        element = memnode.element
        cellid_text = element.get("cellid")
        if memnode.cellid is None or memnode.cellid >= cell_count:
            shown = "missing" if cellid_text is None else f"'{cellid_text}'"
            yield ctx.finding(
                element,
                f"cellid {shown}: Argument 'cellid' in memnode element must correspond to "
                f"existing guest's NUMA cell (cells 0-{cell_count - 1})",
                attribute="cellid" if cellid_text is not None else None,
            )
        elif memnode.cellid in seen:
            yield ctx.finding(
                element,
                f"Multiple memnode elements with cellid {memnode.cellid}",
                attribute="cellid",
            )
        else:
            seen[memnode.cellid] = element
        if element.get("nodeset") is None:
            yield ctx.finding(element, "Missing required nodeset attribute in memnode element")
        if restrictive and memnode.mode != "restrictive":
            yield ctx.finding(
                element,
                "'restrictive' mode is required in memnode element when mode is 'restrictive' "
                f"in memory element (this memnode is '{memnode.mode}')",
                attribute="mode" if element.get("mode") is not None else None,
            )
        elif memnode.mode == "restrictive" and not restrictive:
            memory_mode = numatune.memory.mode if numatune.memory is not None else "strict"
            yield ctx.finding(
                element,
                "'restrictive' mode is required in memory element when mode is 'restrictive' in "
                f"memnode element (<memory> mode is '{memory_mode}'; refused by libvirt after 9.0)",
                attribute="mode",
            )


@rule(
    code="DX243",
    name="numatune-static-without-nodeset",
    severity="error",
    summary="<numatune><memory> with static placement but no nodeset",
    triggers=("numatune",),
    libvirt=("virDomainNumatuneSet",),
)
def numatune_static_without_nodeset(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a `<numatune><memory>` whose placement ends up static without a
    `nodeset`: `placement='static'` written out, or a `mode` given with
    neither `placement` nor `nodeset` while `<vcpu placement>` is static (the
    default), from which the memory placement is then taken.

    ## Why is this bad?
    Static placement binds the guest's memory to the nodes of `nodeset`;
    without one there is nothing to bind to. libvirt refuses the definition:
    "nodeset for NUMA memory tuning must be set if 'placement' is 'static'".

    ## Example
    ```xml
    <vcpu placement='static'>4</vcpu>
    <numatune>
      <memory mode='strict'/>
    </numatune>
    ```

    ## Use instead
    ```xml
    <numatune>
      <memory mode='strict' nodeset='0'/>
    </numatune>
    ```
    or `<memory mode='strict' placement='auto'/>` to let numad choose.

    ## Fix safety
    No fix: the host nodes are the author's choice.

    ## Source
    libvirt src/conf/numa_conf.c (`virDomainNumatuneParseXML`,
    `virDomainNumatuneSet`); formatdomain "NUMA Node Tuning".
    """
    facts = ctx.facts
    numatune = facts.numatune
    memory = numatune.memory if numatune is not None else None
    if memory is None or memory.element.get("nodeset") is not None:
        return
    element = memory.element
    placement = element.get("placement")
    if placement == "static":
        cause = "placement='static'"
    elif placement is None and element.get("mode") is not None:
        if facts.vcpus.placement == "auto":
            return
        cause = "no placement, so it follows <vcpu placement='static'>"
    else:
        return
    yield ctx.finding(
        element,
        f"{cause} and no nodeset: nodeset for NUMA memory tuning must be set if 'placement' is "
        "'static'",
        attribute="placement" if placement is not None else None,
    )
