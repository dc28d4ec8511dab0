"""DX110-DX111: the guest CPU model, ``<cpu mode>`` (guide 2.2, 3.2.2)."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import ACCELERATED, RuleContext, rule

#: Modes that give the guest the host CPU (maximum is host-passthrough plus
#: every feature KVM can emulate).
HOST_CPU_MODES = frozenset({"host-passthrough", "maximum"})


@rule(
    code="DX110",
    name="cpu-mode-not-host",
    severity="info",
    summary="No <cpu> or a custom/named CPU model; the guide recommends the host CPU configuration",
    default=False,
    domains=ACCELERATED,
)
def cpu_mode_not_host(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds KVM guests without a `<cpu>` element, or whose `<cpu>` uses
    `mode='custom'` (the default mode: a named model such as `Skylake-Server`,
    or QEMU's baseline model when no model is named).

    ## Why is this bad?
    A named or default model hides host CPU features (newer instruction sets,
    vulnerability mitigations) from the guest, which can cost a lot of
    performance. The guide recommends copying the host CPU configuration
    (`host-model`, or `host-passthrough` for the most speed). It is opt-in
    because a named model is the right choice when the guest must migrate
    between hosts with different CPUs.

    ## Example
    ```xml
    <cpu mode='custom' match='exact'>
      <model fallback='allow'>Westmere</model>
    </cpu>
    ```

    ## Use instead
    ```xml
    <cpu mode='host-model'/>
    ```

    ## Fix safety
    No fix: the CPU model is guest-visible hardware and decides which hosts
    the guest can migrate to.

    ## Source
    Guide 3.2.2 (选项：CPU 配置, CPU configuration): "建议手动配置复制主机 CPU 配置"
    (copy the host CPU configuration); libvirt formatdomain, "CPU model and
    topology": mode custom, host-model, host-passthrough, maximum.
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None:
        yield ctx.finding(
            facts.root,
            "no <cpu> element: the guest gets QEMU's baseline CPU model, not the host CPU",
        )
    elif cpu.mode == "custom":
        model = (
            f"model '{cpu.model.strip()}'" if cpu.model and cpu.model.strip() else "default model"
        )
        yield ctx.finding(
            cpu.element,
            f"CPU mode custom ({model}) hides host CPU features; the guide recommends the host "
            "CPU configuration (host-model or host-passthrough)",
            attribute="mode" if cpu.element.get("mode") is not None else None,
        )


@rule(
    code="DX111",
    name="vpmu-needs-host-passthrough",
    severity="info",
    summary="<pmu state='on'/> without host-passthrough: the guide enables vPMU with the host CPU",
    triggers=("pmu",),
    domains=ACCELERATED,
)
def vpmu_needs_host_passthrough(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<features><pmu state='on'/></features>` on a guest whose CPU mode
    is not `host-passthrough` (or `maximum`).

    ## Why is this bad?
    The virtual PMU exposes the host's performance counters so that `perf`
    works inside the guest. The guide enables it by giving the guest the host
    CPU (`<cpu mode='host-passthrough'>`): with a named or host-model CPU the
    guest's CPUID may not describe the host's counters, so the events `perf`
    sees are missing or wrong.

    ## Example
    ```xml
    <features>
      <pmu state='on'/>
    </features>
    <cpu mode='host-model'/>
    ```

    ## Use instead
    ```xml
    <features>
      <pmu state='on'/>
    </features>
    <cpu mode='host-passthrough'/>
    ```

    ## Fix safety
    No fix: changing the CPU mode changes guest-visible hardware and
    migration compatibility.

    ## Source
    Guide 2.2 (虚拟性能监控单元(VPMU), virtual PMU): "要启用 vPMU，在客户机 XML
    中将 cpu mode 指定为 host-passthrough"; libvirt formatdomain, "Hypervisor
    features": pmu.
    """
    facts = ctx.facts
    if facts.features is None:
        return
    pmu = child(facts.features, "pmu")
    if pmu is None or pmu.get("state") != "on":
        return
    mode = facts.cpu.mode if facts.cpu is not None else None
    if mode in HOST_CPU_MODES:
        return
    described = f"CPU mode {mode}" if mode is not None else "no <cpu> element"
    yield ctx.finding(
        pmu,
        f"vPMU is on with {described}; the guide enables vPMU with <cpu mode='host-passthrough'>",
        attribute="state",
    )
