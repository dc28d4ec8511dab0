"""DX308: ``<currentMemory>`` above the guest's memory."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import RuleContext, rule
from ...units import format_kib


@rule(
    code="DX308",
    name="current-memory-exceeds-memory",
    severity="warning",
    summary="<currentMemory> greater than the guest's memory",
    fix="safe",
    triggers=("currentMemory",),
)
def current_memory_exceeds_memory(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a `<currentMemory>` greater than the guest's memory (`<memory>`, or
    with guest NUMA cells their sum plus memory devices, which is what libvirt
    puts in `<memory>`).

    ## Why is this bad?
    The balloon cannot give the guest more than its memory. libvirt silently
    resets `currentMemory` to the memory size on define, so the file says one
    thing and the guest gets another; usually the two values were meant to be
    in the same unit.

    ## Example
    ```xml
    <memory unit='GiB'>4</memory>
    <currentMemory unit='GiB'>8</currentMemory>
    ```

    ## Use instead
    ```xml
    <memory unit='GiB'>4</memory>
    <currentMemory unit='GiB'>4</currentMemory>
    ```

    ## Fix safety
    Safe: it writes down what libvirt does anyway. The value keeps
    `<currentMemory>`'s unit when exact, else it is written in KiB.

    ## Source
    libvirt src/conf/domain_postparse.c (`virDomainDefPostParseMemory`:
    "cur_balloon > virDomainDefGetMemoryTotal(def)" resets it); libvirt
    formatdomain, "Memory Allocation"; guide 8.1 (do not give a guest more
    than it uses).
    """
    facts = ctx.facts
    current = facts.current_memory
    total = facts.memory_total_kib
    if current is None or current.kib is None or total is None or current.kib <= total:
        return
    edits = ctx.edit.resize(current.element, total)
    memory = facts.memory
    origin = ""
    if memory is None or memory.kib != total:
        origin = " (its NUMA cells plus memory devices, which libvirt writes into <memory>)"
    yield ctx.finding(
        current.element,
        f"currentMemory {format_kib(current.kib)} exceeds the guest's memory "
        f"{format_kib(total)}{origin}: libvirt silently lowers it to {format_kib(total)}",
        fix=ctx.safe_fix(f"Set currentMemory to {format_kib(total)}", *edits),
    )
