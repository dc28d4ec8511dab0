"""DX101, DX112: the guest CPU topology, ``<cpu><topology>`` (guide 3.2.3)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import ACCELERATED, RuleContext, rule

#: virDomainDefGetVcpusTopology refuses a product above UINT_MAX.
UINT_MAX = 2**32 - 1


def _shape(topology) -> str:
    parts = [f"sockets={topology.sockets}"]
    if topology.dies != 1:
        parts.append(f"dies={topology.dies}")
    if topology.clusters != 1:
        parts.append(f"clusters={topology.clusters}")
    parts += [f"cores={topology.cores}", f"threads={topology.threads}"]
    return " ".join(parts)


@rule(
    code="DX101",
    name="cpu-topology-mismatch",
    severity="error",
    summary="sockets x dies x clusters x cores x threads differs from the maximum vCPU count, "
    "or the online count does not fit the pSeries hotplug granularity",
    triggers=("topology",),
    libvirt=("qemuValidateDomainVCpuTopology", "virDomainDefGetVcpusTopology"),
)
def cpu_topology_mismatch(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Multiplies the `<cpu><topology>` attributes (sockets, dies, clusters,
    cores, threads; dies and clusters default to 1) and compares the product
    with the maximum vCPU count in `<vcpu>`. On a pSeries guest it also checks
    that the online vCPU count is a multiple of `threads`, and everywhere that
    the product fits libvirt's 32-bit count.

    ## Why is this bad?
    QEMU needs the topology to describe exactly the vCPUs it may create.
    libvirt's QEMU driver refuses the domain: "CPU topology doesn't match
    maximum vcpu count". The guest neither defines nor starts. libvirt's
    bhyve driver refuses to start a guest whose topology differs from its
    vCPU count too. pSeries guests hotplug vCPUs a whole core at a time, so
    QEMU needs the online count to be whole cores: "vCPUs count must be a
    multiple of the vCPU hotplug granularity (%u)". A product above
    4294967295 is refused as "cpu topology results in more than 4294967295
    cpus".

    ## Example
    ```xml
    <vcpu placement='static'>6</vcpu>
    <cpu mode='host-passthrough'>
      <topology sockets='1' dies='1' cores='4' threads='1'/>
    </cpu>
    ```

    ## Use instead
    ```xml
    <vcpu placement='static'>6</vcpu>
    <cpu mode='host-passthrough'>
      <topology sockets='1' dies='1' cores='6' threads='1'/>
    </cpu>
    ```

    ## Fix safety
    No fix: whether the vCPU count or the topology is wrong is the author's
    call, and either change alters the guest-visible hardware.

    ## Source
    libvirt src/qemu/qemu_validate.c, `qemuValidateDomainVCpuTopology`
    ("Starting from QEMU 2.5, max vCPU count and overall vCPU topology must
    agree"): "CPU topology doesn't match maximum vcpu count";
    `virDomainDefGetVcpusTopology` in src/conf/domain_conf.c multiplies the
    five attributes; `qemuValidateDefGetVcpuHotplugGranularity` gives the
    pSeries granularity. bhyve (src/bhyve/bhyve_command.c) refuses to start a
    guest whose online vCPU count differs from sockets x cores x threads:
    "Invalid CPU topology: total number of vCPUs must equal the product of
    sockets, cores, and threads". Guide 3.2.3 (CPU Topology).
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None or cpu.topology is None:
        return
    topology = cpu.topology
    if topology.vcpus_per_socket is None:
        return
    total = topology.total
    if total is not None and total > UINT_MAX:
        yield ctx.finding(
            topology.element,
            f"{_shape(topology)} gives {total} vCPUs: cpu topology results in more than "
            f"{UINT_MAX} cpus",
        )
        return
    if facts.driver == "qemu":
        maximum = facts.vcpu_count
        granularity = topology.threads if facts.is_pseries else 1
        online = facts.online_vcpu_count
        if granularity and online is not None and online % granularity:
            yield ctx.finding(
                topology.element,
                f"{online} online vCPUs with threads={granularity}: pSeries hotplugs vCPUs one "
                "core at a time, so vCPUs count must be a multiple of the vCPU hotplug "
                f"granularity ({granularity})",
                attribute="threads",
            )
        if maximum is not None and topology.total != maximum:
            yield ctx.finding(
                topology.element,
                f"CPU topology doesn't match maximum vcpu count: {_shape(topology)} gives "
                f"{topology.total} vCPUs, <vcpu> says {maximum}",
            )
    elif facts.virt_type == "bhyve" and topology.dies == 1:
        # bhyve compares the vCPUs online at start (current), without dies or clusters
        vcpus = facts.vcpus.current if facts.vcpus.current is not None else facts.vcpu_count
        # vcpus_per_socket was checked: every part is a positive number
        sockets, cores, threads = topology.sockets or 0, topology.cores or 0, topology.threads or 0
        product = sockets * cores * threads
        if vcpus is not None and product != vcpus:
            yield ctx.finding(
                topology.element,
                "Invalid CPU topology: total number of vCPUs must equal the product of "
                f"sockets, cores, and threads ({_shape(topology)} gives {product}, the guest "
                f"starts {vcpus} vCPUs)",
            )


@rule(
    code="DX112",
    name="cpu-topology-one-core-sockets",
    severity="info",
    summary="A topology with more than one core or thread per socket (dated RHEL 7 advice)",
    default=False,
    triggers=("topology",),
    domains=ACCELERATED,
)
def cpu_topology_one_core_sockets(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds a `<cpu><topology>` that gives a socket more than one core or
    thread (or more than one die or cluster).

    ## Why is this bad?
    The RHEL 7 guide (3.2.3) says that, whatever else the environment needs,
    any number of sockets with one core and one thread each usually gives the
    best performance. This advice is dated, which is why the rule is opt-in:
    guest operating systems licensed per socket need few sockets, and a guest
    whose vCPUs are pinned to host cores and threads does better with a
    topology that mirrors the host's (libvirt's kvm-realtime kbase). Enable it
    to follow the RHEL 7 guide to the letter.

    ## Example
    ```xml
    <cpu mode='host-passthrough'>
      <topology sockets='1' cores='4' threads='1'/>
    </cpu>
    ```

    ## Use instead
    ```xml
    <cpu mode='host-passthrough'>
      <topology sockets='4' cores='1' threads='1'/>
    </cpu>
    ```

    ## Fix safety
    No fix: the topology is guest-visible hardware (and may matter for
    licensing).

    ## Source
    Guide 3.2.3 (选项：CPU Topology, CPU topology option): "选择任何指定数量的插槽，
    但只有一个核心和一个线程通常会获得最佳性能结果" (any number of sockets, with one
    core and one thread each, usually performs best); libvirt kbase
    kvm-realtime (topology matching the host's).
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None or cpu.topology is None:
        return
    topology = cpu.topology
    per_socket = topology.vcpus_per_socket
    if per_socket is not None and per_socket > 1:
        yield ctx.finding(
            topology.element,
            f"{_shape(topology)} puts {per_socket} vCPUs in each socket; the RHEL 7 guide "
            "recommends one core and one thread per socket (dated advice)",
        )
