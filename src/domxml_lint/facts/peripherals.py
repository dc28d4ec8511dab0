"""Peripherals: character devices, graphics, video, input, sound and audio, TPM, shared memory.

Values are read as libvirt's parser reads them (``virDomainChrDefParseXML``,
``virDomainGraphicsDefParseXML``, ``virDomainVideoDefParseXML`` ...) and, where
libvirt's QEMU driver fills in defaults before it validates (serial target
types and models, the primary video, input buses, TPM models and versions,
shared memory sizes), the defaults are derived here once, so that rules see
what libvirt's validators see.
"""

from __future__ import annotations

import re

from lxml import etree

from .._lazy import lazy
from .._records import NamedTuple
from ..units import UnitError, parse_uint, unit_scale
from .domain import X86_ARCHES, DomainBase
from .values import child, signed_int

Element = etree._Element

#: The character devices of ``<devices>``, in libvirt's order.
CHARDEV_TAGS = ("serial", "parallel", "console", "channel")
#: ``virDomainChrType``: chardev source types libvirt knows.
CHR_TYPES = frozenset({
    "null", "vc", "pty", "dev", "file", "pipe", "stdio", "udp", "tcp", "unix",
    "spicevmc", "spiceport", "nmdm", "qemu-vdagent", "dbus",
})  # fmt: skip
#: ``virDomainChrSerialTargetModel`` -> the target type it needs
#: (``qemuValidateChrSerialTargetModelToTargetType``).
SERIAL_MODEL_TARGET_TYPE = {
    "isa-serial": "isa-serial",
    "usb-serial": "usb-serial",
    "pci-serial": "pci-serial",
    "spapr-vty": "spapr-vio-serial",
    "pl011": "system-serial",
    "16550a": "system-serial",
    "sclpconsole": "sclp-serial",
    "sclplmconsole": "sclp-serial",
    "isa-debugcon": "isa-debug",
}
#: Serial target type -> the address type it needs
#: (``qemuValidateChrSerialTargetTypeToAddressType``); None: no address allowed.
SERIAL_TARGET_ADDRESS = {
    "isa-serial": "isa",
    "isa-debug": "isa",
    "usb-serial": "usb",
    "pci-serial": "pci",
    "spapr-vio-serial": "spapr-vio",
    "system-serial": None,
    "sclp-serial": None,
}
#: The target model ``qemuDomainChrDefPostParse`` gives a serial of each target type.
SERIAL_DEFAULT_MODEL = {
    "isa-serial": "isa-serial",
    "usb-serial": "usb-serial",
    "pci-serial": "pci-serial",
    "spapr-vio-serial": "spapr-vty",
    "sclp-serial": "sclpconsole",
    "isa-debug": "isa-debugcon",
}
#: libvirt's channel target directory (qemu.conf ``channel_target_dir``'s default), where it
#: puts the UNIX sockets it generates for virtio channels; such paths are dropped on define.
CHANNEL_TARGET_DIR = "/var/lib/libvirt/qemu/channel/target"
#: The channel a D-Bus ``<redirdev>`` gets when none is written (virDomainRedirdevDefParseXML).
REDIRDEV_DBUS_CHANNEL = "org.qemu.usbredir"
#: Input types on which libvirt's virtio input models act.
VIRTIO_INPUT_MODELS = frozenset({"virtio", "virtio-transitional", "virtio-non-transitional"})
S390_ARCHES = frozenset({"s390", "s390x"})
PPC64_ARCHES = frozenset({"ppc64", "ppc64le"})
RISCV_ARCHES = frozenset({"riscv32", "riscv64"})


def _generated_channel_path(path: str, name: str | None) -> bool:
    """Whether libvirt takes a virtio channel's UNIX path for one it generated.

    ``qemuDomainChrDefDropDefaultPath`` matches ``^DIR/([^/]+\\.)|(domain-[^/]+/)NAME$``:
    the alternation binds loosest, so either half is enough.
    """
    old_style = re.match(re.escape(CHANNEL_TARGET_DIR) + r"/([^/]+\.)", path)
    new_style = name is not None and re.search(r"(domain-[^/]+/)" + re.escape(name) + "$", path)
    return bool(old_style or new_style)


def _is_virt_machine(machine: str | None) -> bool:
    return machine is not None and (machine == "virt" or machine.startswith("virt-"))


class Reconnect(NamedTuple):
    """``<source><reconnect enabled= timeout=>``; ``enabled`` is 'yes', 'no' or None."""

    element: Element
    enabled: str | None
    timeout: int | None


class ChrSource(NamedTuple):
    """A character device backend: a chardev's, an RNG egd's, a redirdev's, a smartcard's.

    ``owner`` is the element whose ``type`` names the backend; ``sources`` its
    ``<source>`` children. The parts are read from them as
    ``virDomainChrSourceDefParseXML`` reads them; ``listen`` is true in bind mode.
    """

    owner: Element
    type: str
    sources: tuple[Element, ...]
    path: str | None
    listen: bool
    host: str | None
    service: str | None
    channel: str | None
    master: str | None
    slave: str | None
    reconnect: Reconnect | None

    @property
    def element(self) -> Element:
        """Where to point a finding: the first ``<source>``, else the owner."""
        return self.sources[0] if self.sources else self.owner


def chr_source(owner: Element, chr_type: str | None, container: Element | None = None) -> ChrSource:
    """The chardev backend of ``owner``, whose ``<source>`` children sit in ``container``."""
    parent = owner if container is None else container
    sources = tuple(parent.iterchildren("source"))
    kind = chr_type or "pty"
    path = host = service = channel = master = slave = None
    listen = False
    reconnect = None
    for source in sources:
        mode = source.get("mode")
        if kind == "udp":
            # virDomainChrSourceDefParseUDP: only a connect-mode source gives the service.
            if mode in (None, "connect") and service is None:
                host, service = source.get("host"), source.get("service")
            continue
        if kind in ("unix", "tcp"):
            listen = mode == "bind"
            element = child(source, "reconnect")
            if element is not None:
                enabled = element.get("enabled")
                reconnect = Reconnect(element, enabled, parse_uint(element.get("timeout")))
        path = source.get("path") if path is None else path
        host = source.get("host") if host is None else host
        service = source.get("service") if service is None else service
        channel = source.get("channel") if channel is None else channel
        master = source.get("master") if master is None else master
        slave = source.get("slave") if slave is None else slave
    return ChrSource(
        owner, kind, sources, path, listen, host, service, channel, master, slave, reconnect
    )


class Chardev(NamedTuple):
    """A ``<serial>``, ``<parallel>``, ``<console>`` or ``<channel>``.

    ``target_type`` and ``target_model`` are what libvirt's QEMU driver makes of
    them (``qemuDomainChrDefPostParse``): a serial's ``isa-serial`` or missing
    type becomes the machine's default; a missing model follows the type.
    ``target_port`` is the ``<target port>`` as written.
    """

    element: Element
    device: str
    source: ChrSource
    target: Element | None
    written_target_type: str | None
    target_type: str | None
    target_model: str | None
    target_port: int | None
    target_name: str | None
    address: Element | None

    @property
    def address_type(self) -> str | None:
        return None if self.address is None else self.address.get("type")


class Listen(NamedTuple):
    """A ``<graphics><listen>``."""

    element: Element
    type: str | None
    address: str | None
    network: str | None
    socket: str | None


class Graphics(NamedTuple):
    element: Element
    type: str | None
    listens: tuple[Listen, ...]
    gl: Element | None
    audio_id: int | None

    def attr(self, name: str) -> str | None:
        return self.element.get(name)

    @property
    def gl_enabled(self) -> bool:
        return self.gl is not None and self.gl.get("enable") == "yes"

    @property
    def listen_type(self) -> str:
        """The first listen's type; without ``<listen>``, ``address`` (libvirt's default)."""
        if self.listens and self.listens[0].type:
            return self.listens[0].type
        if not self.listens and self.attr("socket") is not None:
            return "socket"
        return "address"

    @property
    def autoport(self) -> bool:
        """Whether libvirt picks the ports (``autoport='yes'``, no port, or the legacy -1)."""
        if self.attr("autoport") == "yes":
            return True
        port = self.attr("port")
        if self.attr("autoport") == "no":
            return False
        return port is None or port.strip() == "-1"


class Video(NamedTuple):
    """A ``<video>``; sizes in KiB as written (``ram``, ``vram``, ``vram64``, ``vgamem``)."""

    element: Element
    model: Element | None
    type: str | None
    primary: bool
    heads: int | None
    ram: int | None
    vram: int | None
    vram64: int | None
    vgamem: int | None
    acceleration: Element | None
    resolution: Element | None
    backend: str | None
    blob: str | None
    address: Element | None

    def model_attr(self, name: str) -> str | None:
        return None if self.model is None else self.model.get(name)


class Input(NamedTuple):
    """An ``<input>``: ``bus`` as written, ``effective_bus`` with libvirt's default."""

    element: Element
    type: str | None
    bus: str | None
    effective_bus: str | None
    model: str | None
    source: Element | None
    address: Element | None


class Sound(NamedTuple):
    element: Element
    model: str | None
    codecs: tuple[Element, ...]
    audio_id: int | None


class Audio(NamedTuple):
    element: Element
    id: int | None
    type: str | None


class Tpm(NamedTuple):
    """A ``<tpm>`` with libvirt's QEMU defaults (``qemuDomainTPMDefPostParse``).

    ``model`` defaults to tpm-spapr on ppc64, tpm-tis elsewhere; an emulator's
    ``version`` to 1.2 for tpm-tis on x86, 2.0 otherwise (None for other backends).
    """

    element: Element
    model: str
    backend: Element | None
    backend_type: str | None
    version: str | None
    written_version: str | None


class Shmem(NamedTuple):
    """A ``<shmem>``; ``size_bytes`` as written (None when absent or unreadable)."""

    element: Element
    name: str | None
    model: str | None
    size: Element | None
    size_bytes: int | None
    server: Element | None
    msi: Element | None
    address: Element | None


def _audio_id(element: Element) -> int | None:
    audio = child(element, "audio")
    return None if audio is None else parse_uint(audio.get("id"))


def _scaled_bytes(element: Element | None) -> int | None:
    """A ``<size unit=...>`` whose default unit is bytes (``virDomainParseScaledValue``)."""
    if element is None:
        return None
    value = parse_uint((element.text or "").strip())
    if value is None:
        return None
    try:
        return value * unit_scale(element.get("unit"), default=1)
    except UnitError:
        return None


class PeripheralFacts(DomainBase):
    """Character devices, graphics, video, input, sound and audio, TPM and shared memory."""

    # -- the machine, as libvirt's QEMU driver names it (qemu_domain.c) ------------------

    @lazy
    def is_loongarch_virt(self) -> bool:
        return self.arch == "loongarch64" and _is_virt_machine(self.machine)

    @lazy
    def has_i8042(self) -> bool | None:
        """Whether the machine has the i8042 (PS/2) controller (``virQEMUCapsSupportsI8042``):
        i440fx, q35, isapc and xenfv machines; None when no machine is written."""
        machine = self.machine
        if not machine:
            return None
        return bool(
            self.is_i440fx or self.is_q35 or machine == "isapc" or machine.startswith("xenfv")
        )

    # -- character devices ----------------------------------------------------------------

    def _serial_default_type(self) -> str | None:
        if self.arch in X86_ARCHES:
            return "isa-serial"
        if self.is_pseries:
            return "spapr-vio-serial"
        if self.is_arm_virt or self.is_loongarch_virt or self.is_riscv_virt:
            return "system-serial"
        if self.is_s390:
            return "sclp-serial"
        return None

    def _serial_default_model(self, target_type: str | None) -> str | None:
        if target_type == "system-serial":
            if self.is_arm_virt:
                return "pl011"
            if self.is_loongarch_virt or self.is_riscv_virt:
                return "16550a"
            return None
        return SERIAL_DEFAULT_MODEL.get(target_type or "")

    @lazy
    def chardevs(self) -> tuple[Chardev, ...]:
        result = []
        for tag in CHARDEV_TAGS:
            for element in self.device_elements(tag):
                result.append(self._chardev(tag, element))
        return tuple(result)

    def _chardev(self, tag: str, element: Element) -> Chardev:
        target = child(element, "target")
        written = None if target is None else target.get("type")
        model_el = None if target is None else child(target, "model")
        model = None if model_el is None else model_el.get("name")
        target_type = written
        if tag == "serial":
            if written in (None, "isa-serial"):
                target_type = self._serial_default_type()
            if model is None:
                model = self._serial_default_model(target_type)
        elif tag == "console" and written is None:
            target_type = "serial"
        source = chr_source(element, element.get("type"))
        name = None if target is None else target.get("name")
        if (
            tag == "channel"
            and target_type == "virtio"
            and source.type == "unix"
            and source.path is not None
            and _generated_channel_path(source.path, name)
        ):
            # qemuDomainChrDefDropDefaultPath: a generated path is dropped, and a UNIX
            # chardev without a path is one libvirt binds itself.
            source = source._replace(path=None, listen=True)
        elif source.type == "unix" and source.path is None:
            source = source._replace(listen=True)
        return Chardev(
            element=element,
            device=tag,
            source=source,
            target=target,
            written_target_type=written,
            target_type=target_type,
            target_model=model,
            target_port=None if target is None else signed_int(target.get("port")),
            target_name=name,
            address=child(element, "address"),
        )

    def chardevs_of(self, tag: str) -> tuple[Chardev, ...]:
        return tuple(c for c in self.chardevs if c.device == tag)

    @lazy
    def other_chr_sources(self) -> tuple[ChrSource, ...]:
        """Chardev backends outside the character devices: RNG egd, redirdev, smartcard."""
        result = []
        for rng in self.device_elements("rng"):
            for backend in rng.iterchildren("backend"):
                if backend.get("model") == "egd":
                    result.append(chr_source(backend, backend.get("type")))
        for redirdev in self.device_elements("redirdev"):
            source = chr_source(redirdev, redirdev.get("type"))
            if source.type == "dbus" and source.channel is None:
                source = source._replace(channel=REDIRDEV_DBUS_CHANNEL)  # the parser's default
            result.append(source)
        for card in self.device_elements("smartcard"):
            if card.get("mode") == "passthrough":
                result.append(chr_source(card, card.get("type")))
        return tuple(result)

    @lazy
    def graphics(self) -> tuple[Graphics, ...]:
        result = []
        for element in self.device_elements("graphics"):
            listens = tuple(
                Listen(el, el.get("type"), el.get("address"), el.get("network"), el.get("socket"))
                for el in element.iterchildren("listen")
            )
            result.append(
                Graphics(element, element.get("type"), listens, child(element, "gl"),
                         _audio_id(element))
            )  # fmt: skip
        return tuple(result)

    @lazy
    def has_spice_graphics(self) -> bool:
        return any(g.type == "spice" for g in self.graphics)

    # -- video ---------------------------------------------------------------------------

    @lazy
    def videos(self) -> tuple[Video, ...]:
        """The videos in document order; ``primary`` is libvirt's: the first one written
        primary='yes' (the parser moves it first), else the first video."""
        elements = self.device_elements("video")
        models = [child(el, "model") for el in elements]
        marked = [i for i, m in enumerate(models) if m is not None and m.get("primary") == "yes"]
        primary_index = marked[0] if marked else 0
        result = []
        for index, (element, model) in enumerate(zip(elements, models, strict=True)):
            driver = child(element, "driver")

            def size(name: str, model: Element | None = model) -> int | None:
                return None if model is None else parse_uint(model.get(name))

            result.append(
                Video(
                    element=element,
                    model=model,
                    type=None if model is None else model.get("type"),
                    primary=index == primary_index,
                    heads=size("heads"),
                    ram=size("ram"),
                    vram=size("vram"),
                    vram64=size("vram64"),
                    vgamem=size("vgamem"),
                    acceleration=None if model is None else child(model, "acceleration"),
                    resolution=None if model is None else child(model, "resolution"),
                    backend=None if driver is None else driver.get("name"),
                    blob=None if model is None else model.get("blob"),
                    address=child(element, "address"),
                )
            )
        return tuple(result)

    # -- input, sound, audio -------------------------------------------------------------

    def _input_default_bus(self, input_type: str | None) -> str | None:
        """``virDomainInputDefPostParse`` (and the parser's PS/2 default on x86)."""
        os_type = None if self.os_type is None else (self.os_type.text or "").strip()
        if os_type != "hvm":
            return None
        if input_type in ("mouse", "keyboard") and (self.arch in X86_ARCHES or not self.arch):
            return "ps2"
        if self.is_s390 or input_type == "passthrough":
            return "virtio"
        if input_type == "evdev":
            return None
        return "usb"

    @lazy
    def inputs(self) -> tuple[Input, ...]:
        result = []
        for element in self.device_elements("input"):
            kind, bus = element.get("type"), element.get("bus")
            result.append(
                Input(
                    element=element,
                    type=kind,
                    bus=bus,
                    effective_bus=bus if bus is not None else self._input_default_bus(kind),
                    model=element.get("model"),
                    source=child(element, "source"),
                    address=child(element, "address"),
                )
            )
        return tuple(result)

    @lazy
    def sounds(self) -> tuple[Sound, ...]:
        return tuple(
            Sound(el, el.get("model"), tuple(el.iterchildren("codec")), _audio_id(el))
            for el in self.device_elements("sound")
        )

    @lazy
    def audios(self) -> tuple[Audio, ...]:
        return tuple(
            Audio(el, parse_uint(el.get("id")), el.get("type"))
            for el in self.device_elements("audio")
        )

    # -- TPM, shared memory --------------------------------------------------------------

    @lazy
    def tpms(self) -> tuple[Tpm, ...]:
        result = []
        for element in self.device_elements("tpm"):
            model = element.get("model") or (
                "tpm-spapr" if self.arch in PPC64_ARCHES else "tpm-tis"
            )
            backend = child(element, "backend")
            backend_type = None if backend is None else backend.get("type")
            written = None if backend is None else backend.get("version")
            version = written
            if backend_type == "emulator" and version is None:
                x86_tis = model == "tpm-tis" and self.arch in X86_ARCHES
                version = "1.2" if x86_tis else "2.0"
            result.append(Tpm(element, model, backend, backend_type, version, written))
        return tuple(result)

    @lazy
    def shmems(self) -> tuple[Shmem, ...]:
        result = []
        for element in self.device_elements("shmem"):
            model = child(element, "model")
            size = child(element, "size")
            result.append(
                Shmem(
                    element=element,
                    name=element.get("name"),
                    model=None if model is None else model.get("type"),
                    size=size,
                    size_bytes=_scaled_bytes(size),
                    server=child(element, "server"),
                    msi=child(element, "msi"),
                    address=child(element, "address"),
                )
            )
        return tuple(result)
