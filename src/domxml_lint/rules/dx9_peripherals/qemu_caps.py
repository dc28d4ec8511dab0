"""DX928, DX939, DX946-DX949: peripherals whose QEMU device or option the guest's QEMU lacks.

Each check is libvirt's ``!virQEMUCapsGet(qemuCaps, FLAG)``, answered by
``ctx.qemu_lacks`` (:mod:`domxml_lint.qemu_support`): exactly from the host
snapshot's QEMU capabilities cache, else from the QEMU version and the guest's
architecture where they decide it. Unknown answers leave the check silent with
a ``-v`` note. None of these rules needs a snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.peripherals import SERIAL_MODEL_TARGET_TYPE
from ...facts.values import child
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule
from .chardev_target import _serial_compatible

#: ``qemuChrSerialTargetModelToCaps``: serial target model -> the flag of its device.
SERIAL_MODEL_FLAGS = {
    "isa-serial": "isa-serial",
    "usb-serial": "usb-serial",
    "pci-serial": "pci-serial",
    "spapr-vty": "spapr-vty",
    "sclpconsole": "s390-sclp",
    "sclplmconsole": "sclplmconsole",
    "pl011": "pl011",
}
#: ``qemuValidateDomainDefConsole``: console target type -> (flag, libvirt's name for it).
CONSOLE_TARGET_FLAGS = {"sclp": ("s390-sclp", "sclpconsole"), "sclplm": ("sclplmconsole",) * 2}


def _because(message: str, why: str) -> str:
    return f"{message}: {why}"


@rule(
    code="DX928",
    name="chardev-unsupported-by-qemu",
    severity="error",
    summary="A console, serial device or chardev backend the guest's QEMU does not have",
    triggers=("serial", "console", "channel", "parallel"),
    domains=QEMU,
    libvirt=(
        "qemuValidateDomainDefConsole",
        "qemuValidateDomainChrSourceDef",
        "qemuBuildSerialCommandLine",
        "qemuBuildSerialChrDeviceProps",
    ),
)
def chardev_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks character devices against what the guest's QEMU has: an `sclp` or
    `sclplm` console needs QEMU's `sclpconsole`/`sclplmconsole` device (s390
    only); a `qemu-vdagent` chardev needs QEMU 6.1 or later built with
    spice-protocol; a serial port's target model (written, or the one libvirt
    derives from its target type: `isa-serial`, `usb-serial`, `pci-serial`,
    `spapr-vty`, `pl011`, the SCLP consoles) needs its device.

    The answer comes from the host snapshot's QEMU capabilities (libvirt's
    cache, see the README's "Host snapshots"), else from `qemu-version` and
    the guest's architecture: an x86 QEMU never has the SCLP consoles, QEMU 6.0
    no `qemu-vdagent`. A device that a QEMU build may leave out is only
    reported from a snapshot; without one the rule stays silent (`-v` says
    why). A serial model the guest's machine cannot have at all is
    serial-target-incompatible-machine's (DX922).

    ## Why is this bad?
    libvirt refuses the definition, or the start: "sclpconsole is not
    supported in this QEMU binary", "chardev 'qemu-vdagent' not supported in
    this QEMU binary", "'usb-serial' is not supported in this QEMU binary".

    ## Example
    ```xml
    <os><type arch='x86_64' machine='q35'>hvm</type></os>
    <console type='pty'>
      <target type='sclp'/>
    </console>
    ```

    ## Use instead
    ```xml
    <console type='pty'>
      <target type='serial'/>
    </console>
    ```

    ## Fix safety
    No fix: which console or port the guest gets is yours to choose.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDefConsole`,
    `qemuValidateDomainChrSourceDef`), src/qemu/qemu_command.c
    (`qemuBuildSerialCommandLine`, `qemuBuildSerialChrDeviceProps`);
    formatdomain "Consoles, serial, parallel & channel devices".
    """
    facts = ctx.facts
    for chardev in facts.chardevs:
        where = chardev.target if chardev.target is not None else chardev.element
        if chardev.device == "console" and chardev.target_type in CONSOLE_TARGET_FLAGS:
            flag, device = CONSOLE_TARGET_FLAGS[chardev.target_type]
            why = ctx.qemu_lacks(flag)
            if why:
                message = f"{device} is not supported in this QEMU binary"
                yield ctx.finding(where, _because(message, why))
        if chardev.source.type == "qemu-vdagent":
            why = ctx.qemu_lacks("chardev.qemu-vdagent")
            if why:
                message = "chardev 'qemu-vdagent' not supported in this QEMU binary"
                yield ctx.finding(chardev.element, _because(message, why), attribute="type")
        if chardev.device != "serial" or chardev.target_model not in SERIAL_MODEL_FLAGS:
            continue
        model = chardev.target_model
        if SERIAL_MODEL_TARGET_TYPE.get(model) != chardev.target_type:
            continue  # serial-target-address-mismatch (DX921) reports it first
        if (facts.machine or facts.is_x86) and not _serial_compatible(facts, chardev):
            continue  # serial-target-incompatible-machine (DX922) reports it first
        why = ctx.qemu_lacks(SERIAL_MODEL_FLAGS[model])
        if why:
            message = f"'{model}' is not supported in this QEMU binary"
            yield ctx.finding(where, _because(message, why))


@rule(
    code="DX939",
    name="graphics-option-unsupported-by-qemu",
    severity="error",
    summary="SPICE or egl-headless OpenGL, or VNC power control, the guest's QEMU does not have",
    triggers=("graphics",),
    domains=QEMU,
    libvirt=(
        "qemuValidateDomainDeviceDefSPICEGraphics",
        "qemuValidateDomainDeviceDefVNCGraphics",
        "qemuValidateDomainDeviceDefGraphics",
    ),
)
def graphics_option_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks display options that need something of QEMU: SPICE
    `<gl enable='yes'>` needs QEMU built with SPICE and OpenGL, a SPICE
    `<gl rendernode>` QEMU's SPICE render node option, an egl-headless
    `<gl rendernode>` QEMU built with OpenGL, and VNC `powerControl='yes'`
    QEMU 6.0 or later.

    The answer comes from the host snapshot's QEMU capabilities, else from
    `qemu-version` (VNC power control only: the OpenGL options depend on how
    QEMU was built, which only a snapshot can say; `-v` notes why the rule
    stayed silent).

    ## Why is this bad?
    libvirt refuses the definition: "This QEMU doesn't support spice
    OpenGL", "This QEMU doesn't support spice OpenGL rendernode", "This QEMU
    doesn't support OpenGL rendernode with egl-headless graphics type", "VNC
    power control is not available".

    ## Example
    ```xml
    <graphics type='vnc' powerControl='yes'/>
    ```
    with `qemu-version = "5.2"` in the configuration.

    ## Use instead
    ```xml
    <graphics type='vnc'/>
    ```

    ## Fix safety
    No fix: dropping the option changes what the display offers.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefSPICEGraphics`,
    `qemuValidateDomainDeviceDefVNCGraphics`, `qemuValidateDomainDeviceDefGraphics`);
    formatdomain "Graphical framebuffers".
    """
    for graphics in ctx.facts.graphics:
        gl = graphics.gl
        if graphics.type == "spice" and graphics.gl_enabled:
            assert gl is not None
            why = ctx.qemu_lacks("spice-gl")
            if why:
                message = "This QEMU doesn't support spice OpenGL"
                yield ctx.finding(gl, _because(message, why), attribute="enable")
            elif gl.get("rendernode") and (why := ctx.qemu_lacks("spice-rendernode")):
                message = "This QEMU doesn't support spice OpenGL rendernode"
                yield ctx.finding(gl, _because(message, why), attribute="rendernode")
        elif graphics.type == "vnc" and graphics.attr("powerControl") == "yes":
            why = ctx.qemu_lacks("vnc-power-control")
            if why:
                message = "VNC power control is not available"
                yield ctx.finding(
                    graphics.element, _because(message, why), attribute="powerControl"
                )
        elif graphics.type == "egl-headless" and gl is not None and gl.get("rendernode"):
            why = ctx.qemu_lacks("egl-headless.rendernode")
            if why:
                message = (
                    "This QEMU doesn't support OpenGL rendernode with egl-headless graphics type"
                )
                yield ctx.finding(gl, _because(message, why), attribute="rendernode")


@rule(
    code="DX946",
    name="video-option-unsupported-by-qemu",
    severity="error",
    summary="A vhost-user GPU, 3D acceleration or virtio-gpu blob the guest's QEMU does not have",
    triggers=("video",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefVideo",),
)
def video_option_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `virtio` video devices against the guest's QEMU: a
    `<driver name='vhostuser'>` backend needs the vhost-user-gpu device,
    `<acceleration accel3d='yes'>` a QEMU built with virglrenderer (the
    `virtio-gpu-gl-pci` or `virtio-vga-gl` device, or virtio-gpu's `virgl`
    property before QEMU 6.1), and `blob='on'` QEMU 6.1 or later.

    The answer comes from the host snapshot's QEMU capabilities, else from
    `qemu-version` (`blob` only: the others depend on how QEMU was built).

    ## Why is this bad?
    libvirt refuses the definition: "this QEMU does not support 'vhost-user'
    video device", "3d acceleration is not supported by this QEMU binary",
    "this QEMU does not support 'blob' for virtio-gpu devices".

    ## Example
    ```xml
    <video>
      <model type='virtio' blob='on'/>
    </video>
    ```
    with `qemu-version = "6.0"` in the configuration.

    ## Use instead
    ```xml
    <video>
      <model type='virtio'/>
    </video>
    ```

    ## Fix safety
    No fix: what the GPU offers the guest is yours to choose.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefVideo`);
    formatdomain "Video devices".
    """
    for video in ctx.facts.videos:
        if video.type != "virtio":
            continue
        accel = video.acceleration
        if video.backend == "vhostuser":
            why = ctx.qemu_lacks("vhost-user-gpu")
            if why:
                message = "this QEMU does not support 'vhost-user' video device"
                where = child(video.element, "driver")
                yield ctx.finding(where if where is not None else video.element,
                                  _because(message, why))  # fmt: skip
        elif accel is not None and accel.get("accel3d") == "yes":
            why = ctx.qemu_lacks("virtio-gpu.virgl", "virtio-gpu-gl-pci", "virtio-vga-gl")
            if why:
                message = "3d acceleration is not supported by this QEMU binary"
                yield ctx.finding(accel, _because(message, why), attribute="accel3d")
        if video.blob == "on":
            why = ctx.qemu_lacks("virtio-gpu.blob")
            if why:
                message = "this QEMU does not support 'blob' for virtio-gpu devices"
                assert video.model is not None
                yield ctx.finding(video.model, _because(message, why), attribute="blob")


#: ``qemuValidateDomainDeviceDefInput``: virtio input type -> (device, flag, CCW flag).
VIRTIO_INPUT_DEVICES = {
    "mouse": ("virtio-mouse", "virtio-mouse", "virtio-mouse-ccw"),
    "tablet": ("virtio-tablet", "virtio-tablet", "virtio-tablet-ccw"),
    "keyboard": ("virtio-keyboard", "virtio-keyboard", "virtio-keyboard-ccw"),
    "passthrough": ("virtio-input-host", "virtio-input-host", None),
}


@rule(
    code="DX947",
    name="input-device-unsupported-by-qemu",
    severity="error",
    summary="A USB keyboard or virtio input device the guest's QEMU does not have",
    triggers=("input",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefInput",),
)
def input_device_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks input devices against the guest's QEMU: a USB keyboard needs the
    `usb-kbd` device; a virtio mouse, tablet, keyboard or passthrough device
    needs `virtio-mouse`, `virtio-tablet`, `virtio-keyboard` or
    `virtio-input-host`, or, on a CCW address (the default on s390), their
    `-ccw` variants (passthrough has none).

    The answer comes from the host snapshot's QEMU capabilities; these are
    devices a QEMU build may leave out, which only a snapshot can say (the
    rule stays silent otherwise, and `-v` says why). A CCW address off s390
    is ccw-address-machine's (DX686).

    ## Why is this bad?
    libvirt refuses the definition: "usb keyboard is not supported by this
    QEMU binary", "virtio-tablet is not supported by this QEMU binary".

    ## Example
    ```xml
    <input type='passthrough' bus='virtio'>
      <source evdev='/dev/input/event1'/>
    </input>
    ```
    on a host whose QEMU was built without virtio-input-host.

    ## Use instead
    ```xml
    <input type='tablet' bus='usb'/>
    ```

    ## Fix safety
    No fix: the input device is guest-visible hardware.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefInput`);
    formatdomain "Input devices".
    """
    facts = ctx.facts
    ccw_default = facts.is_s390
    for device in facts.inputs:
        if device.effective_bus == "usb" and device.type == "keyboard":
            why = ctx.qemu_lacks("usb-kbd")
            if why:
                message = "usb keyboard is not supported by this QEMU binary"
                yield ctx.finding(device.element, _because(message, why))
            continue
        if device.effective_bus != "virtio" or device.type not in VIRTIO_INPUT_DEVICES:
            continue
        if device.model in ("virtio-transitional", "virtio-non-transitional"):
            if device.type != "passthrough":
                continue  # input-virtio-transitional (DX953) reports it first
        name, flag, ccw_flag = VIRTIO_INPUT_DEVICES[device.type]
        address_type = None if device.address is None else device.address.get("type")
        if address_type == "ccw" and not facts.is_s390:
            continue  # ccw-address-machine (DX686) refuses the address first
        if address_type == "ccw" or (address_type is None and ccw_default):
            why = ctx.qemu_lacks(ccw_flag) if ccw_flag else f"QEMU has no CCW variant of {name}"
        else:
            why = ctx.qemu_lacks(flag)
        if why:
            message = f"{name} is not supported by this QEMU binary"
            yield ctx.finding(device.element, _because(message, why), attribute="bus")


@rule(
    code="DX948",
    name="audio-dbus-unsupported-by-qemu",
    severity="error",
    summary="A D-Bus audio backend in a guest whose QEMU has no D-Bus display",
    triggers=("audio",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefAudio",),
)
def audio_dbus_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<audio type='dbus'>` when the guest's QEMU has no D-Bus display
    (QEMU 7.0 and later, built with GIO's D-Bus support).

    The answer comes from the host snapshot's QEMU capabilities, else from
    `qemu-version` (only a QEMU older than 7.0 is certain to lack it).

    ## Why is this bad?
    libvirt refuses the definition: "D-Bus audio is not supported with this
    QEMU".

    ## Example
    ```xml
    <audio id='1' type='dbus'/>
    ```
    with `qemu-version = "6.2"` in the configuration.

    ## Use instead
    ```xml
    <audio id='1' type='spice'/>
    ```
    with SPICE graphics, or `pulseaudio`, `pipewire` ...

    ## Fix safety
    No fix: where the guest's sound goes is yours to choose.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefAudio`);
    formatdomain "Audio backends".
    """
    for audio in ctx.facts.audios:
        if audio.type == "dbus" and (why := ctx.qemu_lacks("display-dbus")):
            message = "D-Bus audio is not supported with this QEMU"
            yield ctx.finding(audio.element, _because(message, why), attribute="type")


@rule(
    code="DX949",
    name="shmem-model-unsupported-by-qemu",
    severity="error",
    summary="An ivshmem-plain or ivshmem-doorbell shared memory device the guest's QEMU lacks",
    triggers=("shmem",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefShmem",),
)
def shmem_model_unsupported_by_qemu(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<shmem>` devices against the guest's QEMU: the `ivshmem-plain`
    model (libvirt's default) needs QEMU's ivshmem-plain device,
    `ivshmem-doorbell` the ivshmem-doorbell device. Both are Linux-only; only a host snapshot's
    QEMU capabilities can say a QEMU lacks them.

    ## Why is this bad?
    libvirt refuses the definition: "shmem model 'ivshmem-plain' is not
    supported by this QEMU binary".

    ## Example
    ```xml
    <shmem name='shared'>
      <model type='ivshmem-plain'/>
      <size unit='M'>4</size>
    </shmem>
    ```
    on a host whose QEMU was built without ivshmem.

    ## Use instead
    A QEMU with ivshmem, or no `<shmem>` device.

    ## Fix safety
    No fix: the shared memory device is guest-visible hardware.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefShmem`),
    formatdomain "Shared memory device".
    """
    for shmem in ctx.facts.shmems:
        model = shmem.model or "ivshmem-plain"  # the parser's default
        if model not in ("ivshmem-plain", "ivshmem-doorbell"):
            continue
        why = ctx.qemu_lacks(model)
        if why:
            message = f"shmem model '{model}' is not supported by this QEMU binary"
            where = child(shmem.element, "model")
            yield ctx.finding(where if where is not None else shmem.element,
                              _because(message, why))  # fmt: skip
