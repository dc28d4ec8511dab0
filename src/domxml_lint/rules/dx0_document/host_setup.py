"""DX010-DX012: the host as a whole: tuned's profile and service, /dev/kvm (guide 4)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ...findings import Finding
from ...planrules import PlanContext, PlanFinding, plan_rule
from ...rule import KVM, QEMU, HostPart, RuleContext, rule

if TYPE_CHECKING:  # loaded only with a snapshot
    from ...host.system import HostSystem

#: Profiles made for KVM hosts: virtual-host and those built on it.
VIRTUAL_HOST_PROFILES = ("virtual-host", "realtime-virtual-host")


def host_name(system: HostSystem) -> str:
    """``host 'kvm-01'``, or ``the host`` when the snapshot does not name it."""
    return f"host '{system.hostname}'" if system.hostname else "the host"


@plan_rule(
    code="DX010",
    name="tuned-profile-not-virtual-host",
    severity="info",
    summary="The host's tuned profile is not virtual-host, the one made for KVM hosts",
    needs=(HostPart.SYSTEM,),
    domains=QEMU,
)
def tuned_profile_not_virtual_host(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Reads the tuned profile the host snapshot recorded
    (`/etc/tuned/active_profile`, else `tuned-adm active`) and reports a host
    whose active profile is neither `virtual-host` nor one built on it
    (`realtime-virtual-host`). It runs once per host, on the guests linted
    against its snapshot, and points at the snapshot's `<tuned>` line. A host
    where tuned is off (`tuned-adm off`, no profile) is left alone: the guide
    allows that when the parameters are set by hand.

    ## Why is this bad?
    tuned applies a set of kernel settings for a workload. `virtual-host`
    (based on throughput-performance) is the one for machines that run KVM
    guests: among other things it lowers `vm.dirty_ratio` so the host writes
    guest data back sooner and keeps the CPU out of deep power-saving states.
    A desktop or `balanced` profile leaves that performance on the table.

    ## Example
    A snapshot taken on a host where `tuned-adm active` says
    `Current active profile: balanced`.

    ## Use instead
    On the host: `tuned-adm profile virtual-host`, then take the snapshot again.

    ## Fix safety
    No fix: the profile is host configuration.

    ## Source
    Guide 4 (tuned and tuned-adm: "use the virtual-host profile on KVM hosts");
    tuned's profiles (`/usr/lib/tuned/virtual-host/tuned.conf`).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    tuned = system.tuned
    if tuned is None:
        ctx.note("the snapshot does not say which tuned profile is active")
        return
    if not tuned.profiles:
        ctx.note("tuned has no active profile (tuned-adm off): parameters are set by hand")
        return
    if any(p in VIRTUAL_HOST_PROFILES for p in tuned.profiles):
        return
    yield ctx.host_finding(
        f"{host_name(system)} runs the tuned profile '{tuned.profile}'; the guide recommends "
        "'virtual-host' on KVM hosts (tuned-adm profile virtual-host)",
        fact="system/tuned",
    )


@plan_rule(
    code="DX011",
    name="tuned-not-enabled",
    severity="warning",
    summary="tuned runs a profile but its service is not enabled: the profile is gone at reboot",
    needs=(HostPart.SYSTEM,),
    domains=QEMU,
)
def tuned_not_enabled(ctx: PlanContext) -> Iterator[PlanFinding]:
    """
    ## What it does
    Reports a host where tuned has an active profile but the `tuned` service
    is not enabled (`systemctl is-enabled tuned` says `disabled`, `masked` ...),
    or is enabled but not running. Unknown service states (a snapshot taken in
    a container, without systemd) leave the rule silent.

    ## Why is this bad?
    Since RHEL 7.1 the profile is applied by the tuned service at boot. With the
    service disabled, the host comes back from its next reboot without the
    profile's settings, and the guests' performance changes with no change to
    any file. A profile recorded while the service is stopped is not being
    applied now either.

    ## Example
    A snapshot with `<tuned profile='virtual-host'/>` and
    `<service name='tuned' enabled='disabled' active='inactive'/>`.

    ## Use instead
    On the host: `systemctl enable --now tuned`.

    ## Fix safety
    No fix: the service is host configuration.

    ## Source
    Guide 4 (Important: "after setting a profile on RHEL 7.1 and later, enable
    the tuned service so that the profile applies after a reboot:
    `systemctl enable tuned`").
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    tuned, service = system.tuned, system.service("tuned")
    if tuned is None or not tuned.profiles:
        return
    if service is None or service.enabled is None:
        ctx.note("the snapshot does not say whether the tuned service is enabled")
        return
    if service.enabled not in ("enabled", "enabled-runtime", "static", "alias", "indirect"):
        yield ctx.host_finding(
            f"{host_name(system)} runs the tuned profile '{tuned.profile}' but the tuned "
            f"service is {service.enabled}: the profile is not applied after a reboot "
            "(systemctl enable tuned)",
            fact="system/services/service[tuned]",
        )
    elif service.active is not None and service.active != "active":
        yield ctx.host_finding(
            f"{host_name(system)} records the tuned profile '{tuned.profile}' but the tuned "
            f"service is {service.active}: the profile is not being applied "
            "(systemctl start tuned)",
            fact="system/services/service[tuned]",
        )


@rule(
    code="DX012",
    name="kvm-unavailable",
    severity="error",
    summary="A KVM guest on a host without /dev/kvm: libvirt refuses to start it",
    needs=(HostPart.SYSTEM,),
    domains=KVM,
    libvirt=("qemuProcessStartValidate",),
)
def kvm_unavailable(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Reports a `<domain type='kvm'>` when the host snapshot recorded that
    `/dev/kvm` does not exist: the CPU has no virtualization extensions, they
    are off in the firmware, or the `kvm_intel`/`kvm_amd` module is not loaded.
    A snapshot that did not look at `/dev/kvm` leaves the rule silent.

    ## Why is this bad?
    The guest does not start. Before starting a KVM guest libvirt checks that
    `/dev/kvm` exists and refuses with "Domain requires KVM, but it is not
    available. Check that virtualization is enabled in the host BIOS, and host
    configuration is setup to load the kvm modules."

    ## Example
    ```xml
    <domain type='kvm'>
    ```
    on a snapshot with `<node path='/dev/kvm' exists='no'/>`.

    ## Use instead
    Enable VT-x/AMD-V in the firmware and load the module (`modprobe kvm_intel`
    or `kvm_amd`), then take the snapshot again; or run the guest under TCG
    with `<domain type='qemu'>` (much slower).

    ## Fix safety
    No fix: the host has to change.

    ## Source
    libvirt src/qemu/qemu_process.c `qemuProcessStartValidate` ("Domain requires
    KVM, but it is not available ..."); guide 1.2 (a KVM guest is a Linux process
    that uses the kernel's KVM module).
    """
    system = ctx.host.system
    assert system is not None  # needs=SYSTEM
    node = system.device("/dev/kvm")
    if node is None:
        ctx.note("the snapshot does not say whether /dev/kvm exists")
        return
    if node.exists:
        return
    yield ctx.finding(
        ctx.doc.root,
        f'{host_name(system)} has no /dev/kvm, so this KVM guest does not start: "Domain '
        "requires KVM, but it is not available. Check that virtualization is enabled in the "
        'host BIOS, and host configuration is setup to load the kvm modules."',
        attribute="type",
    )
