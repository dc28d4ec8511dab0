"""DX940-DX945: ``<video>`` devices libvirt or QEMU refuse."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.peripherals import Video
from ...findings import Finding
from ...rule import QEMU, HostPart, RuleContext, rule

#: Video models QEMU can add as a secondary display.
SECONDARY_TYPES = frozenset({"qxl", "virtio"})
#: Video models whose resolution QEMU can set.
RESOLUTION_TYPES = frozenset({"vga", "qxl", "virtio", "bochs"})
#: ``UINT_MAX / 1024``: qxl sizes are passed to QEMU in bytes as 32-bit values.
QXL_SIZE_LIMIT = (2**32 - 1) // 1024


def _round_up_power_of_two(value: int) -> int:
    """``VIR_ROUND_UP_POWER_OF_TWO``, which libvirt applies to ram and vram after parsing."""
    return 1 << (value - 1).bit_length() if value > 0 else 0


def _where(video: Video):
    return video.model if video.model is not None else video.element


@rule(
    code="DX940",
    name="video-primary-invalid",
    severity="error",
    summary="Two primary videos, a 'none' video beside others, or a secondary video "
    "that can only be primary",
    triggers=("video",),
    domains=QEMU,
    libvirt=("virDomainDefVideoValidate", "virDomainVideoDefValidate",
             "qemuValidateDomainDeviceDefVideo"),
)  # fmt: skip
def video_primary_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the set of `<video>` devices: at most one may say `primary='yes'`
    (without one, the first is primary); a `type='none'` video must be the
    only one; and only `qxl` and `virtio` can be a second display.

    ## Why is this bad?
    libvirt refuses the definition: "Only one primary video device is
    supported", "a 'none' video type must be the only video device defined
    for the domain", "video type 'vga' is only valid as primary video
    device".

    ## Example
    ```xml
    <video><model type='virtio' primary='yes'/></video>
    <video><model type='vga'/></video>
    ```

    ## Use instead
    ```xml
    <video><model type='vga' primary='yes'/></video>
    <video><model type='virtio'/></video>
    ```

    ## Fix safety
    No fix: which display is primary is guest-visible.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainDefVideoValidate`,
    `virDomainVideoDefValidate`), src/qemu/qemu_validate.c
    (`qemuValidateDomainDeviceDefVideo`), src/conf/domain_postparse.c
    (`virDomainDefPostParseVideo`: the first video becomes primary).
    """
    videos = ctx.facts.videos
    marked = [v for v in videos if v.model_attr("primary") == "yes"]
    for video in marked[1:]:
        yield ctx.finding(
            _where(video), "Only one primary video device is supported", attribute="primary"
        )
    for video in videos:
        if video.type == "none" and len(videos) > 1:
            yield ctx.finding(
                _where(video),
                "a 'none' video type must be the only video device defined for the domain",
                attribute="type",
            )
        elif not video.primary and video.type not in SECONDARY_TYPES and video.type != "none":
            if video.type is not None:
                yield ctx.finding(
                    _where(video),
                    f"video type '{video.type}' is only valid as primary video device",
                    attribute="type",
                )


@rule(
    code="DX941",
    name="video-model-attribute-invalid",
    severity="error",
    summary="A video ram, vram, vram64, vgamem, heads or resolution its model refuses",
    triggers=("video",),
    domains=QEMU,
    libvirt=("virDomainVideoDefValidate", "qemuValidateDomainDeviceDefVideo"),
)
def video_model_attribute_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks a `<video><model>`'s sizes and geometry as libvirt does (after
    rounding `ram` and `vram` up to a power of two): `ram`, `vram64` and
    `vgamem` belong to `qxl` only; more than one head to `qxl` and `virtio`
    only; a `<resolution>` to `vga`, `qxl`, `virtio` and `bochs`, with both
    values above 0. For `qxl`, `ram` and `vram` must stay below 4194303 KiB
    and `vgamem` be a power of two of at least 1024 KiB; for `vga` and
    `vmvga`, `vram` must be at least 1024 KiB.

    ## Why is this bad?
    libvirt refuses the definition, e.g. "ram attribute only supported for
    video type qxl", "video type 'vga' doesn't support multiple 'heads'",
    "model resolution is not supported", "video resolution values must be
    greater than 0", "value for 'vgamem' must be power of two", "value for
    'vram' must be at least 1 MiB (1024 KiB)".

    ## Example
    ```xml
    <video><model type='vga' vram='512' heads='2'/></video>
    ```

    ## Use instead
    ```xml
    <video><model type='vga' vram='16384' heads='1'/></video>
    ```

    ## Fix safety
    No fix: video memory and heads are guest-visible.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainVideoDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefVideo`),
    src/conf/domain_postparse.c (`virDomainVideoDefPostParse`: the rounding).
    """
    for video in ctx.facts.videos:
        if video.type is None or video.type == "none":
            continue
        for message, attribute in _video_problems(video):
            yield ctx.finding(_where(video), message, attribute=attribute)


def _video_problems(video: Video) -> Iterator[tuple[str, str | None]]:
    kind = video.type
    if kind != "qxl":
        for name in ("ram", "vram64", "vgamem"):
            if getattr(video, name):
                yield f"{name} attribute only supported for video type qxl", name
    heads = 1 if video.heads is None else video.heads
    if kind not in SECONDARY_TYPES and heads != 1:
        yield f"video type '{kind}' doesn't support multiple 'heads'", "heads"
    resolution = video.resolution
    if resolution is not None:
        if kind not in RESOLUTION_TYPES:
            yield "model resolution is not supported", None
        elif resolution.get("x", "").strip() == "0" or resolution.get("y", "").strip() == "0":
            yield "video resolution values must be greater than 0", None
    if kind == "qxl":
        for name in ("vram", "ram"):
            value = getattr(video, name)
            if value and _round_up_power_of_two(value) > QXL_SIZE_LIMIT:
                yield f"value for '{name}' must be less than '{QXL_SIZE_LIMIT}'", name
        vgamem = video.vgamem
        if vgamem:
            if vgamem < 1024:
                yield "value for 'vgamem' must be at least 1 MiB (1024 KiB)", "vgamem"
            elif vgamem & (vgamem - 1):
                yield "value for 'vgamem' must be power of two", "vgamem"
    if kind in ("vga", "vmvga") and video.vram and _round_up_power_of_two(video.vram) < 1024:
        yield "value for 'vram' must be at least 1 MiB (1024 KiB)", "vram"


@rule(
    code="DX942",
    name="video-acceleration-invalid",
    severity="error",
    summary="Video acceleration QEMU cannot give: accel2d, accel3d off virtio, "
    "a rendernode or vhost-user off virtio",
    triggers=("video",),
    domains=QEMU,
    libvirt=("virDomainVideoAccelDefParseXML", "virDomainVideoDefValidate",
             "qemuValidateDomainDeviceDefVideo"),
)  # fmt: skip
def video_acceleration_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<video>` acceleration: an `<acceleration>` element needs one of
    `accel3d`, `accel2d`, `rendernode`; `accel2d='yes'` is never possible;
    `accel3d='yes'` needs the `virtio` model; a `rendernode` needs the
    vhost-user backend (`<driver name='vhostuser'>`), which needs `virtio`.

    ## Why is this bad?
    libvirt refuses the definition: "missing values for acceleration", "qemu
    does not support the accel2d setting", "3d acceleration is supported only
    with 'virtio' video device", "unsupported rendernode accel attribute
    without 'vhostuser'", "'vhostuser' driver is only supported with 'virtio'
    device".

    ## Example
    ```xml
    <video>
      <model type='qxl'>
        <acceleration accel3d='yes'/>
      </model>
    </video>
    ```

    ## Use instead
    ```xml
    <video>
      <model type='virtio'>
        <acceleration accel3d='yes'/>
      </model>
    </video>
    ```

    ## Fix safety
    No fix: the video model is guest-visible.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainVideoAccelDefParseXML`),
    src/conf/domain_validate.c (`virDomainVideoDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefVideo`).
    """
    for video in ctx.facts.videos:
        accel = video.acceleration
        vhostuser = video.backend == "vhostuser"
        if vhostuser and video.type != "virtio":
            yield ctx.finding(
                video.element, "'vhostuser' driver is only supported with 'virtio' device"
            )
        if accel is None:
            continue
        names = ("accel3d", "accel2d", "rendernode")
        if all(accel.get(name) is None for name in names):
            yield ctx.finding(accel, "missing values for acceleration")
            continue
        if accel.get("rendernode") is not None and not vhostuser:
            yield ctx.finding(
                accel,
                "unsupported rendernode accel attribute without 'vhostuser'",
                attribute="rendernode",
            )
        if video.type == "none":
            continue
        if accel.get("accel2d") == "yes":
            yield ctx.finding(
                accel, "qemu does not support the accel2d setting", attribute="accel2d"
            )
        if not vhostuser and accel.get("accel3d") == "yes" and video.type != "virtio":
            yield ctx.finding(
                accel,
                "3d acceleration is supported only with 'virtio' video device",
                attribute="accel3d",
            )


@rule(
    code="DX943",
    name="video-blob-invalid",
    severity="error",
    summary="Video blob resources off virtio, or on without a memfd memory backend",
    triggers=("video",),
    domains=QEMU,
    libvirt=("virDomainVideoDefValidate", "qemuValidateDomainDeviceDefVideo"),
)
def video_blob_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks `<video><model blob=...>`: blob resources exist on `virtio` video
    only, and `blob='on'` needs the guest's memory in memfd
    (`<memoryBacking><source type='memfd'/>`).

    ## Why is this bad?
    virtio-gpu shares blob resources with the host through the guest's
    memory file. libvirt refuses the definition: "video type 'qxl' does not
    support blob resources", or "'blob' support for virtio-gpu devices
    requires a memfd memory backend".

    ## Example
    ```xml
    <video><model type='virtio' blob='on'/></video>
    ```

    ## Use instead
    ```xml
    <memoryBacking><source type='memfd'/><access mode='shared'/></memoryBacking>
    ...
    <video><model type='virtio' blob='on'/></video>
    ```

    ## Fix safety
    No fix: the memory backend changes how the guest's RAM is allocated.

    libvirt checks `blob` from release 9.2, which introduced it; for an older
    target libvirt (`libvirt-version`) the rule stays silent, as those
    releases ignore the attribute.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainVideoDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefVideo`).
    """
    if not ctx.libvirt_at_least(9, 2):
        return  # libvirt learnt blob in 9.2; older releases ignore the attribute
    facts = ctx.facts
    for video in facts.videos:
        if video.blob is None or video.model is None:
            continue
        if video.type != "virtio":
            yield ctx.finding(
                video.model,
                f"video type '{video.type}' does not support blob resources",
                attribute="blob",
            )
            continue
        backing = facts.memory_backing
        memfd = backing is not None and backing.source_type == "memfd"
        if video.blob == "on" and not memfd:
            yield ctx.finding(
                video.model,
                "'blob' support for virtio-gpu devices requires a memfd memory backend",
                attribute="blob",
            )


@rule(
    code="DX944",
    name="video-ramfb-address",
    severity="error",
    summary="A ramfb video with an <address>",
    fix="safe",
    triggers=("video",),
    domains=QEMU,
    libvirt=("virDomainVideoDefValidate", "qemuValidateDomainDeviceDefVideo"),
)
def video_ramfb_address(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<video>` devices of model `ramfb` that carry an `<address>`.

    ## Why is this bad?
    ramfb is a boot framebuffer in guest RAM, on no bus. libvirt refuses the
    definition: "address not supported for video type ramfb" (and the QEMU
    driver again: "'address' is not supported for 'ramfb' video devices").

    ## Example
    ```xml
    <video>
      <model type='ramfb'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </video>
    ```

    ## Use instead
    ```xml
    <video>
      <model type='ramfb'/>
    </video>
    ```

    ## Fix safety
    Safe: the address is removed; libvirt refuses the definition with it, and
    ramfb never had one to keep.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainVideoDefValidate`),
    src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefVideo`).
    """
    for video in ctx.facts.videos:
        if video.type == "ramfb" and video.address is not None:
            yield ctx.finding(
                video.address,
                "address not supported for video type ramfb",
                fix=ctx.safe_fix("Remove the address", ctx.edit.remove_element(video.address)),
            )


@rule(
    code="DX945",
    name="video-model-unsupported",
    severity="error",
    summary="A video model the host's QEMU does not offer (domain capabilities)",
    triggers=("video",),
    domains=QEMU,
    needs=(HostPart.DOMAIN_CAPABILITIES,),
    libvirt=("qemuValidateDomainDeviceDefVideo",),
)
def video_model_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Compares each `<video><model type>` with the video models the host's QEMU
    offers (`virsh domcapabilities`, `<devices><video><enum name='modelType'>`).
    `none` is always possible. libvirt fills that list from the emulator
    binary, so when the snapshot has no document for the guest's own machine
    type, one for another machine of the same emulator answers.

    ## Why is this bad?
    libvirt refuses the definition: "domain configuration does not support
    video model 'cirrus'".

    ## Example
    ```xml
    <os><type arch='aarch64' machine='virt'>hvm</type></os>
    ...
    <video><model type='cirrus'/></video>
    ```

    ## Use instead
    ```xml
    <video><model type='virtio'/></video>
    ```

    ## Fix safety
    No fix: the video model is guest-visible.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefVideo`),
    src/qemu/qemu_capabilities.c (`virQEMUCapsFillDomainDeviceVideoCaps`).
    """
    caps = ctx.device_caps
    if caps is None:
        return
    offered = caps.enum("devices/video", "modelType")
    if offered is None:
        return
    for video in ctx.facts.videos:
        if video.type is not None and video.type != "none" and video.type not in offered:
            yield ctx.finding(
                _where(video),
                f"domain configuration does not support video model '{video.type}'",
                attribute="type",
            )
