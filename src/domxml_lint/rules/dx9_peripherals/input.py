"""DX951-DX954: ``<input>`` devices libvirt or QEMU refuse."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.peripherals import VIRTIO_INPUT_MODELS, Input
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


def _bus_problem(facts, item: Input) -> tuple[str, str | None] | None:
    """The first of libvirt's bus checks the input fails, with the attribute it concerns."""
    kind, bus = item.type, item.bus
    address = item.address
    if bus == "usb" and address is not None and address.get("type") not in (None, "usb"):
        return "Invalid address for a USB device", None
    hvm = facts.os_type is not None and (facts.os_type.text or "").strip() == "hvm"
    if hvm and bus == "ps2" and kind not in ("mouse", "keyboard"):
        return f"ps2 bus does not support {kind} input device", "bus"
    if hvm and bus == "xen":
        return "unsupported input bus xen", "bus"
    effective = item.effective_bus
    if kind == "passthrough" and effective is not None and effective != "virtio":
        return "only bus 'virtio' is supported for 'passthrough' input devices", "bus"
    if kind == "evdev" and bus is not None:
        return "input evdev doesn't support bus element", "bus"
    if item.model in VIRTIO_INPUT_MODELS and effective is not None and effective != "virtio":
        return f"only bus 'virtio' is supported for input model '{item.model}'", "model"
    if bus == "ps2" and facts.feature_state("ps2") == "off":
        return "ps2 bus inputs require the ps2 feature not to be disabled", "bus"
    return None


@rule(
    code="DX951",
    name="input-bus-invalid",
    severity="error",
    summary="An input device on a bus that cannot carry it",
    triggers=("input",),
    libvirt=("virDomainInputDefParseXML", "virDomainInputDefValidate"),
)
def input_bus_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the bus of each `<input>` (as written, or libvirt's default: PS/2
    for an x86 mouse or keyboard, virtio for passthrough and on s390, USB
    otherwise): a USB input needs a USB address; the PS/2 bus carries only a
    mouse and a keyboard, and not when `<features><ps2 state='off'/>`; an HVM
    guest has no Xen input bus; `passthrough` inputs and the virtio input
    models need the virtio bus; `evdev` inputs take no bus at all.

    ## Why is this bad?
    libvirt refuses the definition: "Invalid address for a USB device", "ps2
    bus does not support tablet input device", "unsupported input bus xen",
    "only bus 'virtio' is supported for 'passthrough' input devices", "input
    evdev doesn't support bus element", "only bus 'virtio' is supported for
    input model 'virtio'", "ps2 bus inputs require the ps2 feature not to be
    disabled".

    ## Example
    ```xml
    <input type='tablet' bus='ps2'/>
    ```

    ## Use instead
    ```xml
    <input type='tablet' bus='usb'/>
    ```

    ## Fix safety
    No fix: the bus is guest-visible hardware.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainInputDefParseXML`),
    src/conf/domain_validate.c (`virDomainInputDefValidate`),
    src/conf/domain_postparse.c (`virDomainInputDefPostParse`: the defaults).
    """
    facts = ctx.facts
    for item in facts.inputs:
        problem = _bus_problem(facts, item)
        if problem is None:
            continue
        message, attribute = problem
        if attribute is not None and item.element.get(attribute) is None:
            attribute = None
        yield ctx.finding(item.element, message, attribute=attribute)


@rule(
    code="DX952",
    name="input-evdev-source-invalid",
    severity="error",
    summary="A <source evdev> on a mouse, tablet or keyboard input",
    triggers=("input",),
    libvirt=("virDomainInputDefValidate",),
)
def input_evdev_source_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<input type='mouse|tablet|keyboard'>` with a `<source evdev=...>`.

    ## Why is this bad?
    Only `passthrough` inputs forward a host event device (`evdev` inputs
    name theirs with `<source dev>`). libvirt refuses the definition:
    "setting source evdev path only supported for passthrough input devices".

    ## Example
    ```xml
    <input type='keyboard' bus='virtio'>
      <source evdev='/dev/input/event1'/>
    </input>
    ```

    ## Use instead
    ```xml
    <input type='passthrough' bus='virtio'>
      <source evdev='/dev/input/event1'/>
    </input>
    ```

    ## Fix safety
    No fix: whether you meant passthrough is yours to say.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainInputDefValidate`).
    """
    for item in ctx.facts.inputs:
        if item.type in ("mouse", "tablet", "keyboard") and item.source is not None:
            if item.source.get("evdev") is not None:
                yield ctx.finding(
                    item.source,
                    "setting source evdev path only supported for passthrough input devices",
                    attribute="evdev",
                )


@rule(
    code="DX953",
    name="input-virtio-transitional",
    severity="error",
    summary="A virtio input with model virtio-transitional or virtio-non-transitional",
    fix="safe",
    triggers=("input",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefInput",),
)
def input_virtio_transitional(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds virtio `<input>` devices whose `model` is `virtio-transitional` or
    `virtio-non-transitional`.

    ## Why is this bad?
    QEMU's virtio input devices are virtio 1.0 only; they have no
    transitional variants. libvirt refuses the definition: "virtio
    (non-)transitional models are not supported for input type=keyboard".

    ## Example
    ```xml
    <input type='keyboard' bus='virtio' model='virtio-transitional'/>
    ```

    ## Use instead
    ```xml
    <input type='keyboard' bus='virtio' model='virtio'/>
    ```

    ## Fix safety
    Safe: the model becomes `virtio`, the only one QEMU has for virtio
    inputs; libvirt refuses the definition as written.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefInput`).
    """
    for item in ctx.facts.inputs:
        if item.effective_bus != "virtio":
            continue
        if item.model in ("virtio-transitional", "virtio-non-transitional"):
            yield ctx.finding(
                item.element,
                f"virtio (non-)transitional models are not supported for input type={item.type}",
                attribute="model",
                fix=ctx.safe_fix(
                    "Use model='virtio'", ctx.edit.set_attribute(item.element, "model", "virtio")
                ),
            )


@rule(
    code="DX954",
    name="input-ps2-unsupported-machine",
    severity="error",
    summary="A PS/2 input on a machine type without a PS/2 (i8042) controller",
    triggers=("input",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefInput",),
)
def input_ps2_unsupported_machine(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<input bus='ps2'>` in guests whose machine type has no i8042
    (PS/2) controller: every machine but the PC ones (`pc`/i440fx, `q35`,
    `isapc`, `xenfv`), e.g. x86 `microvm`, ARM `virt`, pSeries, s390.
    Guests that do not name their machine are skipped.

    ## Why is this bad?
    libvirt refuses the definition: "ps2 is not supported by this QEMU
    binary".

    ## Example
    ```xml
    <os><type arch='aarch64' machine='virt'>hvm</type></os>
    ...
    <input type='keyboard' bus='ps2'/>
    ```

    ## Use instead
    ```xml
    <input type='keyboard' bus='virtio'/>
    ```

    ## Fix safety
    No fix: the input bus is guest-visible.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefInput`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsSupportsI8042`: the machines
    with an i8042).
    """
    facts = ctx.facts
    if facts.has_i8042 is not False:
        return
    for item in facts.inputs:
        if item.bus == "ps2":
            yield ctx.finding(
                item.element,
                f"machine '{facts.machine}' has no PS/2 controller: ps2 is not supported by "
                "this QEMU binary",
                attribute="bus",
            )
