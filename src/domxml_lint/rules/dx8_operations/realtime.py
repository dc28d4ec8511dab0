"""DX840-DX841: real-time vCPUs (libvirt kbase "KVM Real Time Guest Config")."""

from __future__ import annotations

from collections.abc import Iterator

from ...cpuset import format_cpuset
from ...edits import new_element
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


def _realtime_vcpus(facts) -> set[int]:
    """vCPUs that a fifo/rr vcpusched covers (within the vCPU count)."""
    maximum = facts.vcpu_count
    found: set[int] = set()
    for sched in facts.thread_scheds:
        if sched.element.tag == "vcpusched" and sched.realtime and sched.ids is not None:
            found |= {i for i in sched.ids.ids or () if maximum is None or i < maximum}
    return found


@rule(
    code="DX840",
    name="realtime-vcpu-not-dedicated",
    severity="warning",
    summary="A real-time (fifo/rr) vCPU not pinned alone to its own host CPU, apart from QEMU",
    triggers=("vcpusched",),
    domains=QEMU,
)
def realtime_vcpu_not_dedicated(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For every vCPU that a `vcpusched` runs with `fifo` or `rr`, checks that a
    `vcpupin` pins it to exactly one host CPU, that no other vCPU, emulator or
    IOThread pin uses that CPU, and that an `emulatorpin` exists.

    ## Why is this bad?
    A real-time vCPU thread never yields its CPU to normal threads. If it can
    float over several host CPUs, or shares one with another vCPU or with
    QEMU's emulator and I/O threads, those threads starve behind it: the guest
    stalls or the host's RCU and kernel threads hang. The libvirt real-time
    kbase pins each real-time vCPU to one dedicated (isolated) host CPU and
    the emulator threads to separate housekeeping CPUs.

    ## Example
    ```xml
    <cputune>
      <vcpupin vcpu='1' cpuset='2-3'/>
      <vcpusched vcpus='1' scheduler='fifo' priority='1'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <cputune>
      <vcpupin vcpu='0' cpuset='1'/>
      <vcpupin vcpu='1' cpuset='2'/>
      <emulatorpin cpuset='1'/>
      <vcpusched vcpus='1' scheduler='fifo' priority='1'/>
    </cputune>
    ```

    ## Fix safety
    No fix: which host CPUs are isolated for real-time use is host knowledge.

    ## Source
    libvirt docs/kbase/kvm-realtime.rst ("KVM Real Time Guest Config"):
    vCPU pinning to dedicated host CPUs, emulator threads on non-isolated CPUs;
    formatdomain "CPU Tuning" (`vcpusched`, `emulatorpin`); guide 9.3 (CPU
    pinning).
    """
    facts = ctx.facts
    rt_vcpus = _realtime_vcpus(facts)
    if not rt_vcpus:
        return
    pins = {p.target: p for p in facts.vcpupins if p.target is not None}
    users: dict[int, list[str]] = {}
    for pin in facts.vcpupins:
        if pin.target is not None and pin.cpuset is not None and pin.cpuset.ids is not None:
            for cpu in pin.cpuset.ids:
                users.setdefault(cpu, []).append(f"vCPU {pin.target}")
    tune = facts.cputune
    assert tune is not None  # real-time vCPUs come from <cputune><vcpusched>
    for pin in (*tune.emulatorpins, *tune.iothreadpins):
        if pin.cpuset is not None and pin.cpuset.ids is not None:
            label = "emulator" if pin.element.tag == "emulatorpin" else f"IOThread {pin.target}"
            for cpu in pin.cpuset.ids:
                users.setdefault(cpu, []).append(label)
    first_rt = next(s.element for s in facts.thread_scheds if s.realtime)
    for vcpu in sorted(rt_vcpus):
        pinned = pins.get(vcpu)
        if pinned is None or pinned.cpuset is None or pinned.cpuset.ids is None:
            yield ctx.finding(
                first_rt,
                f"real-time vCPU {vcpu} has no vcpupin: it may run on any host CPU and starve "
                "whatever else runs there",
            )
            continue
        cpus = pinned.cpuset.ids
        if len(cpus) != 1:
            yield ctx.finding(
                pinned.element,
                f"real-time vCPU {vcpu} is pinned to {len(cpus)} host CPUs "
                f"({format_cpuset(cpus)}): pin it to one dedicated CPU",
                attribute="cpuset",
            )
            continue
        (cpu,) = cpus
        others = [u for u in users.get(cpu, []) if u != f"vCPU {vcpu}"]
        if others:
            yield ctx.finding(
                pinned.element,
                f"real-time vCPU {vcpu} shares host CPU {cpu} with {', '.join(others)}: the "
                "other threads starve behind it",
                attribute="cpuset",
            )
    if not tune.emulatorpins:
        yield ctx.finding(
            first_rt,
            "real-time vCPUs but no emulatorpin: QEMU's emulator threads may land on the "
            "real-time CPUs and starve",
        )


@rule(
    code="DX841",
    name="realtime-profile-incomplete",
    severity="info",
    summary="A real-time guest misses a setting of libvirt's real-time guest profile",
    fix="unsafe",
    default=False,
    triggers=("vcpusched",),
    domains=QEMU,
)
def realtime_profile_incomplete(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    For a QEMU/KVM guest with `fifo`/`rr` vCPUs, lists what the libvirt
    real-time kbase configures and the guest lacks: a `host-passthrough` CPU,
    `<pmu state='off'/>`, huge pages, `<locked/>`, `<nosharepages/>`, no USB
    controller (`model='none'`), no memory balloon (`model='none'`), and at
    least one non-real-time vCPU for housekeeping.

    ## Why is this bad?
    Each item removes a source of latency: PMU virtualisation and KSM page
    merging add exits and scans, huge pages and locked memory avoid page
    faults, the USB controller and balloon generate timer and memory activity,
    and a guest whose every vCPU is real-time has no CPU left for its own
    housekeeping and I/O. This is advice for real-time tuning, hence opt-in.

    ## Example
    ```xml
    <memballoon model='virtio'/>
    ```

    ## Use instead
    ```xml
    <memballoon model='none'/>
    ```

    ## Fix safety
    Unsafe: `pmu off`, `nosharepages`, and removing the USB controller or the
    balloon change what the guest sees or how the host manages its memory.
    Fixes are offered for the PMU, `nosharepages`, the balloon (when it has no
    child elements) and the USB controller (when no USB device is defined).

    ## Source
    libvirt docs/kbase/kvm-realtime.rst ("KVM Real Time Guest Config");
    formatdomain "Hypervisor features" (`pmu`), "Memory Backing", "Memory
    balloon device", "Controllers"; guide 8.3.1 (KSM).
    """
    facts = ctx.facts
    rt_vcpus = _realtime_vcpus(facts)
    if not rt_vcpus:
        return
    anchor = next(s.element for s in facts.thread_scheds if s.realtime)
    if facts.vcpu_count is not None and len(rt_vcpus) >= facts.vcpu_count:
        yield ctx.finding(
            anchor,
            "every vCPU is real-time: keep at least one vCPU non-real-time for the guest's "
            "housekeeping and I/O",
        )
    cpu = facts.cpu
    if cpu is None or cpu.mode != "host-passthrough":
        yield ctx.finding(
            anchor if cpu is None else cpu.element,
            "real-time guest without a host-passthrough CPU",
        )
    if facts.feature_state("pmu") != "off":
        fix = ctx.unsafe_fix(
            "Add <pmu state='off'/>", *ctx.edit.ensure_feature("pmu", {"state": "off"})
        )
        yield ctx.finding(
            anchor, "real-time guest with the PMU enabled: add <pmu state='off'/>", fix=fix
        )
    backing = facts.memory_backing
    if facts.hugepage_backing is None:
        yield ctx.finding(anchor, "real-time guest without huge pages")
    if backing is None or not backing.locked:
        yield ctx.finding(anchor, "real-time guest without <locked/> memory")
    if backing is None or not backing.nosharepages:
        yield ctx.finding(
            anchor,
            "real-time guest without <nosharepages/>: KSM may merge and scan its pages",
            fix=ctx.unsafe_fix("Add <nosharepages/>", _nosharepages_edit(ctx, backing)),
        )
    yield from _usb_and_balloon(ctx, anchor)


def _nosharepages_edit(ctx, backing):
    if backing is None:
        return ctx.edit.insert_top_level(
            new_element("memoryBacking", None, new_element("nosharepages"))
        )
    return ctx.edit.insert_child(backing.element, new_element("nosharepages"))


def _usb_and_balloon(ctx, anchor):
    facts = ctx.facts
    devices = facts.devices
    if devices is None:
        return
    usb = [c for c in facts.controllers if c.type == "usb"]
    if not any(c.model == "none" for c in usb):
        usb_users = bool(facts.usb_devices())  # every device libvirt puts on a USB port
        fix = None
        if not usb_users and len(usb) <= 1:
            if usb:
                edit = ctx.edit.set_attributes(usb[0].element, {"model": "none"})
                if not len(usb[0].element):
                    fix = ctx.unsafe_fix("Set the USB controller's model to 'none'", *edit)
            else:
                fix = ctx.unsafe_fix(
                    "Add <controller type='usb' model='none'/>",
                    ctx.edit.insert_child(
                        devices, new_element("controller", {"type": "usb", "model": "none"})
                    ),
                )
        if usb:
            message = "real-time guest with a USB controller: use model='none'"
        else:
            message = (
                "real-time guest without <controller type='usb' model='none'/>: libvirt adds "
                "a USB controller by default"
            )
        yield ctx.finding(usb[0].element if usb else anchor, message, fix=fix)
    balloons = facts.device_elements("memballoon")
    if not balloons or balloons[0].get("model") != "none":
        fix = None
        if not balloons:
            fix = ctx.unsafe_fix(
                "Add <memballoon model='none'/>",
                ctx.edit.insert_child(devices, new_element("memballoon", {"model": "none"})),
            )
        elif not len(balloons[0]):
            fix = ctx.unsafe_fix(
                "Set the balloon's model to 'none'",
                *ctx.edit.set_attributes(balloons[0], {"model": "none"}),
            )
        message = "real-time guest with a memory balloon: use <memballoon model='none'/>"
        if not balloons:
            message += " (libvirt adds a virtio balloon by default)"
        yield ctx.finding(balloons[0] if balloons else anchor, message, fix=fix)
