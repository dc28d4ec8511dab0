"""DX955-DX958: ``<sound>`` devices and ``<audio>`` backends libvirt or QEMU refuse."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts.values import child, signed_int
from ...findings import Finding
from ...rule import QEMU, RuleContext, rule

#: ``qemuValidateDomainDeviceDefSound``: sound model -> (flag, libvirt's message).
SOUND_MODEL_FLAGS = {
    "usb": ("usb-audio", "usb-audio controller is not supported by this QEMU binary"),
    "ich9": (
        "ich9-intel-hda",
        "The ich9-intel-hda audio controller is not supported in this QEMU binary",
    ),
    "virtio": ("virtio-sound", "virtio-sound controller is not supported in this QEMU binary"),
}
#: The HDA controllers, whose ``<codec type>`` picks a QEMU codec device.
HDA_MODELS = frozenset({"ich6", "ich9"})
#: ``qemuSoundCodecTypeToCaps``: codec type -> its device (and flag).
CODEC_DEVICES = {"duplex": "hda-duplex", "micro": "hda-micro", "output": "hda-output"}


@rule(
    code="DX955",
    name="sound-model-unsupported",
    severity="error",
    summary="A sound model or HDA codec QEMU does not have (ich7; usb, ich9, virtio or a codec "
    "the guest's QEMU lacks)",
    triggers=("sound",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefSound",),
)
def sound_model_unsupported(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<sound model='ich7'>` in QEMU/KVM guests, and sound devices the
    guest's QEMU lacks: `model='usb'` needs the usb-audio device, `ich9` the
    ich9-intel-hda controller, `virtio` the virtio-sound device (QEMU 8.2 and
    later), and a `<codec type>` of an `ich6`/`ich9` controller its
    `hda-duplex`, `hda-micro` or `hda-output` device.

    What the guest's QEMU has comes from the host snapshot's QEMU
    capabilities (libvirt's cache, see the README's "Host snapshots"), else
    from `qemu-version`: only a QEMU older than 8.2 is certain to lack
    virtio-sound; whether a build left out a device only a snapshot can say
    (the check stays silent otherwise; `-v` says why).

    ## Why is this bad?
    libvirt knows the ICH7 sound model for other hypervisors; QEMU has no
    such device. libvirt refuses the definition: "sound card model 'ich7' is
    not supported by qemu", "usb-audio controller is not supported by this
    QEMU binary", "The ich9-intel-hda audio controller is not supported in
    this QEMU binary", "virtio-sound controller is not supported in this QEMU
    binary", "hda-micro not supported in this QEMU binary".

    ## Example
    ```xml
    <sound model='ich7'/>
    ```

    ## Use instead
    ```xml
    <sound model='ich9'/>
    ```

    ## Fix safety
    No fix: the sound card is guest-visible hardware.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefSound`).
    """
    for sound in ctx.facts.sounds:
        if sound.model == "ich7":
            yield ctx.finding(
                sound.element,
                "sound card model 'ich7' is not supported by qemu",
                attribute="model",
            )
            continue
        if sound.model in SOUND_MODEL_FLAGS:
            flag, message = SOUND_MODEL_FLAGS[sound.model]
            why = ctx.qemu_lacks(flag)
            if why:
                yield ctx.finding(sound.element, f"{message}: {why}", attribute="model")
                continue
        if sound.model not in HDA_MODELS:
            continue
        for codec in sound.codecs:
            device = CODEC_DEVICES.get(codec.get("type") or "")
            why = ctx.qemu_lacks(device) if device else None
            if why:
                yield ctx.finding(
                    codec, f"{device} not supported in this QEMU binary: {why}", attribute="type"
                )
                break


@rule(
    code="DX956",
    name="audio-settings-invalid",
    severity="error",
    summary="Audio <input>/<output> settings without fixedSettings, fixed settings "
    "without the mixing engine, or a negative OSS dspPolicy",
    triggers=("audio",),
    libvirt=("virDomainAudioCommonParse", "virDomainAudioDefParseXML"),
)
def audio_settings_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks the `<input>` and `<output>` of each `<audio>` backend:
    `fixedSettings='yes'` needs `mixingEngine='yes'`; a `<settings>` element
    needs `fixedSettings='yes'`; an OSS backend's `dspPolicy` cannot be
    negative.

    ## Why is this bad?
    Fixed settings are what QEMU's mixing engine converts to. libvirt
    refuses the definition: "fixed audio settings requires mixing engine",
    "audio settings specified without fixed settings flag", "cannot parse
    'dspPolicy' value '-1'".

    ## Example
    ```xml
    <audio id='1' type='pulseaudio'>
      <output mixingEngine='no' fixedSettings='yes'>
        <settings frequency='48000' channels='2' format='s16'/>
      </output>
    </audio>
    ```

    ## Use instead
    ```xml
    <audio id='1' type='pulseaudio'>
      <output mixingEngine='yes' fixedSettings='yes'>
        <settings frequency='48000' channels='2' format='s16'/>
      </output>
    </audio>
    ```

    ## Fix safety
    No fix: whether to mix or pass the stream through is yours to say.

    ## Source
    libvirt src/conf/domain_conf.c (`virDomainAudioCommonParse`,
    `virDomainAudioDefParseXML`).
    """
    for audio in ctx.facts.audios:
        for tag in ("input", "output"):
            stream = child(audio.element, tag)
            if stream is None:
                continue
            fixed = stream.get("fixedSettings")
            if fixed == "yes" and stream.get("mixingEngine") != "yes":
                yield ctx.finding(
                    stream, "fixed audio settings requires mixing engine", attribute="fixedSettings"
                )
            settings = child(stream, "settings")
            if settings is not None and fixed != "yes":
                yield ctx.finding(settings, "audio settings specified without fixed settings flag")
            policy = signed_int(stream.get("dspPolicy"))
            if audio.type == "oss" and policy is not None and policy < 0:
                yield ctx.finding(
                    stream, f"cannot parse 'dspPolicy' value '{policy}'", attribute="dspPolicy"
                )


@rule(
    code="DX957",
    name="audio-id-invalid",
    severity="error",
    summary="An <audio id> used twice, or a device naming an audio backend that does not exist",
    triggers=("audio",),
    libvirt=("virDomainAudioDefValidate", "virDomainEnsureAudioID"),
)
def audio_id_invalid(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Checks audio backend ids: two `<audio>` elements cannot share an `id`,
    and the `<audio id>` of a `<sound>` device or a VNC display must name an
    `<audio>` element. Without any `<audio>` element, libvirt's QEMU driver
    adds one with id 1, so only other ids are flagged then in QEMU guests.

    ## Why is this bad?
    libvirt refuses the definition: "audio ID 1 is used multiple times", or
    "no audio device with ID 2".

    ## Example
    ```xml
    <sound model='ich9'>
      <audio id='2'/>
    </sound>
    <audio id='1' type='pulseaudio'/>
    ```

    ## Use instead
    ```xml
    <sound model='ich9'>
      <audio id='1'/>
    </sound>
    <audio id='1' type='pulseaudio'/>
    ```

    ## Fix safety
    No fix: which backend a device should use is yours to say.

    ## Source
    libvirt src/conf/domain_validate.c (`virDomainAudioDefValidate`,
    `virDomainEnsureAudioID`).
    """
    facts = ctx.facts
    ids = [a.id for a in facts.audios]
    seen: set[int] = set()
    for audio in facts.audios:
        if audio.id is None:
            continue
        if audio.id in seen:
            yield ctx.finding(
                audio.element, f"audio ID {audio.id} is used multiple times", attribute="id"
            )
        seen.add(audio.id)
    users = [(s.element, s.audio_id) for s in facts.sounds]
    users += [(g.element, g.audio_id) for g in facts.graphics if g.type == "vnc"]
    for element, audio_id in users:
        if not audio_id or audio_id in ids:
            continue
        if not ids and audio_id == 1 and facts.driver == "qemu":
            continue  # the implicit backend QEMU guests get has id 1
        where = child(element, "audio")
        yield ctx.finding(
            where if where is not None else element,
            f"no audio device with ID {audio_id}",
            attribute="id",
        )


@rule(
    code="DX958",
    name="audio-spice-without-spice-graphics",
    severity="error",
    summary="A SPICE audio backend in a guest without SPICE graphics",
    triggers=("audio",),
    domains=QEMU,
    libvirt=("qemuValidateDomainDeviceDefAudio",),
)
def audio_spice_without_spice_graphics(ctx: RuleContext) -> Iterator[Finding]:
    """
    ## What it does
    Finds `<audio type='spice'>` in a guest without `<graphics type='spice'>`.

    ## Why is this bad?
    SPICE audio travels over the SPICE connection. libvirt refuses the
    definition: "Spice audio is not supported without spice graphics".

    ## Example
    ```xml
    <graphics type='vnc' port='-1' autoport='yes'/>
    <audio id='1' type='spice'/>
    ```

    ## Use instead
    ```xml
    <graphics type='vnc' port='-1' autoport='yes'/>
    <audio id='1' type='none'/>
    ```

    ## Fix safety
    No fix: choose the backend yourself.

    ## Source
    libvirt src/qemu/qemu_validate.c (`qemuValidateDomainDeviceDefAudio`).
    """
    facts = ctx.facts
    if facts.has_spice_graphics:
        return
    for audio in facts.audios:
        if audio.type == "spice":
            yield ctx.finding(
                audio.element,
                "Spice audio is not supported without spice graphics",
                attribute="type",
            )
