"""DX153-DX154, DX161: a CPU model, topology or IOThread pool the guest's QEMU cannot give.

All read what the guest's QEMU supports (:mod:`domxml_lint.qemu_support`):
DX153 the CPU models of libvirt's QEMU capabilities cache in the host snapshot,
which list every model QEMU offers (domain capabilities list only those libvirt's
CPU map knows too); DX154 the ``smp-clusters`` flag and DX161 the
``iothread.thread-pool-max`` flag, which ``qemu-version`` also answers.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: Architectures whose libvirt CPU driver can translate a model QEMU lacks
#: (``virCPUTranslate`` through the driver's ``translate``): x86 only.
TRANSLATING_ARCHES = frozenset({"i686", "x86_64"})


@rule(
    code="DX153",
    name="cpu-model-unsupported-by-qemu",
    severity="error",
    summary="A custom CPU model the guest's QEMU does not offer, with fallback forbidden or "
    "no way to translate it",
    triggers=("cpu",),
    domains=QEMU,
    needs=(HostPart.QEMU_CAPABILITIES,),
    libvirt=("virCPUTranslate",),
)
def cpu_model_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Looks up a custom `<cpu><model>` among the CPU models the guest's QEMU
    offers its accelerator (`kvm`, `hvf` or `tcg`), as libvirt's capabilities
    cache in the host snapshot lists them (see the README's "Host
    snapshots"). A model QEMU lacks is reported when `fallback='forbid'`, or,
    off x86, always: only libvirt's x86 CPU driver can translate a model to
    one QEMU has. Without the cache for the guest's QEMU binary the rule stays
    silent (`-v` says why).

    ## Why is this bad?
    The guest does not start: "CPU model Icelake-Server is not supported by
    hypervisor" (fallback forbidden), "cannot translate CPU model cortex-a710
    to a supported model". A definition written for a newer QEMU (a newer
    CPU model) meets an older one here.

    ## Example
    ```xml
    <cpu mode='custom' match='exact'>
      <model fallback='forbid'>GraniteRapids</model>
    </cpu>
    ```
    on a host whose QEMU 8.1 has no GraniteRapids model.

    ## Use instead
    ```xml
    <cpu mode='custom' match='exact'>
      <model fallback='forbid'>SapphireRapids</model>
    </cpu>
    ```
    (or `fallback='allow'` on x86, where libvirt picks the closest model).

    ## Fix safety
    No fix: the CPU model is guest-visible.

    ## Source
    libvirt src/cpu/cpu.c (`virCPUTranslate`), src/qemu/qemu_process.c
    (`qemuProcessUpdateGuestCPU`); formatdomain "CPU model and topology".
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None or cpu.mode != "custom" or not cpu.model:
        return
    models = ctx.qemu.cpu_models(facts.virt_type)
    if models is None:
        why = ctx.qemu.no_caps_reason or f"{ctx.qemu.describe()} list none for {facts.virt_type}"
        ctx.note(f"the CPU models of the guest's QEMU are unknown: {why}")
        return
    if cpu.model in models:
        return
    where = cpu.model_element if cpu.model_element is not None else cpu.element
    offered = (
        f"{ctx.qemu.describe()} list {len(models)} CPU models for {facts.virt_type} guests, "
        f"not {cpu.model}"
    )
    if cpu.fallback == "forbid":
        message = f"CPU model {cpu.model} is not supported by hypervisor"
    elif facts.arch not in TRANSLATING_ARCHES:
        message = f"cannot translate CPU model {cpu.model} to a supported model"
    else:
        return  # libvirt's x86 driver picks a model QEMU has
    yield ctx.finding(where, f"{message}: {offered}")


@rule(
    code="DX154",
    name="cpu-clusters-unsupported-by-qemu",
    severity="error",
    summary="A CPU topology with clusters for a QEMU older than 7.0",
    triggers=("topology",),
    domains=QEMU,
    libvirt=("qemuBuildSmpCommandLine",),
)
def cpu_clusters_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<topology clusters>` other than 1 when the guest's QEMU has no
    `-smp clusters` (QEMU 7.0 added it): from the host snapshot's QEMU
    capabilities, else `qemu-version`; silent when neither is known.

    ## Why is this bad?
    libvirt cannot build the command line: "Only 1 cluster per die is
    supported".

    ## Example
    ```xml
    <vcpu>8</vcpu>
    <cpu>
      <topology sockets='1' dies='1' clusters='2' cores='2' threads='2'/>
    </cpu>
    ```
    with `qemu-version = "6.2"` in the configuration.

    ## Use instead
    ```xml
    <vcpu>8</vcpu>
    <cpu>
      <topology sockets='1' dies='1' clusters='1' cores='4' threads='2'/>
    </cpu>
    ```

    ## Fix safety
    No fix: the topology is guest-visible.

    ## Source
    libvirt src/qemu/qemu_command.c (`qemuBuildSmpCommandLine`);
    formatdomain "CPU model and topology".
    """
    cpu = ctx.facts.cpu
    topology = None if cpu is None else cpu.topology
    if topology is None or topology.clusters in (None, 1):
        return
    why = ctx.qemu_lacks("smp-clusters")
    if why:
        yield ctx.finding(
            topology.element, f"Only 1 cluster per die is supported: {why}", attribute="clusters"
        )


@rule(
    code="DX161",
    name="iothread-pool-unsupported-by-qemu",
    severity="error",
    summary="IOThread thread_pool_min/thread_pool_max on a QEMU older than 7.1",
    triggers=("iothreadids", "defaultiothread"),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefIOThreads",),
)
def iothread_pool_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `thread_pool_min`/`thread_pool_max` on an `<iothreadids><iothread>`
    or on `<defaultiothread>` where the guest's QEMU has no thread pool limits
    for its iothread objects (QEMU 7.1 added them). The answer comes from a
    host snapshot's QEMU capabilities (libvirt's cache), else from
    `qemu-version` or the snapshot's hypervisor version; unknown, the rule
    stays silent (`-v` says why).

    ## Why is this bad?
    libvirt refuses the definition: "thread_pool_min and thread_pool_max is
    not supported by this QEMU binary".

    ## Example
    ```xml
    <!-- QEMU 6.2 -->
    <iothreadids>
      <iothread id='1' thread_pool_min='2' thread_pool_max='8'/>
    </iothreadids>
    ```

    ## Use instead
    ```xml
    <iothreadids>
      <iothread id='1'/>
    </iothreadids>
    ```
    or a QEMU of 7.1 or later.

    ## Fix safety
    No fix: dropping the limits changes how many worker threads the guest's
    I/O may use.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefIOThreads`);
    formatdomain "IOThreads Allocation".
    """
    facts = ctx.facts
    pools = [entry.element for entry in facts.iothread_id_entries]
    default = facts.top("defaultiothread")
    if default is not None:
        pools.append(default)
    limited = [
        element
        for element in pools
        if element.get("thread_pool_min") is not None or element.get("thread_pool_max") is not None
    ]
    if not limited:
        return
    why = ctx.qemu_lacks("iothread.thread-pool-max")
    if why:
        # libvirt reports it once for the whole definition: at the first pool that asks
        first = limited[0]
        attribute = (
            "thread_pool_min" if first.get("thread_pool_min") is not None else "thread_pool_max"
        )
        yield ctx.finding(
            first,
            f"thread_pool_min and thread_pool_max is not supported by this QEMU binary: {why}",
            attribute=attribute,
        )
