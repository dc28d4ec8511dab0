"""DX145-DX147: the ``<cpu>`` element as libvirt parses it, ``<vcpus>`` states, maxphysaddr."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: VIR_CPU_VENDOR_ID_LENGTH in src/conf/cpu_conf.h.
VENDOR_ID_LENGTH = 12
#: CPU modes that take the host CPU as it is: no model, vendor_id or fallback.
HOST_CPU_MODES = frozenset({"host-passthrough", "maximum"})
#: Valid ``<cpu check>`` values other than the default (virCPUCheck).
CHECK_VALUES = frozenset({"none", "partial", "full"})


@rule(
    code="DX145",
    name="cpu-definition-invalid",
    severity="error",
    summary="A <cpu> element libvirt's parser refuses: migratable, vendor_id, vendor or features "
    "without a model, duplicate features, cache level, maxphysaddr limit, check without model",
    triggers=("cpu",),
    libvirt=("virCPUDefParseXML", "virCPUDefParseXMLCache", "virDomainDefPostParseCPU"),
)
def cpu_definition_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the guest `<cpu>` element the way libvirt's CPU parser does:

    - `migratable` only with `mode='host-passthrough'` or `mode='maximum'`;
    - `<model vendor_id>` exactly 12 characters, without a comma;
    - `<vendor>` and `<feature>` only with a `<model>` (features also work
      with the host modes);
    - no `<feature name>` twice;
    - one `<cache>`, with `level` 1 to 3;
    - `<maxphysaddr limit>` only with `mode='passthrough'`;
    - `check` only with a model, in custom mode.

    ## Why is this bad?
    libvirt refuses the definition with, respectively: "Attribute migratable
    is only allowed for 'host-passthrough' / 'maximum' CPU mode", "vendor_id
    must be exactly 12 characters long", "vendor id is invalid", "CPU vendor
    specified without CPU model", "Non-empty feature list specified without
    CPU model", "CPU feature '%s' specified more than once", "at most one CPU
    cache element may be specified", "invalid CPU cache level, must be in
    range [1,3]", "attribute 'limit' is only supported for maxphysaddr mode
    'passthrough'" and "check attribute specified for CPU with no model".
    Some of these also fail libvirt's schema (`virsh define --validate`).

    ## Example
    ```xml
    <cpu mode='host-model' migratable='on'>
      <feature policy='require' name='vmx'/>
      <feature policy='disable' name='vmx'/>
    </cpu>
    ```

    ## Use instead
    ```xml
    <cpu mode='host-passthrough' migratable='on'>
      <feature policy='require' name='vmx'/>
    </cpu>
    ```

    ## Fix safety
    No fix: which of two conflicting settings was meant is the author's call.

    ## Source
    libvirt src/conf/cpu_conf.c (`virCPUDefParseXML`, `virCPUDefParseXMLCache`),
    src/conf/domain_postparse.c (`virDomainDefPostParseCPU`); formatdomain
    "CPU model and topology".
    """
    cpu = ctx.facts.cpu
    if cpu is None:
        return
    element = cpu.element
    if element.get("migratable") in ("on", "off") and cpu.mode not in HOST_CPU_MODES:
        yield ctx.finding(
            element,
            f"migratable with mode '{cpu.mode}': Attribute migratable is only allowed for "
            "'host-passthrough' / 'maximum' CPU mode",
            attribute="migratable",
        )
    model = cpu.model_element
    vendor_id = None if model is None else model.get("vendor_id")
    if vendor_id is not None and cpu.mode not in HOST_CPU_MODES:
        if len(vendor_id) != VENDOR_ID_LENGTH:
            yield ctx.finding(
                model,  # type: ignore[arg-type]  # vendor_id came from it
                f"vendor_id '{vendor_id}' has {len(vendor_id)} characters: vendor_id must be "
                f"exactly {VENDOR_ID_LENGTH} characters long",
                attribute="vendor_id",
            )
        elif "," in vendor_id:
            yield ctx.finding(
                model,  # type: ignore[arg-type]
                f"vendor_id '{vendor_id}' holds a comma, which QEMU's -cpu option cannot take: "
                "vendor id is invalid",
                attribute="vendor_id",
            )
    if cpu.vendor and not cpu.has_model:
        vendor = child(element, "vendor")
        yield ctx.finding(
            vendor if vendor is not None else element,
            f"<vendor>{cpu.vendor}</vendor> without <model>: CPU vendor specified without CPU "
            "model",
        )
    if cpu.features and not cpu.has_model and cpu.mode == "custom":
        yield ctx.finding(
            cpu.features[0].element,
            "<feature> in a custom-mode <cpu> without <model>: Non-empty feature list specified "
            "without CPU model",
        )
    seen: set[str] = set()
    for feature in cpu.features:
        if not feature.name:
            continue
        if feature.name in seen:
            yield ctx.finding(
                feature.element,
                f"CPU feature '{feature.name}' specified more than once",
                attribute="name",
            )
        seen.add(feature.name)
    yield from _cache(ctx, cpu)
    addr = cpu.maxphysaddr
    if addr is not None and addr.element.get("limit") is not None and addr.mode != "passthrough":
        yield ctx.finding(
            addr.element,
            "attribute 'limit' is only supported for maxphysaddr mode 'passthrough'",
            attribute="limit",
        )
    if cpu.mode == "custom" and not cpu.has_model and cpu.check in CHECK_VALUES:
        yield ctx.finding(
            element,
            f"check='{cpu.check}' without <model>: check attribute specified for CPU with no model",
            attribute="check",
        )


def _cache(ctx: RuleContext, cpu) -> Iterator[Finding]:
    if len(cpu.caches) > 1:
        yield ctx.finding(cpu.caches[1], "at most one CPU cache element may be specified")
        return
    if not cpu.caches:
        return
    level = cpu.caches[0].get("level")
    if level is not None and level.strip() not in ("1", "2", "3"):
        yield ctx.finding(
            cpu.caches[0],
            f"level='{level}': invalid CPU cache level, must be in range [1,3]",
            attribute="level",
        )


@rule(
    code="DX146",
    name="vcpus-hotplug-invalid",
    severity="error",
    summary="<vcpus> states libvirt refuses: vCPU 0 offline, hotpluggable or not first, "
    "offline and not hotpluggable, or an inconsistent order",
    triggers=("vcpus",),
    libvirt=(
        "virDomainVcpuDefPostParse",
        "qemuDomainDefVcpusPostParse",
        "qemuProcessValidateHotpluggableVcpus",
    ),
)
def vcpus_hotplug_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the per-vCPU states of `<vcpus><vcpu id enabled hotpluggable
    order>`, which decide which vCPUs QEMU starts with and in which order
    libvirt hotplugs the rest:

    - a vCPU that is offline (`enabled='no'`) must be hotpluggable;
    - for QEMU guests, vCPU 0 must be online, not hotpluggable, and first
      (`order='1'` or none);
    - either every online vCPU has an `order` or none has;
    - online non-hotpluggable vCPUs come before hotpluggable ones, in
      ascending order;
    - on x86, where each vCPU is hotplugged alone, two vCPUs may not share an
      `order`, and no `order` may exceed the vCPU count.

    ## Why is this bad?
    libvirt refuses the definition (the last two when the guest starts):
    "vcpu '%zu' is both offline and not hotpluggable", "vcpu 0 can't be
    offline", "vcpu0 can't be hotpluggable", "vcpu0 must be enabled first",
    "all vcpus must have either set or unset order", "online
    non-hotpluggable vcpus need to be ordered prior to hotplugable vcpus",
    "online non-hotpluggable vcpus must be ordered in ascending order",
    "duplicate vcpu order '%u'", "vcpu order '%u' exceeds vcpu count".

    ## Example
    ```xml
    <vcpu placement='static'>2</vcpu>
    <vcpus>
      <vcpu id='0' enabled='yes' hotpluggable='yes'/>
      <vcpu id='1' enabled='no' hotpluggable='no'/>
    </vcpus>
    ```

    ## Use instead
    ```xml
    <vcpus>
      <vcpu id='0' enabled='yes' hotpluggable='no'/>
      <vcpu id='1' enabled='no' hotpluggable='yes'/>
    </vcpus>
    ```

    ## Fix safety
    No fix: which vCPUs start online is the author's choice.

    ## Source
    libvirt src/conf/domain_postparse.c (`virDomainVcpuDefPostParse`),
    src/qemu/qemu_domain.c (`qemuDomainDefVcpusPostParse`, which runs before
    libvirt fills in the default `hotpluggable`), src/qemu/qemu_process.c
    (`qemuProcessValidateHotpluggableVcpus`); formatdomain "CPU Allocation".
    """
    facts = ctx.facts
    states = facts.vcpu_states
    if states is None or not facts.vcpu_entries:
        return
    for state in states:
        if state.entry is not None and not state.online and state.hotpluggable is False:
            yield ctx.finding(
                state.entry.element,
                f"vcpu '{state.id}' is both offline and not hotpluggable",
                attribute="hotpluggable",
            )
    if facts.driver != "qemu" or not states:
        return
    yield from _qemu_vcpu_order(ctx, states)
    if facts.is_x86 and any(s.online and s.hotpluggable for s in states):
        yield from _unique_orders(ctx, states)


def _qemu_vcpu_order(ctx: RuleContext, states) -> Iterator[Finding]:
    first = states[0]
    anchor = first.entry.element if first.entry is not None else ctx.facts.top("vcpus")
    assert anchor is not None  # vcpu_entries is not empty
    if not first.online:
        yield ctx.finding(anchor, "vcpu 0 can't be offline")
        return
    if first.hotpluggable:
        yield ctx.finding(anchor, "vcpu0 can't be hotpluggable", attribute="hotpluggable")
        return
    if first.order not in (0, 1):
        yield ctx.finding(
            anchor,
            f"order='{first.order}': vcpu0 must be enabled first",
            attribute="order",
        )
        return
    has_order = first.order != 0
    previous = first
    for state in states[1:]:
        element = state.entry.element if state.entry is not None else anchor
        if state.online and (state.order != 0) != has_order:
            yield ctx.finding(
                element,
                f"vcpu {state.id} {'lacks' if has_order else 'has'} an order while vcpu 0 "
                f"{'has one' if has_order else 'has none'}: all vcpus must have either set or "
                "unset order",
            )
            return
        if state.hotpluggable is False:
            if previous.hotpluggable:
                yield ctx.finding(
                    element,
                    f"vcpu {state.id} follows hotpluggable vcpu {previous.id}: online "
                    "non-hotpluggable vcpus need to be ordered prior to hotplugable vcpus",
                )
                return
            if previous.order > state.order:
                yield ctx.finding(
                    element,
                    f"vcpu {state.id} has order {state.order}, below vcpu {previous.id}'s "
                    f"{previous.order}: online non-hotpluggable vcpus must be ordered in "
                    "ascending order",
                    attribute="order",
                )
                return
        previous = state


def _unique_orders(ctx: RuleContext, states) -> Iterator[Finding]:
    maximum = len(states)
    seen: set[int] = set()
    for state in states:
        if not state.order or state.entry is None:
            continue
        element = state.entry.element
        if state.order in seen:
            yield ctx.finding(element, f"duplicate vcpu order '{state.order}'", attribute="order")
            return
        if state.order > maximum:
            yield ctx.finding(
                element,
                f"vcpu order '{state.order}' exceeds vcpu count ({maximum})",
                attribute="order",
            )
            return
        seen.add(state.order)


@rule(
    code="DX147",
    name="cpu-maxphysaddr-invalid",
    severity="error",
    summary="<cpu><maxphysaddr> on a non-x86 guest, or bits with mode='passthrough'",
    triggers=("maxphysaddr",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDefCpu",),
)
def cpu_maxphysaddr_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<cpu><maxphysaddr>` for QEMU guests: it is an x86 setting, and
    `bits` goes with `mode='emulate'` only (`mode='passthrough'` takes the
    host's width, optionally capped by `limit`).

    ## Why is this bad?
    libvirt's QEMU driver refuses the definition: "CPU maximum physical
    address bits specification is not supported for '%s' architecture", "CPU
    maximum physical address bits number specification cannot be used with
    mode='passthrough'".

    ## Example
    ```xml
    <cpu mode='host-passthrough'>
      <maxphysaddr mode='passthrough' bits='42'/>
    </cpu>
    ```

    ## Use instead
    ```xml
    <cpu mode='host-passthrough'>
      <maxphysaddr mode='emulate' bits='42'/>
    </cpu>
    ```

    ## Fix safety
    No fix: whether the guest should see the host's width or a fixed one is
    the author's choice.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefCpu`);
    formatdomain "CPU model and topology" (`maxphysaddr`).
    """
    facts = ctx.facts
    cpu = facts.cpu
    if cpu is None or cpu.maxphysaddr is None:
        return
    addr = cpu.maxphysaddr
    if facts.arch is not None and not facts.is_x86:
        yield ctx.finding(
            addr.element,
            "CPU maximum physical address bits specification is not supported for "
            f"'{facts.arch}' architecture",
        )
    elif addr.mode == "passthrough" and addr.element.get("bits") is not None:
        yield ctx.finding(
            addr.element,
            "CPU maximum physical address bits number specification cannot be used with "
            "mode='passthrough'",
            attribute="bits",
        )
