"""DX151-DX152: resctrl monitors in ``<cachetune>``/``<memorytune>``, and resctrl on non-KVM."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import cpuset_ref
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from .._wording import vcpu_list

#: VIR_DOMAIN_RESCTRL_MONITOR_CACHELEVEL: cache monitors watch the L3 cache.
MONITOR_CACHE_LEVEL = "3"
RESCTRL_TAGS = ("cachetune", "memorytune")


def _groups(ctx: RuleContext):
    """Each cachetune/memorytune with its vCPUs below the maximum (empty groups skipped).

    virDomainResctrlParseVcpus drops vCPUs at or above the maximum, and libvirt
    ignores a group (with its monitors) that has none left.
    """
    tune = ctx.facts.cputune
    vcpu_ids = ctx.facts.vcpu_ids
    if tune is None or vcpu_ids is None:
        return
    limit = len(vcpu_ids)
    for tag in RESCTRL_TAGS:
        for element in tune.element.iterchildren(tag):
            ref = cpuset_ref(element, "vcpus")
            if ref is None or ref.ids is None:
                continue
            vcpus = frozenset(v for v in ref.ids if v < limit)
            if vcpus:
                yield element, vcpus, limit


@rule(
    code="DX151",
    name="resctrl-monitor-invalid",
    severity="error",
    summary="A cachetune/memorytune <monitor> libvirt refuses: cache level other than 3, no "
    "vCPU, vCPUs outside its allocation, or the same vCPUs twice",
    triggers=("monitor",),
    libvirt=("virDomainResctrlMonDefParse", "virDomainResctrlValidateMonitor"),
)
def resctrl_monitor_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks each `<monitor>` of a `<cachetune>` or `<memorytune>`:

    - a cache monitor (in `<cachetune>`) watches `level='3'`;
    - its `vcpus` must name at least one existing vCPU, all of them in the
      enclosing allocation's `vcpus`;
    - two monitors of one allocation may not watch the very same vCPUs.

    ## Why is this bad?
    libvirt refuses the definition: "Invalid monitor cache level '%d'",
    "vcpus is empty", "Monitor vcpus conflicts with allocation", "Identical
    vcpus found in same type monitors".

    ## Example
    ```xml
    <cachetune vcpus='0-1'>
      <cache id='0' level='3' type='both' size='3' unit='MiB'/>
      <monitor level='3' vcpus='2'/>
    </cachetune>
    ```

    ## Use instead
    ```xml
    <cachetune vcpus='0-1'>
      <cache id='0' level='3' type='both' size='3' unit='MiB'/>
      <monitor level='3' vcpus='1'/>
    </cachetune>
    ```

    ## Fix safety
    No fix: which vCPUs to monitor is the author's choice.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainResctrlMonDefParse`,
    `virDomainResctrlValidateMonitor`, `virDomainResctrlParseVcpus`);
    formatdomain "CPU Tuning" (cachetune, memorytune, monitor).
    """
    for group, vcpus, limit in _groups(ctx):
        seen: list[frozenset[int]] = []
        for monitor in group.iterchildren("monitor"):
            if group.tag == "cachetune":
                level = monitor.get("level")
                if level is not None and level.strip() != MONITOR_CACHE_LEVEL:
                    yield ctx.finding(
                        monitor, f"Invalid monitor cache level '{level}'", attribute="level"
                    )
                    continue
            ref = cpuset_ref(monitor, "vcpus")
            if ref is None or ref.ids is None:
                continue  # no vcpus: the schema; bad syntax: libvirt's bitmap parser
            watched = frozenset(v for v in ref.ids if v < limit)
            if not watched:
                yield ctx.finding(
                    monitor,
                    f"vcpus='{ref.text}' names no vCPU of the guest: vcpus is empty",
                    attribute="vcpus",
                )
                continue
            outside = watched - vcpus
            if outside:
                yield ctx.finding(
                    monitor,
                    f"{vcpu_list(outside)} not in the {group.tag}'s vcpus: Monitor vcpus "
                    "conflicts with allocation",
                    attribute="vcpus",
                )
                continue
            if watched in seen:
                yield ctx.finding(
                    monitor, "Identical vcpus found in same type monitors", attribute="vcpus"
                )
                continue
            seen.append(watched)


@rule(
    code="DX152",
    name="cachetune-needs-kvm",
    severity="error",
    summary="<cachetune> or <memorytune> on a QEMU domain that is not type='kvm'",
    triggers=RESCTRL_TAGS,
    domains=QEMU,
    libvirt=("qemuValidateDomainDef",),
)
def cachetune_needs_kvm(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<cputune><cachetune>` or `<memorytune>` (naming at least one
    existing vCPU) on a QEMU domain whose type is not `kvm`, such as a TCG
    (`type='qemu'`) guest.

    ## Why is this bad?
    Cache and memory bandwidth allocation put vCPU threads into resctrl
    groups, which only makes sense for vCPUs running on the host CPUs under
    KVM. libvirt's QEMU driver refuses the definition: "cachetune is only
    supported for KVM domains".

    ## Example
    ```xml
    <domain type='qemu'>
      <cputune>
        <cachetune vcpus='0'>
          <cache id='0' level='3' type='both' size='3' unit='MiB'/>
        </cachetune>
      </cputune>
    </domain>
    ```

    ## Use instead
    ```xml
    <domain type='kvm'>
    ```

    ## Fix safety
    No fix: switching the domain type changes how the guest runs.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDef`); formatdomain
    "CPU Tuning".
    """
    if ctx.facts.virt_type == "kvm":
        return
    for group, _vcpus, _limit in _groups(ctx):
        yield ctx.finding(
            group,
            f"<{group.tag}> on a type='{ctx.facts.virt_type}' domain: cachetune is only "
            "supported for KVM domains",
        )
        return
