"""DX144: cputune shares, periods and quotas outside the ranges libvirt and cgroups accept."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import RuleContext, rule

# VIR_CGROUP_CPU_* in src/util/vircgroup.h.
SHARES_RANGE = (2, 262144)


CGROUP_V2_WEIGHT_MAX = 10000


PERIOD_RANGE = (1000, 1000000)


QUOTA_RANGE = (1000, 17592186044415)


PERIODS = ("period", "global_period", "emulator_period", "iothread_period")


QUOTAS = ("quota", "global_quota", "emulator_quota", "iothread_quota")


@rule(
    code="DX144",
    name="cputune-value-out-of-range",
    severity="error",
    summary="A cputune shares, period or quota value outside the range libvirt accepts",
    triggers=("cputune",),
    libvirt=("virDomainDefCputuneValidate",),
)
def cputune_value_out_of_range(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the scalar tunables of `<cputune>`: `shares` must lie in
    [2, 262144]; every `*period` in [1000, 1000000] microseconds; every
    positive `*quota` in [1000, 17592186044415] (-1 means unlimited). A `shares`
    above 10000 is reported as a warning for QEMU and LXC guests: it is valid
    for cgroup v1 only.

    ## Why is this bad?
    libvirt refuses the definition: "Value of cputune '%s' must be in range
    [%llu, %llu]" (virDomainDefCputuneValidate; proven on libvirt 9.0 for
    shares, period and quota). Newer libvirt checks `shares` when the guest
    starts instead, against the host's cgroup: on cgroup v2 (the default of
    current distributions) the weight range is [1, 10000], "shares '%llu' must
    be in range [1, 10000]".

    ## Example
    ```xml
    <cputune>
      <shares>1</shares>
      <period>500</period>
    </cputune>
    ```

    ## Use instead
    ```xml
    <cputune>
      <shares>1024</shares>
      <period>100000</period>
    </cputune>
    ```

    ## Fix safety
    No fix: clamping would silently change the guest's CPU share.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefCputuneValidate`),
    src/util/vircgroup.h (VIR_CGROUP_CPU_* limits), src/util/vircgroupv2.c
    (`virCgroupV2SetCpuShares`); formatdomain "CPU Tuning"; the RHEL 7
    Resource Management Guide, "cpu" controller (the tuning guide does not
    cover shares, period or quota).
    """
    tune = ctx.facts.cputune
    if tune is None:
        return
    shares = tune.value("shares")
    if shares is not None:
        element, text = shares
        value = _number(text)
        if value is not None and value > 0:
            low, high = SHARES_RANGE
            if not low <= value <= high:
                yield ctx.finding(
                    element,
                    f"shares {value}: Value of cputune 'shares' must be in range [{low}, {high}]",
                )
            elif value > CGROUP_V2_WEIGHT_MAX and _cgroup_driver(ctx.facts):
                yield ctx.finding(
                    element,
                    f"shares {value} works with cgroup v1 only: on cgroup v2 hosts the start "
                    f"fails (\"shares '{value}' must be in range [1, {CGROUP_V2_WEIGHT_MAX}]\")",
                    severity="warning",
                )
    for names, (low, high) in ((PERIODS, PERIOD_RANGE), (QUOTAS, QUOTA_RANGE)):
        for name in names:
            item = tune.value(name)
            if item is None:
                continue
            element, text = item
            value = _number(text)
            if value is not None and value > 0 and not low <= value <= high:
                yield ctx.finding(
                    element,
                    f"{name} {value}: Value of cputune '{name}' must be in range [{low}, {high}]",
                )


def _cgroup_driver(facts) -> bool:
    return facts.driver in ("qemu", "lxc")


def _number(text: str) -> int | None:
    try:
        return int(text, 10)
    except ValueError:
        return None
