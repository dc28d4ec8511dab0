"""DX601-DX602: devices a tuned guest rarely needs (guide 3.1.2)."""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Finding
from ...rule import QEMU, RuleContext, rule


@rule(
    code="DX601",
    name="device-sound-present",
    severity="info",
    summary="A <sound> device (remove unused devices)",
    fix="unsafe",
    default=False,
    triggers=("sound",),
    domains=QEMU,
)
def device_sound_present(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<sound>` devices. Opt-in: desktops need them, servers rarely do.

    ## Why is this bad?
    Every emulated device costs QEMU work (timers, interrupts, a device model
    in user space) and adds attack surface. The guide's first step in tuning
    a guest is to remove devices it does not use, and names audio in a web
    server as the example.

    ## Example
    ```xml
    <sound model='ich9'/>
    ```

    ## Use instead
    Remove the `<sound>` element.

    ## Fix safety
    Unsafe: it removes guest-visible hardware; a guest that plays sound loses
    it. The `<audio>` backend element, if any, is kept (graphics may use it).

    ## Source
    Guide 3.1.2 (删除未使用的设备): "作为 Web 服务器的客户机不大需要音频功能或附加表格".
    """
    for sound in ctx.facts.device_elements("sound"):
        model = sound.get("model", "?")
        yield ctx.finding(
            sound,
            f"sound device '{model}': remove devices the guest does not use",
            fix=ctx.unsafe_fix("Remove the <sound> device", ctx.edit.remove_element(sound)),
        )


@rule(
    code="DX602",
    name="device-tablet-present",
    severity="info",
    summary="An <input type='tablet'> on a guest without a graphical console (unused device)",
    fix="unsafe",
    default=False,
    triggers=("input",),
    domains=QEMU,
)
def device_tablet_present(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<input type='tablet'>` devices on guests without a graphical
    console (no `<graphics>`). A guest with a VNC or SPICE console keeps its
    tablet: that is what the tablet is for. Opt-in.

    ## Why is this bad?
    A USB tablet exists to give a graphical console absolute pointer
    positions. On a server it is one more emulated device: on USB it keeps
    the emulated USB controller polling, which costs host CPU even when the
    guest is idle. The guide's first tuning step is to remove devices the
    guest does not use.

    ## Example
    ```xml
    <input type='tablet' bus='usb'/>
    ```

    ## Use instead
    Remove the `<input type='tablet'>` element.

    ## Fix safety
    Unsafe: it removes guest-visible hardware; the mouse pointer in a VNC or
    SPICE console may then lag or be offset.

    ## Source
    Guide 3.1.2 (删除未使用的设备): "作为 Web 服务器的客户机不大需要音频功能或附加表格" (a
    tablet is the "附加表格" of the translation).
    """
    if ctx.facts.device_elements("graphics"):
        return  # a graphical console is what a tablet serves
    for device in ctx.facts.device_elements("input"):
        if device.get("type") != "tablet":
            continue
        bus = device.get("bus")
        on_bus = f" on {bus}" if bus else ""
        yield ctx.finding(
            device,
            f"tablet input device{on_bus} on a guest without a graphical console (no "
            "<graphics>): nothing uses it; remove it",
            fix=ctx.unsafe_fix("Remove the tablet device", ctx.edit.remove_element(device)),
        )
