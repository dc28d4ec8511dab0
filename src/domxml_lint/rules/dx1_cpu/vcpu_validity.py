"""DX140-DX143: vCPU counts, the 255-vCPU limit, thread schedulers and the CPU cache mode."""

from __future__ import annotations

from collections.abc import Iterator

from ...edits import new_element
from ...facts.values import child, grandchildren
from ...findings import Finding
from ...rule import QEMU, X86, RuleContext, rule
from ...units import parse_uint

#: QEMU_MAX_VCPUS_WITHOUT_EIM in src/qemu/qemu_validate.c.
MAX_VCPUS_WITHOUT_EIM = 255


#: Linux sched_get_priority_min/max for SCHED_FIFO and SCHED_RR.
RT_PRIORITY_RANGE = (1, 99)


@rule(
    code="DX140",
    name="vcpu-count-invalid",
    severity="error",
    summary="The vCPU count, current count or <vcpus> ids are ones libvirt refuses",
    triggers=("vcpu", "vcpus"),
    libvirt=("virDomainVcpuParse", "virDomainDefSetVcpus", "qemuValidateDomainVCpuTopology"),
)
def vcpu_count_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<vcpu>` and `<vcpus>`: the maximum must be a positive integer,
    `current` must be between 1 and the maximum, every `<vcpus><vcpu id>` must
    be below the maximum, and at least one vCPU must be enabled.

    ## Why is this bad?
    libvirt refuses the definition:

    - `current` above the maximum: "maximum vCPU count must not be less than
      current vCPU count" (virDomainDefSetVcpus; proven on libvirt 9.0);
    - an id at or above the maximum: "vcpu id '%u' is out of range of maximum
      vcpu count" (virDomainVcpuParse; proven on libvirt 9.0);
    - a count of 0 fails the schema (positiveInteger), and the QEMU driver
      refuses a guest with no online vCPU: "Domain requires at least 1 vCPU"
      (qemuValidateDomainVCpuTopology).

    With a host snapshot, the maximum is also checked against the machine
    type's limit on that host (domain capabilities `<vcpu max>`, which libvirt
    caps at KVM's own limit, else the capabilities' machine `maxCpus`): above it
    the QEMU driver refuses to start the guest, "Maximum CPUs greater than
    specified machine type limit %u" (qemuValidateDomainVCpuTopology). Without
    a snapshot, or for a machine it does not describe, that part stays silent.

    ## Example
    ```xml
    <vcpu placement='static' current='8'>4</vcpu>
    ```

    ## Use instead
    ```xml
    <vcpu placement='static' current='4'>8</vcpu>
    ```

    ## Fix safety
    No fix: only the author knows whether the maximum or the current count is
    the intended one.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainVcpuParse`, `virDomainDefSetVcpus`),
    src/qemu/qemu_validate.c (`qemuValidateDomainVCpuTopology`); formatdomain
    "CPU Allocation".
    """
    vcpus = ctx.facts.vcpus
    element = vcpus.element
    maximum = vcpus.maximum
    if element is not None:
        if maximum is None or maximum == 0:
            text = (element.text or "").strip()
            yield ctx.finding(
                element,
                f"<vcpu>{text}</vcpu> is not a positive vCPU count: libvirt's schema refuses it "
                "and QEMU needs at least 1 vCPU",
            )
            return
        current_text = element.get("current")
        if current_text is not None:
            current = parse_uint(current_text)
            if current == 0:
                yield ctx.finding(
                    element,
                    "current='0': the schema refuses it and QEMU says \"Domain requires at least "
                    '1 vCPU"',
                    attribute="current",
                )
            elif current is not None and current > maximum:
                yield ctx.finding(
                    element,
                    f"current='{current}' is above the maximum of {maximum} vCPUs: libvirt "
                    'refuses it ("maximum vCPU count must not be less than current vCPU count")',
                    attribute="current",
                )
    if maximum is None:
        return
    listed = grandchildren(ctx.facts.root, "vcpus", "vcpu")
    for item in listed:
        vcpu_id = parse_uint(item.get("id"))
        if vcpu_id is not None and vcpu_id >= maximum:
            yield ctx.finding(
                item,
                f"vcpu id '{vcpu_id}' is out of range of maximum vcpu count ({maximum}, ids "
                "run from 0): libvirt refuses it",
                attribute="id",
            )
    parent = listed[0].getparent() if listed else None
    if (
        parent is not None
        and ctx.facts.driver == "qemu"
        and all(i.get("enabled") == "no" for i in listed)
    ):
        yield ctx.finding(
            parent,
            'every vCPU in <vcpus> is disabled: QEMU refuses it ("Domain requires at least 1 '
            'vCPU")',
        )
    limit = _machine_vcpu_limit(ctx)
    if limit is not None and element is not None and maximum > limit:
        yield ctx.finding(
            element,
            f"{maximum} vCPUs, but machine type '{ctx.facts.machine}' allows at most {limit} on "
            f'this host: libvirt refuses to start it ("Maximum CPUs greater than specified '
            f'machine type limit {limit}")',
        )


def _machine_vcpu_limit(ctx) -> int | None:
    """The host's vCPU limit for this guest's machine type (None without one or unknown).

    Domain capabilities give it capped by KVM's own limit; else the
    capabilities' machine ``maxCpus``. libvirt treats 0 as "no limit".
    """
    host, facts = ctx.optional_host, ctx.facts
    if host is None or facts.driver != "qemu" or facts.machine is None:
        return None
    limit = host.max_vcpus(facts.virt_type, facts.arch, facts.machine)
    if limit is None:
        ctx.note(f"the host snapshot has no vCPU limit for machine '{facts.machine}'")
        return None
    return limit or None


@rule(
    code="DX141",
    name="vcpus-over-255-need-iommu-eim",
    severity="error",
    summary="More than 255 x86 vCPUs need q35 and an Intel IOMMU with extended interrupt mode",
    fix="safe",
    triggers=("vcpu",),
    domains=QEMU.on(*X86),
    libvirt=("qemuValidateDomainVCpuTopology", "virDomainDefIOMMUValidate"),
)
def vcpus_over_255_need_iommu_eim(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds x86 QEMU/KVM guests with more than 255 vCPUs (the maximum count)
    whose machine is not q35, or that lack `<iommu>` with `eim='on'`.

    ## Why is this bad?
    x86 APIC ids above 254 need x2APIC with interrupt remapping and extended
    interrupt mode. libvirt refuses such guests: "more than 255 vCPUs are only
    supported on q35-based machine types" and "more than 255 vCPUs require
    extended interrupt mode enabled on the iommu device". `eim` in turn needs
    `intremap='on'` ("IOMMU eim requires interrupt remapping to be enabled"),
    which needs the split I/O APIC `<ioapic driver='qemu'/>` ("IOMMU interrupt
    remapping requires split I/O APIC (ioapic driver='qemu')").

    ## Example
    ```xml
    <vcpu placement='static'>288</vcpu>
    <os><type arch='x86_64' machine='pc-q35-8.2'>hvm</type></os>
    ```

    ## Use instead
    ```xml
    <features><ioapic driver='qemu'/></features>
    <devices>
      <iommu model='intel'><driver intremap='on' eim='on'/></iommu>
    </devices>
    ```

    ## Fix safety
    Safe, and offered on q35 machines only: the guest cannot start as written,
    so adding the split I/O APIC and an Intel IOMMU with `intremap` and `eim`
    cannot break a guest that starts today. An existing IOMMU of another model
    is left alone (no fix).

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainVCpuTopology`,
    QEMU_MAX_VCPUS_WITHOUT_EIM = 255), src/conf/domain_validate.c
    (`virDomainDefIOMMUValidate`); formatdomain "IOMMU devices".
    """
    facts = ctx.facts
    maximum = facts.vcpus.maximum
    if maximum is None or maximum <= MAX_VCPUS_WITHOUT_EIM:
        return
    element = facts.vcpus.element
    assert element is not None  # maximum came from it
    if facts.is_q35 is False:
        yield ctx.finding(
            element,
            f"{maximum} vCPUs on machine '{facts.machine}': more than 255 vCPUs are only "
            "supported on q35-based machine types",
        )
        return
    iommu = child(facts.devices, "iommu") if facts.devices is not None else None
    driver = child(iommu, "driver") if iommu is not None else None
    if driver is not None and driver.get("eim") == "on":
        return
    fix = None
    intel = iommu is None or iommu.get("model") == "intel"
    if facts.is_q35 and intel and facts.devices is not None:
        fix = ctx.safe_fix(
            "Add <ioapic driver='qemu'/> and an Intel IOMMU with intremap and eim",
            *_eim_edits(ctx, iommu, driver),
        )
    yield ctx.finding(
        element,
        f"{maximum} vCPUs: more than 255 vCPUs require extended interrupt mode enabled on the "
        "iommu device (<iommu model='intel'><driver intremap='on' eim='on'/></iommu>)",
        fix=fix,
    )


def _eim_edits(ctx, iommu, driver):
    edits = list(ctx.edit.ensure_feature("ioapic", {"driver": "qemu"}))
    wanted = {"intremap": "on", "eim": "on"}
    if iommu is None:
        edits.append(
            ctx.edit.insert_child(
                ctx.facts.devices,
                new_element("iommu", {"model": "intel"}, new_element("driver", wanted)),
            )
        )
    elif driver is None:
        edits.append(ctx.edit.insert_children(iommu, [new_element("driver", wanted)]))
    else:
        edits.extend(ctx.edit.set_attributes(driver, wanted))
    return ctx.edit.merge_insertions(edits)


@rule(
    code="DX142",
    name="vcpusched-invalid",
    severity="error",
    summary="A vcpusched, iothreadsched or emulatorsched that libvirt or the kernel refuses",
    triggers=("vcpusched", "iothreadsched", "emulatorsched"),
    libvirt=(
        "virDomainThreadSchedParseHelper",
        "virDomainDefGetVcpuSched",
        "virProcessSetScheduler",
    ),
)
def vcpusched_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the real-time scheduler elements of `<cputune>`: `vcpusched` must
    name existing vCPUs and the sets of two `vcpusched` must not overlap; only
    one `emulatorsched` may exist; `fifo` and `rr` need a `priority` from 1 to
    99. (An `iothreadsched` naming a
    missing IOThread is reported by iothread-reference-invalid.)

    ## Why is this bad?
    libvirt refuses the definition: "vCPU '%u' is not present in domain
    definition", "'vcpusched' attributes 'vcpus' must not overlap" (both
    proven on libvirt 9.0), "only one emulatorsched is supported", "Missing
    required attribute 'priority' in element 'vcpusched'". A priority outside
    the kernel's range makes the start fail: "Scheduler priority %d out of
    range [1, 99]" (virProcessSetScheduler). Note that libvirt's own real-time
    kbase example (`vcpus='0-4'` on a 4-vCPU guest) hits the first error.

    ## Example
    ```xml
    <vcpu placement='static'>4</vcpu>
    <cputune>
      <vcpusched vcpus='0-4' scheduler='fifo' priority='1'/>
    </cputune>
    ```

    ## Use instead
    ```xml
    <cputune>
      <vcpusched vcpus='1-3' scheduler='fifo' priority='1'/>
    </cputune>
    ```

    ## Fix safety
    No fix: the intended vCPUs and priorities are the author's choice.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainThreadSchedParseHelper`,
    `virDomainDefGetVcpuSched`), src/util/virprocess.c
    (`virProcessSetScheduler`); formatdomain "CPU Tuning"; kbase
    kvm-realtime.
    """
    facts = ctx.facts
    maximum = facts.vcpu_count
    seen_vcpus: set[int] = set()
    emulator_seen = False
    for sched in facts.thread_scheds:
        element = sched.element
        if element.tag == "emulatorsched":
            if emulator_seen:
                yield ctx.finding(
                    element, "only one emulatorsched is supported: libvirt refuses a second"
                )
            emulator_seen = True
        if sched.realtime:
            if sched.priority is None:
                yield ctx.finding(
                    element,
                    f"scheduler='{sched.scheduler}' needs a priority: libvirt refuses it "
                    f"(\"Missing required attribute 'priority' in element '{element.tag}'\")",
                    attribute="scheduler",
                )
            elif not RT_PRIORITY_RANGE[0] <= sched.priority <= RT_PRIORITY_RANGE[1]:
                yield ctx.finding(
                    element,
                    f"priority='{sched.priority}' is outside the kernel's range for "
                    f'{sched.scheduler}: the start fails ("Scheduler priority {sched.priority} '
                    'out of range [1, 99]")',
                    attribute="priority",
                )
        if element.tag != "vcpusched" or sched.ids is None or sched.ids.ids is None:
            continue
        ids = sched.ids.ids
        missing = sorted(i for i in ids if maximum is not None and i >= maximum)
        if missing and maximum is not None:
            yield ctx.finding(
                element,
                f"vcpus='{sched.ids.text}' names vCPU {missing[0]}, but the guest has "
                f"{maximum} (ids 0-{maximum - 1}): libvirt refuses it (\"vCPU '{missing[0]}' is "
                'not present in domain definition")',
                attribute="vcpus",
            )
        overlap = sorted(i for i in ids if i in seen_vcpus)
        if overlap:
            yield ctx.finding(
                element,
                f"vcpus='{sched.ids.text}' overlaps an earlier vcpusched on vCPU {overlap[0]}: "
                "libvirt refuses it (\"'vcpusched' attributes 'vcpus' must not overlap\")",
                attribute="vcpus",
            )
        seen_vcpus |= ids


@rule(
    code="DX143",
    name="cpu-cache-mode-invalid",
    severity="error",
    summary="A <cpu><cache> mode/level combination the QEMU driver refuses",
    triggers=("cache",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefCpu",),
)
def cpu_cache_mode_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<cpu><cache level=... mode=...>` for QEMU/KVM guests: `emulate`
    needs `level='3'`; `passthrough` needs a `host-passthrough` or `maximum`
    CPU and no level; `disable` takes no level; cache settings are x86 only.

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "CPU cache mode '%s' can only
    be used with level='3'", "CPU cache mode '%s' can only be used with
    'host-passthrough' / 'maximum' CPUs", "unsupported CPU cache level for mode
    '%s'", "CPU cache specification is not supported for '%s' architecture".

    ## Example
    ```xml
    <cpu mode='host-model'>
      <cache mode='passthrough'/>
    </cpu>
    ```

    ## Use instead
    ```xml
    <cpu mode='host-passthrough'>
      <cache mode='passthrough'/>
    </cpu>
    ```

    ## Fix safety
    No fix: changing the CPU mode or the cache layout changes what the guest
    sees.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefCpu`); formatdomain
    "CPU model and topology" (`cache`).
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None:
        return
    cache = child(cpu.element, "cache")
    if cache is None:
        return
    if facts.arch is not None and not facts.is_x86:
        yield ctx.finding(
            cache,
            f"CPU cache specification is not supported for '{facts.arch}' architecture",
        )
        return
    mode = cache.get("mode")
    level = cache.get("level")
    if mode == "emulate" and level != "3":
        yield ctx.finding(
            cache,
            "CPU cache mode 'emulate' can only be used with level='3'",
            attribute="level" if level is not None else "mode",
        )
    elif mode == "passthrough" and cpu.mode not in ("host-passthrough", "maximum"):
        yield ctx.finding(
            cache,
            f"CPU cache mode 'passthrough' can only be used with 'host-passthrough' / "
            f"'maximum' CPUs, not mode '{cpu.mode}'",
            attribute="mode",
        )
    elif mode in ("passthrough", "disable") and level is not None:
        yield ctx.finding(
            cache,
            f"unsupported CPU cache level for mode '{mode}': drop level='{level}'",
            attribute="level",
        )
