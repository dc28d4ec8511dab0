"""DX859: a ``<clock offset='absolute'>`` start beyond what QEMU can represent."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from ...units import parse_uint

#: 9999-12-31T23:59:59 UTC, the latest time GLib's date functions convert.
MAX_ABSOLUTE_START = 253402300799


@rule(
    code="DX859",
    name="clock-start-invalid",
    severity="error",
    summary="An absolute guest clock start after the year 9999",
    triggers=("clock",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefClockTimers",),
)
def clock_start_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks that `<clock offset='absolute' start=...>` of a QEMU/KVM guest is
    at most 253402300799 seconds since the epoch (9999-12-31 23:59:59 UTC).

    ## Why is this bad?
    libvirt converts the start time into the date QEMU's `-rtc base=` takes,
    and GLib converts no later date; libvirt's QEMU driver refuses the
    definition: "The maximum 'start' value for <clock offset='absolute'> is
    253402300799". A value in milliseconds rather than seconds is the usual
    slip.

    ## Example
    ```xml
    <clock offset='absolute' start='1700000000000'/>
    ```

    ## Use instead
    ```xml
    <clock offset='absolute' start='1700000000'/>
    ```

    ## Fix safety
    No fix: the intended time is the author's.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefClockTimers`);
    formatdomain "Time keeping".
    """
    clock = ctx.facts.top("clock")
    if clock is None or clock.get("offset") != "absolute":
        return
    start = parse_uint(clock.get("start"))
    if start is not None and start > MAX_ABSOLUTE_START:
        yield ctx.finding(
            clock,
            "The maximum 'start' value for <clock offset='absolute'> is "
            f"{MAX_ABSOLUTE_START}, not {start}",
            attribute="start",
        )
